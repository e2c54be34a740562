"""The frame every detail pane shares: a titled, scrollable column rebuilt on `show`, whose
border says how old what it shows is ("role read 12s ago", "service account watching")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.markup import escape
from textual.containers import VerticalScroll
from textual.widgets import Static

from irsa_explorer.model import ObjectRef
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.format import breakable
from irsa_explorer.widgets.link import Link

# What a pane shows and where it comes from: (what, its AWS facts, its Kubernetes resource).
Dated = tuple[str, FactsWanted, str | None]


def row(label: str, value_markup: str) -> Static:
    """One 'label: value' line; `value_markup` is already escaped markup. An ARN or URL in it
    wraps at '/' and ':' (format.breakable), not mid-word."""
    return Static(breakable(f"[b]{escape(label)}[/b] {value_markup}" if label else value_markup), classes="field")


def arn_link(label: str, ref: ObjectRef | None, *, prefix: str = "", copy_text: str | None = None,
             classes: str | None = None) -> Link:
    """A link to an ARN (or any name with '/' and ':') that wraps between its parts; `y`
    copies `copy_text`, by default the label itself — never the displayed, wrapped text."""
    link = Link(label, ref, prefix=prefix, copy_text=copy_text, classes=classes)
    link.update(breakable(prefix + escape(label)))
    return link


def ticking(draw: Callable[[datetime], str], now: datetime, classes: str = "field") -> Static:
    """A line with a relative time in it ('5s ago'): `draw` (a moment → escaped markup) is
    called again as of now on the pane's tick (the app's once-a-second timer), not only when
    something else redraws the pane. A plain Static marked `-ticks`, drawn by `DetailPane.tick`."""
    shown = draw(now)
    line = Static(breakable(shown), classes=f"{classes} -ticks")
    line._ticks = (draw, shown)  # type: ignore[attr-defined]
    return line


def ticking_row(label: str, value: Callable[[datetime], str], now: datetime) -> Static:
    """A `row` whose value (escaped markup as of a moment) has a relative time in it."""
    return ticking(lambda at: f"[b]{escape(label)}[/b] {value(at)}", now)


def heading(text: str) -> Static:
    return Static(escape(text), classes="heading")


# A pane lists at most this many links per list: each is a widget, and a default service
# account of a big cluster has thousands of pods; the list views show them all.
LIST_LIMIT = 20


def more(total: int, shown: int, where: str) -> list[Static]:
    """The '… and N more' line after a capped list."""
    return [note(f"… and {total - shown} more ({where})")] if total > shown else []


def note(text: str) -> Static:
    return Static(f"[$text-muted]{escape(text)}[/]", classes="note")


class DetailPane(VerticalScroll):
    """Base for the pods view's panes. Subclasses build their children in `compose`."""

    DEFAULT_CSS = """
    DetailPane { height: 1fr; padding: 0 1; }
    DetailPane .heading { text-style: bold; color: $secondary; margin-top: 1; }
    DetailPane .note { color: $text-muted; }
    """

    PANE_ID = ""
    TITLE = ""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = self.TITLE

    _shown_key: object = None
    _dated: tuple[Dated, ...] = ()

    def date(self, *dated: Dated) -> None:
        """Say on the border how old what the pane shows is; the screen ticks it once a second."""
        self._dated = dated
        self.tick()

    def tick(self) -> None:
        """The border's ages as of now (the store's words: `ExplorerState.age_words`)."""
        state = getattr(self.screen, "state", None) if self.is_attached else None
        parts = []
        for what, facts, kube in self._dated if state is not None else ():
            if words := state.age_words(facts, kube):
                parts.append(f"{what} {words}" if what else words)
        if self.border_subtitle != (subtitle := " · ".join(parts)):
            self.border_subtitle = subtitle
        if state is not None:
            now = state.now()
            for line in self.query(".-ticks"):
                draw, shown = line._ticks
                if (markup := draw(now)) != shown:
                    line._ticks = (draw, markup)
                    line.update(breakable(markup))

    def rebuild(self, key: object = None) -> None:
        """Recompose from the current data, unless `key` says it is what is shown already
        (recomposing restyles every child, too slow to do for each worker message)."""
        if key is not None and key == self._shown_key:
            return
        self._shown_key = key
        self.refresh(recompose=True)
