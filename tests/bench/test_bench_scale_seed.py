"""Seeding a small scale lab into real lab servers, then reading it back over the wire.

The servers run in this process (the generator is meant to run inside `lab serve`); everything
is checked through the official kubernetes client and boto3, plus kubectl/jq/aws for the
baseline pieces of bench/.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from irsa_explorer.lab.scale import generate, parse_scale, plan_cluster, pod_manifest
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.model import ROLE_ARN_ANNOTATION

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

SMALL = "pods=120,namespaces=4,serviceaccounts=30,roles=10,nodes=3"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from irsa_explorer.lab.aws.server import AwsLab
    from irsa_explorer.lab.kube.server import KubeApiServer
    from irsa_explorer.lab.tokens import TokenSigner

    cluster = LabCluster()
    aws = AwsLab(cluster, latency={"iam": 0.05})
    aws.start()
    aws.register_issuer(cluster.issuer, TokenSigner(cluster.issuer).jwks())
    kube = KubeApiServer(cluster, None, TokenSigner(cluster.issuer), pod_identity_lookup=aws.pod_identity_role)
    kube.start_in_thread()
    try:
        report = generate(parse_scale(SMALL), kube_server=kube, aws_lab=aws, cluster=cluster)
        folder = tmp_path_factory.mktemp("scale-lab")
        kubeconfig = folder / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(kube.kubeconfig("lab@eks-oidc-demo.us-east-2.eksctl.io", "lab")))
        key, secret = aws.admin_credentials
        (folder / "empty").write_text("")
        env = {
            "PATH": "/usr/bin:/bin:" + str(Path(shutil.which("aws") or "/usr/bin/aws").parent),
            "HOME": str(folder),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(folder / "kube-cache"),
            "AWS_ENDPOINT_URL": aws.endpoint_url,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": cluster.region,
            "AWS_DEFAULT_REGION": cluster.region,
            "AWS_CONFIG_FILE": str(folder / "empty"),
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "empty"),
        }
        yield {"kube": kube, "aws": aws, "cluster": cluster, "report": report, "env": env, "kubeconfig": kubeconfig}
    finally:
        kube.stop_in_thread()
        aws.stop()


def _core(kubeconfig):
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def _boto(seeded, service):
    key, secret = seeded["aws"].admin_credentials
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                    region_name=seeded["cluster"].region)
    return session.client(service, endpoint_url=seeded["aws"].endpoint_url)


def _env_names(pod) -> set[str]:
    return {e.name for c in pod.spec.containers for e in (c.env or [])}


def test_the_cluster_reads_back_over_the_api_as_planned(seeded):
    plan = plan_cluster(parse_scale(SMALL), seeded["cluster"], pod_identity=True)
    api = _core(seeded["kubeconfig"])
    pods = api.list_pod_for_all_namespaces(limit=50)
    items = list(pods.items)
    while pods.metadata._continue:
        pods = api.list_pod_for_all_namespaces(limit=50, _continue=pods.metadata._continue)
        items += pods.items
    assert {p.status.phase for p in items} == {"Running"}
    # the Pod Identity agent add-on's pods, one per node, beside the planned workloads
    agents = [p for p in items if p.metadata.namespace == "kube-system"]
    assert sorted(p.spec.node_name for p in agents) == sorted(n.name for n in plan.nodes)
    assert all(p.metadata.labels["app.kubernetes.io/name"] == "eks-pod-identity-agent" and p.spec.host_network
               for p in agents)
    items = [p for p in items if p.metadata.namespace != "kube-system"]
    assert len(items) == len(plan.pods)
    by_key = {(p.metadata.namespace, p.metadata.name): p for p in items}
    checked = {"irsa": 0, "late": 0, "pod-identity": 0, "none": 0}
    for planned in plan.pods:
        pod = by_key[(planned.namespace, planned.name)]
        sa = plan.service_account(planned.namespace, planned.service_account)
        names = _env_names(pod)
        if sa is None or not (sa.role_arn or sa.pod_identity_role_arn):
            assert not names & {"AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI"}
            checked["none"] += 1
        elif sa.pod_identity_role_arn:
            assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in names and "AWS_ROLE_ARN" not in names
            checked["pod-identity"] += 1
        elif sa.annotated_after_pods:
            assert "AWS_ROLE_ARN" not in names  # the webhook ran before the annotation existed
            checked["late"] += 1
        else:
            env = {e.name: e.value for e in pod.spec.containers[0].env}
            assert env["AWS_ROLE_ARN"] == sa.role_arn
            assert any(v.name == "aws-iam-token" for v in pod.spec.volumes)
            checked["irsa"] += 1
    assert checked["irsa"] and checked["none"] and checked["pod-identity"], checked
    # Late service accounts carry the annotation now, as after `kubectl annotate`.
    for sa in (s for s in plan.service_accounts if s.annotated_after_pods):
        read = api.read_namespaced_service_account(sa.name, sa.namespace)
        assert read.metadata.annotations[ROLE_ARN_ANNOTATION] == sa.role_arn


def test_a_seeded_pod_is_what_a_post_would_have_made(seeded):
    plan = plan_cluster(parse_scale(SMALL), seeded["cluster"], pod_identity=True)
    planned = next(p for p in plan.pods if (sa := plan.service_account(p.namespace, p.service_account))
                   and sa.role_arn and not sa.annotated_after_pods)
    api = _core(seeded["kubeconfig"])
    manifest = pod_manifest(planned)
    manifest["metadata"]["name"] = planned.name + "-posted"
    posted = api.api_client.sanitize_for_serialization(
        api.create_namespaced_pod(planned.namespace, manifest)
    )
    seeded_pod = api.api_client.sanitize_for_serialization(api.read_namespaced_pod(planned.name, planned.namespace))

    def comparable(pod):
        spec = pod["spec"]
        # The kube-api-access volume name has a random suffix on every create, as upstream.
        suffix = next(v["name"] for v in spec["volumes"] if v["name"].startswith("kube-api-access-"))
        text = yaml.safe_dump(spec).replace(suffix, "kube-api-access-XXXXX")
        return text

    assert comparable(posted) == comparable(seeded_pod)
    api.delete_namespaced_pod(manifest["metadata"]["name"], planned.namespace)


def test_aws_side_has_roles_provider_instances_and_associations(seeded):
    plan = plan_cluster(parse_scale(SMALL), seeded["cluster"], pod_identity=True)
    iam, ec2, eks = _boto(seeded, "iam"), _boto(seeded, "ec2"), _boto(seeded, "eks")
    for role in plan.roles:
        assert iam.get_role(RoleName=role.name)["Role"]["AssumeRolePolicyDocument"] == role.trust_policy
    arns = {p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
    assert seeded["cluster"].oidc_provider_arn in arns
    instances = seeded["report"].instances
    assert set(instances) == {n.name for n in plan.nodes}
    described = ec2.describe_instances(InstanceIds=list(instances.values()))
    profiles = {i["IamInstanceProfile"]["Arn"] for r in described["Reservations"] for i in r["Instances"]}
    assert len(profiles) == 1 and profiles.pop().endswith("/" + plan.instance_profile_name)
    listed = eks.list_pod_identity_associations(clusterName=seeded["cluster"].name)["associations"]
    assert {(a["namespace"], a["serviceAccount"]) for a in listed} == {
        (s.namespace, s.name) for s in plan.service_accounts if s.pod_identity_role_arn
    }
    # Nodes point at their instances; seeding traffic is not left in the counters.
    api = _core(seeded["kubeconfig"])
    node = api.read_node(plan.nodes[0].name)
    assert node.spec.provider_id.endswith("/" + instances[plan.nodes[0].name])
    assert seeded["report"].counts["pods"] == len(plan.pods)
    assert "scale:" in seeded["report"].summary()


def test_lab_stats_deltas_count_one_phase(seeded):
    from measure import LabStats

    stats = LabStats(str(seeded["kubeconfig"]), seeded["aws"].endpoint_url)
    before = stats.snapshot()
    _core(seeded["kubeconfig"]).list_namespace()
    _boto(seeded, "iam").get_role(RoleName=plan_cluster(parse_scale(SMALL)).roles[0].name)
    delta = stats.delta(before)
    assert delta.get("iam:GetRole") == 1
    assert sum(v for k, v in delta.items() if k.startswith("kube:")) == 1, delta


@pytest.mark.kubectl
@pytest.mark.awscli
@pytest.mark.skipif(not (shutil.which("kubectl") and shutil.which("aws") and shutil.which("jq")),
                    reason="needs kubectl, jq and the aws CLI")
def test_manual_baseline_reaches_the_planned_mapping(seeded):
    from baseline import run_baseline

    plan = plan_cluster(parse_scale(SMALL), seeded["cluster"], pod_identity=True)
    result = run_baseline(seeded["env"], seeded["cluster"].name, sample=2)
    assert result.extrapolated  # more than two roles: the rest is estimated, and says so
    role_step = next(s for s in result.steps if "get-role" in s.what)
    assert role_step.timed == 2 and role_step.calls >= len([r for r in plan.roles if r.kind == "irsa"])
    for planned in plan.pods:
        key = (planned.namespace, planned.name)
        if key in result.unresolved:
            continue
        sa = plan.service_account(planned.namespace, planned.service_account)
        # The role the pod is meant to get: its association's, else its SA's annotation.
        assert result.mapping[key] == (sa.pod_identity_role_arn or sa.role_arn if sa else None)
    assert len(result.trust_policies) == 2
