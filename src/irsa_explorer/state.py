"""What the explorer knows right now: the inventory, the chains and the user's own checks.

Owned by the app and written only on the UI thread (workers post messages; the app applies
them here), so screens can read it without locks. The inventory is frozen: a page of pods, a
batch of watch events or facts read again put a new one here, so a worker holding the previous
one never sees it change.

A change re-resolves exactly the chains it affects (a pod: its own; a service account: its
pods'; a node: its pods'; a role read again: the pods whose chains name it), found through
indexes kept up to date as things change, so no event costs a pass over every pod. The engine
works the chains out (`analysis.identity.ChainResolver`); a few are resolved here at once, more
in a worker (`KubeUpdate.later`, `chains_resolved`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable

from irsa_explorer.freshness import (
    NOTHING, STALE_AFTER, ago, chain_facts, facts_of_chain, facts_of_service_account, read_words, stale,
)
from irsa_explorer.messages import ChainsResolved, FactsReread, KubeChanged, LiveChecked, RoleDetails, TokenRead
from irsa_explorer.model import (
    DEFAULT_AUDIENCE,
    AUDIENCE_ANNOTATION,
    POD_IDENTITY_AGENT_NAMESPACE,
    POD_IDENTITY_AGENT_SELECTOR,
    AgentPod,
    Finding,
    IdentityChain,
    Inventory,
    IssuerInfo,
    LinkStatus,
    Node,
    Pod,
    Role,
    RolePolicies,
    ServiceAccount,
    Unavailable,
)
from irsa_explorer.sources.reread import FactsRead, FactsWanted

if TYPE_CHECKING:  # the data layer is imported by the workers, after the first screen is drawn
    from irsa_explorer.analysis.reverse import AssumeMatch
    from irsa_explorer.sources.kube import WatchStatus
    from irsa_explorer.sources.livecheck import LiveResult, TokenReading

# Chains worked out on the UI thread at once (0.1–0.3 ms each at 10,000 pods); more go to a
# worker, so a service account of thousands of pods or new OIDC providers never freeze the keys.
SYNC_LIMIT = 100
# The Inventory's fields that are the Kubernetes side (watched); every other one is a fact read
# from AWS (or derived from one), which a chain worked out in a worker must agree with.
KUBE_FIELDS = frozenset({"context", "namespace", "pods", "service_accounts", "nodes", "notes", "read_at",
                         "resource_versions"})

Clock = Callable[[], datetime]
# What a list's note says when reading across namespaces was forbidden (sources.kube: "listing
# pods in all namespaces is forbidden"): the view then covers only the namespaces it could read.
FORBIDDEN_ACROSS = "in all namespaces is forbidden"


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
class KubeUpdate:
    """What a batch of watch events (or facts read again) changed, for the screens: rows to add
    and remove, chains worked out again now (their rows redraw), and those left to a worker."""

    added: list[Pod] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    resolved: set[str] = field(default_factory=set)
    later: set[str] = field(default_factory=set)


class _PodIndex:
    """Pods by service account and by node, kept up to date pod by pod."""

    def __init__(self, pods: Iterable[Pod]) -> None:
        self.by_sa: dict[tuple[str, str], set[str]] = {}
        self.by_node: dict[str, set[str]] = {}
        for pod in pods:
            self.add(pod)

    def add(self, pod: Pod) -> None:
        self.by_sa.setdefault((pod.namespace, pod.service_account), set()).add(pod.uid)
        if pod.node_name:
            self.by_node.setdefault(pod.node_name, set()).add(pod.uid)

    def remove(self, pod: Pod) -> None:
        self.by_sa.get((pod.namespace, pod.service_account), set()).discard(pod.uid)
        if pod.node_name:
            self.by_node.get(pod.node_name, set()).discard(pod.uid)


class _ChainIndex:
    """Pods by the roles their chains name, and the pods whose chains check an OIDC provider:
    which chains a role or the providers read again can change. Also who uses a role: the pods
    whose chain intends it, and those that really get it (the engine's effective identity: a
    node role that pods fall back to is used by them though no chain intends it)."""

    def __init__(self, chains: dict[str, IdentityChain]) -> None:
        self.by_role: dict[str, set[str]] = {}
        self.irsa: set[str] = set()
        self.intended: dict[str, set[str]] = {}
        self.effective: dict[str, set[str]] = {}
        self._roles: dict[str, frozenset[str]] = {}
        self._uses: dict[str, tuple[str | None, str | None]] = {}
        self.unknown: set[str] = set()  # pods whose identity the engine could not tell (no role to count them under)
        for uid, chain in chains.items():
            self.set(uid, chain)

    def set(self, uid: str, chain: IdentityChain) -> None:
        self.drop(uid)
        roles, irsa = chain_facts(chain)
        self._roles[uid] = frozenset(roles)
        for arn in roles:
            self.by_role.setdefault(arn, set()).add(uid)
        if irsa:
            self.irsa.add(uid)
        effective = chain.effective
        gets = effective.arn if effective is not None and effective.arn and ":role/" in effective.arn else None
        self._uses[uid] = (chain.intended_role_arn, gets)
        if chain.intended_role_arn:
            self.intended.setdefault(chain.intended_role_arn, set()).add(uid)
        if gets:
            self.effective.setdefault(gets, set()).add(uid)
        if effective is not None and effective.status is LinkStatus.UNKNOWN:
            self.unknown.add(uid)

    def drop(self, uid: str) -> None:
        for arn in self._roles.pop(uid, ()):
            self.by_role.get(arn, set()).discard(uid)
        self.irsa.discard(uid)
        intended, gets = self._uses.pop(uid, (None, None))
        if intended:
            self.intended.get(intended, set()).discard(uid)
        if gets:
            self.effective.get(gets, set()).discard(uid)
        self.unknown.discard(uid)


@dataclass
class ExplorerState:
    clock: Clock = system_clock
    stale_after: timedelta | None = STALE_AFTER  # AWS facts shown are read again once this old (None: never)
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
    version: int = 0  # counts every change of the inventory or the chains (what panes key on)
    # how fresh the view is: the Kubernetes side watched or not, the AWS side read when
    watching: bool = False  # the app's watches run for the shown load
    listed_at: datetime | None = None  # when the shown load started (the lists are no older)
    watch_lost: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # resource → (what it said, since)
    watch_forbidden: dict[str, str] = field(default_factory=dict)  # resource → why it is not watched
    facts_wanted: FactsWanted = NOTHING  # brought by watch events: read again once stale
    facts_forced: FactsWanted = NOTHING  # read again at once (a node whose instance changed)
    facts_reading: FactsWanted | None = None  # being read again now
    facts_retry_at: datetime | None = None  # a failed read again waits until then
    aws_problem: str | None = None  # why AWS cannot be asked at all, said once
    _shown_generation: int = field(default=0, repr=False)  # the load the inventory is from
    _load_started: datetime | None = field(default=None, repr=False)
    _pod_index: _PodIndex | None = field(default=None, repr=False)  # of the inventory's pods
    _chain_index: _ChainIndex | None = field(default=None, repr=False)  # of the chains
    _resolving: set[str] = field(default_factory=set, repr=False)  # uids a worker works out

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
        """A new load (the first, `r`, another namespace or context): its generation. Its
        watches start once it is loaded; what the previous load's watches and re-reads say
        from now on is dropped."""
        self.generation += 1
        self.stage, self.error = "loading pods…", None
        self._load_started = self.now()
        self.watching = False
        self.watch_lost.clear()
        self.watch_forbidden.clear()
        self.facts_wanted, self.facts_forced, self.facts_reading = NOTHING, NOTHING, None
        self._resolving.clear()
        return self.generation

    def _replaced(self, chains: bool = False) -> None:
        """The inventory (and with `chains`, the chains) replaced as a whole: indexes afresh."""
        self._pod_index = None
        if chains:
            self._chain_index = None
        self.version += 1

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
        page = {pod.uid: pod for pod in pods}
        self.inventory = replace(inventory, pods={**inventory.pods, **page})
        # The pods by account and node, kept up to date a page at a time (0.4 ms for 500 pods)
        # rather than built at once when a pane first asks (~8 ms at 10,000 pods, at a stage
        # landing: the key pressed meanwhile waits for it).
        index = self._pod_index if self._pod_index is not None else _PodIndex(inventory.pods.values())
        self._replaced()
        for uid, pod in page.items():
            if (before := inventory.pods.get(uid)) is not None:
                index.remove(before)
            index.add(pod)
        self._pod_index = index
        return True

    # -- watch events, facts read again, chains from a worker ---------------------------------------

    def update(self, message: KubeChanged | FactsReread | ChainsResolved) -> KubeUpdate | None:
        """Watch events, AWS facts read again, or chains from a worker, into the store."""
        match message:
            case KubeChanged(generation, events):
                return self.kube_changed(generation, events)
            case FactsReread(generation, read):
                return self.facts_read(generation, read)
            case ChainsResolved(generation, inventory, chains):
                return self.chains_resolved(generation, inventory, chains)
        return None

    def kube_changed(self, generation: int, events: list[tuple[str, str, Any]]) -> KubeUpdate | None:
        """A batch of watch events, in order: (resource, "ADDED"|"MODIFIED"|"DELETED", object).

        One new inventory for the batch; the chains they affect worked out again against it
        (a pod's own; a service account's or a node's pods'); the AWS facts of the pods and
        service accounts they bring wanted fresh (`facts_due`), a new node's or a replaced
        instance's node role at once. None when nothing shown changed."""
        inv = self.inventory
        if inv is None or generation != self.generation:
            return None
        pods: dict[str, Pod] = {}
        gone_pods: set[str] = set()
        sas: dict[tuple[str, str], ServiceAccount] = {}
        gone_sas: set[tuple[str, str]] = set()
        nodes: dict[str, Node] = {}
        gone_nodes: set[str] = set()
        for resource, kind, obj in events:  # the last event of an object wins
            if resource == "pods":
                _fold(pods, gone_pods, obj.uid, obj, kind)
            elif resource == "serviceaccounts":
                _fold(sas, gone_sas, obj.key, obj, kind)
            elif resource == "nodes":
                _fold(nodes, gone_nodes, obj.name, obj, kind)
        pods = {uid: p for uid, p in pods.items() if not _same_pod(inv.pods.get(uid), p)}
        sas = {key: sa for key, sa in sas.items() if not _same_service_account(inv.service_accounts.get(key), sa)}
        nodes = {name: n for name, n in nodes.items() if not _same_node(inv.nodes.get(name), n)}
        gone_pods &= inv.pods.keys()
        gone_sas &= inv.service_accounts.keys()
        gone_nodes &= inv.nodes.keys()
        if not (pods or gone_pods or sas or gone_sas or nodes or gone_nodes):
            return None
        index = self._pods_index()
        for uid in gone_pods:
            index.remove(inv.pods[uid])
            self._drop_chain(uid)
        for uid, pod in pods.items():
            if (before := inv.pods.get(uid)) is not None:
                index.remove(before)
            index.add(pod)
        self.inventory = new = inv.with_changes(pods.values(), gone_pods, sas.values(), gone_sas,
                                                nodes.values(), gone_nodes)
        affected = set(pods)
        agents = _agents_after(inv, pods, gone_pods)
        if agents is not None:  # the Pod Identity agent's pods: what the pods on their nodes reach
            self.inventory = new = replace(new, pod_identity_agents=agents[0])
            for node in agents[1]:
                affected |= index.by_node.get(node, set())
        for key in sas.keys() | gone_sas:
            affected |= index.by_sa.get(key, set())
        for name in nodes.keys() | gone_nodes:
            affected |= index.by_node.get(name, set())
        for name, node in nodes.items():
            before = inv.nodes.get(name)
            if before is None or before.provider_id != node.provider_id:
                self.facts_forced |= FactsWanted(node_roles=frozenset({name}))
        if sas or gone_sas:  # who can assume a role is worked out over every service account
            self.assumers = {arn: found for arn, found in self.assumers.items() if found is None}
        update = KubeUpdate([p for uid, p in pods.items() if uid not in inv.pods], gone_pods)
        update.resolved, update.later = self._rechain(affected)
        for pod in pods.values():
            sa = new.service_accounts.get((pod.namespace, pod.service_account))
            self.facts_wanted |= facts_of_chain(self.chains.get(pod.uid), sa)
        for sa in sas.values():
            self.facts_wanted |= facts_of_service_account(sa)
        self.version += 1
        return update

    def facts_read(self, generation: int, read: FactsRead) -> KubeUpdate | None:
        """AWS facts read again: into a new inventory, and the chains that read them worked out
        again (those naming a role that changed; every IRSA chain when the OIDC providers did;
        the pods of service accounts whose association changed; the pods on a node whose role
        did). None when it is an older load's."""
        if generation != self.generation:
            return None
        self.facts_reading = None
        old = self.inventory
        if old is None:
            return None
        chains, pods = self._chains_index(), self._pods_index()
        affected: set[str] = set()
        for arn, role in read.roles.items():
            if old.roles.get(arn) != role:
                affected |= chains.by_role.get(arn, set())
        if read.oidc_providers is not None and read.oidc_providers != old.oidc_providers:
            affected |= chains.irsa
        if read.associations is not None and read.associations != old.associations:
            for key in _association_changes(old.associations, read.associations, pods.by_sa):
                affected |= pods.by_sa.get(key, set())
        for facts, before in ((read.node_roles, old.node_roles), (read.node_metadata, old.node_metadata)):
            for node, value in facts.items():
                if before.get(node) != value:
                    affected |= pods.by_node.get(node, set())
        self.inventory = read.into(old)
        update = KubeUpdate()
        update.resolved, update.later = self._rechain(affected)
        self.version += 1
        return update

    def chains_resolved(self, generation: int, inventory: Inventory, chains: dict[str, IdentityChain]) -> KubeUpdate | None:
        """Chains a worker worked out against `inventory`: taken where the pod, its service
        account, its node and every AWS fact are still what they were; the others worked out
        again against the inventory of now."""
        current = self.inventory
        if generation != self.generation or current is None:
            return None
        redo: set[str] = set()
        taken: set[str] = set()
        same_facts = all(getattr(current, f.name) is getattr(inventory, f.name)
                         for f in fields(Inventory) if f.name not in KUBE_FIELDS)
        for uid, chain in chains.items():
            pod = current.pods.get(uid)
            if pod is None:
                self._resolving.discard(uid)
            elif same_facts and pod is inventory.pods.get(uid) and _same_inputs(current, inventory, pod):
                self._set_chain(uid, chain)
                self._resolving.discard(uid)
                taken.add(uid)
            else:
                redo.add(uid)
        update = KubeUpdate()
        update.resolved, update.later = self._rechain(redo)
        update.resolved |= taken
        self.version += 1
        return update

    def _rechain(self, uids: set[str]) -> tuple[set[str], set[str]]:
        """Chains of `uids` worked out again: (done now, left to a worker)."""
        pods = self.inventory.pods if self.inventory else {}
        uids = {uid for uid in uids if uid in pods}
        if len(uids) > SYNC_LIMIT:
            self._resolving |= uids
            return set(), uids
        if uids:
            from irsa_explorer.analysis.identity import ChainResolver

            resolver = ChainResolver(self.inventory)
            for uid in uids:
                self._set_chain(uid, resolver.resolve(pods[uid]))
            self._resolving -= uids
        return uids, set()

    def _set_chain(self, uid: str, chain: IdentityChain) -> None:
        self.chains[uid] = chain
        if self._chain_index is not None:
            self._chain_index.set(uid, chain)

    def _drop_chain(self, uid: str) -> None:
        self.chains.pop(uid, None)
        self._resolving.discard(uid)
        if self._chain_index is not None:
            self._chain_index.drop(uid)

    def _pods_index(self) -> _PodIndex:
        if self._pod_index is None:
            self._pod_index = _PodIndex(self.pods.values())
        return self._pod_index

    def _chains_index(self) -> _ChainIndex:
        if self._chain_index is None:
            self._chain_index = _ChainIndex(self.chains)
        return self._chain_index

    # -- how fresh the view is ---------------------------------------------------------------------

    def watches_started(self) -> None:
        """The shown load's watches run: the Kubernetes side is live from now on."""
        self.watching = True

    def watch_said(self, generation: int, status: WatchStatus) -> bool:
        """A watch's status (lost, up again, forbidden). False when it is an older load's."""
        if generation != self.generation:
            return False
        resource = status.resource
        if status.state == "reconnecting":
            since = self.watch_lost.get(resource, ("", self.now()))[1]
            context = f", context {self.inventory.context!r}" if self.inventory else ""
            # the status line names the context already: not again in every reason
            self.watch_lost[resource] = (str(status).replace(context, "") if context else str(status), since)
        elif status.state == "watching":
            self.watch_lost.pop(resource, None)
        elif status.state == "forbidden":
            self.watch_forbidden[resource] = str(status)
        return True

    def kube_words(self, resource: str = "pods") -> str:
        """How fresh the Kubernetes side is: "watching", or how old it is and why."""
        lost = self.watch_lost.get(resource)
        if lost is not None:
            return f"as of {ago(lost[1], self.now())} (watch lost)"
        if self.watching and resource not in self.watch_forbidden:
            return "watching"
        if self.listed_at is None:
            return "loading"
        why = " (watching it is forbidden)" if resource in self.watch_forbidden else ""
        return f"listed {ago(self.listed_at, self.now())}{why}"

    def facts_due(self, shown: FactsWanted = NOTHING) -> FactsWanted:
        """The AWS facts to read again now, marked as being read: of what is `shown` and what
        watch events brought, those older than freshness.STALE_AFTER, and those forced.
        Nothing while a read is in flight, a load runs, or after a failure until its retry."""
        inventory, now = self.inventory, self.now()
        if inventory is None or self.stage or self.facts_reading is not None:
            return NOTHING
        if self.facts_retry_at is not None and now < self.facts_retry_at:
            return NOTHING
        due = self.facts_forced
        if self.stale_after is not None:
            due = stale(inventory, self.facts_wanted | shown, now, self.stale_after) | due
        if due:
            self.facts_wanted, self.facts_forced, self.facts_reading = self.facts_wanted - due, NOTHING, due
        return due

    def freshness_failed(self, kind: str, key: str, why: str) -> str:
        """A worker that keeps the view fresh failed (`kind`: its name's first part): a watch
        stopped for good (what it showed ages from now on), or facts could not be read again
        (tried again after STALE_AFTER). What to tell the user."""
        if kind == "watch":
            self.watch_lost[key] = (f"watching {key} stopped: {why}; press r to reload", self.now())
            return f"Watching {key} stopped: {why}. Press r to reload."
        if kind == "facts":
            self.facts_reading, self.facts_retry_at = None, self.now() + STALE_AFTER
        return f"Could not bring the view up to date: {why}"

    def age_words(self, facts: FactsWanted = NOTHING, kube: str | None = None) -> str:
        """How old what a pane shows is: its AWS facts ("read 12s ago") and, for `kube`
        ("pods", "serviceaccounts", "nodes"), the Kubernetes side ("watching")."""
        parts = []
        if facts and (words := read_words(self.inventory, facts, self.now())):
            parts.append(words)
        if kube is not None:
            parts.append(self.kube_words(kube))
        return " · ".join(parts)

    def shown_facts(self, pod: Pod | None) -> FactsWanted:
        """The AWS facts a pod's chain was worked out from (what its panes show)."""
        if pod is None:
            return NOTHING
        return facts_of_chain(self.chains.get(pod.uid), self.service_account(pod))

    def stage_reached(self, generation: int, inventory: Inventory, stage: str, chains: dict[str, IdentityChain] | None) -> bool | None:
        """A loading stage's inventory (and, once final, its chains). None when it is an older
        load's (dropped); else whether its pods are those shown already (no rows to add)."""
        if generation != self.generation:
            return None
        before, shown = self.inventory, self._shown_generation == generation
        self.inventory, self.stage, self._shown_generation = inventory, stage, generation
        self.listed_at = self._load_started
        if chains is not None:
            self.chains = chains
            self._resolving.clear()
            self.assumers.clear()  # who can assume a role depends on the whole inventory
        index = self._pod_index
        self._replaced(chains=chains is not None)
        same_rows = shown and before is not None and before.pods.keys() == inventory.pods.keys()
        if index is not None and same_rows and before is not None and all(
                before.pods[uid] is pod for uid, pod in inventory.pods.items()):
            self._pod_index = index  # the very pods the pages brought: their index holds
        return same_rows

    @property
    def status(self) -> str:
        """One line on how the view stands: why it failed, what is loading, a watch that is
        lost, why AWS cannot be asked, what limits it."""
        if self.error or self.stage:
            return self.error or self.stage or ""
        if self.watch_lost:
            return next(iter(self.watch_lost.values()))[0]
        notes = (self.inventory.notes if self.inventory else ()) + tuple(self.watch_forbidden.values())
        limited = f"limited: {notes[0]}" + (f" (+{len(notes) - 1} more)" if len(notes) > 1 else "") if notes else ""
        aws = f"AWS: {self.aws_problem}" if self.aws_problem else ""
        return aws or limited

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

    def apply(self, result: LiveChecked | TokenRead | RoleDetails) -> bool:
        """A worker's answer, into the store. False when it changes nothing shown."""
        match result:
            case LiveChecked(uid, answer):
                self.live_checked(uid, answer)
            case TokenRead(uid, reading):
                self.token_loading.pop(uid, None)
                self.tokens[uid] = reading
            case RoleDetails(arn, policies, assumers):
                self.role_policies[arn], self.assumers[arn] = policies, assumers
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
        self._replaced(chains=True)
        self.listed_at = None
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

    def scope(self, namespace: str | None) -> str:
        """What the view covers, in words, for the crumbs: the namespace asked for, "all
        namespaces" — or, when listing across them was forbidden (a user who may read only some),
        the namespaces that could be read, never "all"."""
        if namespace:
            return namespace
        inv = self.inventory
        if inv is None or not any(FORBIDDEN_ACROSS in note for note in inv.notes):
            return "all namespaces"
        names = self.namespaces()
        if not names:
            return "no namespace readable"
        if len(names) <= 3:
            return ("namespace " if len(names) == 1 else "namespaces ") + ", ".join(names) + " only"
        return f"{len(names)} readable namespaces only"

    def pods_using(self, sa: ServiceAccount) -> list[Pod]:
        """The pods running as `sa`, by name. From an index by service account, built once per
        inventory and kept up to date by watch events: the :sa view asks this for each of
        thousands of accounts."""
        pods = self.pods
        uids = self._pods_index().by_sa.get((sa.namespace, sa.name), ())
        return sorted((pods[uid] for uid in uids), key=lambda p: p.name)

    def pods_on_node(self, name: str) -> list[Pod]:
        """The pods scheduled on node `name`, by namespace and name (from the index by node)."""
        pods = self.pods
        uids = self._pods_index().by_node.get(name, ())
        return sorted((pods[uid] for uid in uids if uid in pods), key=lambda p: (p.namespace, p.name))

    def pod_count_on_node(self, name: str) -> int:
        return len(self._pods_index().by_node.get(name, ()))

    def role_users(self, arn: str) -> tuple[int, int]:
        """(pods whose chain intends the role, pods that really get it), from an index of the
        chains kept up to date chain by chain: the :roles view asks it for every role."""
        index = self._chains_index()
        return len(index.intended.get(arn, ())), len(index.effective.get(arn, ()))

    def identity_unknown(self) -> int:
        """How many pods' identity is unknown (a node role that could not be read, a link not
        checked): counted under no role, so the roles view says how many it leaves out."""
        return len(self._chains_index().unknown)

    def roles_in_use(self) -> set[str]:
        """Every role some chain intends or really gets (a role the pods name may not have been
        read: the roles view lists it all the same)."""
        index = self._chains_index()
        return {arn for arn, uids in index.intended.items() if uids} | {arn for arn, uids in index.effective.items() if uids}

    def role_getters(self, arn: str) -> frozenset[str]:
        """The uids of the pods that really get the role `arn` (a copy: a pane keys on it)."""
        return frozenset(self._chains_index().effective.get(arn, ()))

    def pods_getting(self, arn: str) -> list[Pod]:
        """The pods whose effective identity is the role `arn` (intended or fallen back to), by
        namespace and name."""
        pods = self.pods
        uids = self._chains_index().effective.get(arn, ())
        return sorted((pods[uid] for uid in uids if uid in pods), key=lambda p: (p.namespace, p.name))

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


def _fold(changed: dict, gone: set, key: Any, obj: Any, kind: str) -> None:
    """One watch event into what a batch changes: the last word on each object counts."""
    if kind == "DELETED":
        changed.pop(key, None)
        gone.add(key)
    else:
        changed[key] = obj
        gone.discard(key)


def _same_pod(before: Pod | None, after: Pod) -> bool:
    # labels and annotations are left out of a Pod's ==, but the engine reads some of them
    return before is not None and before == after and before.labels == after.labels and before.annotations == after.annotations


def _same_service_account(before: ServiceAccount | None, after: ServiceAccount) -> bool:
    return before is not None and before == after and before.annotations == after.annotations and before.labels == after.labels


def _same_node(before: Node | None, after: Node) -> bool:
    # a node's status changes all the time; its name, instance and labels are what a chain reads
    return before is not None and before == after and before.labels == after.labels


def _agents_after(inv: Inventory, pods: dict[str, Pod], gone: set[str]) -> tuple[tuple[AgentPod, ...], set[str]] | None:
    """The Pod Identity agent's pods after these events, and the nodes whose agent changed;
    None when none of them is an agent pod (or the agents were not looked up)."""
    agents = inv.pod_identity_agents
    if not isinstance(agents, tuple):
        return None
    key, _, value = POD_IDENTITY_AGENT_SELECTOR.partition("=")

    def agent(pod: Pod) -> bool:
        return pod.namespace == POD_IDENTITY_AGENT_NAMESPACE and pod.labels.get(key) == value

    by_name = {a.name: a for a in agents}
    nodes: set[str] = set()
    for pod in [inv.pods[uid] for uid in gone] + list(pods.values()):
        if not agent(pod):
            continue
        before = by_name.pop(pod.name, None)
        after = AgentPod(pod.name, pod.namespace, pod.node_name, pod.phase, pod.status) if pod.uid not in gone else None
        if after is not None:
            by_name[pod.name] = after
        if before != after:
            nodes |= {n for n in (before and before.node_name, after and after.node_name) if n}
    return (tuple(by_name.values()), nodes) if nodes else None


def _same_inputs(now: Inventory, then: Inventory, pod: Pod) -> bool:
    """The pod's service account and node are the objects they were in `then`."""
    key = (pod.namespace, pod.service_account)
    node = pod.node_name or ""
    return now.service_accounts.get(key) is then.service_accounts.get(key) and now.nodes.get(node) is then.nodes.get(node)


def _association_changes(before: Any, after: Any, accounts: dict[tuple[str, str], set[str]]) -> set[tuple[str, str]]:
    """The service accounts whose Pod Identity association changed (every one when either side
    is not a list: unknown before or after)."""
    if not isinstance(before, list) or not isinstance(after, list):
        return set(accounts)
    old = {(a.namespace, a.service_account, a.role_arn, a.association_id) for a in before}
    new = {(a.namespace, a.service_account, a.role_arn, a.association_id) for a in after}
    return {(ns, sa) for ns, sa, _, _ in old ^ new}
