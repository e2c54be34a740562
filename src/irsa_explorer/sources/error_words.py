"""An error no source turned into a sentence of its own, said in words: what kind of failure it
was and its message, never the exception's class name (a user reads "the connection was
refused", not "ConnectionRefusedError")."""

from __future__ import annotations

import json
import ssl

# most specific first: the first kind an error is an instance of names it
_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (TimeoutError, "timed out"),
    (ConnectionRefusedError, "the connection was refused"),
    (ConnectionResetError, "the connection was reset"),
    (ConnectionError, "the connection failed"),
    (ssl.SSLError, "TLS failed"),
    (FileNotFoundError, "a file was not found"),
    (PermissionError, "permission denied"),
    (IsADirectoryError, "a folder was found where a file was expected"),
    (OSError, "a system call failed"),
    (json.JSONDecodeError, "an answer was not valid JSON"),
    (UnicodeError, "text could not be decoded"),
    (KeyError, "a field was missing"),
    (IndexError, "a list was shorter than expected"),
    (MemoryError, "out of memory"),
    (RecursionError, "a document was nested too deeply"),
    (ValueError, "a value could not be read"),
    (TypeError, "a value was not of the expected kind"),
)


def in_words(error: BaseException) -> str:
    """`timed out: …`, `a field was missing: 'metadata'`, `unexpected failure: …` — one line."""
    kind = next((words for cls, words in _KINDS if isinstance(error, cls)), "unexpected failure")
    lines = str(error).strip().splitlines()
    message = lines[0].strip()[:300] if lines else ""
    return f"{kind}: {message}" if message else kind
