"""The frame every detail pane shares: a titled, scrollable column rebuilt on `show`."""

from __future__ import annotations

from rich.markup import escape
from textual.containers import VerticalScroll
from textual.widgets import Static


def row(label: str, value_markup: str) -> Static:
    """One 'label: value' line; `value_markup` is already escaped markup."""
    return Static(f"[b]{escape(label)}[/b] {value_markup}", classes="field")


def heading(text: str) -> Static:
    return Static(escape(text), classes="heading")


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

    def rebuild(self) -> None:
        """Recompose from the current data (a pane holds few widgets, so this is cheap)."""
        self.refresh(recompose=True)
