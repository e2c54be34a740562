"""The real aws CLI against the lab's AWS endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = [
    pytest.mark.awscli,
    pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not on PATH"),
]


@pytest.fixture(scope="module")
def role_arn(client, oidc_provider, trust_for) -> str:
    document = json.dumps(trust_for("default", "cli-sa"))
    return client("iam").create_role(RoleName="cli-role", AssumeRolePolicyDocument=document)["Role"]["Arn"]


def aws(aws_lab, tmp_path, *args: str, credentials: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `aws ARGS` with nothing from the host's AWS configuration."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_DEFAULT_REGION": "us-east-2",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }
    for name in ("PYENV_ROOT", "PYENV_VERSION", "LANG"):
        if name in os.environ:
            env[name] = os.environ[name]
    if credentials:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = credentials
    return subprocess.run(
        ["aws", "--endpoint-url", aws_lab.endpoint_url, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_assume_role_with_web_identity(aws_lab, tmp_path, role_arn, issuer, cluster):
    token = issuer.token("default", "cli-sa")
    done = aws(
        aws_lab, tmp_path, "sts", "assume-role-with-web-identity",
        "--role-arn", role_arn, "--role-session-name", "cli-session", "--web-identity-token", token,
    )

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{cluster.account}:assumed-role/cli-role/cli-session"
    assert answer["SubjectFromWebIdentityToken"] == "system:serviceaccount:default:cli-sa"


def test_assume_role_with_web_identity_refused(aws_lab, tmp_path, role_arn, issuer):
    token = issuer.token("default", "someone-else")
    done = aws(
        aws_lab, tmp_path, "sts", "assume-role-with-web-identity",
        "--role-arn", role_arn, "--role-session-name", "cli-session", "--web-identity-token", token,
    )

    assert done.returncode != 0
    assert (
        "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: "
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    ) in done.stderr


def test_list_policies_query_finds_s3_read_only(aws_lab, tmp_path):
    done = aws(
        aws_lab, tmp_path, "iam", "list-policies",
        "--query", "Policies[?PolicyName==`AmazonS3ReadOnlyAccess`].Arn", "--output", "text",
        credentials=aws_lab.admin_credentials,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def test_describe_cluster_issuer(aws_lab, tmp_path, cluster):
    done = aws(
        aws_lab, tmp_path, "eks", "describe-cluster", "--name", cluster.name,
        "--query", "cluster.identity.oidc.issuer", "--output", "text",
        credentials=aws_lab.admin_credentials,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == cluster.issuer
