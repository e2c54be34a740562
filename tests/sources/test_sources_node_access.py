"""What the sources read for the node-side paths, against labs: each node's IMDS settings from the
same DescribeInstances as its role (one call per 200 instances), and the EKS Pod Identity
agent's pods (one list in kube-system, only when an association exists; unknown + why when
forbidden)."""

from __future__ import annotations

import requests

from irsa_explorer.model import InstanceMetadataOptions, Node, Unavailable
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.inventory import load_inventory
from irsa_explorer.sources.kube import KubeSource

NODE_ROLE = "arn:aws:iam::113534181560:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"


def _counters(lab) -> dict[str, int]:
    response = requests.get(lab.aws_endpoint + "/_lab/stats", timeout=10)
    response.raise_for_status()
    return response.json()["counters"]


def _nodes(lab) -> list[Node]:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        return kube.list_nodes()
    finally:
        kube.close()


def test_roles_and_imds_settings_come_from_one_describe_instances(lab) -> None:
    aws = AwsSource.from_env(lab.aws_env)
    nodes = _nodes(lab)
    before = _counters(lab).get("ec2:DescribeInstances", 0)
    found = aws.node_instances(nodes)
    assert _counters(lab).get("ec2:DescribeInstances", 0) - before == 1
    assert set(found.roles.values()) == {NODE_ROLE}
    for node in nodes:
        options = found.metadata[node.name]
        assert isinstance(options, InstanceMetadataOptions)
        # eksctl's node group: IMDSv2 required, hop limit 2 (fresh-cluster.yaml)
        assert (options.instance_id, options.http_tokens, options.hop_limit, options.http_endpoint) == (
            node.instance_id, "required", 2, "enabled")
    assert aws.node_roles(nodes) == found.roles


def test_a_node_that_is_not_ec2_has_neither(lab) -> None:
    aws = AwsSource.from_env(lab.aws_env)
    fargate = Node("f", "fargate-ip-192-168-101-7.us-east-2.compute.internal",
                   "aws:///us-east-2b/0b9e6d7b5b/fargate-ip-192-168-101-7.us-east-2.compute.internal")
    found = aws.node_instances([fargate])
    assert isinstance(found.roles[fargate.name], Unavailable) and found.roles[fargate.name].kind == "not-found"
    assert found.metadata[fargate.name] == found.roles[fargate.name]


def test_unusable_credentials_leave_both_unknown(lab) -> None:
    aws = AwsSource.from_env({**lab.aws_env, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                              "AWS_SECRET_ACCESS_KEY": "not-a-lab-key"})
    nodes = _nodes(lab)
    found = aws.node_instances(nodes)
    for node in nodes:
        assert isinstance(found.metadata[node.name], Unavailable)
        assert isinstance(found.roles[node.name], Unavailable)


def test_without_associations_the_agents_are_not_asked_for(lab) -> None:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        inventory = load_inventory(kube, AwsSource.from_env(lab.aws_env), None, discover_issuer=False)
    finally:
        kube.close()
    assert inventory.pod_identity_agents is None  # the walkthrough has no association
    assert inventory.node_metadata and all(isinstance(o, InstanceMetadataOptions) for o in inventory.node_metadata.values())


def test_agents_forbidden_are_unknown_with_the_reason(lab_for) -> None:
    restricted = lab_for("restricted-user")
    dev = KubeSource(context="dev@eks-oidc-demo.us-east-2.eksctl.io", kubeconfig=str(restricted.kubeconfig))
    try:
        agents = dev.pod_identity_agents()
    finally:
        dev.close()
    assert isinstance(agents, Unavailable) and agents.kind == "forbidden"
    assert agents.permission == "list pods in kube-system"
