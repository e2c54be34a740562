"""Small modal screens: help, pickers, confirmation, a policy document."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from irsa_explorer.model import Unavailable
from irsa_explorer.widgets import live
from irsa_explorer.widgets.format import document_text, line, literal


def key_help(app: App) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every key, read from the bindings themselves so help cannot drift from them."""
    from irsa_explorer.commands import command_list
    from irsa_explorer.screens.view import ViewScreen
    from irsa_explorer.screens.main import PodsScreen
    from irsa_explorer.screens.service_accounts import ServiceAccountsScreen
    from irsa_explorer.widgets.chain_strip import ChainStrip
    from irsa_explorer.widgets.link import Link
    from irsa_explorer.widgets.panes.detail import DetailPane
    from irsa_explorer.widgets.panes.token import TokenPane
    from irsa_explorer.widgets.pods_table import PodsTable
    from irsa_explorer.widgets.prompt_bar import PromptBar

    keymap = getattr(app, "_keymap", {})  # the config file's [keymap] (Textual keeps it there, App.set_keymap)

    def keys(bindings: list[Binding]) -> list[tuple[str, str]]:
        out = []
        for binding in bindings:
            effective = keymap.get(binding.id, binding.key) if binding.id else binding.key
            shown = ", ".join(app.get_key_display(Binding(key.strip(), "")) for key in effective.split(","))
            out.append((shown, binding.tooltip or binding.description))
        return out

    lesson = []
    if hasattr(app, "lesson_panels"):  # `learn`: the panel's own keys (its h, o, x are the app's)
        from irsa_explorer.widgets.lesson_panel import LessonPanel
        lesson = [("Lesson panel (tab reaches it)", keys(LessonPanel.BINDINGS))]
    return [
        ("Everywhere", keys(app.BINDINGS) + keys([b for b in ViewScreen.BINDINGS if b.id == "view.commands"]) + [("ctrl+p", "command palette: views, pods, roles, themes"), ("tab, shift+tab", "move between table, chain and panes")]),
        ("Pods view", keys(PodsTable.BINDINGS) + keys(PodsScreen.BINDINGS)),
        ("Identity chain", keys(ChainStrip.BINDINGS) + [("↑ ↓ pgup pgdn", "scroll it (home, end: top, bottom)")]),
        ("Token pane", keys(TokenPane.BINDINGS)),
        ("Service account (:sa, and its pane in the pods view)", keys([b for b in ServiceAccountsScreen.BINDINGS if b.show])),
        ("Links", keys(Link.BINDINGS) + [("click", "open the link")]),
        ("Concepts (F1 on a pane; c here in help)", keys([b for b in DetailPane.BINDINGS if b.id == "pane.concept"]) + keys(HelpScreen.BINDINGS[1:2])),
        ("Prompt", keys(PromptBar.BINDINGS) + [("enter", "apply the filter / run the command")]),
        ("Before an exec or a write", keys(ConfirmScreen.BINDINGS) + [("enter", "the focused button: Run, or Cancel")]),
        *lesson,
        ("Commands (:, ctrl+a lists them)", command_list()),
    ]


class HelpScreen(ModalScreen[None]):
    """Every key the app knows, from the live bindings (so it can never drift from them)."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close", tooltip="Close help"),
        Binding("c", "concepts", "Concepts", id="help.concepts", tooltip="IRSA, Pod Identity, tokens, trust: the concepts page"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]], title: str = "Keys (esc closes · c: concepts)") -> None:
        super().__init__(id="help-screen")
        self.sections, self.title_text = sections, title

    def compose(self) -> ComposeResult:
        lines = []
        for title, keys in self.sections:
            lines.append(literal(title, "b $secondary"))
            for key, text in keys:  # content, not markup: a key may be `[`
                lines.append(line("  ", (f"{key:>14}", "b $accent"), "  ", text))
            lines.append(Content(""))
        with VerticalScroll(id="help-body") as body:
            body.border_title = self.title_text
            yield Static(Content("\n").join(lines))

    def action_concepts(self) -> None:
        from irsa_explorer.screens.concepts import ConceptsScreen  # its data file: read on use

        self.app.switch_screen(ConceptsScreen())


class PickerScreen(ModalScreen[str | None]):
    """Pick one of a few names (namespace or context). Dismisses with the choice or None."""

    BINDINGS = [Binding("escape,q", "dismiss(None)", "Cancel", id="picker.cancel", tooltip="Keep the current choice")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None) -> None:
        super().__init__(classes="picker")
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(literal(label), id=value) for value, label in self.choices), id="picker-list")
        options.border_title = self.title_text
        yield options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, (value, _) in enumerate(self.choices):
            if value == self.current:
                options.highlighted = index
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question before the explorer execs into a pod or writes to the cluster.
    Dismisses with True (y, or enter on the focused Yes) or False (n, esc, q, or No).
    The question is plain text, shown literally: it names pods and audiences from the cluster."""

    BINDINGS = [
        Binding("y", "dismiss(True)", "Yes", id="confirm.yes", tooltip="Go ahead"),
        Binding("escape,n,q", "dismiss(False)", "No", id="confirm.no", tooltip="Cancel: nothing runs"),
    ]

    def __init__(self, question: str, title: str = "Confirm", yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="confirm")
        self.question, self.title_text, self.yes, self.no = question, title, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box") as box:
            box.border_title = self.title_text
            with VerticalScroll(id="confirm-scroll"):  # a long question (a probe's manifest) scrolls; the buttons stay
                yield Static(literal(self.question, lines=True), id="confirm-text")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()  # enter says yes; tab, then enter, says no

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class DocumentScreen(ModalScreen[None]):
    """A policy document, highlighted."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="document.close", tooltip="Close the document")]

    def __init__(self, title: str, document: Any, policy_arn: str | None = None) -> None:
        super().__init__(classes="document-screen")
        self.title_text = title
        self.document = document
        self.policy_arn = policy_arn  # a managed policy whose document may still be loading

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="document-body") as body:
            body.border_title = literal(self.title_text)  # a policy's name: not markup
            yield Static(self._renderable(), id="document-text")

    def _renderable(self) -> Any:
        document = self.document
        if document is None:
            return literal("loading the policy document (GetPolicy, GetPolicyVersion)…", "$text-muted")
        if isinstance(document, Unavailable):
            return literal(f"unknown: {document}", "$warning")
        return highlight(document_text(document), language="json")  # bounded, literal

    def set_document(self, document: Any) -> None:
        """The document arrived (a dict) or could not be read (Unavailable)."""
        self.document = document
        if live(self):
            self.query_one("#document-text", Static).update(self._renderable())
