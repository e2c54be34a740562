"""The plan of a `--scale` cluster: every namespace, service account, IAM role (with its trust
policy, a share of them deliberately broken), node and pod, decided up front and
deterministically from `ScaleSpec.seed`, without any server (see the package docstring for the
mix it aims at).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from irsa_explorer.analysis.findings import POD_IDENTITY_TRUST_STATEMENT
from irsa_explorer.lab.scale.spec import ScaleSpec
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.model import DEFAULT_AUDIENCE, service_account_subject

# Trust-policy mistakes the generator plants, as the failure catalogue (C.9, C.10) describes them.
TRUST_FLAWS = ("sub-wrong-namespace", "wrong-audience", "wildcard-in-stringequals", "wrong-provider")

# Namespaces and workloads are named like a mid-sized company's services, so tables look real.
_TEAMS = (
    "payments", "checkout", "orders", "catalog", "search", "billing", "identity", "shipping",
    "inventory", "pricing", "reviews", "notifications", "analytics", "reporting", "ledger",
    "fraud", "loyalty", "cart", "recommendations", "media", "messaging", "accounts", "gateway",
    "observability", "data-platform", "ml-serving", "etl", "warehouse", "support", "marketing",
)
_COMPONENTS = (
    "api", "worker", "consumer", "scheduler", "exporter", "sync", "indexer", "webhook",
    "processor", "uploader", "reconciler", "cron", "gateway", "cache-warmer", "archiver",
)
_IMAGES = ("amazon/aws-cli:2.15.0", "public.ecr.aws/docker/library/busybox:1.36")
_POD_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what ReplicaSet/pod name hashes use


@dataclass(frozen=True)
class PlannedRole:
    name: str
    arn: str
    trust_policy: dict[str, Any]
    kind: str  # "irsa" | "pod-identity"
    flaw: str | None = None  # one of TRUST_FLAWS, None when the trust is right
    subjects: tuple[str, ...] = ()  # the service accounts it is meant for (system:serviceaccount:ns:sa)


@dataclass(frozen=True)
class PlannedServiceAccount:
    namespace: str
    name: str
    role_arn: str | None = None  # the IRSA annotation
    pod_identity_role_arn: str | None = None  # an EKS Pod Identity association
    annotated_after_pods: bool = False  # pods predate the annotation: the webhook skipped them
    role_exists: bool = True  # False: the annotation names a role that is not in IAM

    @property
    def subject(self) -> str:
        return service_account_subject(self.namespace, self.name)


@dataclass(frozen=True)
class PlannedNode:
    name: str
    zone: str
    index: int


@dataclass(frozen=True)
class PlannedPod:
    namespace: str
    name: str
    service_account: str
    node: str
    image: str
    sidecar: bool = False


@dataclass
class ScalePlan:
    """Everything the generator will create, decided up front from `spec.seed`."""

    spec: ScaleSpec
    cluster: LabCluster
    namespaces: list[str]
    service_accounts: list[PlannedServiceAccount]
    roles: list[PlannedRole]
    nodes: list[PlannedNode]
    pods: list[PlannedPod]
    node_role_name: str
    instance_profile_name: str
    pod_identity: bool = True  # False: the lab's AWS side has no associations; those SAs stay plain
    _sa_index: dict[tuple[str, str], PlannedServiceAccount] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._sa_index = {(sa.namespace, sa.name): sa for sa in self.service_accounts}

    def service_account(self, namespace: str, name: str) -> PlannedServiceAccount | None:
        return self._sa_index.get((namespace, name))

    def counts(self) -> dict[str, int]:
        """How the cluster is mixed: what the summary line of `lab serve --scale` prints."""
        by_mechanism = {"irsa": 0, "pod-identity": 0, "node-role": 0, "not-injected": 0}
        for pod in self.pods:
            sa = self.service_account(pod.namespace, pod.service_account)
            if sa is None or not (sa.role_arn or sa.pod_identity_role_arn):
                by_mechanism["node-role"] += 1
            elif sa.pod_identity_role_arn:
                by_mechanism["pod-identity"] += 1
            elif sa.annotated_after_pods:
                by_mechanism["not-injected"] += 1
            else:
                by_mechanism["irsa"] += 1
        return {
            "pods": len(self.pods),
            "namespaces": len(self.namespaces),
            "serviceaccounts": len(self.service_accounts),
            "roles": len(self.roles),
            "broken_trust_roles": sum(1 for r in self.roles if r.flaw),
            "missing_roles": len({sa.role_arn for sa in self.service_accounts if not sa.role_exists}),
            "nodes": len(self.nodes),
            **{f"pods_{key.replace('-', '_')}": value for key, value in by_mechanism.items()},
        }


def plan_cluster(spec: ScaleSpec, cluster: LabCluster | None = None, *, pod_identity: bool = True) -> ScalePlan:
    """Decide the whole cluster from `spec` (same spec and seed → same cluster, name for name)."""
    cluster = cluster or LabCluster()
    rng = random.Random(spec.seed)
    namespaces = _namespace_names(spec.namespaces)
    nodes = [_node(i, cluster.region) for i in range(spec.nodes)]

    # Service accounts spread evenly over namespaces, named team-component like real workloads.
    sa_names: list[tuple[str, str]] = []
    per_namespace: dict[str, int] = {}
    for i in range(spec.serviceaccounts):
        namespace = namespaces[i % len(namespaces)]
        n = per_namespace.get(namespace, 0)
        per_namespace[namespace] = n + 1
        team = namespace.split("-")[0] if namespace.split("-")[0] in _TEAMS else namespace
        component = _COMPONENTS[n % len(_COMPONENTS)]
        suffix = "" if n < len(_COMPONENTS) else f"-{n // len(_COMPONENTS) + 1}"
        sa_names.append((namespace, f"{team}-{component}{suffix}"))

    # Which identity each SA uses. Shares: ~80% IRSA, ~8% Pod Identity, ~12% none.
    kinds: list[str] = []
    for _ in sa_names:
        roll = rng.random()
        kinds.append("irsa" if roll < 0.80 else "pod-identity" if roll < 0.88 else "none")
    if not pod_identity:
        kinds = ["none" if k == "pod-identity" else k for k in kinds]

    # Sorted by namespace so that the SAs sharing a role are a team's own, as in real accounts.
    irsa_sas = sorted(key for key, kind in zip(sa_names, kinds) if kind == "irsa")
    pid_sas = sorted(key for key, kind in zip(sa_names, kinds) if kind == "pod-identity")
    pid_role_count = min(len(pid_sas), max(1 if pid_sas else 0, spec.roles // 10))
    irsa_role_count = min(len(irsa_sas), spec.roles - pid_role_count)

    roles: list[PlannedRole] = []
    role_of: dict[tuple[str, str], str] = {}
    # Neighbouring SAs (mostly of one namespace) share a role.
    for r, group in enumerate(_chunks(irsa_sas, irsa_role_count)):
        namespace, sa = group[0]
        name = f"{namespace}-{sa}"[:52].rstrip("-") + f"-irsa-{r:04d}"
        arn = f"arn:aws:iam::{cluster.account}:role/{name}"
        # One role in ten gets a broken trust; which flaw cycles so every kind is present.
        flaw = TRUST_FLAWS[(r // 10) % len(TRUST_FLAWS)] if r % 10 == 3 else None
        subjects = tuple(service_account_subject(ns, n) for ns, n in group)
        roles.append(
            PlannedRole(name, arn, _irsa_trust(cluster, subjects, flaw, namespaces), "irsa", flaw, subjects)
        )
        for key in group:
            role_of[key] = arn
    for r, group in enumerate(_chunks(pid_sas, pid_role_count)):
        namespace, sa = group[0]
        name = f"{namespace}-{sa}"[:50].rstrip("-") + f"-podid-{r:04d}"
        arn = f"arn:aws:iam::{cluster.account}:role/{name}"
        subjects = tuple(service_account_subject(ns, n) for ns, n in group)
        roles.append(PlannedRole(name, arn, _pod_identity_trust(), "pod-identity", None, subjects))
        for key in group:
            role_of[key] = arn

    service_accounts: list[PlannedServiceAccount] = []
    for i, (key, kind) in enumerate(zip(sa_names, kinds)):
        namespace, name = key
        if kind == "irsa" and key in role_of:
            # A few annotations point at a role that was deleted or mistyped (ROLE_NOT_FOUND),
            # and a few SAs were annotated after their pods started (IRSA not injected).
            if i % 97 == 41:
                missing = f"arn:aws:iam::{cluster.account}:role/{namespace}-{name}"[:120] + "-deleted"
                service_accounts.append(PlannedServiceAccount(namespace, name, role_arn=missing, role_exists=False))
            else:
                late = i % 61 == 17
                service_accounts.append(
                    PlannedServiceAccount(namespace, name, role_arn=role_of[key], annotated_after_pods=late)
                )
        elif kind == "pod-identity" and key in role_of:
            service_accounts.append(PlannedServiceAccount(namespace, name, pod_identity_role_arn=role_of[key]))
        else:
            service_accounts.append(PlannedServiceAccount(namespace, name))

    # Pods: ~90% under a named SA (deployments of 1..n replicas), ~10% under `default`.
    pods: list[PlannedPod] = []
    used_names: set[tuple[str, str]] = set()
    for p in range(spec.pods):
        if service_accounts and rng.random() >= 0.10:
            sa = service_accounts[p % len(service_accounts)]
            namespace, sa_name, app = sa.namespace, sa.name, sa.name
        else:
            namespace = namespaces[p % len(namespaces)]
            sa_name, app = "default", f"{namespace.split('-')[0]}-job"
        name = _pod_name(rng, app)
        while (namespace, name) in used_names:
            name = _pod_name(rng, app)
        used_names.add((namespace, name))
        node = nodes[p % len(nodes)].name if nodes else ""
        pods.append(
            PlannedPod(
                namespace, name, sa_name, node, _IMAGES[p % len(_IMAGES)], sidecar=rng.random() < 0.2
            )
        )

    suffix = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    node_role = f"eksctl-{cluster.name}-nodegroup-scale-NodeInstanceRole-{suffix}"[:64]
    profile = f"eksctl-{cluster.name}-nodegroup-scale-NodeInstanceProfile-{suffix}"[:128]
    return ScalePlan(
        spec=spec,
        cluster=cluster,
        namespaces=namespaces,
        service_accounts=service_accounts,
        roles=roles,
        nodes=nodes,
        pods=pods,
        node_role_name=node_role,
        instance_profile_name=profile,
        pod_identity=pod_identity,
    )


def _namespace_names(count: int) -> list[str]:
    names = []
    for i in range(count):
        team = _TEAMS[i % len(_TEAMS)]
        names.append(team if i < len(_TEAMS) else f"{team}-{i // len(_TEAMS) + 1}")
    return names


def _node(index: int, region: str) -> PlannedNode:
    # eksctl's private subnets are 192.168.96.0/19 … 192.168.160.0/19; names follow EC2's DNS form.
    octet3, octet4 = 96 + (index // 250) % 96, 10 + index % 250
    zone = f"{region}{'abc'[index % 3]}"
    return PlannedNode(f"ip-192-168-{octet3}-{octet4}.{region}.compute.internal", zone, index)


def _pod_name(rng: random.Random, app: str) -> str:
    rs = "".join(rng.choice(_POD_SUFFIX_ALPHABET) for _ in range(10))
    pod = "".join(rng.choice(_POD_SUFFIX_ALPHABET) for _ in range(5))
    return f"{app}-{rs}-{pod}"


def _chunks(items: list, count: int) -> list[list]:
    """Split `items` into `count` consecutive, nearly equal groups (none empty)."""
    if count <= 0 or not items:
        return []
    count = min(count, len(items))
    size, extra = divmod(len(items), count)
    groups, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        groups.append(items[start:end])
        start = end
    return groups


def _irsa_trust(cluster: LabCluster, subjects: tuple[str, ...], flaw: str | None, namespaces: list[str]) -> dict:
    """The trust eksctl writes for IRSA, or the same with one planted mistake."""
    host = cluster.issuer_host_path
    provider = cluster.oidc_provider_arn
    subs = list(subjects)
    audience = DEFAULT_AUDIENCE
    operator = "StringEquals"
    if flaw == "sub-wrong-namespace":
        # The classic copy-paste: the role was written for another namespace.
        def other(sub: str) -> str:
            _, _, ns, sa = sub.split(":", 3)
            wrong = next((n for n in namespaces if n != ns), ns + "-old")
            return service_account_subject(wrong, sa)

        subs = [other(s) for s in subs]
    elif flaw == "wrong-audience":
        audience = "sts.amazon.com"
    elif flaw == "wildcard-in-stringequals":
        # Looks right, never matches: only StringLike expands the wildcard.
        subs = sorted({s.rsplit(":", 1)[0] + ":*" for s in subs})
    elif flaw == "wrong-provider":
        other_id = "".join(reversed(cluster.issuer_id))
        provider = provider.replace(cluster.issuer_id, other_id)
        host = host.replace(cluster.issuer_id, other_id)
    conditions = {
        operator: {
            f"{host}:sub": subs[0] if len(subs) == 1 else subs,
            f"{host}:aud": audience,
        }
    }
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        ],
    }


def _pod_identity_trust() -> dict:
    """The trust EKS Pod Identity needs: the statement the engine's fix suggests, as is."""
    return {"Version": "2012-10-17", "Statement": [copy.deepcopy(POD_IDENTITY_TRUST_STATEMENT)]}
