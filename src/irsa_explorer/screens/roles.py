"""Roles view: every role the cluster's service accounts point at, who can assume it, its trust policy."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from irsa_explorer.model import ObjectRef, Role, Unavailable
from irsa_explorer.screens.listing import ListScreen
from irsa_explorer.widgets.format import short_arn
from irsa_explorer.widgets.role_pane import RolePane
from irsa_explorer.widgets.trust_policy_pane import TrustPolicyPane


class RolesScreen(ListScreen):
    VIEW = "roles"
    COLUMNS = (("name", "Role"), ("account", "Account"), ("assumers", "Can assume"), ("status", "Status"))

    def compose_detail(self) -> ComposeResult:
        with Vertical(id="detail-column"):
            yield RolePane(id="detail", classes="detail")
            yield TrustPolicyPane(id="detail-trust")

    def rows(self) -> dict[str, tuple]:
        inv = self.state.inventory
        if inv is None:
            return {}
        out = {}
        for arn, role in sorted(inv.roles.items()):
            matches = self.state.assumers.get(arn)
            count = "…" if matches is None else (str(len(matches)) if isinstance(matches, list) else "?")
            if isinstance(role, Unavailable):
                out[arn] = (short_arn(arn), arn.split(":")[4] if arn.count(":") >= 5 else "?", count, str(role))
            else:
                out[arn] = (role.name, role.account, count, "ok")
        return out

    def key_for(self, ref: ObjectRef) -> str | None:
        inv = self.state.inventory
        if inv and ref.name not in inv.roles:
            # STS ARNs drop the role path: match on the role name
            name = short_arn(ref.name)
            for arn in inv.roles:
                if short_arn(arn) == name:
                    return arn
        return ref.name

    def ref_for(self, key: str) -> ObjectRef | None:
        return ObjectRef("Role", key)

    def detail(self, key: str | None) -> None:
        self.query_one(RolePane).show(self.state, key, "No role selected.")
        role = self.state.role(key)
        self.query_one(TrustPolicyPane).show(role, None, "", "No role selected.")

    def on_mount(self) -> None:
        super().on_mount()
        # who-can-assume counts for the whole table
        for arn, role in (self.state.inventory.roles.items() if self.state.inventory else ()):
            if isinstance(role, Role) and arn not in self.state.assumers:
                self.post_message(RolePane.Wanted(arn))
