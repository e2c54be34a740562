"""The concepts page: IRSA, Pod Identity, the node role, tokens, `sub`/`aud`, trust policies, the
OIDC provider — each short, with where the explorer shows it.

The text is one data file, `concepts.yaml` beside this module: the app shows it (`?` then `c`,
`:concepts`, F1 on a pane opens that pane's concept) and docs/concepts.md is it rendered
(`concepts_markdown`; tests/tui/test_ui_concepts.py keeps the two equal), so docs and app say
the same thing once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from irsa_explorer.widgets.format import literal

DATA_FILE = "concepts.yaml"


@dataclass(frozen=True)
class Concept:
    id: str
    title: str
    text: str
    where: str
    panes: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # the identity chain's links (ChainLink.step) whose F1 opens it


@cache
def load_concepts() -> tuple[Concept, ...]:
    """The concepts, in the order the page lists them (package data: read once)."""
    raw = yaml.safe_load(resources.files("irsa_explorer.screens").joinpath(DATA_FILE).read_text(encoding="utf-8"))
    return tuple(Concept(str(c["id"]), str(c["title"]), _flowed(c["text"]), _flowed(c["where"]),
                         tuple(c.get("panes") or ()), tuple(c.get("links") or ())) for c in raw)


def _flowed(text: str) -> str:
    """The YAML's wrapped lines as one paragraph (the screen wraps it at its own width)."""
    return " ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


def concept_for_pane(pane: str) -> Concept | None:
    """The concept a pane's F1 opens: the first that names the pane."""
    return next((c for c in load_concepts() if pane in c.panes), None)


def concept_for_link(step: str) -> Concept | None:
    """The concept F1 on the identity chain opens for the link under its cursor."""
    return next((c for c in load_concepts() if step in c.links), None)


def concepts_markdown() -> str:
    """docs/concepts.md: the same text as the page."""
    out = ["# Concepts", "",
           "What the explorer's panes show, in a few lines each. The same text is the concepts page of the app: "
           "`?` then `c`, `:concepts`, or F1 on a pane or a link of the identity chain (its concept). Written once, in "
           "`src/irsa_explorer/screens/concepts.yaml`; this page is generated from it "
           "(`python -m irsa_explorer.screens.concepts > docs/concepts.md`).", ""]
    for concept in load_concepts():
        out += [f"## {concept.title}", "", concept.text, "", f"**Where in the app:** {concept.where}", ""]
    return "\n".join(out)


class ConceptsScreen(ModalScreen[None]):
    """The concepts: their titles on the left, the one highlighted on the right. esc closes."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="concepts.close", tooltip="Close the concepts page")]
    DEFAULT_CSS = """
    ConceptsScreen { align: center middle; }
    ConceptsScreen #concepts-box { width: 90%; height: 90%; border: round $accent; background: $surface; }
    ConceptsScreen #concepts-list { width: 26; height: 1fr; border: none; border-right: solid $primary-muted; }
    ConceptsScreen #concept-body { width: 1fr; height: 1fr; padding: 0 1; }
    """

    def __init__(self, initial: str | None = None) -> None:
        super().__init__(id="concepts-screen")
        self.concepts = load_concepts()
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Horizontal(id="concepts-box") as box:
            box.border_title = "Concepts (↑↓ choose · esc closes)"
            yield OptionList(*(Option(literal(c.title), id=c.id) for c in self.concepts), id="concepts-list")
            with VerticalScroll(id="concept-body"):
                yield Static(id="concept-text")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [c.id for c in self.concepts]
        options.highlighted = ids.index(self.initial) if self.initial in ids else 0
        options.focus()
        self.show(ids[options.highlighted or 0])

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.show(event.option.id)

    @property
    def shown_id(self) -> str | None:
        return getattr(self, "_shown_id", None)

    def show(self, concept_id: str) -> None:
        concept = next(c for c in self.concepts if c.id == concept_id)
        self._shown_id = concept_id
        self.query_one("#concept-text", Static).update(Content("\n").join([
            literal(concept.title, "b $secondary"), Content(""), literal(concept.text), Content(""),
            literal("Where in the app", "b $accent"), literal(concept.where)]))

    @property
    def text(self) -> str:
        return str(self.query_one("#concept-text", Static).render())


def open_concepts(app, initial: str | None = None) -> None:
    """The concepts page over whatever is shown (from help, `:concepts`, the palette, a pane)."""
    if isinstance(app.screen, ConceptsScreen):
        return
    app.push_screen(ConceptsScreen(initial))


if __name__ == "__main__":  # docs/concepts.md
    print(concepts_markdown(), end="")
