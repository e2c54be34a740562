"""How domain values read on screen: ages, times in words, status badges.

Pure functions (no widgets), so the panes and the tests share one wording.
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.markup import escape
from rich.text import Text

from irsa_explorer.analysis.arns import role_name_of
from irsa_explorer.model import LinkStatus, Mechanism, Unavailable, Verdict

VERDICT_STYLE = {
    Verdict.OK: ("✓ ok", "$success"),
    Verdict.WARNING: ("! warning", "$warning"),
    Verdict.BROKEN: ("✗ broken", "$error"),
    Verdict.UNKNOWN: ("? unknown", "$text-muted"),
}
LINK_STYLE = {
    LinkStatus.OK: ("✓", "$success"),
    LinkStatus.BROKEN: ("✗", "$error"),
    LinkStatus.UNKNOWN: ("?", "$warning"),
    LinkStatus.SKIPPED: ("–", "$text-muted"),
}
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


def verdict_markup(verdict: Verdict | None) -> str:
    if verdict is None:
        return "[$text-muted]…[/]"
    text, style = VERDICT_STYLE[verdict]
    return f"[{style}]{text}[/]"


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


def link_badge(status: LinkStatus) -> str:
    mark, style = LINK_STYLE[status]
    return f"[{style}]{mark} {status.value}[/]"


def value_or_unknown(value: object) -> str:
    """An `Unavailable` reads as unknown with its reason; None as 'none'. Escaped for markup."""
    if isinstance(value, Unavailable):
        return f"[$warning]{escape(str(value))}[/]"
    if value is None or value == "":
        return "[$text-muted]none[/]"
    return escape(str(value))


def short_arn(arn: str) -> str:
    """A role's name (the engine's ARN rule: analysis.arns), for narrow columns."""
    return role_name_of(arn)
