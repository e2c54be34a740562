"""The reverse map: which service accounts (and so which pods) can assume a given role.

Not "which service accounts are annotated with it": any pod holding an `sts.amazonaws.com`
token whose `sub` the trust accepts can call AssumeRoleWithWebIdentity itself, annotated or
not. So every service account of the inventory is evaluated against the role's trust, plus
the Pod Identity associations that name the role.
"""

from __future__ import annotations

from dataclasses import dataclass

from irsa_explorer.model import (
    AUDIENCE_ANNOTATION,
    DEFAULT_AUDIENCE,
    Cluster,
    Inventory,
    Mechanism,
    ObjectRef,
    PodIdentityAssociation,
    Role,
    Unavailable,
    service_account_subject,
)

from .credentials import inventory_issuer
from .trust import Decision, evaluate_trust, evaluate_trust_all, pod_identity_requests, web_identity_request


@dataclass(frozen=True)
class AssumeMatch:
    """One way into the role: a service account's IRSA token, or a Pod Identity association."""

    mechanism: Mechanism  # IRSA or POD_IDENTITY
    service_account: ObjectRef | None  # None when the associations themselves are unknown
    decision: Decision  # ALLOW or UNKNOWN for IRSA; any decision for an association naming the role
    reason: str
    annotated: bool = False  # the service account's role-arn annotation names this role
    association_id: str | None = None
    pods: tuple[ObjectRef, ...] = ()


def who_can_assume(role: Role, inventory: Inventory) -> list[AssumeMatch]:
    """Every service account whose token the role's trust accepts (or might: UNKNOWN), with its pods.

    IRSA matches list only ALLOW and UNKNOWN decisions (a rejected service account is not a
    way in); associations naming the role are listed whatever their trust says.
    """
    pods_by_sa: dict[tuple[str, str], list[ObjectRef]] = {}
    for pod in sorted(inventory.pods.values(), key=lambda p: (p.namespace, p.name)):
        pods_by_sa.setdefault((pod.namespace, pod.service_account), []).append(pod.ref)
    accounts = set(inventory.service_accounts) | set(pods_by_sa)
    issuer = inventory_issuer(inventory)
    matches: list[AssumeMatch] = []

    for key in sorted(accounts):
        namespace, name = key
        sa = inventory.service_accounts.get(key)
        annotated = bool(sa and sa.role_arn == role.arn)
        ref = ObjectRef("ServiceAccount", name, namespace)
        pods = tuple(pods_by_sa.get(key, ()))
        if issuer is None:
            matches.append(AssumeMatch(Mechanism.IRSA, ref, Decision.UNKNOWN,
                                       "unknown: the cluster's OIDC issuer is not known", annotated, None, pods))
            continue
        audience = (sa.annotations.get(AUDIENCE_ANNOTATION) if sa else None) or DEFAULT_AUDIENCE
        subject = service_account_subject(namespace, name)
        evaluation = evaluate_trust(role.trust_policy, web_identity_request(issuer, subject, [audience], role.account))
        if evaluation.decision in (Decision.ALLOW, Decision.UNKNOWN):
            matches.append(AssumeMatch(Mechanism.IRSA, ref, evaluation.decision, evaluation.reason, annotated, None, pods))

    associations = inventory.associations
    if isinstance(associations, Unavailable):
        matches.append(AssumeMatch(Mechanism.POD_IDENTITY, None, Decision.UNKNOWN,
                                   f"Pod Identity associations {associations}"))
    elif isinstance(associations, list):
        cluster = inventory.cluster if isinstance(inventory.cluster, Cluster) else None
        for association in sorted(associations, key=lambda a: (a.namespace, a.service_account)):
            if association.role_arn != role.arn:
                continue
            matches.append(_association_match(role, association, cluster, pods_by_sa))

    order = {Decision.ALLOW: 0, Decision.UNKNOWN: 1, Decision.NOT_ALLOWED: 2, Decision.DENY: 3}
    matches.sort(key=lambda m: (order[m.decision], m.mechanism != Mechanism.IRSA))
    return matches


def _association_match(role: Role, association: PodIdentityAssociation, cluster: Cluster | None,
                       pods_by_sa: dict[tuple[str, str], list[ObjectRef]]) -> AssumeMatch:
    evaluation = evaluate_trust_all(role.trust_policy, pod_identity_requests(
        cluster_arn=cluster.arn if cluster else None,
        cluster_name=cluster.name if cluster else association.cluster,
        namespace=association.namespace, service_account=association.service_account, account=role.account))
    key = (association.namespace, association.service_account)
    return AssumeMatch(
        Mechanism.POD_IDENTITY,
        ObjectRef("ServiceAccount", association.service_account, association.namespace),
        evaluation.decision,
        f"association {association.association_id}: {evaluation.reason}",
        False,
        association.association_id,
        tuple(pods_by_sa.get(key, ())),
    )
