"""The one-line input for `/` filter and `:` command mode, docked at the bottom."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

COMMANDS = ("pods", "sa", "roles", "nodes", "findings", "help", "quit")


class PromptBar(Input):
    """Hidden until `/` or `:`; submit or escape hides it again."""

    DEFAULT_CSS = """
    PromptBar { dock: bottom; display: none; height: 3; border: tall $accent; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="prompt.close", tooltip="Close the prompt")]

    class Entered(Message):
        def __init__(self, mode: str, text: str) -> None:
            super().__init__()
            self.mode = mode
            self.text = text

    class FilterChanged(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    mode = "filter"

    def open(self, mode: str, text: str = "") -> None:
        self.mode = mode
        self.placeholder = "filter pods (namespace, name, SA, node, mechanism, verdict)" if mode == "filter" else "command: " + " ".join(COMMANDS)
        self.border_title = "/ filter" if mode == "filter" else ": command"
        self.value = text
        # show and focus now, not on the next style update: keys typed right after `/`
        # (type-ahead) must land here, and a widget that is not displayed cannot take focus
        self.display = True
        self.screen.set_focus(self)

    def action_close(self) -> None:
        # escape keeps the filter: it shows under the table and an empty `/` clears it
        self.display = False
        self._focus_table()

    def _focus_table(self) -> None:
        from textual.widgets import DataTable

        tables = self.screen.query(DataTable)
        if tables:
            self.screen.set_focus(tables.first())

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter":
            self.post_message(self.FilterChanged(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.display = False
        self._focus_table()
        self.post_message(self.Entered(self.mode, event.value.strip()))
