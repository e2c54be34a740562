"""Where log records go: to a file when asked (`--debug`, `IRSA_EXPLORER_LOG=FILE`), else nowhere.

Never to the terminal: the TUI owns it, and `report` keeps stderr for its one line. Without
this, Python's last-resort handler prints every library's warnings on stderr (the kubernetes
client's `ERROR:root:exec…`, urllib3's "Retrying (…)" for each attempt) over the screen.

Written to a file, every record is masked first: JWTs (service-account and EKS tokens), bearer
headers, AWS signatures, session tokens and secret keys never reach the disk.

No Textual, no client library: the data sources' child process (sources/loader.py) uses it too.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from irsa_explorer.analysis.tokens import mask_keys, mask_tokens

LOG_ENV = "IRSA_EXPLORER_LOG"  # a file to append log records to
DEBUG_ENV = "IRSA_EXPLORER_DEBUG"  # "1": records of every level (set by --debug for child processes)
DEFAULT_DEBUG_FILE = "irsa-explorer-debug.log"

_SECRETS = [
    # EKS's `aws eks get-token` tokens and any other bearer credential
    (re.compile(r"k8s-aws-v1\.[A-Za-z0-9_=-]+"), "k8s-aws-v1.<redacted>"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1<redacted>"),
    # SigV4 signatures and session tokens in headers, query strings and botocore's debug dumps
    (re.compile(r"(?i)(signature[=:]\s*['\"]?)[0-9a-f]{16,}"), r"\1<redacted>"),
    (re.compile(r"(?i)(x-amz-security-token['\"]?[=:]\s*['\"]?)[A-Za-z0-9/+=%]+"), r"\1<redacted>"),
    (re.compile(r"(?i)((?:secret_?access_?key|session_?token|SecretAccessKey|SessionToken)['\"]?\s*[=:]\s*['\"]?)[A-Za-z0-9/+=]{8,}"), r"\1<redacted>"),
    # an Authorization header whatever its scheme (SigV4's names the key and signs the request)
    (re.compile(r"(?i)(authorization['\"]?\s*[=:]\s*['\"]?)[^'\"\r\n]+"), r"\1<redacted>"),
]


def mask(text: str) -> str:
    """The text with every token, signature and secret key replaced by a marker; JWTs whole and
    access key IDs as AKIA…1234 by the patterns every other writer uses (analysis.tokens)."""
    text = mask_keys(mask_tokens(text))
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class _Masking(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def configure(debug: bool = False) -> Path | None:
    """Send every log record to the log file, or drop it; returns the file (None: no log).

    `debug`: records of every level, to $IRSA_EXPLORER_LOG or ./irsa-explorer-debug.log, and
    child processes inherit the setting. Without it, $IRSA_EXPLORER_LOG (when set) gets
    warnings and errors. Python warnings (e.g. urllib3's InsecureRequestWarning) become log
    records too, so nothing reaches the terminal.
    """
    if debug:
        os.environ.setdefault(LOG_ENV, str(Path(DEFAULT_DEBUG_FILE).resolve()))
        os.environ[DEBUG_ENV] = "1"
    path = os.environ.get(LOG_ENV) or None
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "irsa_explorer", False)]:
        root.removeHandler(old)  # ours from an earlier call; a test runner's stay
    handler: logging.Handler
    if path:
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setFormatter(_Masking("%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler = logging.NullHandler()
    handler.irsa_explorer = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if path:  # with nowhere to write, the level is left as it is (a test runner's, say)
        root.setLevel(logging.DEBUG if os.environ.get(DEBUG_ENV) == "1" else logging.WARNING)
    logging.captureWarnings(True)
    return Path(path) if path else None
