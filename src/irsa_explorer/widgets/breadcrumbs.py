"""Where you are and how you got here: the last few history steps, context and namespace, and
how the view stands (loading, a lost watch, …) next to the steps, where the edge cannot cut it."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from irsa_explorer.navigation import History
from irsa_explorer.widgets.format import line, literal


class Breadcrumbs(Static):
    DEFAULT_CSS = """
    Breadcrumbs { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown: tuple = ()

    def show(self, history: History, context: str, namespace: str | None, stage: str = "") -> None:
        """`namespace`: what the view covers, in words (`ExplorerState.scope`: a namespace, or
        the namespaces a restricted user could read); None: all namespaces."""
        steps = history.trail(3)
        trail = line(" ", ("›", "$text-muted"), " ").join(
            literal(loc.crumb, "b") if i == len(steps) - 1 else literal(loc.crumb) for i, loc in enumerate(steps)
        )
        scope = namespace or "all namespaces"
        back = ("◀", "$text-muted") if history.can_back else " "
        fwd = ("▶", "$text-muted") if history.can_forward else " "
        status = line((stage, "$warning"), " │ ") if stage else None
        # the trail first, then what the view covers (a restricted user's namespaces must not be
        # cut off) and the status: they are what changes; the context is long and may be cut at
        # the edge
        text: Content = line(back, fwd, " ", trail, f" │ {scope} │ ", status, (context, "$accent"))
        if (text.plain, text.spans) != self._shown:  # Content's == compares the text only
            self._shown = (text.plain, text.spans)
            # one line whatever it says (height 1, full width): no layout pass for the screen,
            # which would otherwise follow every cursor move
            self.update(text, layout=False)
