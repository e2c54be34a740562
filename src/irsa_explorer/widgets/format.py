"""How domain values read on screen: ages, times in words, status badges — and the one rule
for every value a cluster or an account wrote (names, annotations, labels, env, args, policy
documents, token claims, error texts): it reaches the screen as a `Content` built here
(`literal`, `line`), never as a markup string with the value interpolated. Textual's markup
cannot be escaped reliably (`[X] y`, `[$x]`, a trailing backslash vanish or change under
`rich.markup.escape`), so values are never parsed as markup at all; `shown` is the TUI's one
sanitiser: control characters, escape sequences and bidi marks are drawn visibly (`\\x1b`),
and a huge value is cut with a note (what `y` copies is the value itself).

Pure functions (no widgets), so the panes and the tests share one wording.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from rich.text import Text
from textual.content import Content
from textual.visual import Visual

from irsa_explorer.analysis.arns import role_name_of
from irsa_explorer.analysis.tokens import mask_signatures
from irsa_explorer.model import LinkStatus, Mechanism, Unavailable, Verdict

VERDICT_STYLE = {
    # the theme's text-* shades: readable (≥ 3:1) on every built-in theme, light ones included
    Verdict.OK: ("✓ ok", "$text-success"),
    Verdict.WARNING: ("! warning", "$text-warning"),
    Verdict.BROKEN: ("✗ broken", "$text-error"),
    Verdict.UNKNOWN: ("? unknown", "$text-muted"),
}
LINK_STYLE = {
    LinkStatus.OK: ("✓", "$success"),
    LinkStatus.BROKEN: ("✗", "$error"),
    LinkStatus.UNKNOWN: ("?", "$warning"),
    LinkStatus.SKIPPED: ("–", "$text-muted"),
}
# A finding's severity: its mark and the theme's colour for it (info is muted, not coloured).
SEVERITY_STYLE = {
    "error": ("✗", "$error"),
    "warning": ("!", "$warning"),
    "info": ("i", "$text-muted"),
}
# Characters a terminal acts on or a reader cannot see: C0/C1 controls (ESC starts a sequence
# that may clear the screen or retitle the window, BEL rings), bidi overrides and isolates that
# reorder what follows, zero-width characters, line/paragraph separators, lone surrogates (what
# a non-UTF-8 byte decodes to with surrogateescape; they cannot be written to a terminal).
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                         "\u2060-\u2069\ufeff\ud800-\udfff]")
SHOWN_LIMIT = 4000  # characters of one value drawn; the rest is named, not drawn


def _visible(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def shown(value: object, *, lines: bool = False, limit: int = SHOWN_LIMIT, reveal: bool = False) -> str:
    """An untrusted value as text that draws literally: every control character, escape
    sequence, bidi mark and lone surrogate as its escape (`\\x1b`, `\\u202e`); newlines too,
    unless `lines` (a document drawn on many lines); a JWT's signature hidden unless `reveal`.
    Longer than `limit` characters: cut, and the cut said."""
    text = value if isinstance(value, str) else str(value)
    if not reveal:
        # a JWT anywhere in a value (an annotation, an error text): its signature is what makes
        # it a credential, so it is not drawn unless the user reveals it (the token pane's `s`);
        # its claims are what the user reads, so they stay
        text = mask_signatures(text)
    cut = ""
    if len(text) > limit:
        cut = f" … ({len(text) - limit:,} more characters not shown)"
        text = text[:limit]
    if lines:
        text = "\n".join(_UNSHOWABLE.sub(_visible, part) for part in text.split("\n"))
    else:
        text = _UNSHOWABLE.sub(_visible, text.replace("\n", "\\n") if "\n" in text else text)
    return text + cut


def literal(value: object, style: str = "", *, lines: bool = False, reveal: bool = False) -> Content:
    """A value from a cluster or an account as content: drawn as it is (`shown`), never read
    as markup, in `style` (a theme style such as "$text-muted", "b").

    >>> literal("[bold]x[/]").plain
    '[bold]x[/]'
    """
    text = shown(value, lines=lines, reveal=reveal)
    return Content.styled(text, style) if style else Content(text)


Part = Content | str | tuple[object, str] | None


def line(*parts: Part) -> Content:
    """Content put together from parts: a `Content` as it is, a str or (value, style) as
    `literal` (so a value may be any part), None left out."""
    pieces = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, Content):
            pieces.append(part)
        elif isinstance(part, tuple):
            pieces.append(literal(part[0], part[1]))
        else:
            pieces.append(literal(part))
    return Content.assemble(*pieces)


DOCUMENT_LIMIT = 20_000  # characters of a policy document drawn (highlighting is per character)


def document_text(document: object, limit: int = DOCUMENT_LIMIT) -> str:
    """A JSON document (a policy, claims) as indented text that draws literally and is bounded:
    a string is parsed first; one too deep for the parser or the encoder, or not JSON, is
    shown as the text it is (`shown`, lines kept); past `limit` characters it is cut, and the
    cut said. The encoder escapes control characters and non-ASCII itself."""
    if isinstance(document, (bytes, bytearray)):
        document = bytes(document).decode("utf-8", "replace")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except (ValueError, RecursionError):
            return shown(document, lines=True, limit=limit)
    try:
        text = json.dumps(document, indent=2)
    except RecursionError:
        return "(cannot be drawn: nested deeper than JSON's encoder goes)"
    except (ValueError, TypeError) as error:  # not JSON's types (NaN is JSON to Python): said, not drawn
        return f"(cannot be drawn as JSON: {shown(error, limit=200)})"
    return shown(text, lines=True, limit=limit)


MECHANISM_WORDS = {
    Mechanism.IRSA: "IRSA",
    Mechanism.POD_IDENTITY: "Pod Identity",
    Mechanism.STATIC_KEYS: "static keys",
    Mechanism.NODE_ROLE: "node role",
    Mechanism.NONE: "none",
}


def utc(value: datetime) -> datetime:
    """Naive datetimes from the clients are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def duration(seconds: float) -> str:
    """kubectl-like short duration: 45s, 3m12s, 5h, 2d."""
    seconds = int(max(0, seconds))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s"
    if minutes < 60 * 3:
        return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h{minutes % 60}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "?"
    return duration((utc(now) - utc(created)).total_seconds())


def relative(moment: datetime, now: datetime) -> str:
    """'in 23h' / '5m ago' — when a token expires or was issued."""
    delta = (utc(moment) - utc(now)).total_seconds()
    return f"in {duration(delta)}" if delta >= 0 else f"{duration(-delta)} ago"


def stamp(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def verdict_content(verdict: Verdict | None) -> Content:
    if verdict is None:
        return Content.styled("…", "$text-muted")
    text, style = VERDICT_STYLE[verdict]
    return Content.styled(text, style)


VERDICT_RICH = {
    Verdict.OK: "green",
    Verdict.WARNING: "yellow",
    Verdict.BROKEN: "bold red",
    Verdict.UNKNOWN: "dim",
}


def verdict_text(verdict: Verdict | None) -> Text:
    """The verdict badge for table cells (DataTable renders Rich text, not theme markup)."""
    if verdict is None:
        return Text("…", style="dim")
    return Text(VERDICT_STYLE[verdict][0], style=VERDICT_RICH[verdict])


def plural(count: int, word: str, words: str | None = None) -> str:
    """'1 pod', '2 pods' ('words' when the plural is not word + s)."""
    return f"{count:,} {word if count == 1 else words or word + 's'}"


def severity_mark(severity: object) -> Content:
    """A finding's severity as a coloured mark."""
    mark, style = SEVERITY_STYLE.get(str(severity), ("?", "$text-muted"))
    return Content.styled(mark, style)


def finding_content(severity: object, title: str, code: str) -> Content:
    """A finding as a list shows it: mark and title in the severity's colour, then its code.
    `title` and `code` may hold what a cluster wrote (drawn literally)."""
    mark, style = SEVERITY_STYLE.get(str(severity), ("?", "$text-muted"))
    return line(line(f"{mark} ", literal(title, "b")).stylize(style), " ", (f"({shown(code)})", "$text-muted"))


def severity_text(severity: object, theme_variables: dict[str, str]) -> Text:
    """The severity word for a table cell (Rich text, so the theme's colour is looked up)."""
    word = str(severity)
    _, style = SEVERITY_STYLE.get(word, ("?", "$text-muted"))
    colour = theme_variables.get(style[1:]) if word != "info" else None
    return Text(word, style=f"bold {colour}" if colour else "dim")


def link_badge(status: LinkStatus) -> Content:
    mark, style = LINK_STYLE[status]
    return Content.styled(f"{mark} {status.value}", style)


def value_or_unknown(value: object) -> Content:
    """An `Unavailable` reads as unknown with its reason; None as 'none'; a value literally."""
    if isinstance(value, Unavailable):
        return literal(value, "$warning")
    if value is None or value == "":
        return Content.styled("none", "$text-muted")
    return literal(value)


def short_arn(arn: str) -> str:
    """A role's name (the engine's ARN rule: analysis.arns), for narrow columns."""
    return role_name_of(arn)


# Where an ARN or an issuer URL may break besides spaces: after these characters.
BREAK_AFTER = frozenset("/:")


def break_offsets(text: str, width: int) -> list[int]:
    """Where to start new lines so no line of `text` is wider than `width` cells: at spaces
    as usual, and a word too long for a line of its own (an ARN, an issuer URL) after a '/'
    or ':' between its parts — never mid-name when a separator is near. A part wider than
    the line is left whole: the widget folds it."""
    import re

    from rich.cells import cell_len

    offsets: list[int] = []
    for line_start, line in _lines(text):
        used = 0  # cells on the current line
        for word in re.finditer(r"\S+ *| +", line):
            size = cell_len(word.group().rstrip(" "))
            if used + size <= width:
                used += cell_len(word.group())
                continue
            if size <= width:  # the word fits on a line of its own: it starts one
                if used:
                    offsets.append(line_start + word.start())
                used = cell_len(word.group())
                continue
            # too long for any line: break it after its separators, filling each line
            parts = [m for m in re.finditer(r"[^/:]*[/:]+|[^/:]+", word.group()) if m.group()]
            for part in parts:
                part_size = cell_len(part.group().rstrip(" "))
                if used and used + part_size > width:
                    offsets.append(line_start + word.start() + part.start())
                    used = 0
                used += cell_len(part.group())
    return offsets


def _lines(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


class Breakable(Visual):
    """Content that wraps at '/' and ':' as well as at spaces (Textual wraps only at
    whitespace, and a zero-width space is not whitespace to it): ARNs and issuer URLs break
    between their parts, not mid-word. What is copied is the value itself, not this text."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self._wrapped: tuple[int, Content] | None = None

    def __str__(self) -> str:  # the text shown, unwrapped (as a Content's str is)
        return str(self.content)

    @property
    def plain(self) -> str:
        return self.content.plain

    def _at(self, width: int) -> Content:
        if self._wrapped is None or self._wrapped[0] != width:
            offsets = break_offsets(self.content.plain, max(1, width))
            # the space a line broke after is dropped: it would make the line a cell too wide
            lines = [line.rstrip(" ") for line in self.content.divide(offsets)] if offsets else []
            self._wrapped = (width, Content("\n").join(lines) if offsets else self.content)
        return self._wrapped[1]

    def render_strips(self, width: int, height: int | None, style, options) -> list:
        return self._at(width).render_strips(width, height, style, options)

    def get_optimal_width(self, rules, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_minimal_width(self, rules) -> int:
        return self.content.get_minimal_width(rules)

    def get_height(self, rules, width: int) -> int:
        return self._at(width).get_height(rules, width)


def breakable(content: Content | str) -> Breakable:
    """Content (a str: a value, drawn literally) that wraps at '/' and ':'."""
    return Breakable(content if isinstance(content, Content) else literal(content))
