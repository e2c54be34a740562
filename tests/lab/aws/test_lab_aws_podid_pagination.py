"""ListPodIdentityAssociations paging as EKS does it: opaque nextTokens, a malformed, edited or
misused token is the caller's error (HTTP 400 InvalidParameterException, which botocore does
not retry), never a 500; maxResults outside 1..100 likewise. Through boto3 and the real aws CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def role_arn(client, policies) -> str:
    document = json.dumps(policies["pod-identity"])
    return client("iam").create_role(RoleName="podid-paging", AssumeRolePolicyDocument=document)["Role"]["Arn"]


@pytest.fixture
def five(client, cluster, role_arn):
    """Five associations in a namespace of this test's own, oldest first."""
    eks = client("eks")
    namespace = f"paging-{uuid.uuid4().hex[:6]}"
    ids = [
        eks.create_pod_identity_association(
            clusterName=cluster.name, namespace=namespace, serviceAccount=f"sa-{i}", roleArn=role_arn
        )["association"]["associationId"]
        for i in range(5)
    ]
    yield eks, namespace, ids
    for association_id in ids:
        try:
            eks.delete_pod_identity_association(clusterName=cluster.name, associationId=association_id)
        except ClientError:
            pass  # the test deleted it already


def refused(call, **params) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response


def assert_invalid_parameter(response: dict) -> None:
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidParameterException"


def test_pages_cover_every_association_once_with_opaque_tokens(five, cluster):
    eks, namespace, ids = five
    seen, tokens, token = [], [], None
    while True:
        params = {"clusterName": cluster.name, "namespace": namespace, "maxResults": 2}
        page = eks.list_pod_identity_associations(**params, **({"nextToken": token} if token else {}))
        seen += [a["associationId"] for a in page["associations"]]
        token = page.get("nextToken")
        if not token:
            break
        tokens.append(token)
    assert seen == ids  # oldest first, none twice, none missing
    assert len(tokens) == 2
    assert not any(t.lstrip("-").isdigit() for t in tokens)  # not an offset a client could forge


def test_garbage_next_token_is_invalid_parameter(client, cluster):
    for token in ("garbage", "1", "-5", "%%%", "é"):
        assert_invalid_parameter(
            refused(client("eks").list_pod_identity_associations, clusterName=cluster.name, nextToken=token)
        )


def test_edited_truncated_or_misused_token_is_refused(five, cluster):
    eks, namespace, _ = five
    token = eks.list_pod_identity_associations(clusterName=cluster.name, namespace=namespace, maxResults=2)[
        "nextToken"
    ]
    edited = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in (edited, token[:-3], token + "AAAA"):
        assert_invalid_parameter(
            refused(eks.list_pod_identity_associations, clusterName=cluster.name, namespace=namespace, nextToken=bad)
        )
    # a token belongs to its listing: other filters (or none) may not continue it
    for other in ({"namespace": "default"}, {}, {"namespace": namespace, "serviceAccount": "sa-1"}):
        assert_invalid_parameter(
            refused(eks.list_pod_identity_associations, clusterName=cluster.name, nextToken=token, **other)
        )
    # the genuine token still works after all that
    rest = eks.list_pod_identity_associations(clusterName=cluster.name, namespace=namespace, nextToken=token)
    assert len(rest["associations"]) == 3


def test_deleting_between_pages_skips_nothing(five, cluster):
    eks, namespace, ids = five
    first = eks.list_pod_identity_associations(clusterName=cluster.name, namespace=namespace, maxResults=2)
    assert [a["associationId"] for a in first["associations"]] == ids[:2]
    eks.delete_pod_identity_association(clusterName=cluster.name, associationId=ids[0])
    rest = eks.list_pod_identity_associations(
        clusterName=cluster.name, namespace=namespace, maxResults=10, nextToken=first["nextToken"]
    )
    assert [a["associationId"] for a in rest["associations"]] == ids[2:]


def test_max_results_outside_1_to_100_is_invalid_parameter(client, cluster):
    # botocore checks the lower bound itself; switch that off so the lab is asked
    eks = client("eks", config=Config(parameter_validation=False))
    for value in (0, -1, 101):
        assert_invalid_parameter(refused(eks.list_pod_identity_associations, clusterName=cluster.name, maxResults=value))
    assert "associations" in eks.list_pod_identity_associations(clusterName=cluster.name, maxResults=100)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not on PATH")
def test_aws_cli_next_token_garbage_is_a_client_error(aws_lab, cluster, tmp_path):
    key, secret = aws_lab.admin_credentials
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_DEFAULT_REGION": cluster.region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_MAX_ATTEMPTS": "1",  # a 500 would otherwise be retried with back-off
    }
    done = subprocess.run(
        [
            "aws", "--endpoint-url", aws_lab.endpoint_url, "eks", "list-pod-identity-associations",
            "--cluster-name", cluster.name, "--next-token", "garbage",
        ],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode in (254, 255), done.stderr  # a service's client error: v2 says 254, v1 255
    assert "(InvalidParameterException) when calling the ListPodIdentityAssociations operation" in done.stderr
    assert "Internal" not in done.stderr and "500" not in done.stderr


# --- the other paginated APIs the lab serves are moto's: lab/aws.py answers a token moto
# cannot read with the service's 400, as AWS does (moto itself raises: a 500) ---

NO_RETRIES = Config(retries={"max_attempts": 0})  # a 500 is retried with back-off otherwise


@pytest.mark.parametrize(
    ("service", "operation", "params", "code"),
    [
        ("iam", "list_roles", {"Marker": "garbage"}, "ValidationError"),
        ("ec2", "describe_instances", {"NextToken": "garbage"}, "InvalidParameterValue"),
        ("eks", "list_clusters", {"nextToken": "garbage"}, "InvalidParameterException"),
    ],
)
def test_moto_paged_apis_refuse_a_made_up_token(client, service, operation, params, code):
    response = refused(getattr(client(service, config=NO_RETRIES), operation), **params)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == code
