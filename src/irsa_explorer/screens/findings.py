"""Findings view: every finding of every chain, worst first, with its evidence as links and its fix."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from irsa_explorer.model import Finding, IdentityChain, ObjectRef
from irsa_explorer.screens.listing import Col, ListScreen
from irsa_explorer.widgets.format import breakable, finding_content, line, literal, severity_text
from irsa_explorer.widgets.link import Link
from irsa_explorer.widgets.panes.detail import DetailPane, arn_link, heading, note


class FindingPane(DetailPane):
    TITLE = "Finding"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.item: tuple[IdentityChain, Finding] | None = None

    def show(self, item: tuple[IdentityChain, Finding] | None) -> None:
        self.item = item
        # the finding itself, not its id: an id may be reused once its object is freed
        self.rebuild(("finding", item))

    def compose(self):
        if self.item is None:
            yield note("No finding selected.")
            return
        chain, finding = self.item
        yield Static(breakable(line(finding_content(finding.severity, finding.title, finding.code),
                                    " ", (str(finding.severity), "$text-muted"))))
        yield Link(f"{chain.pod.namespace}/{chain.pod.name}", chain.pod, prefix="[b]pod[/b] ")
        yield heading("Why")
        yield Static(literal(finding.explanation, "$text-muted", lines=True), classes="note")
        if finding.evidence:
            yield heading("Evidence")
            for evidence in finding.evidence:
                value = f" = {evidence.value}" if evidence.value is not None else ""
                yield arn_link(f"{evidence.ref} {evidence.field}{value}", evidence.ref, copy_text=evidence.value or evidence.ref.name)
        if finding.fix:
            yield heading("Fix (y copies)")
            yield Link(finding.fix, None, copy_text=finding.fix, lines=True, classes="fix")


class FindingsScreen(ListScreen):
    VIEW = "findings"
    COLUMNS = (("severity", "Severity"), ("code", "Code", Col(most=30)), ("pod", "Pod", Col(most=32)),
               ("title", "Finding", Col(flex=True, least=12, cut="end", drop=1)))

    def compose_detail(self) -> ComposeResult:
        yield FindingPane(id="detail", classes="detail")

    def _items(self) -> dict[str, tuple[IdentityChain, Finding]]:
        return {f"{chain.pod}|{f.code}|{i}": (chain, f) for i, (chain, f) in enumerate(self.state.all_findings())}

    def rows(self) -> dict[str, tuple]:
        theme = self.app.theme_variables  # the table draws Rich text: the theme's colours by value
        return {
            key: (severity_text(f.severity, theme), f.code, f"{c.pod.namespace}/{c.pod.name}", f.title)
            for key, (c, f) in self._items().items()
        }

    def key_for(self, ref: ObjectRef) -> str | None:
        for key, (chain, finding) in self._items().items():
            if finding.code == ref.name and (ref.namespace is None or str(chain.pod) == ref.namespace):
                return key
        return None

    def ref_for(self, key: str) -> ObjectRef | None:
        pod, code, _ = key.split("|", 2)
        return ObjectRef("Finding", code, pod)

    def detail(self, key: str | None) -> None:
        self.query_one(FindingPane).show(self._items().get(key) if key else None)
