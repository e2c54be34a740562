"""Roles view: every role the cluster's pods point at, how many use it; the selected one's policies,
who can assume it and its trust policy."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from irsa_explorer.analysis.arns import account_of_arn, parse_role_arn, role_name_of_identity
from irsa_explorer.model import ObjectRef, Unavailable
from irsa_explorer.screens.listing import Col, ListScreen, Shortened
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.format import short_arn
from irsa_explorer.widgets.panes.cloudtrail import CloudTrailPane
from irsa_explorer.widgets.panes.role import RolePane
from irsa_explorer.widgets.panes.trust_policy import TrustPolicyPane


def short_role(name: str, cluster: str | None) -> str:
    """A role's name, shown without the `eksctl-CLUSTER-` every eksctl-made role of the cluster
    starts with when it does not fit (what tells them apart comes after it); the pane beside
    shows the whole ARN."""
    prefix = f"eksctl-{cluster}-" if cluster else None
    if prefix and name.startswith(prefix) and len(name) > len(prefix):
        return Shortened(name, "…" + name[len(prefix):])
    return name


class RolesScreen(ListScreen):
    VIEW = "roles"
    # "Pods": pods that really get the role (the engine's effective identity: the pods on a node
    # role count there though nothing intends it); "Intended": pods whose chain means them to
    # (IRSA annotation, Pod Identity association) — more intended than getting it is a breakage.
    # Both from the store's index of the chains, kept up to date chain by chain.
    # Who *can* assume a role (every service account evaluated against its trust) is worked out
    # for the selected role only, in its pane: for 500 roles and 2,000 accounts that is a million
    # trust evaluations, and two IAM calls per role for its policies.
    COLUMNS = (("name", "Role", Col(flex=True, least=28)), ("pods", "Pods"), ("intended", "Intended"),
               ("status", "Status", Col(most=12)), ("account", "Account", Col(drop=1)))

    def compose_detail(self) -> ComposeResult:
        with Vertical(id="detail-column"):
            yield RolePane(id="detail", classes="detail")
            yield TrustPolicyPane(id="detail-trust")
            yield CloudTrailPane(id="detail-cloudtrail")

    def rows(self) -> dict[str, tuple]:
        inv = self.state.inventory
        if inv is None:
            return {}
        cluster = getattr(inv.cluster, "name", None)
        out = {}
        # the roles read, and any role a chain names that was not (never left out of the counts)
        arns = set(inv.roles) | (self.state.roles_in_use() if self.state.chains else set())
        for arn in sorted(arns):
            role = inv.roles.get(arn)
            intended, gets = self.state.role_users(arn) if self.state.chains else ("…", "…")
            if role is None:  # named by a chain, never read: a malformed annotation, or not looked up yet
                status = "malformed" if parse_role_arn(arn) is None else "not read"
                out[arn] = (short_role(short_arn(arn), cluster), str(gets), str(intended), status,
                            account_of_arn(arn) or "?")
            elif isinstance(role, Unavailable):
                # the kind of failure in the row (the pane beside says the whole reason)
                status = {"not-found": "not found", "forbidden": "forbidden"}.get(role.kind or "", "unknown")
                out[arn] = (short_role(short_arn(arn), cluster), str(gets), str(intended), status,
                            account_of_arn(arn) or "?")
            else:
                out[arn] = (short_role(role.name, cluster), str(gets), str(intended), "ok", role.account)
        return out

    def subtitle_note(self) -> str:
        unknown = self.state.identity_unknown() if self.state.chains else 0
        return f" · {unknown} pod{'s' if unknown != 1 else ''} with an unknown identity, under no role" if unknown else ""

    def search_text(self, key: str, cells: tuple) -> str:
        role = self.state.role(key)
        why = str(role) if isinstance(role, Unavailable) else ""  # `/unknown`, `/AccessDenied` find it
        return super().search_text(key, cells) + " " + why

    def key_for(self, ref: ObjectRef) -> str | None:
        inv = self.state.inventory
        if inv and ref.name not in inv.roles:
            # STS session ARNs drop the role path: match on the account and the role name
            name, account = role_name_of_identity(ref.name), account_of_arn(ref.name)
            for arn in inv.roles:
                if name is not None and short_arn(arn) == name and account_of_arn(arn) == account:
                    return arn
        return ref.name

    def ref_for(self, key: str) -> ObjectRef | None:
        return ObjectRef("Role", key)

    def shown_facts(self) -> FactsWanted:
        key = self.table.selected_key if self.live else None
        return FactsWanted(roles=frozenset({key})) if key else FactsWanted()

    def detail(self, key: str | None) -> None:
        self.query_one(RolePane).show(self.state, key, "No role selected.")
        role = self.state.role(key)
        # no pod here: the document alone (a decision is always for one pod's request)
        why = "No role selected." if not key else ("loading the role…" if role is None else "")
        self.query_one(TrustPolicyPane).show(role, None, why)
        if key and parse_role_arn(key) is not None:  # who assumed it, what its sessions were refused
            from irsa_explorer.sources.cloudtrail import role_subject

            self.query_one(CloudTrailPane).show(self.state, role_subject(key))
        else:
            self.query_one(CloudTrailPane).show(self.state, "No role selected." if not key else "Not a role ARN.")
