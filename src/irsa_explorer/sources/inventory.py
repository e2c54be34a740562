"""Loads an Inventory from the two sources, in stages, with calls proportional to distinct objects.

Stage "kubernetes": pods, service accounts and nodes (so a UI can show rows at once).
Stage "aws": the cluster, the OIDC providers, every distinct role (from service-account
annotations, Pod Identity associations and node instance profiles), node roles and
associations, fetched in parallel with the Kubernetes lists where they do not depend on them.

`load_and_resolve` gives the inventory with every pod's identity chain, resolving pod pages
as they arrive once the rest is in, instead of all of them after the last page.
"""

from __future__ import annotations

import contextlib
import gc
import queue
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

from irsa_explorer.analysis.identity import ChainResolver
from irsa_explorer.sources.aws import AwsSource, NodeInstances
from irsa_explorer.sources.aws_accounts import other_account_providers
from irsa_explorer.sources.aws_keys import key_owners
from irsa_explorer.sources.kube import KubeSource, Listing
from irsa_explorer.model import (
    AccessKeyOwner,
    AgentPod,
    Cluster,
    IdentityChain,
    InstanceMetadataOptions,
    Inventory,
    IssuerInfo,
    Node,
    OidcProvider,
    Pod,
    PodIdentityAssociation,
    ReadTimes,
    Role,
    ServiceAccount,
    Unavailable,
)

StageCallback = Callable[[str, Inventory], None]
T = TypeVar("T")


def resolve_cluster_name(kube: KubeSource, cluster_name: str | None) -> str | Unavailable:
    """`--cluster` if given, else the name the kubeconfig context implies, else Unavailable."""
    if cluster_name:
        return cluster_name
    guessed = kube.default_cluster_name()
    if guessed:
        return guessed
    return Unavailable(
        f"cannot tell the EKS cluster name from context {kube.context!r}: pass --cluster NAME"
    )


def load_inventory(
    kube: KubeSource,
    aws: AwsSource,
    namespace: str | None,
    cluster_name: str | None = None,
    on_stage: StageCallback | None = None,
    discover_issuer: bool = True,
) -> Inventory:
    """Fetch everything one view of one cluster needs. `namespace` None = all namespaces.

    Kubernetes and AWS are asked at the same time: the AWS lookups that do not depend on the
    cluster's objects (the EKS cluster, OIDC providers, Pod Identity associations) run while
    pods are still being paged, and every distinct role is fetched in one go as soon as
    service accounts, associations and node roles are known (one ListRoles page can then
    answer them all).

    `discover_issuer=False`: skip the API server's issuer discovery (2 requests) when EKS's
    DescribeCluster names the issuer; `inventory.issuer` is then None and the analysis uses
    the cluster's. Discovery still runs when the cluster is unknown. The JWKS (only needed to
    verify a token's signature) stays available through `KubeSource.issuer()`.

    Raises `cluster.ClusterError` when the cluster cannot be asked at all; every other
    failure ends up as an `Unavailable` in the inventory.
    """
    return _load(kube, aws, namespace, cluster_name, on_stage, discover_issuer, False, None)[0]


def load_and_resolve(
    kube: KubeSource,
    aws: AwsSource,
    namespace: str | None,
    cluster_name: str | None = None,
    on_stage: StageCallback | None = None,
    discover_issuer: bool = True,
    on_pods: Callable[[list[Pod]], None] | None = None,
) -> tuple[Inventory, dict[str, IdentityChain]]:
    """`load_inventory` and `identity.resolve_all` at once: the same inventory and the same
    chains (by pod uid, in the inventory's order), sooner.

    On a large cluster the AWS lookups are done well before the last pod page arrives; from
    then on each page is resolved as it comes, while the next ones are still on the wire,
    so that little is left to resolve once the list is complete.

    `on_pods(pods)` gets each page of pods as soon as it is converted (called in a worker
    thread), e.g. for a UI's first rows. `kube` must take `list_pods(namespace, on_page=)`
    (KubeSource does). Raises as load_inventory does.
    """
    inventory, chains = _load(kube, aws, namespace, cluster_name, on_stage, discover_issuer, True, on_pods)
    assert chains is not None
    return inventory, chains


def _load(
    kube: KubeSource,
    aws: AwsSource,
    namespace: str | None,
    cluster_name: str | None,
    on_stage: StageCallback | None,
    discover_issuer: bool,
    resolve: bool,
    on_pods: Callable[[list[Pod]], None] | None,
) -> tuple[Inventory, dict[str, IdentityChain] | None]:
    # The inventory's parts as they come in; each stage hands out a new, frozen Inventory.
    parts = _Parts(kube.context, namespace)
    name = resolve_cluster_name(kube, cluster_name)
    if not aws.region:
        aws.use_region(kube.default_region())
    # Pages for the resolver, ended by None once the list is complete (or failed).
    pages: queue.SimpleQueue[list[Pod] | None] | None = queue.SimpleQueue() if resolve else None

    def list_pods() -> Listing[Pod]:
        if pages is None and on_pods is None:
            return kube.list_pods(namespace)

        def on_page(pods: list[Pod]) -> None:
            if on_pods is not None:
                on_pods(pods)
            if pages is not None:
                pages.put(pods)

        try:
            return kube.list_pods(namespace, on_page=on_page)
        finally:
            if pages is not None:
                pages.put(None)

    # One thread per lookup below (none waits for a lookup queued after it).
    pool = ThreadPoolExecutor(10, thread_name_prefix="inventory")
    asked_at = datetime.now(timezone.utc)  # the AWS facts are as of no earlier than this
    resolved: dict[str, tuple[Pod, IdentityChain]] = {}
    resolver: ChainResolver | None = None
    try:
        # --- started together: Kubernetes lists and AWS lookups that need none of them ----
        pods_f = pool.submit(list_pods)
        sas_f = pool.submit(_service_accounts_or_unknown, kube, namespace)
        nodes_f = pool.submit(kube.list_nodes)
        issuer_f = pool.submit(kube.issuer) if discover_issuer else None
        # Once, before the workers that compare role accounts with it.
        caller_f = pool.submit(aws.caller_identity)
        cluster_f = pool.submit(aws.describe_cluster, name) if isinstance(name, str) else None
        providers_f = pool.submit(aws.list_oidc_providers)
        associations_f = (
            pool.submit(aws.list_pod_identity_associations, name) if isinstance(name, str) else None
        )

        def node_instances() -> NodeInstances:
            # One DescribeInstances per 200 nodes: their roles and their IMDS settings.
            nodes = _quiet(nodes_f)
            return aws.node_instances(nodes if isinstance(nodes, list) else [])

        node_roles_f = pool.submit(node_instances)

        def agents() -> tuple[AgentPod, ...] | Unavailable | None:
            # The Pod Identity agent's pods (one list in kube-system), unless no association
            # exists for them to serve.
            associations = associations_f.result() if associations_f else None
            if isinstance(associations, list) and not associations:
                return None
            return kube.pod_identity_agents()

        agents_f = pool.submit(agents)

        def roles() -> dict[str, Role | Unavailable]:
            wanted: set[str] = set()
            sas = _quiet(sas_f)
            if sas is not None:
                wanted |= {sa.role_arn for sa in sas.items if sa.role_arn}
            listing_f = None
            if len(wanted) >= aws.list_roles_threshold:
                # The service accounts alone call for ListRoles: page it now, while the
                # associations and node roles (which add roles, never remove one) are still
                # being looked up, rather than after them.
                listing_f = pool.submit(aws.list_roles)
            associations = associations_f.result() if associations_f else None
            if isinstance(associations, list):
                wanted |= {a.role_arn for a in associations if a.role_arn}
            wanted |= {r for r in node_roles_f.result().roles.values() if isinstance(r, str)}
            caller_f.result()
            return aws.get_roles(wanted, listed=listing_f.result() if listing_f else None)

        roles_f = pool.submit(roles)
        # The OIDC providers of the other accounts roles live in (cross-account IRSA), read
        # through the profiles named for them; none asked when every role is the caller's.
        account_providers_f = pool.submit(lambda: other_account_providers(aws, roles_f.result()))

        def kubernetes_but_pods() -> None:
            sas, nodes = sas_f.result(), nodes_f.result()
            parts.service_accounts = {sa.key: sa for sa in sas.items}
            if not isinstance(nodes, Unavailable):
                parts.nodes = {n.name: n for n in nodes}
            if issuer_f is not None:
                parts.issuer = issuer_f.result()

        def aws_answers() -> None:
            parts.cluster = cluster_f.result() if cluster_f else name
            if issuer_f is None and not (isinstance(parts.cluster, Cluster) and parts.cluster.issuer):
                parts.issuer = kube.issuer()  # the cluster is unknown: ask the API server
            parts.oidc_providers = providers_f.result()
            parts.node_roles = dict(node_roles_f.result().roles)
            parts.node_metadata = dict(node_roles_f.result().metadata)
            parts.pod_identity_agents = agents_f.result()
            parts.associations = associations_f.result() if associations_f else name
            parts.roles = roles_f.result()
            parts.account_providers = account_providers_f.result()
            parts.read_at = ReadTimes(asked_at, asked_at, asked_at, dict.fromkeys(parts.roles, asked_at),
                                      dict.fromkeys(parts.node_roles, asked_at))

        if pages is not None:
            # Resolve pages as they come once everything else is in (usually long before the
            # last pod page): only the pages still on the wire are left for the end.
            others = [f for f in (sas_f, nodes_f, issuer_f, cluster_f, providers_f, associations_f, node_roles_f, roles_f,
                                  agents_f, account_providers_f) if f]
            _wait_failing_fast(others, pods_f)
            if sas_f.exception() is not None and pods_f.exception() is not None:
                pods_f.result()  # both lists refused: the pods' refusal first, as load_inventory says it
            kubernetes_but_pods()
            aws_answers()
            # The resolver's inventory shares the node answers the pages add below (nodes the
            # node list did not have): it never leaves this function, and every inventory
            # handed out is built after them.
            resolver = ChainResolver(replace(parts.build(), node_roles=parts.node_roles, access_keys=parts.access_keys))
            while (page := pages.get()) is not None:
                _answer_every_node(parts.node_roles, page, nodes_f.result())
                _look_up_keys(aws, parts.access_keys, page)
                for pod in page:
                    resolved[pod.uid] = (pod, resolver.resolve(pod))

        # --- Kubernetes: rows for a UI as soon as the lists are in --------------------------
        pods, sas, nodes = pods_f.result(), sas_f.result(), nodes_f.result()
        parts.pods = {p.uid: p for p in pods.items}
        parts.resource_versions = {"pods": pods.resource_version, "serviceaccounts": sas.resource_version}
        for note in pods.notes + sas.notes:
            parts.note(note)
        if isinstance(nodes, Unavailable):
            parts.note(f"nodes: {nodes}; node roles are unknown")
        if pages is None:
            kubernetes_but_pods()
        if on_stage:
            on_stage("kubernetes", parts.build())

        # --- AWS ---------------------------------------------------------------------------
        if pages is None:
            aws_answers()
    except BaseException:
        # The cluster cannot be asked (or the user interrupted): say so now, without waiting
        # for AWS lookups whose answers nobody will read.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if isinstance(parts.cluster, Unavailable):
        parts.note(f"EKS cluster: {parts.cluster}")
    _answer_every_node(parts.node_roles, parts.pods.values(), nodes)
    _look_up_keys(aws, parts.access_keys, parts.pods.values())
    inventory = parts.build()
    chains = None
    if resolver is not None:
        # A pod listed again (the list restarted after its continue token expired) is a new
        # object: resolved again, as is any pod no page handed on.
        chains = {}
        for uid, pod in inventory.pods.items():
            done = resolved.get(uid)
            chains[uid] = done[1] if done is not None and done[0] is pod else resolver.resolve(pod)
    if on_stage:
        on_stage("aws", inventory)
    return inventory, chains


@dataclass
class _Parts:
    """What an Inventory is built from while the answers come in. `build()` is a snapshot:
    a frozen Inventory with containers of its own, that later answers do not change."""

    context: str
    namespace: str | None
    pods: dict[str, Pod] = field(default_factory=dict)
    service_accounts: dict[tuple[str, str], ServiceAccount] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    issuer: IssuerInfo | Unavailable | None = None
    cluster: Cluster | Unavailable | None = None
    oidc_providers: list[OidcProvider] | Unavailable | None = None
    roles: dict[str, Role | Unavailable] = field(default_factory=dict)
    node_roles: dict[str, str | Unavailable] = field(default_factory=dict)
    node_metadata: dict[str, InstanceMetadataOptions | Unavailable] = field(default_factory=dict)
    pod_identity_agents: tuple[AgentPod, ...] | Unavailable | None = None
    associations: list[PodIdentityAssociation] | Unavailable | None = None
    account_providers: dict[str, list[OidcProvider] | Unavailable] = field(default_factory=dict)
    access_keys: dict[str, AccessKeyOwner | Unavailable] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    read_at: ReadTimes = field(default_factory=ReadTimes)
    resource_versions: dict[str, str] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def build(self) -> Inventory:
        return Inventory(
            context=self.context,
            namespace=self.namespace,
            pods=dict(self.pods),
            service_accounts=dict(self.service_accounts),
            nodes=dict(self.nodes),
            issuer=self.issuer,
            cluster=self.cluster,
            oidc_providers=self.oidc_providers,
            roles=dict(self.roles),
            node_roles=dict(self.node_roles),
            node_metadata=dict(self.node_metadata),
            pod_identity_agents=self.pod_identity_agents,
            associations=self.associations,
            account_providers=dict(self.account_providers),
            access_keys=dict(self.access_keys),
            notes=tuple(self.notes),
            read_at=self.read_at,
            resource_versions=dict(self.resource_versions),
        )


def _wait_failing_fast(futures: list[Future[Any]], pods_f: Future[Any]) -> None:
    """Until every future is done; raises at once when the pod list fails (the cluster
    cannot be asked), as load_inventory does without waiting for the AWS lookups."""
    pending = set(futures)
    while pending:
        watched = pending if pods_f.done() else pending | {pods_f}
        done, _ = wait(watched, return_when=FIRST_COMPLETED)
        if pods_f in done and pods_f.exception() is not None:
            pods_f.result()
        pending -= done


def _answer_every_node(node_roles: dict[str, str | Unavailable], pods: Iterable[Pod], nodes: list[Node] | Unavailable) -> None:
    """Every pod's node gets an answer, so "unknown" always carries its reason."""
    for pod in pods:
        node = pod.node_name
        if node and node not in node_roles:
            if isinstance(nodes, Unavailable):
                node_roles[node] = Unavailable(f"nodes could not be read ({nodes.reason})", nodes.permission, nodes.kind)
            else:
                node_roles[node] = Unavailable(f"node {node} is not in the node list")


def _look_up_keys(aws: AwsSource, found: dict[str, AccessKeyOwner | Unavailable], pods: Iterable[Pod]) -> None:
    """The owners of the literal AWS_ACCESS_KEY_ID values of these pods not looked up yet: once
    per distinct key (replicas share their env, so each env is read once)."""
    seen: set[int] = set()
    keys: set[str] = set()
    for pod in pods:
        for container in pod.containers:
            if id(container.env) in seen:
                continue
            seen.add(id(container.env))
            for var in container.env:
                if var.name == "AWS_ACCESS_KEY_ID" and var.value and var.value not in found:
                    keys.add(var.value)
    if keys:
        found.update(key_owners(aws, keys))


def _service_accounts_or_unknown(kube: KubeSource, namespace: str | None) -> Listing[ServiceAccount]:
    """The service accounts, or — when their list failed after its retries while the cluster
    answers — none, with a note saying why: every pod's account is then "unknown" (not in the
    loaded service accounts), never a default. A refused or silent API server still ends the
    load, through the pod list, which fails the same way."""
    from irsa_explorer.sources.kube import ClusterError

    try:
        return kube.list_service_accounts(namespace)
    except ClusterError as error:
        if _cluster_gone(str(error)):
            raise
        return Listing([], "", [f"service accounts: unknown ({error}); each pod's service account and its role are unknown"])


def _cluster_gone(said: str) -> bool:
    """A failure that the pod list meets too (nothing answers, the credentials are refused):
    the load ends with it rather than going on without service accounts."""
    return any(words in said for words in ("cannot connect to", "no answer from", "HTTP 401", "TLS with", "exec plugin"))


def _quiet(future: Future[T]) -> T | None:
    """A Kubernetes list's result for an AWS worker, None when it failed (the main thread
    raises that failure itself)."""
    try:
        return future.result()
    except Exception:
        return None


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an inventory is loaded and resolved.

    Loading and resolving create millions of small objects and next to no reference cycles
    (reference counting frees them all), yet each collection pass walks every object still
    alive: the whole inventory, again and again (~0.3 s of resolve_all's 0.8 s at 10,000 pods
    even with cli.py's raised thresholds). The previous state is restored afterwards, so a
    long-lived caller (the TUI, tests) keeps its collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
