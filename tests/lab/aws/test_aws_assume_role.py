"""STS AssumeRole in the lab decides trust as IAM does (lab/aws/assume_role.py), and a lab may
hold member accounts reached through OrganizationAccountAccessRole (AwsLab.add_account).

Over the wire, with boto3 as the aws CLI signs: the trust policy names the account (`:root` or
the bare id: any principal of it whose own policies allow it), the caller itself, or someone
else; and a session in a member account is served in that account."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

MEMBER = "222233334444"


def _trusting(client, name: str, principal) -> str:
    document = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]}
    return client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"]


def _user(client, name: str, may_assume: bool):
    """An IAM user with keys; `may_assume`: its own policy allows sts:AssumeRole on any role."""
    import boto3

    iam = client("iam")
    iam.create_user(UserName=name)
    if may_assume:
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                         region_name="us-east-2")


def test_a_trust_naming_the_account_root_lets_its_principals_in(client, cluster):
    role = _trusting(client, "trusts-root", f"arn:aws:iam::{cluster.account}:root")
    answer = client("sts").assume_role(RoleArn=role, RoleSessionName="deploy")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{cluster.account}:assumed-role/trusts-root/deploy"
    who = client("sts", session=_session(answer)).get_caller_identity()
    assert who["Arn"] == answer["AssumedRoleUser"]["Arn"]


def test_a_bare_account_id_is_the_account_too(client, cluster):
    role = _trusting(client, "trusts-account-id", cluster.account)
    assert client("sts").assume_role(RoleArn=role, RoleSessionName="deploy")["AssumedRoleUser"]


def test_the_account_named_still_needs_the_callers_own_permission(client, cluster):
    role = _trusting(client, "trusts-root-2", f"arn:aws:iam::{cluster.account}:root")
    nobody = _user(client, "no-assume-policy", may_assume=False)
    with pytest.raises(ClientError) as refused:
        client("sts", session=nobody).assume_role(RoleArn=role, RoleSessionName="deploy")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert (f"User: arn:aws:iam::{cluster.account}:user/no-assume-policy is not authorized to perform: "
            f"sts:AssumeRole on resource: {role}") in str(refused.value)


def test_a_trust_naming_the_caller_itself_is_enough_in_its_own_account(client, cluster):
    named = _user(client, "named-in-trust", may_assume=False)
    role = _trusting(client, "trusts-one-user", f"arn:aws:iam::{cluster.account}:user/named-in-trust")
    answer = client("sts", session=named).assume_role(RoleArn=role, RoleSessionName="deploy")
    assert answer["AssumedRoleUser"]["Arn"].endswith(":assumed-role/trusts-one-user/deploy")


def test_a_trust_naming_someone_else_refuses_even_an_administrator(client, cluster):
    role = _trusting(client, "trusts-someone-else", f"arn:aws:iam::{cluster.account}:user/somebody")
    with pytest.raises(ClientError) as refused:
        client("sts").assume_role(RoleArn=role, RoleSessionName="deploy")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_an_explicit_deny_in_the_trust_wins(client, cluster):
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{cluster.account}:root"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
    ]}
    role = client("iam").create_role(RoleName="denies-all", AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"]
    with pytest.raises(ClientError):
        client("sts").assume_role(RoleArn=role, RoleSessionName="deploy")


def test_a_role_of_another_account_must_exist(client):
    with pytest.raises(ClientError) as refused:
        client("sts").assume_role(RoleArn="arn:aws:iam::999988887777:role/nothing", RoleSessionName="deploy")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_a_member_account_is_reached_through_its_access_role(aws_lab, client, cluster):
    role = aws_lab.add_account(MEMBER)
    assert role == f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole"
    answer = client("sts").assume_role(RoleArn=role, RoleSessionName="setup")
    member = _session(answer)
    assert client("sts", session=member).get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{MEMBER}:assumed-role/OrganizationAccountAccessRole/setup")
    # Served in the member account: what it creates is not in the lab's own account.
    client("iam", session=member).create_role(RoleName="member-only", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))
    assert client("iam", session=member).get_role(RoleName="member-only")["Role"]["Arn"] == (
        f"arn:aws:iam::{MEMBER}:role/member-only")
    with pytest.raises(ClientError) as missing:
        client("iam").get_role(RoleName="member-only")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_a_member_account_trusts_only_the_lab_account(aws_lab, client, cluster):
    role = aws_lab.add_account(MEMBER)
    member = _session(client("sts").assume_role(RoleArn=role, RoleSessionName="setup"))
    # A role of the member account trusting the member's own root: the lab's admin is not in it.
    member_role = _trusting(lambda service, session=None: client(service, session=member),
                            "member-internal", f"arn:aws:iam::{MEMBER}:root")
    with pytest.raises(ClientError):
        client("sts").assume_role(RoleArn=member_role, RoleSessionName="deploy")


def _session(answer):
    import boto3

    creds = answer["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name="us-east-2")
