"""Service account pane: annotations that drive injection, automount, Pod Identity, its pods."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from irsa_explorer.model import (
    AUDIENCE_ANNOTATION,
    ROLE_ARN_ANNOTATION,
    STS_REGIONAL_ANNOTATION,
    TOKEN_EXPIRATION_ANNOTATION,
    Finding,
    ObjectRef,
    ServiceAccount,
    Unavailable,
)
from irsa_explorer.commands import EXPERIMENT_READONLY_BINDINGS, experiment_offered
from irsa_explorer.messages import post_up
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import breakable, finding_content, line, literal
from irsa_explorer.widgets.link import Link
from irsa_explorer.widgets.panes.detail import LIST_LIMIT, DetailPane, arn_link, heading, more, note, row

INJECTION_ANNOTATIONS = (
    (ROLE_ARN_ANNOTATION, "role-arn"),
    (AUDIENCE_ANNOTATION, "audience"),
    (STS_REGIONAL_ANNOTATION, "sts-regional-endpoints"),
    (TOKEN_EXPIRATION_ANNOTATION, "token-expiration"),
)


class ServiceAccountPane(DetailPane):
    TITLE = "Service account"
    PANE_ID = "service-account"
    # the same keys as on the service accounts view (screens/service_accounts.py); answered by
    # the screen (screens/view.py → screens/probe.py)
    BINDINGS = [
        Binding("W,shift+w", "what_would_it_get", "What would it get", id="sa_pane.what_would_get",
                tooltip="TokenRequest → STS for this account's role, beside the engine's prediction (asks first)"),
        Binding("X,shift+x", "probe", "Probe pod", id="sa_pane.probe",
                tooltip="Run a probe pod as this account: sts get-caller-identity, then deleted (asks first)"),
        *EXPERIMENT_READONLY_BINDINGS,  # --readonly: not in the footer, and each says why it runs nothing
    ]

    @dataclass
    class Experiment(Message):
        """The user wants to try this account: "what-would-it-get" or "probe"."""

        kind: str
        sa: ServiceAccount | None

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state: ExplorerState | None = None
        self.sa: ServiceAccount | None = None
        self.missing: str | None = None

    def show(self, state: ExplorerState, sa: ServiceAccount | None, missing: str | None = None) -> None:
        self.state, self.sa, self.missing = state, sa, missing
        # what compose reads, as objects (an id may be reused once its object is freed): the
        # account with its annotations (not part of its ==), its association, its pods' chains
        pods = tuple(p.uid for p in state.pods_using(sa)) if sa else ()
        chains = tuple(state.chains.get(uid) for uid in pods)
        associations = state.inventory.associations if state.inventory else None
        self.date(*[("", FactsWanted(), "serviceaccounts"),  # the pane's title names it
                    ("associations", FactsWanted(associations=True), None)] if sa else [])
        self.rebuild((sa, sa.annotations if sa else None, missing, associations, pods, chains))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return experiment_offered(self.app, action)

    def action_experiment(self, kind: str) -> None:
        post_up(self, self.Experiment(kind, self.sa))

    def action_what_would_it_get(self) -> None:
        self.action_experiment("what-would-it-get")

    def action_probe(self) -> None:
        self.action_experiment("probe")

    def compose(self) -> ComposeResult:
        sa, state = self.sa, self.state
        if sa is None or state is None:
            yield note(self.missing or "No service account selected.")
            return
        yield Link(f"{sa.namespace}/{sa.name}", sa.ref, copy_text=sa.name, classes="title-link")
        yield row("subject", sa.subject)
        yield heading("Annotations")
        for key, short in INJECTION_ANNOTATIONS:
            value = sa.annotations.get(key)
            if key == ROLE_ARN_ANNOTATION and value:
                yield arn_link(value, ObjectRef("Role", value), prefix=line((short, "b"), " "))
            else:
                default = {
                    AUDIENCE_ANNOTATION: "sts.amazonaws.com (default)",
                    TOKEN_EXPIRATION_ANNOTATION: "86400 s (default)",
                }.get(key, "not set")
                yield row(short, value if value else literal(default, "$text-muted"))
        # Near-misses are the classic silent failure: a typo'd key injects nothing.
        for key, value in sorted(sa.annotations.items()):
            if "amazonaws.com" in key or "amazon.com" in key:
                if key not in dict(INJECTION_ANNOTATIONS):
                    yield row(key, line(value, " ", ("(not a key the webhook reads)", "$warning")))
        automount = {None: "default (true)", True: "true", False: "false"}[sa.automount_token]
        yield row("automount token", automount)
        yield heading("Pod Identity association")
        associations = state.inventory.associations if state.inventory else None
        if associations is None:
            yield note("not loaded yet")
        elif isinstance(associations, Unavailable):
            yield row("association", literal(associations, "$warning"))
        else:
            mine = [a for a in associations if (a.namespace, a.service_account) == sa.key]
            if not mine:
                yield note("none for this service account")
            for assoc in mine:
                yield arn_link(assoc.role_arn, ObjectRef("Role", assoc.role_arn), prefix=line(assoc.association_id, " → "))
        pods = state.pods_using(sa)
        yield heading(f"Pods using it ({len(pods)})")
        if not pods:
            yield note("no pods")
        for pod in pods[:LIST_LIMIT]:
            yield Link(pod.name, pod.ref)
        yield from more(len(pods), LIST_LIMIT, "filter the pods view by this service account")
        findings = self._findings(state, pods)
        yield heading(f"Findings of its pods ({len(findings)})")
        if not findings:
            yield note("none" if pods else "no pods")
            return
        from irsa_explorer.analysis.findings import CATALOGUE  # there are chains: the engine is loaded

        for finding, count in findings[:LIST_LIMIT]:
            title = finding.title if count == 1 else CATALOGUE[finding.code].title if finding.code in CATALOGUE else finding.title
            on = (f" — {count} pods", "$text-muted") if count > 1 else None
            yield Static(breakable(line(finding_content(finding.severity, title, finding.code), on)))
        yield from more(len(findings), LIST_LIMIT, ":findings lists every finding")

    @staticmethod
    def _findings(state: ExplorerState, pods: list) -> list[tuple[Finding, int]]:
        """Every finding of this SA's pods (whatever object its evidence names: a trust policy
        that refuses the account is its pods' problem too), one per code with how many pods have
        it, worst first. Its first pod's finding stands for the others."""
        first: dict[str, Finding] = {}
        count: dict[str, int] = {}
        for pod in pods:
            chain = state.chains.get(pod.uid)
            for code in dict.fromkeys(f.code for f in chain.findings) if chain else ():
                count[code] = count.get(code, 0) + 1
            for finding in chain.findings if chain else ():
                first.setdefault(finding.code, finding)
        order = {"error": 0, "warning": 1, "info": 2}
        return sorted(((first[code], n) for code, n in count.items()),
                      key=lambda fc: (order.get(str(fc[0].severity), 3), fc[0].code))
