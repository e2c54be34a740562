"""CloudTrail pane: recent events for the selected pod or role — who asked for the role (the
token's `sub`), what was refused — newest first, more on `m`, and how old the answer is.

CloudTrail delivers an event within about 5 minutes of the call, so an empty answer read just
after a failure is no proof: the pane says so next to the answer's age, always. What it
shows comes from `sources.cloudtrail` (the lookups for a pod are worked out from its chain);
every value of a record (session names, user agents, error messages: anything a caller sent)
is drawn literally, never as markup.

The answers are kept here, per pod or role (`trails`): a lookup is asked for once when the
pane first shows its subject, again with `a` on the pane, and its next pages on `m`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from irsa_explorer.messages import CloudTrailRead, post_up
from irsa_explorer.model import TrailEvent, TrailPage, TrailSubject, Unavailable
from irsa_explorer.widgets.format import breakable, duration, stamp
from irsa_explorer.widgets.panes.detail import DetailPane

if TYPE_CHECKING:
    from irsa_explorer.state import ExplorerState

DELIVERY = "CloudTrail delivers events within about 5 minutes"
SHOWN_LIMIT = 200  # events drawn (each is a few widgets); more are kept, and said
_TEXT_LIMIT = 300  # characters of any one value drawn


def _text(value: object, style: str = "") -> Content:
    """A value from a record, drawn literally (no markup), on one bounded line."""
    text = " ".join(str(value).split())
    if len(text) > _TEXT_LIMIT:
        text = text[:_TEXT_LIMIT] + "…"
    return Content.styled(text, style) if style else Content(text)


def _static(*parts: Content | str, classes: str = "field") -> Static:
    """A line of parts (Content, or constant words); an ARN in it wraps after '/' and ':'."""
    return Static(breakable(Content.assemble(*parts)), classes=classes)


@dataclass
class Trail:
    """What is known of one subject's events: the pages read, or why they could not be."""

    subject: TrailSubject
    page: TrailPage | None = None
    failed: Unavailable | None = None
    loading: bool = True
    read_at: datetime | None = None  # when the last answer arrived (the app's clock)
    version: int = field(default=0)


class CloudTrailPane(DetailPane):
    TITLE = "CloudTrail"
    PANE_ID = "cloudtrail"
    DEFAULT_CSS = """
    #detail-column > CloudTrailPane { height: 1fr; border-top: solid $accent 40%; }
    """
    BINDINGS = [
        Binding("m", "more", "More events", id="cloudtrail.more", tooltip="The next CloudTrail events (older)"),
        Binding("a", "again", "Ask again", id="cloudtrail.again",
                tooltip="Look the events up again (CloudTrail delivers them within about 5 minutes)"),
    ]

    @dataclass
    class Wanted(Message):
        """Look the subject's events up (cursor: the next pages of a page already shown)."""

        subject: TrailSubject
        cursor: tuple = ()
        pane: CloudTrailPane | None = field(default=None, repr=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.trails: dict[str, Trail] = {}
        self.page_size = 50  # events per lookup and page (LookupEvents' most)
        self.state: ExplorerState | None = None
        self.subject: TrailSubject | None = None
        self.why_none = ""

    def show(self, state: ExplorerState, subject: TrailSubject | str | None) -> None:
        """The subject's events (asked for the first time it is shown), or why there are none."""
        self.state = state
        if isinstance(subject, TrailSubject):
            self.subject, self.why_none = subject, ""
            if subject.key not in self.trails:
                self._ask(Trail(subject), ())
        else:
            self.subject, self.why_none = None, subject or "Nothing selected."
        trail = self.trails.get(self.subject.key) if self.subject else None
        self.rebuild((self.subject, self.why_none, trail.version if trail else None))

    def _ask(self, trail: Trail, cursor: tuple) -> None:
        trail.loading = True
        trail.version += 1
        self.trails[trail.subject.key] = trail
        post_up(self, self.Wanted(trail.subject, cursor, self))

    def action_more(self) -> None:
        trail = self.trails.get(self.subject.key) if self.subject else None
        if trail is not None and not trail.loading and trail.page is not None and trail.page.more:
            self._ask(trail, trail.page.cursor)
            self.rebuild((self.subject, self.why_none, trail.version))

    def action_again(self) -> None:
        if self.subject is None:
            return
        trail = self.trails.get(self.subject.key)
        if trail is not None and trail.loading:
            return
        fresh = Trail(self.subject, version=trail.version if trail is not None else 0)
        self._ask(fresh, ())
        self.rebuild((self.subject, self.why_none, fresh.version))

    @on(CloudTrailRead)
    def _read(self, message: CloudTrailRead) -> None:
        message.stop()
        trail = self.trails.get(message.key)
        if trail is None:
            return
        from irsa_explorer.sources.cloudtrail import more_of

        result = message.result
        trail.loading = False
        trail.read_at = self.state.now() if self.state is not None else None
        if isinstance(result, Unavailable):
            trail.failed = result
        elif message.more and trail.page is not None:
            trail.page, trail.failed = more_of(trail.page, result), None
        else:
            trail.page, trail.failed = result, None
        trail.version += 1
        if self.subject is not None and self.subject.key == message.key:
            self.rebuild((self.subject, self.why_none, trail.version))

    # -- drawing ----------------------------------------------------------------------------------

    def tick(self) -> None:
        super().tick()
        if self.is_attached and self.state is not None:
            for widget in self.query("#cloudtrail-age"):
                widget.update(self._age_line())

    def _age_line(self) -> Content:
        trail = self.trails.get(self.subject.key) if self.subject else None
        if trail is None or trail.read_at is None or self.state is None:
            return Content.styled(DELIVERY, "$text-muted")
        seconds = max(0.0, (self.state.now() - trail.read_at).total_seconds())
        return Content.styled(f"read {duration(seconds)} ago · {DELIVERY}", "$text-muted")

    def compose(self) -> ComposeResult:
        if self.subject is None:
            yield _static(_text(self.why_none, "$text-muted"), classes="note")
            return
        trail = self.trails.get(self.subject.key)
        yield _static(Content.styled("Events of ", "bold"), _text(self.subject.describe, "bold"),
                      Content.styled(", newest first", "bold"), classes="heading")
        age = Static(self._age_line(), id="cloudtrail-age", classes="note")
        yield age
        if self.subject.note:
            yield _static(_text(self.subject.note, "$text-muted"), classes="note")
        if trail is None:
            return
        if trail.failed is not None:
            yield _static(Content.styled("unknown: ", "$warning bold"), _text(_unknown_words(trail.failed), "$warning"))
        page = trail.page
        if page is not None:
            if not page.events:
                yield _static(_text("No events found. A call made in the last 5 minutes may not be delivered yet: "
                                    "a looks again.", "$text-muted"), classes="note")
            for event in page.events[:SHOWN_LIMIT]:
                yield from _event(event)
            if len(page.events) > SHOWN_LIMIT:
                yield _static(_text(f"… and {len(page.events) - SHOWN_LIMIT} more events read", "$text-muted"),
                              classes="note")
        if trail.loading:
            yield _static(_text("loading CloudTrail events…", "$text-muted"), classes="note")
        elif page is not None and page.more:
            yield _static(_text("m: more (older) events · a: look again", "$text-muted"), classes="note")
        elif page is not None:
            yield _static(_text("No older events. a: look again", "$text-muted"), classes="note")


def _unknown_words(failed: Unavailable) -> str:
    if failed.permission:
        return f"needs {failed.permission} — {failed.reason}"
    return failed.reason


def _event(event: TrailEvent) -> ComposeResult:
    """Three lines at most: when and what (with the error code), who, the error message."""
    when = stamp(event.time) if event.time is not None else "time unknown"
    parts: list[Content | str] = [_text(when, "$text-muted"), " ", _text(event.name, "bold")]
    if event.source and event.source != "sts.amazonaws.com":
        parts += [" ", _text(f"({event.source.removesuffix('.amazonaws.com')})", "$text-muted")]
    if event.error_code:
        parts += [" ", _text(event.error_code, "$error bold")]
    yield _static(*parts, classes="heading")
    who: list[Content | str] = []
    if event.subject:
        who += [Content.styled("sub ", "bold"), _text(event.subject), " "]
    if event.assumption and event.role_arn:
        who += [Content.styled("role ", "bold"), _text(event.role_arn.rsplit("/", 1)[-1]), " "]
    if event.identity and event.identity != event.subject:
        who += [Content.styled("by ", "bold"), _text(event.identity)]
    if who:
        yield _static(*who)
    if event.error_message:
        yield _static(_text(event.error_message, "$error"))


__all__ = ["CloudTrailPane", "DELIVERY", "Trail"]
