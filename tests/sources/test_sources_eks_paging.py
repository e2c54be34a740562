"""Signed EKS list calls with a query string (maxResults, nextToken, namespace) through the lab,
with boto3 as a user's script pages them: the lab's signature check must cover the query as
sent, or every page after the first answers SignatureDoesNotMatch."""

from __future__ import annotations

import json
import uuid

import pytest


@pytest.fixture(scope="module")
def eks_with_three(lab, lab_aws_client):
    """Three associations of this test's own namespace, removed afterwards."""
    iam, eks = lab_aws_client(lab, "iam"), lab_aws_client(lab, "eks")
    namespace = f"paging-{uuid.uuid4().hex[:6]}"
    role_arn = iam.create_role(
        RoleName=namespace,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }]}),
    )["Role"]["Arn"]
    ids = [
        eks.create_pod_identity_association(
            clusterName="eks-oidc-demo", namespace=namespace, serviceAccount=f"sa-{i}", roleArn=role_arn
        )["association"]["associationId"]
        for i in range(3)
    ]
    yield eks, namespace, ids
    for association_id in ids:
        eks.delete_pod_identity_association(clusterName="eks-oidc-demo", associationId=association_id)


def test_max_results_and_next_token_are_signed_and_served(eks_with_three) -> None:
    eks, namespace, ids = eks_with_three
    first = eks.list_pod_identity_associations(clusterName="eks-oidc-demo", namespace=namespace, maxResults=2)
    assert len(first["associations"]) == 2 and first.get("nextToken")
    rest = eks.list_pod_identity_associations(
        clusterName="eks-oidc-demo", namespace=namespace, maxResults=2, nextToken=first["nextToken"]
    )
    seen = [a["associationId"] for a in first["associations"] + rest["associations"]]
    assert sorted(seen) == sorted(ids) and "nextToken" not in rest


def test_paginator_one_per_page(eks_with_three) -> None:
    eks, namespace, ids = eks_with_three
    pages = list(
        eks.get_paginator("list_pod_identity_associations").paginate(
            clusterName="eks-oidc-demo", namespace=namespace, PaginationConfig={"PageSize": 1}
        )
    )
    assert len(pages) == 3
    assert sorted(a["associationId"] for p in pages for a in p["associations"]) == sorted(ids)
