"""IAM enforcement, the account, managed policies and EKS's issuer in the lab."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def s3_roles(client, oidc_provider, trust_for):
    """Two roles trusted by two service accounts; only the second may read S3."""
    iam = client("iam")
    plain = iam.create_role(RoleName="no-s3", AssumeRolePolicyDocument=json.dumps(trust_for("default", "no-s3")))
    reader = iam.create_role(RoleName="s3-reader", AssumeRolePolicyDocument=json.dumps(trust_for("default", "s3-reader")))
    iam.attach_role_policy(RoleName="s3-reader", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    client("s3").create_bucket(Bucket="lab-bucket", CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    return plain["Role"]["Arn"], reader["Role"]["Arn"]


def web_identity_session(client, to_session, role_arn: str, token: str) -> boto3.Session:
    answer = client("sts").assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="s3-check", WebIdentityToken=token)
    return to_session(answer["Credentials"])


def user_session(client, cluster, name: str, statements: list[dict]) -> boto3.Session:
    """An IAM user with exactly these policy statements, and a session with its keys."""
    iam = client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                         region_name=cluster.region)


def test_s3_ls_denied_without_s3_permissions(client, s3_roles, issuer, to_session):
    session = web_identity_session(client, to_session, s3_roles[0], issuer.token("default", "no-s3"))

    with pytest.raises(ClientError) as caught:
        client("s3", session).list_buckets()

    assert str(caught.value) == "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied"


def test_s3_ls_allowed_with_s3_read_only(client, s3_roles, issuer, to_session):
    session = web_identity_session(client, to_session, s3_roles[1], issuer.token("default", "s3-reader"))

    names = [bucket["Name"] for bucket in client("s3", session).list_buckets()["Buckets"]]

    assert "lab-bucket" in names
    with pytest.raises(ClientError) as caught:  # read-only: writing is still denied
        client("s3", session).put_object(Bucket="lab-bucket", Key="x", Body=b"x")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_user_denied_get_role_gets_access_denied(client, s3_roles, cluster):
    limited = user_session(client, cluster, "limited", [
        {"Effect": "Allow", "Action": ["iam:List*", "iam:Get*", "eks:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*"},
    ])

    with pytest.raises(ClientError) as caught:
        client("iam", limited).get_role(RoleName="no-s3")

    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "iam:GetRole" in caught.value.response["Error"]["Message"]
    assert client("iam", limited).list_roles()["Roles"]  # what the policy allows still works
    assert client("eks", limited).describe_cluster(name=cluster.name)["cluster"]["name"] == cluster.name
    assert client("sts", limited).get_caller_identity()["Arn"] == f"arn:aws:iam::{cluster.account}:user/limited"


def test_unknown_access_key_is_rejected(client, aws_lab, cluster):
    stranger = boto3.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x", region_name=cluster.region)

    with pytest.raises(ClientError) as caught:
        client("iam", stranger).list_roles()

    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_wrong_secret_is_a_signature_mismatch(client, aws_lab, cluster):
    key, _ = aws_lab.admin_credentials
    forged = boto3.Session(aws_access_key_id=key, aws_secret_access_key="not-the-secret", region_name=cluster.region)

    with pytest.raises(ClientError) as caught:
        client("eks", forged).list_clusters()

    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_unsigned_request_is_refused(aws_lab):
    request = urllib.request.Request(
        aws_lab.endpoint_url + "/",
        data=b"Action=ListRoles&Version=2010-05-08",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 403
    assert b"MissingAuthenticationToken" in caught.value.read()


def test_admin_is_in_the_lab_account(client, cluster):
    identity = client("sts").get_caller_identity()

    assert identity["Account"] == cluster.account
    assert identity["Arn"] == f"arn:aws:iam::{cluster.account}:user/lab-admin"


def test_aws_managed_policies_exist(client):
    policies = client("iam").list_policies(Scope="AWS", MaxItems=1000)
    names = {policy["PolicyName"] for policy in policies["Policies"]}
    marker = policies.get("Marker")
    while "AmazonS3ReadOnlyAccess" not in names and marker:
        policies = client("iam").list_policies(Scope="AWS", MaxItems=1000, Marker=marker)
        names |= {policy["PolicyName"] for policy in policies["Policies"]}
        marker = policies.get("Marker")

    assert "AmazonS3ReadOnlyAccess" in names


def test_describe_cluster_reports_the_lab_issuer(client, cluster):
    described = client("eks").describe_cluster(name=cluster.name)["cluster"]

    assert described["identity"]["oidc"]["issuer"] == cluster.issuer
    assert described["arn"] == cluster.arn
    assert described["version"] == cluster.version


def test_s3_permissions_use_iam_action_names(client, cluster, s3_roles):
    """ListBuckets needs s3:ListAllMyBuckets and ListObjectsV2 needs s3:ListBucket, as in IAM."""
    lister = user_session(client, cluster, "bucket-lister", [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
    ])

    assert "lab-bucket" in {bucket["Name"] for bucket in client("s3", lister).list_buckets()["Buckets"]}
    with pytest.raises(ClientError) as caught:  # the bucket exists: only the missing permission refuses
        client("s3", lister).list_objects_v2(Bucket="lab-bucket")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
