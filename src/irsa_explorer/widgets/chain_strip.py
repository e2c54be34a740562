"""The selected pod's identity chain on one strip: pod → SA → token → provider → role → trust → identity.

Focusable: ←/→ pick a link, enter opens the pane that explains it. Broken and unknown links
say why in words underneath, followed by the chain's findings and their fixes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.markup import escape
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.content import Content

from irsa_explorer.messages import post_up
from irsa_explorer.model import ChainLink, IdentityChain, LinkStatus
from irsa_explorer.navigation import Navigate
from irsa_explorer.widgets.format import LINK_STYLE, MECHANISM_WORDS, verdict_markup

STEP_TITLES = {
    "pod": "pod",
    "service-account": "service account",
    "token": "token",
    "oidc-provider": "OIDC provider",
    "role": "role",
    "trust-policy": "trust policy",
    "identity": "live identity",
}
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
SEVERITY_MARK = {"error": "[$error]✗[/]", "warning": "[$warning]![/]", "info": "[$text-muted]i[/]"}


def _gets(chain: IdentityChain) -> str:
    """What the pod gets, in the chain's own terms: the identity, "no credentials", or unknown."""
    effective = chain.effective
    if effective is None:
        return chain.effective_identity or "unknown"
    if effective.status is LinkStatus.UNKNOWN:
        return "unknown"
    return effective.arn or effective.label


class ChainStrip(Widget, can_focus=True):
    DEFAULT_CSS = """
    ChainStrip { height: auto; padding: 0 1; }
    ChainStrip:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("left", "move(-1)", "Prev link", show=False, id="chain.prev"),
        Binding("right", "move(1)", "Next link", show=False, id="chain.next"),
        Binding("enter", "open", "Open link", id="chain.open", tooltip="Open the pane that explains this link"),
    ]

    cursor: reactive[int] = reactive(0)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.chain: IdentityChain | None = None
        self.message_text = "Select a pod to see its identity chain."
        self.live: Any = None
        self.running = False

    def show(
        self, chain: IdentityChain | None, message: str | None = None, live: Any = None, running: bool = False
    ) -> None:
        """Draw a chain. `live` is the pod's latest `w` run (screens.state.LiveRun) or None:
        the live-identity link is only ✓/✗ once STS has really been asked from the pod."""
        if chain is None or self.chain is None or chain.pod != self.chain.pod:
            self.cursor = 0
        self.chain = chain
        self.live, self.running = live, running
        if message:
            self.message_text = message
        self.refresh(layout=True)

    def _live_link(self, link: ChainLink) -> ChainLink:
        """The identity link as checked: the analysis can only say what the pod *should* get."""
        run = self.live
        if self.running:
            return replace(link, status=LinkStatus.SKIPPED, label="running sts get-caller-identity…", detail="")
        if run is None:
            return replace(
                link, status=LinkStatus.SKIPPED, label="not run",
                detail=f"expected {link.label}; press w to run sts get-caller-identity in the pod",
            )
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

    def render(self) -> Content:
        chain = self.chain
        if chain is None:
            return Content.from_markup(f"[$text-muted]{escape(self.message_text)}[/]")
        links = self.shown_links()
        parts = []
        for index, link in enumerate(links):
            mark, style = LINK_STYLE[link.status]
            title = STEP_TITLES.get(link.step, link.step)
            text = f"[{style}]{mark}[/] {escape(title)}"
            if index == self.cursor and self.has_focus:
                text = f"[reverse]{text}[/reverse]"
            elif index == self.cursor:
                text = f"[underline]{text}[/underline]"
            parts.append(f"[@click=select({index})]{text}[/]")
        lines = [" › ".join(parts)]
        mech = MECHANISM_WORDS.get(chain.mechanism, chain.mechanism.value)
        effective = escape(_gets(chain))
        lines.append(
            f"{verdict_markup(chain.verdict)}  [b]{escape(mech)}[/b] · gets [b]{effective}[/b]"
        )
        for index, link in enumerate(links):
            if link.status in (LinkStatus.BROKEN, LinkStatus.UNKNOWN) or (index == self.cursor and self.has_focus):
                mark, style = LINK_STYLE[link.status]
                title = STEP_TITLES.get(link.step, link.step)
                detail = f" — {escape(link.detail)}" if link.detail else ""
                lines.append(f"[{style}]{mark}[/] [b]{escape(title)}[/b] {escape(link.label)}{detail}")
        for finding in chain.findings:
            mark = SEVERITY_MARK.get(str(finding.severity), "")
            lines.append(f"{mark} [b]{escape(finding.title)}[/b] [$text-muted]({escape(finding.code)})[/]")
            # the fix first: it is what the reader acts on; the explanation may scroll away
            if finding.fix:
                lines.append(f"   [$success]fix:[/] {escape(finding.fix)}")
            if finding.explanation:
                lines.append(f"   [$text-muted]{escape(finding.explanation)}[/]")
        return Content.from_markup("\n".join(lines))

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
        # post_up: the strip is the sender whoever called this (messages.post_up says why)
        post_up(self, Navigate(self.chain.pod, STEP_PANE.get(link.step)))

    def on_focus(self) -> None:
        self.refresh(layout=True)

    def on_blur(self) -> None:
        self.refresh(layout=True)
