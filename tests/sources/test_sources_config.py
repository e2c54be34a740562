"""AWS configuration resolved as the aws CLI resolves it, and each failure as one line with its fix.

Each test gets an empty HOME and its own ~/.aws files (monkeypatch.setenv), so nothing of the
machine's configuration is read. Where a request is made, it goes to the lab over the wire (its
STS, its IAM enforcement) or to a real local socket that never answers.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from irsa_explorer.model import Node, Unavailable
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.aws_errors import NO_CREDENTIALS, NO_REGION
from irsa_explorer.sources.connect import Target, from_options


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty HOME, no AWS_* variable, and no instance metadata lookups (no traffic off the
    machine: botocore's chain would otherwise ask 169.254.169.254 for a role)."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "KUBECONFIG":
            monkeypatch.delenv(name)
    folder = tmp_path / "home"
    (folder / ".aws").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return folder


def write_config(home, text: str) -> None:
    (home / ".aws" / "config").write_text(text)


def lab_keys(lab) -> tuple[str, str]:
    return lab.aws_env["AWS_ACCESS_KEY_ID"], lab.aws_env["AWS_SECRET_ACCESS_KEY"]


def test_no_credentials_at_all_is_one_line_returned_by_every_lookup(home):
    aws = AwsSource(region="us-east-2")
    expected = Unavailable(NO_CREDENTIALS)
    assert aws.problem() == expected
    assert str(aws.problem()) == "unknown: no AWS credentials — run `aws configure` or set AWS_PROFILE"
    assert aws.describe_cluster("demo") == expected
    assert aws.list_oidc_providers() == expected
    assert aws.caller_identity() == expected
    assert aws.get_roles(["arn:aws:iam::111122223333:role/app"]) == {"arn:aws:iam::111122223333:role/app": expected}
    assert aws.node_roles([Node("uid-1", "n1", "aws:///us-east-2a/i-0123456789abcdef0")]) == {"n1": expected}
    assert aws.handover()["known_problem"] == expected  # the loader process says the same, without looking again


def test_a_profile_that_does_not_exist_names_it_and_the_command(home, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "corp")
    aws = AwsSource(region="us-east-2")  # botocore raises ProfileNotFound here; we do not
    assert aws.problem() is not None
    assert aws.problem().reason.startswith("AWS profile corp is not in ~/.aws/config — run `aws configure --profile corp`")
    assert aws.list_oidc_providers() == aws.problem()


def test_an_sso_profile_without_a_login_says_aws_sso_login(home):
    write_config(home, (
        "[profile corp]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Reader\nregion = eu-west-1\n"
        "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\n"
    ))
    aws = AwsSource(profile="corp")
    assert aws.region == "eu-west-1"  # the profile's region
    assert aws.problem().reason == (
        "the AWS SSO session of profile corp has expired or was never started — run `aws sso login --profile corp`"
    )


def test_a_failing_credential_process_shows_its_own_words(home):
    write_config(home, (
        "[profile ci]\nregion = us-east-2\n"
        "credential_process = sh -c \"echo 'vault: token expired, run vault login' >&2; exit 3\"\n"
    ))
    reason = AwsSource(profile="ci").problem().reason
    assert reason.startswith("AWS profile ci: its credential_process failed:")
    assert "vault: token expired, run vault login" in reason and "\n" not in reason


def test_an_assume_role_profile_without_its_source_profile(home):
    write_config(home, "[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\nsource_profile = base\n")
    reason = AwsSource(profile="deploy", region="us-east-2").problem().reason
    assert 'source_profile "base"' in reason and "aws configure list --profile deploy" in reason


def test_env_keys_without_a_region_and_aws_region_alone(home, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert AwsSource().problem() == Unavailable(NO_REGION)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # botocore reads only AWS_DEFAULT_REGION
    aws = AwsSource()
    assert aws.region == "eu-central-1" and aws.problem() is None
    monkeypatch.delenv("AWS_REGION")
    late = AwsSource()  # a region found later (the kubeconfig context) clears the problem
    assert late.problem() == Unavailable(NO_REGION)
    late.use_region("us-east-2")
    assert late.region == "us-east-2" and late.problem() is None


def test_the_contexts_region_and_the_exec_plugins_profile_are_used(home, lab, tmp_path, monkeypatch):
    """`aws eks update-kubeconfig --profile corp` writes AWS_PROFILE into the exec section: the
    explorer reads AWS as that profile, in the cluster's region (the context's), not AWS_REGION's."""
    import yaml

    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["users"][0]["user"] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
        "args": ["--region", "us-east-2", "eks", "get-token", "--cluster-name", "eks-oidc-demo"],
        "env": [{"name": "AWS_PROFILE", "value": "corp"}],
    }}
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    write_config(home, "[profile corp]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    sources = from_options(Target(kubeconfig=str(kubeconfig)))
    try:
        assert sources.aws.region == "us-east-2"  # eksctl's context name says where the cluster is
        assert sources.aws.profile_name == "corp"
        assert sources.cluster_name == "eks-oidc-demo"
        assert sources.aws.problem().reason == "AWS profile corp has no credentials — run `aws configure --profile corp`"
    finally:
        sources.close()
    sources = from_options(Target(kubeconfig=str(kubeconfig), region="ca-central-1", profile="other"))
    try:
        assert sources.aws.region == "ca-central-1" and sources.aws.profile_name == "other"  # options win
    finally:
        sources.close()


# --- over the wire: the lab's STS and IAM ----------------------------------------------------------


def test_a_credential_process_and_an_assume_role_profile_work_against_the_lab(home, lab, lab_aws_client, monkeypatch):
    key, secret = lab_keys(lab)
    role = f"deploy-{uuid.uuid4().hex[:6]}"
    lab_aws_client(lab, "iam").create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::113534181560:user/lab-admin"}, "Action": "sts:AssumeRole"}],
    }))
    process = json.dumps({"Version": 1, "AccessKeyId": key, "SecretAccessKey": secret})
    write_config(home, (
        f"[profile base]\nregion = us-east-2\ncredential_process = echo '{process}'\n"
        f"[profile deploy]\nregion = us-east-2\nsource_profile = base\n"
        f"role_arn = arn:aws:iam::113534181560:role/{role}\n"
    ))
    monkeypatch.setenv("AWS_ENDPOINT_URL", lab.aws_endpoint)
    base = AwsSource(profile="base")
    assert base.problem(verify=True) is None
    assert base.caller_identity()["Arn"].endswith(":root") or ":user/" in base.caller_identity()["Arn"]
    deploy = AwsSource(profile="deploy")
    assert deploy.problem(verify=True) is None
    assert f":assumed-role/{role}/" in deploy.caller_identity()["Arn"]


def test_keys_aws_does_not_know_stop_every_lookup_with_one_line(home, lab, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", lab.aws_endpoint)
    aws = AwsSource.from_env({"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 40,
                              "AWS_REGION": "us-east-2", "AWS_ENDPOINT_URL": lab.aws_endpoint})
    problem = aws.problem(verify=True)
    assert problem is not None and problem.reason.startswith("AWS does not know the access key (InvalidClientTokenId)")
    assert aws.problem() == problem and aws.list_oidc_providers() == problem  # said once, asked no more


def test_an_assume_role_that_sts_refuses_is_the_profiles_line(home, lab, lab_aws_client, monkeypatch):
    iam = lab_aws_client(lab, "iam")
    user = f"no-assume-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}],
    }))
    created = iam.create_access_key(UserName=user)["AccessKey"]
    (home / ".aws" / "credentials").write_text(
        f"[base]\naws_access_key_id = {created['AccessKeyId']}\naws_secret_access_key = {created['SecretAccessKey']}\n"
    )
    write_config(home, "[profile deploy]\nregion = us-east-2\nsource_profile = base\n"
                       "role_arn = arn:aws:iam::113534181560:role/anything\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL", lab.aws_endpoint)
    reason = AwsSource(profile="deploy").problem().reason
    assert reason.startswith("AWS profile deploy cannot assume its role (AccessDenied")
    assert "check role_arn and source_profile" in reason


def test_an_endpoint_that_never_answers_is_asked_once(home, silent_server, monkeypatch):
    url = f"http://127.0.0.1:{silent_server.port}"
    aws = AwsSource.from_env({"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 40,
                              "AWS_REGION": "us-east-2", "AWS_ENDPOINT_URL": url}, request_timeout=0.5)
    problem = aws.problem(verify=True)
    assert problem == Unavailable(f"no answer from {url} in 0.5 s")
    assert aws.get_roles([f"arn:aws:iam::111122223333:role/r{i}" for i in range(20)]) == {
        f"arn:aws:iam::111122223333:role/r{i}": problem for i in range(20)
    }
    assert aws.describe_cluster("demo") == problem
    assert silent_server.accepted == 1  # no retry of a timeout, and nothing asked after it
