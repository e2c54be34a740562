"""Seeding a planned `--scale` cluster into a running lab, in this process (`generate` is what
`lab serve --scale` calls). The shortcuts it takes for speed are the package docstring's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from irsa_explorer.lab.scale.manifests import (
    node_manifest,
    pod_identity_agent_manifest,
    pod_manifest,
    service_account_manifest,
    trust_json,
)
from irsa_explorer.lab.scale.plan import PlannedNode, PlannedServiceAccount, ScalePlan, plan_cluster
from irsa_explorer.lab.scale.spec import ScaleSpec
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.model import DEFAULT_AUDIENCE, ROLE_ARN_ANNOTATION


@dataclass
class SeedReport:
    """What `generate` did and how long each half took (printed by `lab serve --scale`)."""

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
    lives in this process (see the package docstring).
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
    if plan.pod_identity:
        # the EKS add-on's agent on every node, which Pod Identity pods need on theirs
        for node in plan.nodes:
            kube_server.create_object("pods", pod_identity_agent_manifest(node, plan.cluster.name), running=True)
    # `kubectl annotate sa …` after the pods started: the webhook never sees these pods again.
    for sa in late:
        def annotate(obj: dict, arn: str | None = sa.role_arn) -> None:
            obj["metadata"].setdefault("annotations", {})[ROLE_ARN_ANNOTATION] = arn

        try:
            kube_server.store.mutate("serviceaccounts", sa.namespace, sa.name, annotate)
        except StoreError:
            pass  # cannot happen: created above; keep seeding the rest regardless


def generate(spec: ScaleSpec, *, kube_server: Any, aws_lab: Any, cluster: LabCluster | None = None,
             workers: int = 8) -> SeedReport:
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
            register_node=getattr(aws_lab, "register_node", None), workers=workers,
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
