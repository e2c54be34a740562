"""The one-line input for `/` filter and `:` command mode, docked at the bottom."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input

from irsa_explorer.commands import COMMANDS, show_commands
from irsa_explorer.messages import post_up


FILTER_HELP = "text (namespace, name, SA, node, phase, mechanism, verdict) · !text: the others · -l app=web: by labels"


class PromptBar(Input):
    """Hidden until `/` or `:`; submit or escape hides it again."""

    DEFAULT_CSS = """
    PromptBar { dock: bottom; display: none; height: 3; border: tall $accent; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="prompt.close", tooltip="Close the prompt"),
        Binding("ctrl+a", "commands_or_home", "Commands", show=False, id="prompt.commands",
                tooltip="After : the commands and their aliases (after /: start of the line)"),
    ]

    @dataclass
    class Entered(Message):
        """enter: apply the filter, or run the command (mode "filter" or "command")."""

        mode: str
        text: str

    @dataclass
    class FilterChanged(Message):
        """The filter as typed so far (the table follows each key)."""

        text: str

    mode = "filter"

    def open(self, mode: str, text: str = "") -> None:
        self.mode = mode
        self.placeholder = FILTER_HELP if mode == "filter" else "command: " + " ".join(COMMANDS) + " · ctrl+a: aliases"
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

    def action_commands_or_home(self) -> None:
        if self.mode == "command":  # k9s: ctrl+a lists the aliases; the line stays as typed
            show_commands(self.app)  # type: ignore[arg-type]  # the explorer runs this widget
        else:
            self.action_home()

    def _focus_table(self) -> None:
        tables = self.screen.query(DataTable)  # the list views'; the pods view focuses its own
        if tables:
            self.screen.set_focus(tables.first())

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter":
            post_up(self, self.FilterChanged(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.display = False
        self._focus_table()
        post_up(self, self.Entered(self.mode, event.value.strip()))
