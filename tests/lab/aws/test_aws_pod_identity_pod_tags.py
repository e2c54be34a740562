"""A Pod Identity trust policy on the tags EKS Auth sets per pod (kubernetes-pod-name,
kubernetes-pod-uid): EKS Auth decides it per pod, and so does the engine — for the same role as
IAM returns it, the engine's per-pod decision and EKS Auth's answer agree pod by pod."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.model import (
    POD_IDENTITY_TOKEN_PATH,
    POD_IDENTITY_URI,
    POD_IDENTITY_VOLUME,
    Container,
    EnvVar,
    Inventory,
    LinkStatus,
    Pod,
    PodIdentityAssociation,
    ProjectedToken,
    Role,
    ServiceAccount,
)

PODS = ("uploader-a", "uploader-b")


def _pod(name: str) -> Pod:
    app = Container("app", "amazon/aws-cli", env=(EnvVar("AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_IDENTITY_URI),
                                                  EnvVar("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", POD_IDENTITY_TOKEN_PATH)),
                    volume_mounts=((POD_IDENTITY_VOLUME, POD_IDENTITY_TOKEN_PATH.rsplit("/", 1)[0]),))
    return Pod(f"uid-{name}", "apps", name, "tagged-pods", None, "Running", "Running", datetime.now(timezone.utc),
               (app,), (ProjectedToken(POD_IDENTITY_VOLUME, "pods.eks.amazonaws.com", 86400, "eks-pod-identity-token"),))


@pytest.fixture(scope="module")
def pod_name_role(client, cluster, policies):
    trust = copy.deepcopy(policies["pod-identity"])
    trust["Statement"][0]["Condition"] = {"StringEquals": {"aws:RequestTag/kubernetes-pod-name": "uploader-a"}}
    role = client("iam").create_role(RoleName="one-pod-only", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    association = client("eks").create_pod_identity_association(
        clusterName=cluster.name, namespace="apps", serviceAccount="tagged-pods", roleArn=role["Arn"])["association"]
    return role, association


def test_eks_auth_and_the_engine_decide_per_pod(client, cluster, issuer, pod_name_role):
    role, association = pod_name_role
    eks_auth = {}
    for name in PODS:
        token = issuer.token("apps", "tagged-pods", aud="pods.eks.amazonaws.com", pod=name)
        try:
            client("eks-auth").assume_role_for_pod_identity(clusterName=cluster.name, token=token)
            eks_auth[name] = True
        except ClientError as refused:
            assert refused.response["Error"]["Code"] == "AccessDeniedException"
            eks_auth[name] = False
    assert eks_auth == {"uploader-a": True, "uploader-b": False}

    pods = [_pod(name) for name in PODS]
    iam_role = client("iam").get_role(RoleName=role["RoleName"])["Role"]
    inventory = Inventory(
        "test", None, pods={p.uid: p for p in pods},
        service_accounts={("apps", "tagged-pods"): ServiceAccount("sa-uid", "apps", "tagged-pods")},
        roles={role["Arn"]: Role(role["Arn"], role["RoleName"], cluster.account, iam_role["AssumeRolePolicyDocument"])},
        associations=[PodIdentityAssociation(association["associationId"], cluster.name, "apps", "tagged-pods", role["Arn"])],
    )
    chains = resolve_all(inventory)
    engine = {p.name: chains[p.uid].link("trust-policy").status is LinkStatus.OK for p in pods}
    assert engine == eks_auth
