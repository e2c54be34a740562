"""Loads an Inventory from the two sources, in stages, with calls proportional to distinct objects.

Stage "kubernetes": pods, service accounts and nodes (so a UI can show rows at once).
Stage "aws": the cluster, the OIDC providers, every distinct role (from service-account
annotations, Pod Identity associations and node instance profiles), node roles and
associations, fetched in parallel where they do not depend on each other.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from irsa_explorer.cloud import AwsSource
from irsa_explorer.cluster import KubeSource
from irsa_explorer.model import Inventory, Unavailable

StageCallback = Callable[[str, Inventory], None]


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
) -> Inventory:
    """Fetch everything one view of one cluster needs. `namespace` None = all namespaces.

    Raises `cluster.ClusterError` when the cluster cannot be asked at all; every other
    failure ends up as an `Unavailable` in the inventory.
    """
    inventory = Inventory(context=kube.context, namespace=namespace)

    # --- Kubernetes ----------------------------------------------------------------------
    with ThreadPoolExecutor(4) as pool:
        pods_f = pool.submit(kube.list_pods, namespace)
        sas_f = pool.submit(kube.list_service_accounts, namespace)
        nodes_f = pool.submit(kube.list_nodes)
        issuer_f = pool.submit(kube.issuer)
        pods, sas, nodes = pods_f.result(), sas_f.result(), nodes_f.result()
        inventory.issuer = issuer_f.result()
    inventory.pods = {p.uid: p for p in pods.items}
    inventory.service_accounts = {sa.key: sa for sa in sas.items}
    for note in pods.notes + sas.notes:
        if note not in inventory.notes:
            inventory.notes.append(note)
    if isinstance(nodes, Unavailable):
        inventory.notes.append(f"nodes: {nodes}; node roles are unknown")
        node_list = []
    else:
        node_list = nodes
        inventory.nodes = {n.name: n for n in nodes}
    if on_stage:
        on_stage("kubernetes", inventory)

    # --- AWS -----------------------------------------------------------------------------
    name = resolve_cluster_name(kube, cluster_name)
    if not aws.region:
        aws.use_region(kube.default_region())
    # Roles named by service accounts are known now: fetch them alongside everything else;
    # roles named by associations and node instance profiles follow once those are known.
    aws.caller_identity()  # once, before the workers that compare role accounts with it
    sa_roles = {sa.role_arn for sa in inventory.service_accounts.values() if sa.role_arn}
    with ThreadPoolExecutor(5) as pool:
        cluster_f = pool.submit(aws.describe_cluster, name) if isinstance(name, str) else None
        providers_f = pool.submit(aws.list_oidc_providers)
        node_roles_f = pool.submit(aws.node_roles, node_list)
        associations_f = (
            pool.submit(aws.list_pod_identity_associations, name) if isinstance(name, str) else None
        )
        roles_f = pool.submit(aws.get_roles, sa_roles)
        inventory.cluster = cluster_f.result() if cluster_f else name
        inventory.oidc_providers = providers_f.result()
        inventory.node_roles = node_roles_f.result()
        inventory.associations = associations_f.result() if associations_f else name
        inventory.roles = roles_f.result()
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

    more_roles = {r for r in inventory.node_roles.values() if isinstance(r, str)}
    if isinstance(inventory.associations, list):
        more_roles |= {a.role_arn for a in inventory.associations if a.role_arn}
    more_roles -= set(inventory.roles)
    if more_roles:
        inventory.roles.update(aws.get_roles(more_roles))
    if on_stage:
        on_stage("aws", inventory)
    return inventory
