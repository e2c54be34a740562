"""The selected pod's identity chain: pod → SA → token → provider → role → trust → identity.

Its verdict first, then the links (←/→ pick one, enter opens the pane that explains it), then
the broken and unknown links in words, and the chain's findings with their fixes. It scrolls
(↑/↓, PgUp/PgDn, home/end once focused), and `z` maximises it (app.py): at 80×24 the fix of a
broken pod is a few keys away. Focused, its cursor starts on the first broken link.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from irsa_explorer.messages import post_up
from irsa_explorer.model import ChainLink, IdentityChain, LinkStatus
from irsa_explorer.navigation import Navigate
from irsa_explorer.widgets import live
from irsa_explorer.widgets.format import (
    LINK_STYLE,
    MECHANISM_WORDS,
    Breakable,
    finding_content,
    line,
    literal,
    verdict_content,
)

STEP_TITLES = {
    "pod": "pod",
    "service-account": "service account",
    "token": "token",
    "oidc-provider": "OIDC provider",
    "role": "role",
    "trust-policy": "trust policy",
    "identity": "live identity",
}
# The links' names when the whole strip would not fit on one line (80 columns).
SHORT_TITLES = {"service-account": "SA", "oidc-provider": "OIDC", "trust-policy": "trust", "identity": "live"}
# Which pane of the pods view explains each link.
STEP_PANE = {
    "pod": None,
    "service-account": "service-account",
    "token": "token",
    "oidc-provider": "trust-policy",
    "role": "role",
    "trust-policy": "trust-policy",
    "identity": "live-identity",
}
_BAD = (LinkStatus.BROKEN, LinkStatus.UNKNOWN)


def _gets(chain: IdentityChain) -> str:
    """What the pod gets, in the chain's own terms: the identity, "no credentials", or unknown."""
    effective = chain.effective
    if effective is None:
        return chain.effective_identity or "unknown"
    if effective.status is LinkStatus.UNKNOWN:
        return "unknown"
    return effective.arn or effective.label


def first_bad_link(chain: IdentityChain | None) -> int:
    """The index of the chain's first broken or unknown link (0 when every link holds)."""
    links = chain.links if chain is not None else ()
    return next((index for index, link in enumerate(links) if link.status in _BAD), 0)


class ChainText(Static):
    """The strip's text; a click on a link's name selects and opens it."""

    def action_select(self, index: int) -> None:
        if isinstance(self.parent, ChainStrip):
            self.parent.action_select(index)


class ChainStrip(ScrollableContainer, can_focus=True):
    """A scrolling container of one text (a render-only widget cannot scroll in Textual), so the
    keys of a scrollable container work on it; ←/→ move between links instead of sideways."""

    ALLOW_MAXIMIZE = True  # the palette's Maximize and `z` (ScrollableContainer says no)
    DEFAULT_CSS = """
    ChainStrip { height: auto; width: 1fr; overflow-x: hidden; overflow-y: auto; padding: 0 1; }
    ChainStrip:focus { background: $boost; }
    ChainStrip > ChainText { width: 1fr; height: auto; }
    """
    BINDINGS = [
        Binding("left", "move(-1)", "Prev link", show=False, id="chain.prev"),
        Binding("right", "move(1)", "Next link", show=False, id="chain.next"),
        Binding("enter", "open", "Open link", id="chain.open", tooltip="Open the pane that explains this link"),
        Binding("f1", "concept", "Concept", id="chain.concept", tooltip="This link's concept (the concepts page)"),
    ]

    cursor: reactive[int] = reactive(0, init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.chain: IdentityChain | None = None
        self.message_text = "Select a pod to see its identity chain."
        self.live: Any = None
        self.running = False

    def compose(self) -> ComposeResult:
        yield ChainText(Breakable(self.content()), id="chain-text")  # ARNs wrap at / and :

    def show(
        self, chain: IdentityChain | None, message: str | None = None, live: Any = None, running: bool = False
    ) -> None:
        """Draw a chain. `live` is the pod's latest `w` run (screens.state.LiveRun) or None:
        the live-identity link is only ✓/✗ once STS has really been asked from the pod."""
        new_pod = chain is None or self.chain is None or chain.pod != self.chain.pod
        self.chain = chain
        self.live, self.running = live, running
        if message:
            self.message_text = message
        if new_pod:
            self.set_reactive(ChainStrip.cursor, first_bad_link(chain))
            self.scroll_home(animate=False, immediate=True)
            # whose chain, said on the frame: zoomed (`z`), the pods table is out of sight
            who = f" · {chain.pod.namespace or ''}/{chain.pod.name}" if chain is not None else ""
            self.border_title = literal(f"Identity chain{who}")  # content: a pod's name is not markup
        self._redraw()

    def _redraw(self) -> None:
        if live(self):
            self.query_one(ChainText).update(Breakable(self.content()))

    def watch_cursor(self) -> None:
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()  # the links' names are shortened to fit a narrow strip

    def _live_link(self, link: ChainLink) -> ChainLink:
        """The identity link as checked: the analysis can only say what the pod *should* get."""
        run = self.live
        if self.running:
            return replace(link, status=LinkStatus.SKIPPED, label="running sts get-caller-identity…", detail="")
        if run is None:
            consent = getattr(self.app, "consent", None)
            how = ("not asked: this session is --readonly (no exec into pods)" if consent is not None and consent.readonly
                   else "press w to run sts get-caller-identity in the pod")
            return replace(link, status=LinkStatus.SKIPPED, label="not run", detail=f"expected {link.label}; {how}")
        result = run.result
        if run.error or result is None:
            return replace(link, status=LinkStatus.UNKNOWN, label="the check failed", detail=run.error or "")
        if not result.ok:
            why = result.error_code or f"exit {result.exit_code}"
            # no credentials where the engine expects none is the engine confirmed, not a failure
            status = LinkStatus.OK if result.agrees_with_engine else LinkStatus.BROKEN
            return replace(link, status=status, label=f"failed ({why})", detail=result.hint or result.error_message or "")
        if result.matches_intended is False:
            return replace(link, status=LinkStatus.BROKEN, label=f"is {result.arn}", detail=f"not the intended {result.intended_role_arn}")
        return replace(link, status=LinkStatus.OK, label=f"is {result.arn}", detail="")

    def shown_links(self) -> list[ChainLink]:
        """The chain's links as drawn (the identity link from the live check, if any)."""
        if self.chain is None:
            return []
        return [self._live_link(link) if link.step == "identity" else link for link in self.chain.links]

    @property
    def copy_text(self) -> str | None:
        """`y` on the strip copies the first fix of the chain's findings."""
        if self.chain:
            for finding in self.chain.findings:
                if finding.fix:
                    return finding.fix
        return None

    def _strip_line(self, links: list[ChainLink]) -> Content:
        """The links on one line, their names shortened when the full ones would wrap."""
        width = self.scrollable_content_region.width
        full = " › ".join(f"✓ {STEP_TITLES.get(link.step, link.step)}" for link in links)
        titles = STEP_TITLES if not width or len(full) <= width else {**STEP_TITLES, **SHORT_TITLES}
        parts = []
        for index, link in enumerate(links):
            text = line(LINK_STYLE[link.status], " ", titles.get(link.step, link.step))
            if index == self.cursor and self.has_focus:
                text = text.stylize("reverse")
            elif index == self.cursor:
                text = text.stylize("underline")
            parts.append(text.stylize(f"@click=select({index})"))
        return Content(" › ").join(parts)

    def content(self) -> Content:
        """What the strip shows: the verdict, the links, what is broken, the findings and fixes."""
        chain = self.chain
        if chain is None:
            return literal(self.message_text, "$text-muted")
        links = self.shown_links()
        mech = MECHANISM_WORDS.get(chain.mechanism, chain.mechanism.value)
        lines = [line(verdict_content(chain.verdict), "  ", (mech, "b"), " · gets ", (_gets(chain), "b")),
                 self._strip_line(links)]
        for index, link in enumerate(links):
            if link.status in _BAD or (index == self.cursor and self.has_focus):
                title = STEP_TITLES.get(link.step, link.step)
                detail = f" — {link.detail}" if link.detail else None
                lines.append(line(LINK_STYLE[link.status], " ", (title, "b"), " ", link.label, detail))
        for finding in chain.findings:
            lines.append(finding_content(finding.severity, finding.title, finding.code))
            # the fix first: it is what the reader acts on; the explanation may scroll away
            if finding.fix:
                lines.append(line("   ", ("fix:", "$success"), " ", literal(finding.fix, lines=True)))
            if finding.explanation:
                lines.append(line("   ", literal(finding.explanation, "$text-muted", lines=True)))
        return Content("\n").join(lines)

    def action_move(self, delta: int) -> None:
        if self.chain and self.chain.links:
            self.cursor = (self.cursor + delta) % len(self.chain.links)

    def action_select(self, index: int) -> None:
        self.cursor = index
        self.action_open()

    def action_open(self) -> None:
        if not self.chain or not self.chain.links:
            return
        link = self.chain.links[self.cursor]
        pane = STEP_PANE.get(link.step)
        if pane and self.screen.has_class("-narrow"):
            # stacked, the focused chain fills the pane's place: the pane takes the focus instead
            self.screen.set_focus(None)
        # post_up: the strip is the sender whoever called this (messages.post_up says why)
        post_up(self, Navigate(self.chain.pod, pane))

    def action_concept(self) -> None:
        from irsa_explorer.screens.concepts import concept_for_link, open_concepts  # screens import widgets: on use

        links = self.chain.links if self.chain else ()
        concept = concept_for_link(links[self.cursor].step) if 0 <= self.cursor < len(links) else None
        open_concepts(self.app, concept.id if concept else None)

    def watch_has_focus(self, has_focus: bool) -> None:
        super().watch_has_focus(has_focus)
        self._redraw()  # focused, the link under the cursor is spelled out
