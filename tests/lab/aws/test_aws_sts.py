"""STS AssumeRoleWithWebIdentity: every check AWS makes, with AWS's codes and messages."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "sts-test-role"


@pytest.fixture(scope="module")
def role_arn(client, oidc_provider, trust_for) -> str:
    iam = client("iam")
    return iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust_for("default", "my-sa")))["Role"][
        "Arn"
    ]


@pytest.fixture(scope="module")
def sts(aws_lab, cluster):
    """An unsigned STS client, as the SDK's web-identity provider uses."""
    return boto3.client(
        "sts",
        region_name=cluster.region,
        endpoint_url=aws_lab.endpoint_url,
        config=Config(signature_version=UNSIGNED),
    )


def assume(sts, role_arn: str, token: str, **extra):
    return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="test-session", WebIdentityToken=token, **extra)


def refused(sts, role_arn: str, token: str, **extra) -> ClientError:
    with pytest.raises(ClientError) as caught:
        assume(sts, role_arn, token, **extra)
    return caught.value


def test_allowed_token_gets_assumed_role_credentials(sts, role_arn, issuer, client, to_session, cluster):
    answer = assume(sts, role_arn, issuer.token("default", "my-sa"))

    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{cluster.account}:assumed-role/{ROLE}/test-session"
    assert answer["SubjectFromWebIdentityToken"] == "system:serviceaccount:default:my-sa"
    assert answer["Provider"] == cluster.oidc_provider_arn
    identity = client("sts", to_session(answer["Credentials"])).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{cluster.account}:assumed-role/{ROLE}/test-session"
    assert identity["Account"] == cluster.account


def test_trust_policy_not_matching_sub_is_access_denied(sts, role_arn, issuer):
    error = refused(sts, role_arn, issuer.token("other-namespace", "my-sa"))

    assert str(error) == (
        "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: "
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    )
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_issuer_has_no_provider(sts, role_arn, new_issuer, aws_lab):
    stranger = new_issuer("https://oidc.eks.us-east-2.amazonaws.com/id/0000000000000000000000000000DEAD")
    aws_lab.register_issuer(stranger.issuer, stranger.jwks())

    error = refused(sts, role_arn, stranger.token())

    assert error.response["Error"]["Code"] == "InvalidIdentityToken"
    assert error.response["Error"]["Message"] == (
        "No OpenIDConnect provider found in your account for "
        "https://oidc.eks.us-east-2.amazonaws.com/id/0000000000000000000000000000DEAD"
    )


def test_audience_not_in_client_ids(sts, role_arn, issuer):
    error = refused(sts, role_arn, issuer.token(aud="sts.amazon.com"))

    assert error.response["Error"]["Code"] == "InvalidIdentityToken"
    assert error.response["Error"]["Message"] == "Incorrect token audience"


def test_expired_token(sts, role_arn, issuer):
    issued = int(time.time()) - 7200
    error = refused(sts, role_arn, issuer.token(issued=issued, lifetime=600))

    assert error.response["Error"]["Code"] == "ExpiredTokenException"
    message = error.response["Error"]["Message"]
    match = re.fullmatch(r"Token expired: current date/time (\d+) must be before the expiration date/time (\d+)", message)
    assert match, message
    assert int(match.group(2)) == issued + 600
    assert int(match.group(1)) >= issued + 7200


def test_signature_from_another_key_is_rejected(sts, role_arn, issuer, new_issuer):
    # The real issuer's keys must be registered (the `issuer` fixture), or STS finds no key at
    # all: run alone or first on an xdist worker, this test used to see that error instead.
    forger = new_issuer(kid="test-key")  # same issuer URL and kid, different private key

    error = refused(sts, role_arn, forger.token())

    assert error.response["Error"]["Code"] == "InvalidIdentityToken"
    assert "signature" in error.response["Error"]["Message"]


def test_garbage_token(sts, role_arn):
    error = refused(sts, role_arn, "not-a-jwt-at-all-but-long-enough")

    assert error.response["Error"]["Code"] == "InvalidIdentityToken"
    assert error.response["Error"]["Message"].startswith("The ID Token provided is not a valid JWT")


def test_malformed_role_arn(sts, issuer):
    error = refused(sts, "arn:aws:iam::113534181560:rolez/not-a-role-arn", issuer.token())

    assert error.response["Error"]["Code"] == "ValidationError"
    assert error.response["Error"]["Message"] == "Request ARN is invalid"


def test_missing_role_is_access_denied(sts, cluster, issuer, oidc_provider):
    error = refused(sts, f"arn:aws:iam::{cluster.account}:role/no-such-role", issuer.token())

    assert error.response["Error"]["Code"] == "AccessDenied"


def test_duration_beyond_max_session_duration(sts, role_arn, issuer):
    error = refused(sts, role_arn, issuer.token(), DurationSeconds=7200)

    assert error.response["Error"]["Code"] == "ValidationError"
    assert "MaxSessionDuration" in error.response["Error"]["Message"]


def test_provider_in_another_account_is_not_found(sts, issuer):
    error = refused(sts, "arn:aws:iam::210987654321:role/elsewhere", issuer.token())

    assert error.response["Error"]["Code"] == "InvalidIdentityToken"
    assert error.response["Error"]["Message"].startswith("No OpenIDConnect provider found in your account for https://")


def test_wildcard_in_string_equals_does_not_expand(sts, client, issuer):
    """The trust evaluator's IAM semantics reach STS: `*` only expands under StringLike."""
    host = issuer.issuer.removeprefix("https://")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::113534181560:oidc-provider/{host}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{host}:sub": "system:serviceaccount:default:*"}},
            }
        ],
    }
    arn = client("iam").create_role(RoleName="wildcard-equals", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert refused(sts, arn, issuer.token()).response["Error"]["Code"] == "AccessDenied"

    trust["Statement"][0]["Condition"] = {"StringLike": {f"{host}:sub": "system:serviceaccount:default:*"}}
    client("iam").update_assume_role_policy(RoleName="wildcard-equals", PolicyDocument=json.dumps(trust))
    assert assume(sts, arn, issuer.token())["AssumedRoleUser"]["Arn"].endswith("/wildcard-equals/test-session")


def test_duration_below_fifteen_minutes(aws_lab, role_arn, issuer):
    """botocore checks this before sending; a raw client (here urllib) meets the server's check."""
    form = urllib.parse.urlencode(
        {
            "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": role_arn,
            "RoleSessionName": "raw", "WebIdentityToken": issuer.token(), "DurationSeconds": "600",
        }
    ).encode()
    request = urllib.request.Request(
        aws_lab.endpoint_url + "/", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)

    assert caught.value.code == 400
    body = caught.value.read().decode()
    assert "<Code>ValidationError</Code>" in body
    assert "greater than or equal to 900" in body


def test_successful_calls_are_counted(sts, role_arn, issuer, aws_lab):
    before = aws_lab.counters.get("sts:AssumeRoleWithWebIdentity", 0)
    assume(sts, role_arn, issuer.token())
    refused(sts, role_arn, issuer.token("elsewhere", "my-sa"))

    assert aws_lab.counters["sts:AssumeRoleWithWebIdentity"] == before + 2
