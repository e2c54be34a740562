"""A large, realistic lab cluster for measuring the explorer at scale (`lab serve --scale …`).

Two halves, so the shape of the cluster can be tested without servers:

- `plan_cluster(spec, cluster)` decides, deterministically from a seed, every namespace, service
  account, IAM role (with its trust policy, a share of them deliberately broken), node and pod,
  and which role each pod is meant to get (`ScalePlan.intended_role`).
- `seed_lab(plan, kube_server, aws_lab)` creates it in a running lab in seconds.

The mix mirrors what real clusters look like: most pods run under a service account annotated
for IRSA, some under one with an EKS Pod Identity association (when the lab's AWS side serves
associations), some on an unannotated or `default` service account and so on the node role;
about one IRSA role in ten has a broken trust policy (wrong namespace in `sub`, wrong audience,
a wildcard in `StringEquals`, a principal that is not the cluster's provider), a few
annotations name a role that does not exist, and a few service accounts were annotated after
their pods started (so the webhook never injected them).

Lab-internal shortcuts, taken only for speed and documented here:
- Pods, service accounts, namespaces and nodes go straight into the Kubernetes server's store,
  but every pod first passes through the server's own admission (service-account defaults,
  scheduling, the pod identity webhook), so the stored objects are exactly what a `POST` would
  have produced. 10,000 pods through HTTP would take minutes; this takes seconds.
- IAM roles are written into moto's in-process IAM backend (moto runs in the same process as
  `lab serve`): about 50,000 roles/s instead of about 200/s through boto3, and untouched by
  the lab's injected IAM latency. Everything else on the AWS side (OIDC provider, node role,
  instance profile, EC2 instances, Pod Identity associations) goes through boto3 like any
  client, since it is a handful of calls.
"""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from irsa_explorer.analysis.findings import POD_IDENTITY_TRUST_STATEMENT
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.model import DEFAULT_AUDIENCE, ROLE_ARN_ANNOTATION

SCALE_KEYS = ("pods", "namespaces", "serviceaccounts", "roles", "nodes")

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
_SIDECAR_IMAGE = "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod"
_POD_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what ReplicaSet/pod name hashes use

FULL = "pods=10000,namespaces=200,serviceaccounts=2000,roles=500,nodes=100"
QUICK = "pods=400,namespaces=12,serviceaccounts=80,roles=24,nodes=6"


@dataclass(frozen=True)
class ScaleSpec:
    """How big the generated cluster is. Service accounts and roles exclude the defaults."""

    pods: int
    namespaces: int
    serviceaccounts: int
    roles: int
    nodes: int
    seed: int = 20240330

    def as_text(self) -> str:
        return ",".join(f"{key}={getattr(self, key)}" for key in SCALE_KEYS)


def parse_scale(text: str, *, seed: int | None = None) -> ScaleSpec:
    """Parse `pods=N,namespaces=N,serviceaccounts=N,roles=N,nodes=N` (or `full` / `quick`).

    Keys left out get a value in proportion to `pods` (the full benchmark's ratios). Raises
    ValueError naming the offending part, so `lab serve --scale` can print it as is.
    """
    text = text.strip()
    presets = {"full": FULL, "quick": QUICK}
    text = presets.get(text.lower(), text)
    values: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip().lower()
        if not sep:
            raise ValueError(f"--scale: {part!r} is not KEY=N (keys: {', '.join(SCALE_KEYS)})")
        if key in ("sa", "sas", "service-accounts", "service_accounts"):
            key = "serviceaccounts"
        if key not in SCALE_KEYS:
            raise ValueError(f"--scale: unknown key {key!r} (keys: {', '.join(SCALE_KEYS)})")
        if key in values:
            raise ValueError(f"--scale: {key} given twice")
        number = _parse_count(raw.strip())
        if number is None or number < 0:
            raise ValueError(f"--scale: {key}={raw.strip()!r} is not a non-negative whole number")
        values[key] = number
    if "pods" not in values:
        raise ValueError("--scale: pods=N is required")
    pods = values["pods"]
    defaults = {
        "namespaces": max(1, pods // 50),
        "serviceaccounts": max(1, pods // 5),
        "roles": max(1, pods // 20),
        "nodes": max(1, pods // 100),
    }
    merged = {key: values.get(key, defaults.get(key, pods)) for key in SCALE_KEYS}
    if merged["pods"] and merged["nodes"] < 1:
        raise ValueError("--scale: pods need at least one node (nodes=1)")
    if merged["namespaces"] < 1:
        raise ValueError("--scale: namespaces must be at least 1")
    spec = ScaleSpec(**merged)
    return spec if seed is None else ScaleSpec(**merged, seed=seed)


def _parse_count(raw: str) -> int | None:
    # "10k" and "10_000" are what people type for big numbers.
    match = re.fullmatch(r"(\d[\d_]*)([kK]?)", raw)
    if not match:
        return None
    number = int(match.group(1).replace("_", ""))
    return number * 1000 if match.group(2) else number


# --- the plan ------------------------------------------------------------------------------


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
        return f"system:serviceaccount:{self.namespace}:{self.name}"


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

    @property
    def node_role_arn(self) -> str:
        return f"arn:aws:iam::{self.cluster.account}:role/{self.node_role_name}"

    def service_account(self, namespace: str, name: str) -> PlannedServiceAccount | None:
        return self._sa_index.get((namespace, name))

    def intended_role(self, pod: PlannedPod) -> str | None:
        """The role this pod is meant to get: its association's, else its SA's annotation."""
        sa = self.service_account(pod.namespace, pod.service_account)
        if sa is None:
            return None
        return sa.pod_identity_role_arn or sa.role_arn

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
        subjects = tuple(f"system:serviceaccount:{ns}:{n}" for ns, n in group)
        roles.append(
            PlannedRole(name, arn, _irsa_trust(cluster, subjects, flaw, namespaces), "irsa", flaw, subjects)
        )
        for key in group:
            role_of[key] = arn
    for r, group in enumerate(_chunks(pid_sas, pid_role_count)):
        namespace, sa = group[0]
        name = f"{namespace}-{sa}"[:50].rstrip("-") + f"-podid-{r:04d}"
        arn = f"arn:aws:iam::{cluster.account}:role/{name}"
        subjects = tuple(f"system:serviceaccount:{ns}:{n}" for ns, n in group)
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
            return f"system:serviceaccount:{wrong}:{sa}"

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


def service_account_manifest(sa: PlannedServiceAccount, *, annotated: bool = True) -> dict:
    """The ServiceAccount as `kubectl apply` would send it (annotation optional for late ones)."""
    metadata: dict[str, Any] = {
        "name": sa.name,
        "namespace": sa.namespace,
        "labels": {"app.kubernetes.io/name": sa.name, "app.kubernetes.io/managed-by": "Helm"},
    }
    if sa.role_arn and annotated:
        metadata["annotations"] = {ROLE_ARN_ANNOTATION: sa.role_arn}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def pod_manifest(pod: PlannedPod) -> dict:
    """The Pod as a ReplicaSet controller would send it, before admission."""
    app = pod.name.rsplit("-", 2)[0]
    containers = [
        {
            "name": app[:63],
            "image": pod.image,
            "command": ["sleep", "86400"],
            "env": [{"name": "APP_NAME", "value": app}],
        }
    ]
    if pod.sidecar:
        containers.append({"name": "envoy", "image": _SIDECAR_IMAGE, "command": ["sleep", "86400"]})
    spec: dict[str, Any] = {"containers": containers, "restartPolicy": "Always", "nodeName": pod.node}
    if pod.service_account != "default":
        spec["serviceAccountName"] = pod.service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod.name,
            "namespace": pod.namespace,
            "labels": {"app.kubernetes.io/name": app, "pod-template-hash": pod.name.rsplit("-", 2)[1]},
        },
        "spec": spec,
    }


def node_manifest(node: PlannedNode, instance_id: str) -> dict:
    """The Node as the kubelet registers it on an EKS managed node group (the server fills
    addresses, conditions and nodeInfo as it does for any node)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "m5.large",
                "topology.kubernetes.io/zone": node.zone,
                "eks.amazonaws.com/nodegroup": "scale",
            },
        },
        "spec": {"providerID": f"aws:///{node.zone}/{instance_id}"},
    }


def trust_json(role: PlannedRole) -> str:
    return json.dumps(role.trust_policy, separators=(",", ":"))


# --- seeding a running lab ---------------------------------------------------------------


@dataclass
class SeedReport:
    """What `seed_lab` did and how long each half took (printed by `lab serve --scale`)."""

    counts: dict[str, int]
    aws_s: float = 0.0
    kube_s: float = 0.0
    instances: dict[str, str] = field(default_factory=dict)  # node name → EC2 instance id
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        c = self.counts
        line = (
            f"scale: {c['pods']} pods ({c['pods_irsa']} IRSA, {c['pods_pod_identity']} Pod Identity, "
            f"{c['pods_node_role']} node role, {c['pods_not_injected']} annotated too late) in "
            f"{c['namespaces']} namespaces, {c['serviceaccounts']} service accounts, {c['roles']} roles "
            f"({c['broken_trust_roles']} with a broken trust, {c['missing_roles']} annotations naming a "
            f"missing role), {c['nodes']} nodes; seeded in {self.aws_s + self.kube_s:.1f} s "
            f"(AWS {self.aws_s:.1f} s, Kubernetes {self.kube_s:.1f} s)"
        )
        return "\n".join([line, *self.notes])


def aws_supports_pod_identity(session: Any, endpoint_url: str, cluster: LabCluster) -> bool:
    """True when the lab's EKS answers ListPodIdentityAssociations (moto alone does not)."""
    eks = session.client("eks", endpoint_url=endpoint_url, region_name=cluster.region)
    try:
        eks.list_pod_identity_associations(clusterName=cluster.name)
        return True
    except Exception:
        return False


def _boto_session(credentials: tuple[str, str], region: str) -> Any:
    import boto3

    access_key, secret = credentials
    return boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret, region_name=region
    )


def seed_aws(plan: ScalePlan, *, endpoint_url: str, credentials: tuple[str, str],
             register_node: Any = None, workers: int = 8) -> dict[str, str]:
    """Create the plan's AWS side; returns node name → EC2 instance id.

    The OIDC provider, the node role and its instance profile, the EC2 instances and the Pod
    Identity associations go through boto3 like any client (a few hundred calls at most, run
    concurrently); the hundreds of workload roles go straight into moto's IAM backend, which
    lives in this process (see the module docstring).
    """
    from concurrent.futures import ThreadPoolExecutor

    from botocore.config import Config

    cluster = plan.cluster
    session = _boto_session(credentials, cluster.region)
    config = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=workers * 2)
    iam = session.client("iam", endpoint_url=endpoint_url, config=config)
    ec2 = session.client("ec2", endpoint_url=endpoint_url, config=config)
    eks = session.client("eks", endpoint_url=endpoint_url, config=config)

    # The cluster's IAM OIDC provider (the walkthrough scenario may have made it already).
    existing = {p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
    if cluster.oidc_provider_arn not in existing:
        iam.create_open_id_connect_provider(
            Url=cluster.issuer,
            ClientIDList=[DEFAULT_AUDIENCE],
            ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        )

    # The node group's role and instance profile, as eksctl makes them.
    ec2_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName=plan.node_role_name, AssumeRolePolicyDocument=json.dumps(ec2_trust))
    for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"):
        try:
            iam.attach_role_policy(RoleName=plan.node_role_name, PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
        except iam.exceptions.NoSuchEntityException:
            pass  # moto without its managed policies loaded: the role still works, without them
    iam.create_instance_profile(InstanceProfileName=plan.instance_profile_name)
    iam.add_role_to_instance_profile(InstanceProfileName=plan.instance_profile_name, RoleName=plan.node_role_name)

    _create_roles_in_backend(plan)

    def launch(node: PlannedNode) -> tuple[str, str]:
        # The private IP makes EC2's private DNS name equal the node name, as on EKS.
        ip = node.name.split(".", 1)[0].removeprefix("ip-").replace("-", ".")
        reply = ec2.run_instances(
            ImageId="ami-0c55b159cbfafe1f0",
            InstanceType="m5.large",
            MinCount=1,
            MaxCount=1,
            PrivateIpAddress=ip,
            Placement={"AvailabilityZone": node.zone},
            IamInstanceProfile={"Name": plan.instance_profile_name},
            MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [
                        {"Key": "Name", "Value": node.name},
                        {"Key": "eks:cluster-name", "Value": cluster.name},
                        {"Key": "eks:nodegroup-name", "Value": "scale"},
                    ],
                }
            ],
        )
        return node.name, reply["Instances"][0]["InstanceId"]

    def associate(sa: PlannedServiceAccount) -> None:
        eks.create_pod_identity_association(
            clusterName=cluster.name, namespace=sa.namespace, serviceAccount=sa.name,
            roleArn=sa.pod_identity_role_arn,
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        instances = dict(pool.map(launch, plan.nodes))
        if plan.pod_identity:
            list(pool.map(associate, [sa for sa in plan.service_accounts if sa.pod_identity_role_arn]))
    if register_node is not None:
        for name, instance_id in instances.items():
            register_node(name, instance_id)
    return instances


def _create_roles_in_backend(plan: ScalePlan) -> None:
    """Write the workload roles into moto's IAM backend (lab-internal shortcut, in-process)."""
    from irsa_explorer.lab.aws import moto_backends as aws_moto

    backend = aws_moto.iam(plan.cluster.account)
    tags = [{"Key": "app.kubernetes.io/managed-by", "Value": "irsa-explorer-lab-scale"}]
    for role in plan.roles:
        backend.create_role(
            role_name=role.name,
            assume_role_policy_document=trust_json(role),
            path="/",
            permissions_boundary=None,
            description=f"{role.kind} role for {', '.join(role.subjects)[:200]}",
            tags=tags,
            max_session_duration="3600",
            linked_service=None,
        )


def seed_kube(plan: ScalePlan, kube_server: Any, instances: dict[str, str]) -> None:
    """Create the plan's Kubernetes objects through the server's own create path.

    `kube_server.create_object` is what a POST runs — defaults, ServiceAccount admission, the
    pod identity webhook, scheduling — minus HTTP; `running=True` stores pods already Running
    (their containers only sleep), instead of starting 10,000 simulated containers.
    """
    from irsa_explorer.lab.kube.store import StoreError

    for namespace in plan.namespaces:
        if kube_server.store.get("namespaces", None, namespace) is None:
            kube_server.create_object("namespaces", {"metadata": {"name": namespace}})
    for node in plan.nodes:
        kube_server.create_object("nodes", node_manifest(node, instances.get(node.name, "")))
    late: list[PlannedServiceAccount] = []
    for sa in plan.service_accounts:
        kube_server.create_object("serviceaccounts", service_account_manifest(sa, annotated=not sa.annotated_after_pods))
        if sa.annotated_after_pods:
            late.append(sa)
    for pod in plan.pods:
        kube_server.create_object("pods", pod_manifest(pod), running=True)
    # `kubectl annotate sa …` after the pods started: the webhook never sees these pods again.
    for sa in late:
        def annotate(obj: dict, arn: str | None = sa.role_arn) -> None:
            obj["metadata"].setdefault("annotations", {})[ROLE_ARN_ANNOTATION] = arn

        try:
            kube_server.store.mutate("serviceaccounts", sa.namespace, sa.name, annotate)
        except StoreError:
            pass  # cannot happen: created above; keep seeding the rest regardless


def generate(spec: ScaleSpec, *, kube_server: Any, aws_lab: Any, cluster: LabCluster | None = None) -> SeedReport:
    """Plan and seed a large cluster into a running lab (what `lab serve --scale` calls).

    `kube_server` is the lab's KubeApiServer and `aws_lab` its AwsLab, both started, in this
    process. Pod Identity is used only when the AWS side serves associations.
    """
    import time

    cluster = cluster or getattr(aws_lab, "cluster", None) or LabCluster()
    began = time.perf_counter()
    session = _boto_session(aws_lab.admin_credentials, cluster.region)
    pod_identity = aws_supports_pod_identity(session, aws_lab.endpoint_url, cluster)
    plan = plan_cluster(spec, cluster, pod_identity=pod_identity)
    # Seeding is set-up, not traffic: it must neither wait for the injected latency nor be
    # throttled, and the benchmark's counters start from zero afterwards.
    traffic = getattr(aws_lab, "traffic", None)
    saved = (dict(traffic.latency), dict(traffic.throttle)) if traffic is not None else None
    if traffic is not None:
        traffic.latency.clear()
        traffic.throttle.clear()
    try:
        instances = seed_aws(
            plan, endpoint_url=aws_lab.endpoint_url, credentials=aws_lab.admin_credentials,
            register_node=getattr(aws_lab, "register_node", None),
        )
    finally:
        if traffic is not None and saved is not None:
            traffic.latency.update(saved[0])
            traffic.throttle.update(saved[1])
    aws_done = time.perf_counter()
    seed_kube(plan, kube_server, instances)
    kube_done = time.perf_counter()
    for server in (aws_lab, kube_server):
        if hasattr(server, "reset_counters"):
            server.reset_counters()
    report = SeedReport(plan.counts(), aws_s=aws_done - began, kube_s=kube_done - aws_done, instances=instances)
    if not pod_identity:
        report.notes.append("scale: the lab's EKS serves no Pod Identity associations; those SAs stay plain")
    return report
