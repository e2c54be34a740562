"""EKS Pod Identity: associations through boto3's EKS client, EKS Auth, and the node agent
read by botocore's own container-credentials fetcher."""

from __future__ import annotations

import copy
import json

import pytest
from botocore.exceptions import ClientError, MetadataRetrievalError
from botocore.utils import ContainerMetadataFetcher


@pytest.fixture(scope="module")
def roles(client, policies, trust_for, oidc_provider):
    iam = client("iam")
    good = iam.create_role(RoleName="pod-identity-role", AssumeRolePolicyDocument=json.dumps(policies["pod-identity"]))
    irsa_only = iam.create_role(RoleName="irsa-only-role", AssumeRolePolicyDocument=json.dumps(trust_for("apps", "web")))
    return good["Role"]["Arn"], irsa_only["Role"]["Arn"]


@pytest.fixture(scope="module")
def association(client, cluster, roles):
    return client("eks").create_pod_identity_association(
        clusterName=cluster.name, namespace="apps", serviceAccount="worker", roleArn=roles[0]
    )["association"]


def test_create_list_describe_delete(client, cluster, roles):
    eks = client("eks")
    created = eks.create_pod_identity_association(
        clusterName=cluster.name, namespace="tmp", serviceAccount="short-lived", roleArn=roles[0]
    )["association"]
    assert created["associationId"].startswith("a-")
    assert created["associationArn"] == (
        f"arn:aws:eks:{cluster.region}:{cluster.account}:podidentityassociation/{cluster.name}/{created['associationId']}"
    )

    listed = eks.list_pod_identity_associations(clusterName=cluster.name, namespace="tmp")["associations"]
    assert [(a["namespace"], a["serviceAccount"]) for a in listed] == [("tmp", "short-lived")]
    described = eks.describe_pod_identity_association(clusterName=cluster.name, associationId=created["associationId"])
    assert described["association"]["roleArn"] == roles[0]

    eks.delete_pod_identity_association(clusterName=cluster.name, associationId=created["associationId"])
    assert eks.list_pod_identity_associations(clusterName=cluster.name, namespace="tmp")["associations"] == []
    with pytest.raises(ClientError) as caught:
        eks.describe_pod_identity_association(clusterName=cluster.name, associationId=created["associationId"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_duplicate_association_is_in_use(client, cluster, roles, association):
    with pytest.raises(ClientError) as caught:
        client("eks").create_pod_identity_association(
            clusterName=cluster.name, namespace="apps", serviceAccount="worker", roleArn=roles[0]
        )
    assert caught.value.response["Error"]["Code"] == "ResourceInUseException"


def test_role_trusting_oidc_instead_of_pods_service_is_invalid(client, cluster, roles):
    with pytest.raises(ClientError) as caught:
        client("eks").create_pod_identity_association(
            clusterName=cluster.name, namespace="apps", serviceAccount="web", roleArn=roles[1]
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    assert caught.value.response["Error"]["Message"] == "Trust policy of the role provided is invalid"


def test_unknown_cluster(client, roles):
    with pytest.raises(ClientError) as caught:
        client("eks").list_pod_identity_associations(clusterName="no-such-cluster")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_lookup_for_admission(aws_lab, association, roles):
    assert aws_lab.pod_identity_role("apps", "worker") == roles[0]
    assert aws_lab.pod_identity_role("apps", "someone-else") is None


def test_agent_hands_out_the_associated_role(aws_lab, association, issuer, client, to_session, cluster):
    token = issuer.token("apps", "worker", aud="pods.eks.amazonaws.com", pod="worker-7d9f")
    fetcher = ContainerMetadataFetcher(sleep=lambda _s: None)

    answer = fetcher.retrieve_full_uri(aws_lab.pod_identity_agent_url + "/v1/credentials", headers={"Authorization": token})

    assert answer["AccountId"] == cluster.account
    arn = client("sts", to_session(answer)).get_caller_identity()["Arn"]
    assert arn.startswith(f"arn:aws:sts::{cluster.account}:assumed-role/pod-identity-role/eks-{cluster.name}-worker-7d9f-")


def test_agent_refuses_irsa_audience(aws_lab, association, issuer):
    fetcher = ContainerMetadataFetcher(sleep=lambda _s: None)
    with pytest.raises(MetadataRetrievalError) as caught:
        fetcher.retrieve_full_uri(
            aws_lab.pod_identity_agent_url + "/v1/credentials",
            headers={"Authorization": issuer.token("apps", "worker", aud="sts.amazonaws.com")},
        )
    assert "Received non 200 response 400" in str(caught.value)


def test_eks_auth_without_association_is_not_found(client, cluster, issuer, association):
    eks_auth = client("eks-auth")
    with pytest.raises(ClientError) as caught:
        eks_auth.assume_role_for_pod_identity(
            clusterName=cluster.name, token=issuer.token("apps", "unassociated", aud="pods.eks.amazonaws.com")
        )
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_eks_auth_trust_changed_after_association_is_denied(client, cluster, issuer, roles, trust_for, policies):
    iam, eks = client("iam"), client("eks")
    iam.create_role(RoleName="drifting-role", AssumeRolePolicyDocument=json.dumps(policies["pod-identity"]))
    arn = iam.get_role(RoleName="drifting-role")["Role"]["Arn"]
    eks.create_pod_identity_association(clusterName=cluster.name, namespace="apps", serviceAccount="drift", roleArn=arn)
    iam.update_assume_role_policy(RoleName="drifting-role", PolicyDocument=json.dumps(trust_for("apps", "drift")))

    with pytest.raises(ClientError) as caught:
        client("eks-auth").assume_role_for_pod_identity(
            clusterName=cluster.name, token=issuer.token("apps", "drift", aud="pods.eks.amazonaws.com")
        )
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert caught.value.response["Error"]["Message"] == (
        "Unauthorized Exception! EKS does not have permissions to assume the associated role."
    )


def test_session_tags_are_condition_context(client, cluster, issuer, policies):
    """A trust condition on the session tag EKS Auth sets: only the `apps` namespace may use it."""
    trust = copy.deepcopy(policies["pod-identity"])
    trust["Statement"][0]["Condition"] = {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "apps"}}
    iam, eks = client("iam"), client("eks")
    arn = iam.create_role(RoleName="apps-only", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    for namespace in ("apps", "other"):
        eks.create_pod_identity_association(clusterName=cluster.name, namespace=namespace, serviceAccount="tagged", roleArn=arn)

    allowed = client("eks-auth").assume_role_for_pod_identity(
        clusterName=cluster.name, token=issuer.token("apps", "tagged", aud="pods.eks.amazonaws.com")
    )
    assert allowed["assumedRoleUser"]["arn"].startswith(f"arn:aws:sts::{cluster.account}:assumed-role/apps-only/")
    with pytest.raises(ClientError) as caught:
        client("eks-auth").assume_role_for_pod_identity(
            clusterName=cluster.name, token=issuer.token("other", "tagged", aud="pods.eks.amazonaws.com")
        )
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
