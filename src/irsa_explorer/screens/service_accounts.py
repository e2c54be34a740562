"""Service accounts view: every SA with its role annotation and pods, details beside."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from irsa_explorer.commands import EXPERIMENT_READONLY_BINDINGS, experiment_offered
from irsa_explorer.model import ObjectRef
from irsa_explorer.freshness import NOTHING, facts_of_service_account
from irsa_explorer.screens import probe
from irsa_explorer.screens.listing import Col, ListScreen
from irsa_explorer.screens.roles import short_role
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.format import short_arn
from irsa_explorer.widgets.panes.service_account import ServiceAccountPane


class ServiceAccountsScreen(ListScreen):
    VIEW = "sa"
    # the same keys as on the service account pane (widgets/panes/service_account.py)
    BINDINGS = [
        Binding("W,shift+w", "what_would_it_get", "What would it get", id="sa.what_would_get",
                tooltip="TokenRequest → STS for this account's role, beside the engine's prediction (asks first)"),
        Binding("X,shift+x", "probe", "Probe pod", id="sa.probe",
                tooltip="Run a probe pod as this account: sts get-caller-identity, then deleted (asks first)"),
        *EXPERIMENT_READONLY_BINDINGS,  # --readonly: not in the footer, and each says why it runs nothing
    ]
    COLUMNS = (("namespace", "Namespace", Col(most=20)), ("name", "Service account", Col(flex=True, least=16)),
               ("pods", "Pods"), ("role", "Role (annotation)", Col(flex=True, least=14)))

    def compose_detail(self) -> ComposeResult:
        yield ServiceAccountPane(id="detail", classes="detail")

    def rows(self) -> dict[str, tuple]:
        inv = self.state.inventory
        if inv is None:
            return {}
        cluster = getattr(inv.cluster, "name", None)
        out = {}
        for (ns, name), sa in sorted(inv.service_accounts.items()):
            pods = len(self.state.pods_using(sa))
            role = short_role(short_arn(sa.role_arn), cluster) if sa.role_arn else "-"
            out[f"{ns}/{name}"] = (ns, name, str(pods), role)
        return out

    def key_for(self, ref: ObjectRef) -> str | None:
        return f"{ref.namespace}/{ref.name}"

    def ref_for(self, key: str) -> ObjectRef | None:
        ns, name = key.split("/", 1)
        return ObjectRef("ServiceAccount", name, ns)

    def detail(self, key: str | None) -> None:
        self.query_one(ServiceAccountPane).show(self.state, self._account(key), "No service account selected.")

    def selected_account(self):
        """The service account on the selected row."""
        return self._account(self.table.selected_key) if self.live else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return experiment_offered(self.explorer, action) and super().check_action(action, parameters)

    def action_experiment(self, kind: str) -> None:  # the --readonly bindings: refused with a message
        (probe.probe if kind == "probe" else probe.what_would_it_get)(self.explorer, self.selected_account())

    def action_what_would_it_get(self) -> None:
        probe.what_would_it_get(self.explorer, self.selected_account())

    def action_probe(self) -> None:
        probe.probe(self.explorer, self.selected_account())

    def _account(self, key: str | None):
        inv = self.state.inventory
        if not key or inv is None:
            return None
        ns, name = key.split("/", 1)
        return inv.service_accounts.get((ns, name))

    def shown_facts(self) -> FactsWanted:
        sa = self._account(self.table.selected_key) if self.live else None
        return facts_of_service_account(sa) if sa is not None else NOTHING
