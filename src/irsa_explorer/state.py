"""What the explorer knows right now: the inventory, the chains and the user's own checks.

Owned by the app and written only on the UI thread (workers post messages; the app applies
them here), so screens can read it without locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from irsa_explorer.model import (
    DEFAULT_AUDIENCE,
    AUDIENCE_ANNOTATION,
    Finding,
    IdentityChain,
    Inventory,
    IssuerInfo,
    Pod,
    Role,
    RolePolicies,
    ServiceAccount,
    Unavailable,
)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class LiveRun:
    """One `w` press: what ran in the pod and what STS said."""

    pod_uid: str
    at: datetime
    result: Any  # livecheck.who_am_i's result, or an Exception's text
    error: str | None = None


@dataclass
class TokenView:
    """A token the user asked to see. The raw JWT stays in memory only, never logged."""

    source: str  # "projected IRSA token", "default token", "fresh TokenRequest"
    path: str | None
    # Out of repr: Textual's crash report prints locals, and a token must never reach it.
    raw: str | None = field(repr=False)
    decoded: Any = None
    signature: Any = None
    error: str | None = None
    at: datetime | None = None


@dataclass
class ExplorerState:
    clock: Clock = system_clock
    inventory: Inventory | None = None
    chains: dict[str, IdentityChain] = field(default_factory=dict)
    live_runs: dict[str, list[LiveRun]] = field(default_factory=dict)
    tokens: dict[str, TokenView] = field(default_factory=dict)
    role_policies: dict[str, RolePolicies | Unavailable] = field(default_factory=dict)
    assumers: dict[str, Any] = field(default_factory=dict)  # role ARN → who_can_assume result
    policy_documents: dict[str, Any] = field(default_factory=dict)  # managed policy ARN → document
    live_running: set[str] = field(default_factory=set)  # pod uids with a `w` in flight
    token_loading: dict[str, str] = field(default_factory=dict)  # pod uid → which token
    stage: str = "connecting…"
    error: str | None = None
    _pods_version: int = field(default=0, repr=False, compare=False)
    _by_service_account: tuple[tuple, dict[tuple[str, str], list[str]]] | None = field(
        default=None, repr=False, compare=False
    )

    def now(self) -> datetime:
        return self.clock()

    @property
    def pods(self) -> dict[str, Pod]:
        return self.inventory.pods if self.inventory else {}

    def service_account(self, pod: Pod) -> ServiceAccount | None:
        if not self.inventory:
            return None
        return self.inventory.service_accounts.get((pod.namespace, pod.service_account))

    def pods_changed(self) -> None:
        """Pods were added to or removed from the inventory in place (a page, a watch event)."""
        self._pods_version += 1

    def pods_using(self, sa: ServiceAccount) -> list[Pod]:
        """The pods running as `sa`, by name. From an index by service account, built once per
        change of the pods: the :sa view asks this for each of thousands of accounts."""
        pods = self.pods
        key = (id(pods), len(pods), self._pods_version)
        if self._by_service_account is None or self._by_service_account[0] != key:
            index: dict[tuple[str, str], list[str]] = {}
            for pod in pods.values():
                index.setdefault((pod.namespace, pod.service_account), []).append(pod.uid)
            self._by_service_account = (key, index)
        uids = self._by_service_account[1].get((sa.namespace, sa.name), ())
        return sorted((pods[uid] for uid in uids if uid in pods), key=lambda p: p.name)

    def pod_by_ref(self, namespace: str | None, name: str) -> Pod | None:
        for pod in self.pods.values():
            if pod.name == name and (namespace is None or pod.namespace == namespace):
                return pod
        return None

    def role(self, arn: str | None) -> Role | Unavailable | None:
        if not arn or not self.inventory:
            return None
        return self.inventory.roles.get(arn)

    def issuer_url(self) -> str | Unavailable | None:
        inv = self.inventory
        if inv is None:
            return None
        if isinstance(inv.issuer, IssuerInfo):
            return inv.issuer.issuer
        cluster = inv.cluster
        if cluster is not None and not isinstance(cluster, Unavailable) and cluster.issuer:
            return cluster.issuer
        return inv.issuer if isinstance(inv.issuer, Unavailable) else None

    def jwks(self) -> dict | None:
        inv = self.inventory
        if inv and isinstance(inv.issuer, IssuerInfo):
            return inv.issuer.jwks
        return None

    def audience(self, sa: ServiceAccount | None) -> str:
        if sa is None:
            return DEFAULT_AUDIENCE
        return sa.annotations.get(AUDIENCE_ANNOTATION) or DEFAULT_AUDIENCE

    def all_findings(self) -> list[tuple[IdentityChain, Finding]]:
        """Every chain's findings, worst first, deduplicated by code and evidence."""
        seen: set[tuple] = set()
        out: list[tuple[IdentityChain, Finding]] = []
        for chain in self.chains.values():
            for finding in chain.findings:
                key = (finding.code, finding.evidence, finding.title)
                if key in seen:
                    continue
                seen.add(key)
                out.append((chain, finding))
        order = {"error": 0, "warning": 1, "info": 2}
        out.sort(key=lambda cf: (order.get(str(cf[1].severity), 3), cf[1].code, str(cf[0].pod)))
        return out

    def node_role_fallbacks_by_node(self) -> dict[str, list[Pod]]:
        """Pods whose identity is their node's instance role, by node name, in one pass."""
        from irsa_explorer.model import Mechanism

        out: dict[str, list[Pod]] = {}
        for pod in self.pods.values():
            chain = self.chains.get(pod.uid)
            if pod.node_name and chain is not None and chain.mechanism == Mechanism.NODE_ROLE:
                out.setdefault(pod.node_name, []).append(pod)
        return out

    def node_role_fallbacks(self, node_name: str) -> list[Pod]:
        """Pods on this node whose identity is the node's instance role."""
        pods = self.node_role_fallbacks_by_node().get(node_name, [])
        return sorted(pods, key=lambda p: (p.namespace, p.name))
