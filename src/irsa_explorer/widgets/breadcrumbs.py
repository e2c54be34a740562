"""Where you are and how you got here: the last few history steps, context and namespace, and
how the view stands (loading, a lost watch, …) next to the steps, where the edge cannot cut it."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from irsa_explorer.navigation import History


class Breadcrumbs(Static):
    DEFAULT_CSS = """
    Breadcrumbs { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown = ""

    def show(self, history: History, context: str, namespace: str | None, stage: str = "") -> None:
        """`namespace`: what the view covers, in words (`ExplorerState.scope`: a namespace, or
        the namespaces a restricted user could read); None: all namespaces."""
        trail = " [$text-muted]›[/] ".join(
            f"[b]{escape(loc.crumb)}[/b]" if i == len(history.trail(3)) - 1 else escape(loc.crumb)
            for i, loc in enumerate(history.trail(3))
        )
        scope = namespace or "all namespaces"
        back = "[$text-muted]◀[/]" if history.can_back else " "
        fwd = "[$text-muted]▶[/]" if history.can_forward else " "
        status = f"[$warning]{escape(stage)}[/] │ " if stage else ""
        # the trail first, then what the view covers (a restricted user's namespaces must not be
        # cut off) and the status: they are what changes; the context is long and may be cut at
        # the edge
        text = f"{back}{fwd} {trail} │ {escape(scope)} │ {status}[$accent]{escape(context)}[/]"
        if text != self._shown:
            self._shown = text
            # one line whatever it says (height 1, full width): no layout pass for the screen,
            # which would otherwise follow every cursor move
            self.update(text, layout=False)
