"""A focusable, clickable name: every pod, service account, role, node and ARN on screen."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from irsa_explorer.messages import post_up
from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import Navigate
from irsa_explorer.widgets.format import line, literal


class Link(Static, can_focus=True):
    """Posts `Navigate(ref)` on enter or click; `copy_text` is what `y` copies (the value in
    full, however it is drawn). `label` is drawn literally; `prefix` is content, or a constant
    in markup ("[b]pod[/b] ") — never one with a value in it."""

    DEFAULT_CSS = """
    Link { width: 100%; height: auto; color: $text-accent; text-style: underline; }
    Link:hover { background: $boost; }
    Link:focus { background: $accent 30%; text-style: bold underline; }
    """
    BINDINGS = [Binding("enter", "follow", "Open", id="link.follow", tooltip="Go to this object")]

    def __init__(
        self,
        label: str,
        ref: ObjectRef | None,
        *,
        pane: str | None = None,
        copy_text: str | None = None,
        prefix: Content | str = "",
        lines: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        head = prefix if isinstance(prefix, Content) else Content.from_markup(prefix)
        # `lines`: a label of several lines (a fix) keeps them; else a newline shows as \n
        super().__init__(line(head, literal(label, lines=lines)), id=id, classes=classes)
        self.ref = ref
        self.pane = pane
        self.copy_text = copy_text if copy_text is not None else label

    def action_follow(self) -> None:
        if self.ref is not None:
            post_up(self, Navigate(self.ref, self.pane))

    def on_click(self) -> None:
        self.action_follow()
