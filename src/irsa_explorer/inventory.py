"""Loads an Inventory from the two sources, in stages, with calls proportional to distinct objects.

Stage "kubernetes": pods, service accounts and nodes (so a UI can show rows at once).
Stage "aws": the cluster, the OIDC providers, every distinct role (from service-account
annotations, Pod Identity associations and node instance profiles), node roles and
associations, fetched in parallel with the Kubernetes lists where they do not depend on them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

from irsa_explorer.cloud import AwsSource
from irsa_explorer.cluster import KubeSource
from irsa_explorer.model import Cluster, Inventory, Role, Unavailable

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
    inventory = Inventory(context=kube.context, namespace=namespace)
    name = resolve_cluster_name(kube, cluster_name)
    if not aws.region:
        aws.use_region(kube.default_region())

    # One thread per lookup below (none waits for a lookup queued after it).
    pool = ThreadPoolExecutor(10, thread_name_prefix="inventory")
    try:
        # --- started together: Kubernetes lists and AWS lookups that need none of them ----
        pods_f = pool.submit(kube.list_pods, namespace)
        sas_f = pool.submit(kube.list_service_accounts, namespace)
        nodes_f = pool.submit(kube.list_nodes)
        issuer_f = pool.submit(kube.issuer) if discover_issuer else None
        # Once, before the workers that compare role accounts with it.
        caller_f = pool.submit(aws.caller_identity)
        cluster_f = pool.submit(aws.describe_cluster, name) if isinstance(name, str) else None
        providers_f = pool.submit(aws.list_oidc_providers)
        associations_f = (
            pool.submit(aws.list_pod_identity_associations, name) if isinstance(name, str) else None
        )

        def node_roles() -> dict[str, str | Unavailable]:
            nodes = _quiet(nodes_f)
            return aws.node_roles(nodes if isinstance(nodes, list) else [])

        node_roles_f = pool.submit(node_roles)

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
            wanted |= {r for r in node_roles_f.result().values() if isinstance(r, str)}
            caller_f.result()
            return aws.get_roles(wanted, listed=listing_f.result() if listing_f else None)

        roles_f = pool.submit(roles)

        # --- Kubernetes: rows for a UI as soon as the lists are in --------------------------
        pods, sas, nodes = pods_f.result(), sas_f.result(), nodes_f.result()
        inventory.pods = {p.uid: p for p in pods.items}
        inventory.service_accounts = {sa.key: sa for sa in sas.items}
        for note in pods.notes + sas.notes:
            if note not in inventory.notes:
                inventory.notes.append(note)
        if isinstance(nodes, Unavailable):
            inventory.notes.append(f"nodes: {nodes}; node roles are unknown")
        else:
            inventory.nodes = {n.name: n for n in nodes}
        if issuer_f is not None:
            inventory.issuer = issuer_f.result()
        if on_stage:
            on_stage("kubernetes", inventory)

        # --- AWS ---------------------------------------------------------------------------
        inventory.cluster = cluster_f.result() if cluster_f else name
        if issuer_f is None and not (
            isinstance(inventory.cluster, Cluster) and inventory.cluster.issuer
        ):
            inventory.issuer = kube.issuer()  # the cluster is unknown: ask the API server
        inventory.oidc_providers = providers_f.result()
        inventory.node_roles = node_roles_f.result()
        inventory.associations = associations_f.result() if associations_f else name
        inventory.roles = roles_f.result()
    except BaseException:
        # The cluster cannot be asked (or the user interrupted): say so now, without waiting
        # for AWS lookups whose answers nobody will read.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if isinstance(inventory.cluster, Unavailable):
        inventory.notes.append(f"EKS cluster: {inventory.cluster}")
    # Every pod's node gets an answer, so "unknown" always carries its reason.
    for pod in inventory.pods.values():
        node = pod.node_name
        if node and node not in inventory.node_roles:
            if isinstance(nodes, Unavailable):
                inventory.node_roles[node] = Unavailable(
                    f"nodes could not be read ({nodes.reason})", nodes.permission, nodes.kind
                )
            else:
                inventory.node_roles[node] = Unavailable(f"node {node} is not in the node list")
    if on_stage:
        on_stage("aws", inventory)
    return inventory


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
