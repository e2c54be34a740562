"""The frame every detail pane shares: a titled, scrollable column rebuilt on `show`, whose
border says how old what it shows is ("role read 12s ago", "service account watching")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from irsa_explorer.model import ObjectRef
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.format import Breakable, breakable, line, literal
from irsa_explorer.widgets.link import Link

# What a pane shows and where it comes from: (what, its AWS facts, its Kubernetes resource).
Dated = tuple[str, FactsWanted, str | None]


def row(label: str, value: Content | str) -> Static:
    """One 'label: value' line; `value` is content (format.line, format.literal) or a value
    drawn literally — never markup. An ARN or URL in it wraps at '/' and ':' (format.breakable),
    not mid-word."""
    return Static(breakable(line(literal(label, "b"), " ", value) if label else line(value)), classes="field")


def arn_link(label: str, ref: ObjectRef | None, *, prefix: Content | str = "", copy_text: str | None = None,
             classes: str | None = None) -> Link:
    """A link to an ARN (or any name with '/' and ':') that wraps between its parts; `y`
    copies `copy_text`, by default the label itself — never the displayed, wrapped text.
    `prefix`: content, or a constant in markup (Link's rule)."""
    link = Link(label, ref, prefix=prefix, copy_text=copy_text, classes=classes)
    link.update(Breakable(link.content))
    return link


def ticking(draw: Callable[[datetime], Content | str], now: datetime, classes: str = "field") -> Static:
    """A line with a relative time in it ('5s ago'): `draw` (a moment → content, or text drawn
    literally) is called again as of now on the pane's tick (the app's once-a-second timer), not
    only when something else redraws the pane. A plain Static marked `-ticks`, drawn by `DetailPane.tick`."""
    shown = line(draw(now))
    widget = Static(breakable(shown), classes=f"{classes} -ticks")
    widget._ticks = (draw, shown)  # type: ignore[attr-defined]
    return widget


def ticking_row(label: str, value: Callable[[datetime], Content | str], now: datetime) -> Static:
    """A `row` whose value (content as of a moment) has a relative time in it."""
    return ticking(lambda at: line(literal(label, "b"), " ", value(at)), now)


def heading(text: str) -> Static:
    return Static(literal(text), classes="heading")


# A pane lists at most this many links per list: each is a widget, and a default service
# account of a big cluster has thousands of pods; the list views show them all.
LIST_LIMIT = 20


def more(total: int, shown: int, where: str) -> list[Static]:
    """The '… and N more' line after a capped list."""
    return [note(f"… and {total - shown} more ({where})")] if total > shown else []


def note(text: str) -> Static:
    return Static(literal(text, "$text-muted"), classes="note")


class DetailPane(VerticalScroll):
    """Base for the pods view's panes. Subclasses build their children in `compose`."""

    DEFAULT_CSS = """
    DetailPane { height: 1fr; padding: 0 1; }
    DetailPane .heading { text-style: bold; color: $secondary; margin-top: 1; }
    DetailPane .note { color: $text-muted; }
    """

    PANE_ID = ""
    TITLE = ""
    BINDINGS = [Binding("f1", "concept", "Concept", id="pane.concept", tooltip="What this pane shows, explained (concepts page)")]

    def action_concept(self) -> None:
        from irsa_explorer.screens.concepts import concept_for_pane, open_concepts  # screens import panes: on use

        concept = concept_for_pane(self.PANE_ID)
        open_concepts(self.app, concept.id if concept else None)

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
            for widget in self.query(".-ticks"):
                draw, shown = widget._ticks
                content = line(draw(now))
                if (content.plain, content.spans) != (shown.plain, shown.spans):  # Content's == is the text only
                    widget._ticks = (draw, content)
                    widget.update(breakable(content))

    def rebuild(self, key: object = None) -> None:
        """Recompose from the current data, unless `key` says it is what is shown already
        (recomposing restyles every child, too slow to do for each worker message)."""
        if key is not None and key == self._shown_key:
            return
        self._shown_key = key
        self.refresh(recompose=True)
