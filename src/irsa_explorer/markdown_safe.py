"""Values from a cluster or an account, made safe to put in Markdown (a ticket, a chat message).

Every such value is untrusted: a pod name, an annotation, a condition value or an error text
may hold Markdown syntax, HTML, table pipes, newlines, terminal escape sequences or
right-to-left marks. Written through these functions it reads literally wherever it lands:

- `text`: running prose (a finding's words, a reason): one line, Markdown and HTML syntax
  escaped; `paragraph` also guards the line's start (`#`, `>`, `-`, `1.`).
- `code`: an identifier in a code span (an ARN, a name); `cell` / `code_cell` the same in a
  table cell, where `|` and newlines would end the cell or the row.
- `block`: a fenced block (a fix, a policy document) whose fence no line can close.

Control characters, escape sequences and invisible format characters (bidi overrides, zero-width
spaces) are shown as `\\x1b`, `\\u202e` — never passed through — and every value is bounded
(`LIMIT`, with how much was cut said). We write this rather than use a library: the Markdown
libraries render Markdown; none escapes untrusted text for every place it can land.
"""

from __future__ import annotations

import re
import unicodedata

LIMIT = 2_000  # characters of one inline value
BLOCK_LIMIT = 20_000  # characters of one fenced block

_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))")
_BACKTICKS = re.compile(r"`+")
# always escaped in prose: emphasis, code, links and images, HTML, tables, strikethrough
_ALWAYS = set("\\`*[]<|~")


def _invisible(char: str) -> bool:
    """A character that moves, hides or rewrites text instead of showing itself."""
    if char in "\n\t":
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _shown(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def bounded(value: object, limit: int = LIMIT) -> str:
    """The value as text, cut at `limit` characters with how many more there were."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text


def visible(value: object, *, keep_newlines: bool = False, limit: int = LIMIT) -> str:
    """Control and format characters as `\\x1b`-style escapes; tabs as spaces; newlines as
    `\\n` unless kept. No Markdown escaping (see `text`, `code`, `block`)."""
    out = []
    for char in bounded(value, limit).replace("\r\n", "\n"):
        if char == "\n":
            out.append("\n" if keep_newlines else "\\n")
        elif char == "\t":
            out.append("    " if keep_newlines else " ")
        elif _invisible(char):
            out.append(_shown(char))
        else:
            out.append(char)
    return "".join(out)


def text(value: object, *, limit: int = LIMIT) -> str:
    """Prose: one line that renders as exactly the value's characters (control characters as
    `\\x1b`, newlines as spaces)."""
    source = bounded(value, limit).replace("\r\n", "\n").replace("\n", " ")
    out = []
    for i, char in enumerate(source):
        if char in _ALWAYS:
            out.append("\\" + char)
        elif char == "_":
            # intraword underscores (AWS_ROLE_ARN) never make emphasis: left as they are
            before = source[i - 1] if i else " "
            after = source[i + 1] if i + 1 < len(source) else " "
            out.append("_" if before.isalnum() and after.isalnum() else "\\_")
        elif char == "\t":
            out.append(" ")
        elif _invisible(char):
            out.append("\\" + _shown(char))  # the backslash itself escaped: renders as \x1b
        else:
            out.append(char)
    return _ENTITY.sub(lambda m: "\\" + m.group(0), "".join(out))


def paragraph(value: object, *, limit: int = LIMIT) -> str:
    """`text`, also safe at the start of a line (no heading, quote, list or rule)."""
    # `1.` / `1)`: the backslash goes before the dot (a digit is no escape)
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2)[0].isdigit() else "\\" + m.group(2)),
                           text(value, limit=limit), count=1)


def code(value: object, *, limit: int = LIMIT) -> str:
    """An inline code span holding the value literally (one line)."""
    inner = visible(value, limit=limit)
    if not inner:
        return "—"
    longest = max((len(run) for run in _BACKTICKS.findall(inner)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if inner.startswith("`") or inner.endswith("`") or (inner.startswith(" ") and inner.endswith(" ")) else ""
    return f"{fence}{pad}{inner}{pad}{fence}"


def cell(value: object, *, limit: int = LIMIT) -> str:
    """Prose in a table cell (`—` when empty)."""
    shown = text(value, limit=limit)
    return shown if shown.strip() else "—"


def code_cell(value: object, *, limit: int = LIMIT) -> str:
    """A code span in a table cell: GFM ends a cell at `|` even inside a code span."""
    if value is None or str(value) == "":
        return "—"
    return code(value, limit=limit).replace("|", "\\|")


def block(value: object, info: str = "", *, limit: int = BLOCK_LIMIT) -> list[str]:
    """A fenced code block as lines: the fence is longer than any backtick run inside, so no
    line of the value can close it."""
    inner = visible(value, keep_newlines=True, limit=limit)
    longest = max((len(run) for run in _BACKTICKS.findall(inner)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *inner.split("\n"), fence]
