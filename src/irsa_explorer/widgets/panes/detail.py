"""The frame every detail pane shares: a titled, scrollable column rebuilt on `show`, whose
border says how old what it shows is ("role read 12s ago", "service account watching")."""

from __future__ import annotations

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
    return Static(breakable(f"[b]{escape(label)}[/b] {value_markup}"), classes="field")


def arn_link(label: str, ref: ObjectRef | None, *, prefix: str = "", copy_text: str | None = None,
             classes: str | None = None) -> Link:
    """A link to an ARN (or any name with '/' and ':') that wraps between its parts; `y`
    copies `copy_text`, by default the label itself — never the displayed, wrapped text."""
    link = Link(label, ref, prefix=prefix, copy_text=copy_text, classes=classes)
    link.update(breakable(prefix + escape(label)))
    return link


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

    def rebuild(self, key: object = None) -> None:
        """Recompose from the current data, unless `key` says it is what is shown already
        (recomposing restyles every child, too slow to do for each worker message)."""
        if key is not None and key == self._shown_key:
            return
        self._shown_key = key
        self.refresh(recompose=True)
