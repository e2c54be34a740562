"""AwsSource against the walkthrough lab's AWS side: real boto3 over HTTP to moto + the lab's
middleware (IAM enforcement, EKS extras, counters)."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.model import Cluster, Node, Role, Unavailable

ACCOUNT = "113534181560"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"
ISSUER_HOST = "oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"


@pytest.fixture(scope="module")
def aws(lab) -> AwsSource:
    return AwsSource.from_env(lab.aws_env)


def aws_counters(lab) -> dict[str, int]:
    response = requests.get(lab.aws_endpoint + "/_lab/stats", timeout=10)
    response.raise_for_status()
    return response.json()["counters"]


def walkthrough_nodes(lab) -> list[Node]:
    from irsa_explorer.sources.kube import KubeSource

    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        return source.list_nodes()
    finally:
        source.close()


def test_cluster_and_its_issuer(aws) -> None:
    cluster = aws.describe_cluster("eks-oidc-demo")
    assert isinstance(cluster, Cluster)
    assert cluster.issuer == "https://" + ISSUER_HOST
    assert (cluster.account, cluster.region) == (ACCOUNT, "us-east-2")
    missing = aws.describe_cluster("no-such-cluster")
    assert isinstance(missing, Unavailable) and missing.kind == "not-found"


def test_oidc_providers_with_client_ids(aws) -> None:
    providers = aws.list_oidc_providers()
    assert not isinstance(providers, Unavailable)
    provider = next(p for p in providers if p.url == ISSUER_HOST)
    assert provider.arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"
    assert provider.client_ids == ("sts.amazonaws.com",)


def test_roles_one_get_role_per_distinct_role(lab, aws) -> None:
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role"
    before = aws_counters(lab).get("iam:GetRole", 0)
    roles = aws.get_roles([MY_SA_ROLE, NODE_ROLE, MY_SA_ROLE, missing, NODE_ROLE])
    after = aws_counters(lab).get("iam:GetRole", 0)
    assert after - before == 3
    role = roles[MY_SA_ROLE]
    assert isinstance(role, Role) and role.name.endswith("Role1-4JIbFaEdQaXO")
    statement = role.trust_policy["Statement"][0]
    assert statement["Principal"]["Federated"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"
    assert isinstance(roles[NODE_ROLE], Role)
    assert isinstance(roles[missing], Unavailable) and roles[missing].kind == "not-found"


def test_roles_by_listing_when_many_are_needed(lab) -> None:
    aws = AwsSource.from_env(lab.aws_env, list_roles_threshold=2)
    before = aws_counters(lab)
    roles = aws.get_roles([MY_SA_ROLE, NODE_ROLE])
    after = aws_counters(lab)
    assert after.get("iam:GetRole", 0) == before.get("iam:GetRole", 0)
    assert after.get("iam:ListRoles", 0) > before.get("iam:ListRoles", 0)
    assert isinstance(roles[MY_SA_ROLE], Role) and isinstance(roles[NODE_ROLE], Role)
    assert roles[MY_SA_ROLE].trust_policy["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"


def test_node_roles_through_instance_profiles(lab, aws) -> None:
    nodes = walkthrough_nodes(lab)
    roles = aws.node_roles(nodes)
    assert {roles[n.name] for n in nodes} == {NODE_ROLE}
    fake = Node("x", "not-ec2", "kind://docker/kind/kind-control-plane")
    assert isinstance(aws.node_roles([fake])["not-ec2"], Unavailable)


def test_pod_identity_associations_are_a_list_not_a_guess(aws, lab_for) -> None:
    assert aws.list_pod_identity_associations("eks-oidc-demo") == []  # the walkthrough has none
    pod_identity = AwsSource.from_env(lab_for("pod-identity").aws_env)
    associations = pod_identity.list_pod_identity_associations("eks-oidc-demo")
    assert [(a.namespace, a.service_account) for a in associations] == [("default", "uploader")]
    assert associations[0].role_arn.startswith("arn:aws:iam::113534181560:role/")


def test_role_policies_on_demand(aws) -> None:
    policies = aws.role_policies(MY_SA_ROLE)
    assert "AmazonS3ReadOnlyAccess" in {p.name for p in policies.attached}


def test_managed_policy_document_is_fetched_when_opened(aws) -> None:
    policies = aws.role_policies(MY_SA_ROLE)
    s3_read = next(p for p in policies.attached if p.name == "AmazonS3ReadOnlyAccess")
    document = aws.policy_document(s3_read.arn)
    actions = {a for st in document["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    assert "s3:Get*" in actions and "s3:List*" in actions
    missing = aws.policy_document("arn:aws:iam::113534181560:policy/does-not-exist")
    assert isinstance(missing, Unavailable) and missing.kind == "not-found"


def test_denied_get_role_is_unavailable_with_the_permission(no_get_role_env) -> None:
    aws = AwsSource.from_env(no_get_role_env)
    role = aws.get_roles([MY_SA_ROLE])[MY_SA_ROLE]
    assert isinstance(role, Unavailable)
    assert role.kind == "forbidden" and role.permission == "iam:GetRole"
    assert "unknown" in str(role)


def test_pod_identity_association_comes_back_with_its_role(lab, aws, lab_aws_client) -> None:
    iam, eks = lab_aws_client(lab, "iam"), lab_aws_client(lab, "eks")
    name = f"pod-identity-{uuid.uuid4().hex[:6]}"
    role_arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }]}),
    )["Role"]["Arn"]
    created = eks.create_pod_identity_association(
        clusterName="eks-oidc-demo", namespace="default", serviceAccount=name, roleArn=role_arn
    )["association"]
    try:
        associations = aws.list_pod_identity_associations("eks-oidc-demo")
        assert not isinstance(associations, Unavailable), associations
        mine = next(a for a in associations if a.service_account == name)
        assert (mine.namespace, mine.role_arn, mine.association_id) == ("default", role_arn, created["associationId"])
    finally:
        eks.delete_pod_identity_association(clusterName="eks-oidc-demo", associationId=created["associationId"])
