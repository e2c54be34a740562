"""What the explorer knows right now: the inventory, the chains and the user's own checks.

Owned by the app and written only on the UI thread (workers post messages; the app applies
them here), so screens can read it without locks. The inventory is frozen: a page of pods or
a watch event puts a new one here, so a worker holding the previous one never sees it change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from irsa_explorer.messages import LiveChecked, PodChanged, RoleDetails, TokenRead
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

if TYPE_CHECKING:  # the data layer is imported by the workers, after the first screen is drawn
    from irsa_explorer.analysis.reverse import AssumeMatch
    from irsa_explorer.sources.livecheck import LiveResult, TokenReading

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class LiveRun:
    """One `w` press: what STS said inside the pod, or why the check could not run."""

    pod_uid: str
    at: datetime
    result: LiveResult | None
    error: str | None = None


@dataclass
class ExplorerState:
    clock: Clock = system_clock
    inventory: Inventory | None = None  # frozen: every change is a new one
    chains: dict[str, IdentityChain] = field(default_factory=dict)
    live_runs: dict[str, list[LiveRun]] = field(default_factory=dict)
    tokens: dict[str, TokenReading] = field(default_factory=dict)  # pod uid → the token last read
    role_policies: dict[str, RolePolicies | Unavailable] = field(default_factory=dict)
    # role ARN → who_can_assume's answer; None while it is being worked out
    assumers: dict[str, list[AssumeMatch] | Unavailable | None] = field(default_factory=dict)
    policy_documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # managed policy ARN → document
    live_running: set[str] = field(default_factory=set)  # pod uids with a `w` in flight
    token_loading: dict[str, str] = field(default_factory=dict)  # pod uid → which token
    stage: str = "connecting…"  # what the load is doing, in words ("" once loaded)
    error: str | None = None  # why the cluster could not be loaded
    generation: int = 0  # the load in progress: pages and stages of an older one are dropped
    _shown_generation: int = field(default=0, repr=False)  # the load the inventory is from
    # the pods dict it was built from (kept, so its identity cannot be reused) and the index
    _by_service_account: tuple[dict[str, Pod], dict[tuple[str, str], list[str]]] | None = field(
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

    # -- changes (the app makes them, on the UI thread) -------------------------------------------

    def load_started(self) -> int:
        """A new load (the first, `r`, another namespace or context): its generation."""
        self.generation += 1
        self.stage, self.error = "loading pods…", None
        return self.generation

    def add_pods(self, generation: int, pods: list[Pod], context: str, namespace: str | None) -> bool:
        """A page of pods while loading: the inventory so far with them (a stage replaces it).
        False when dropped: an older load's, or a reload's while the previous inventory is
        still shown (it stays until the new one is staged)."""
        if generation != self.generation:
            return False
        if self._shown_generation != generation:
            if self.inventory is not None:
                return False
            self._shown_generation = generation
        inventory = self.inventory or Inventory(context=context, namespace=namespace)
        self.inventory = replace(inventory, pods={**inventory.pods, **{pod.uid: pod for pod in pods}})
        return True

    def apply_pod_event(self, kind: str, pod: Pod) -> bool:
        """A watch event: a new inventory with the pod added, changed or gone, and its chain
        worked out again by the engine. False when it changes nothing shown."""
        inventory = self.inventory
        if inventory is None:
            return False
        if kind == "DELETED":
            if pod.uid not in inventory.pods:
                return False
            self.inventory = inventory.without_pod(pod.uid)
            self.chains.pop(pod.uid, None)
            return True
        if inventory.pods.get(pod.uid) == pod:
            return False
        self.inventory = inventory.with_pod(pod)
        from irsa_explorer.analysis.identity import resolve_chain

        try:
            self.chains[pod.uid] = resolve_chain(pod, self.inventory)
        except Exception:  # analysis trouble leaves the verdict as "…", never a wrong one
            self.chains.pop(pod.uid, None)
        return True

    def stage_reached(self, generation: int, inventory: Inventory, stage: str, chains: dict[str, IdentityChain] | None) -> bool | None:
        """A loading stage's inventory (and, once final, its chains). None when it is an older
        load's (dropped); else whether its pods are those shown already (no rows to add)."""
        if generation != self.generation:
            return None
        before, shown = self.inventory, self._shown_generation == generation
        self.inventory, self.stage, self._shown_generation = inventory, stage, generation
        if chains is not None:
            self.chains = chains
            self.assumers.clear()  # who can assume a role depends on the whole inventory
        return shown and before is not None and before.pods.keys() == inventory.pods.keys()

    @property
    def status(self) -> str:
        """One line on how the view stands: why it failed, what is loading, what limits it."""
        notes = self.inventory.notes if self.inventory else ()
        limited = f"limited: {notes[0]}" + (f" (+{len(notes) - 1} more)" if len(notes) > 1 else "") if notes else ""
        return self.error or self.stage or limited

    def role_to_fetch(self, arn: str) -> Role | None:
        """The role if its policies and assumers are to be fetched now (marked as in flight);
        None when it is not loaded (the pane says so) or was asked for already."""
        role = self.role(arn)
        if not isinstance(role, Role) or arn in self.assumers:
            return None
        self.assumers[arn] = None
        return role

    def role_fetch_dropped(self, arn: str) -> None:
        """Its fetch was cancelled for another role's: asked for again when shown again."""
        if arn in self.assumers and self.assumers[arn] is None:
            del self.assumers[arn]

    def apply(self, result: LiveChecked | TokenRead | RoleDetails | PodChanged) -> bool:
        """A worker's answer, into the store. False when it changes nothing shown."""
        match result:
            case LiveChecked(uid, answer):
                self.live_checked(uid, answer)
            case TokenRead(uid, reading):
                self.token_loading.pop(uid, None)
                self.tokens[uid] = reading
            case RoleDetails(arn, policies, assumers):
                self.role_policies[arn], self.assumers[arn] = policies, assumers
            case PodChanged(kind, pod):
                return self.apply_pod_event(kind, pod)
        return True

    def live_check_started(self, uid: str) -> bool:
        """False when one is running in this pod already."""
        if uid in self.live_running:
            return False
        self.live_running.add(uid)
        return True

    def live_checked(self, uid: str, result: LiveResult | None, error: str | None = None) -> None:
        self.live_running.discard(uid)
        self.live_runs.setdefault(uid, []).append(LiveRun(uid, self.now(), result, error))

    def fetch_failed(self, kind: str, key: str, text: str) -> None:
        """A worker asked for by a pane failed: the pane shows why. `kind:key` is its name."""
        if kind == "live":
            self.live_checked(key, None, error=text)
        elif kind == "token":
            from irsa_explorer.sources.livecheck import TokenReading, token_source

            uid, _, which = key.partition(":")
            self.apply(TokenRead(uid, TokenReading(token_source(which), None, None, error=text, at=self.now())))
        elif kind == "role":
            self.apply(RoleDetails(key, Unavailable(text), Unavailable(text)))

    def forget_roles(self) -> None:
        """What was read about roles on request: read again when asked (`r`)."""
        self.role_policies.clear()
        self.assumers.clear()

    def forget_cluster(self) -> None:
        """Another context: nothing read through the previous one may stay on screen."""
        self.inventory = None
        self.chains = {}
        self.live_runs.clear()
        self.tokens.clear()
        self.forget_roles()

    # -- questions the screens ask ----------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """Every namespace the inventory has pods or service accounts in."""
        if self.inventory is None:
            return []
        names = {pod.namespace for pod in self.inventory.pods.values()}
        return sorted(names | {ns for ns, _ in self.inventory.service_accounts})

    def pods_using(self, sa: ServiceAccount) -> list[Pod]:
        """The pods running as `sa`, by name. From an index by service account, built once per
        inventory: the :sa view asks this for each of thousands of accounts."""
        pods = self.pods
        if self._by_service_account is None or self._by_service_account[0] is not pods:
            index: dict[tuple[str, str], list[str]] = {}
            for pod in pods.values():
                index.setdefault((pod.namespace, pod.service_account), []).append(pod.uid)
            self._by_service_account = (pods, index)
        uids = self._by_service_account[1].get((sa.namespace, sa.name), ())
        return sorted((pods[uid] for uid in uids), key=lambda p: p.name)

    def pod_by_ref(self, namespace: str | None, name: str) -> Pod | None:
        for pod in self.pods.values():
            if pod.name == name and (namespace is None or pod.namespace == namespace):
                return pod
        return None

    def role(self, arn: str | None) -> Role | Unavailable | None:
        if not arn or not self.inventory:
            return None
        return self.inventory.roles.get(arn)

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
