"""The simulated `aws` reads the shared config and credentials files a pod mounts (from a
Secret), in botocore's order: env keys → assume-role profile → web identity → SSO → shared
credentials file → credential_process → config file → container → IMDS."""

from __future__ import annotations

import json

import pytest

from irsa_explorer.lab.runtime.containers import ContainerContext, Runtime
from irsa_explorer.model import IRSA_TOKEN_PATH

EPOCH = 1700000000
WHO = ["aws", "sts", "get-caller-identity"]


@pytest.fixture(scope="module")
def runtime(aws_lab) -> Runtime:
    return Runtime(aws_lab, clock=lambda: EPOCH)


@pytest.fixture(scope="module")
def world(client, oidc_provider, trust_for, cluster):
    iam = client("iam")
    irsa = iam.create_role(RoleName="profiles-irsa", AssumeRolePolicyDocument=json.dumps(trust_for("default", "my-sa")))
    iam.create_user(UserName="batch-runner")
    iam.put_user_policy(UserName="batch-runner", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="batch-runner")["AccessKey"]
    deployer = iam.create_role(RoleName="profiles-deployer", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{cluster.account}:root"},
                       "Action": "sts:AssumeRole"}]}))
    return {"irsa": irsa["Role"]["Arn"], "key": key["AccessKeyId"], "secret": key["SecretAccessKey"],
            "deployer": deployer["Role"]["Arn"]}


def run(runtime, env: dict, files: dict, argv=WHO):
    ctx = ContainerContext(namespace="default", pod_name="p", pod_uid="u", container="c", image="amazon/aws-cli:latest",
                           node_name=None, service_account="my-sa", env={"AWS_REGION": "us-east-2", **env}, files=files)
    return runtime.run(ctx, argv)


def keys(world, profile: str = "batch") -> str:
    return f"[{profile}]\naws_access_key_id = {world['key']}\naws_secret_access_key = {world['secret']}\n"


def arn_of(result) -> str:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["Arn"]


def test_a_mounted_credentials_file_and_aws_profile(runtime, world, cluster):
    result = run(runtime, {"AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials", "AWS_PROFILE": "batch"},
                 {"/etc/aws/credentials": keys(world)})
    assert arn_of(result) == f"arn:aws:iam::{cluster.account}:user/batch-runner"


def test_the_default_credentials_file_under_home(runtime, world, cluster):
    result = run(runtime, {}, {"/root/.aws/credentials": keys(world, "default")})
    assert arn_of(result) == f"arn:aws:iam::{cluster.account}:user/batch-runner"


def test_keys_in_the_config_file_come_last_of_the_files(runtime, world, cluster):
    config = f"[profile batch]\nregion = us-east-2\naws_access_key_id = {world['key']}\naws_secret_access_key = {world['secret']}\n"
    result = run(runtime, {"AWS_CONFIG_FILE": "/etc/aws/config", "AWS_PROFILE": "batch"}, {"/etc/aws/config": config})
    assert arn_of(result) == f"arn:aws:iam::{cluster.account}:user/batch-runner"


def test_web_identity_comes_before_the_credentials_file(runtime, world, issuer, cluster):
    env = {"AWS_ROLE_ARN": world["irsa"], "AWS_WEB_IDENTITY_TOKEN_FILE": IRSA_TOKEN_PATH,
           "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials", "AWS_PROFILE": "batch"}
    files = {IRSA_TOKEN_PATH: issuer.token("default", "my-sa"), "/etc/aws/credentials": keys(world)}
    assert arn_of(run(runtime, env, files)) == (
        f"arn:aws:sts::{cluster.account}:assumed-role/profiles-irsa/botocore-session-{EPOCH}")


def test_an_assume_role_profile_comes_before_web_identity(runtime, world, issuer, cluster):
    config = f"[profile deploy]\nrole_arn = {world['deployer']}\nsource_profile = base\nrole_session_name = deploy-job\n"
    env = {"AWS_ROLE_ARN": world["irsa"], "AWS_WEB_IDENTITY_TOKEN_FILE": IRSA_TOKEN_PATH, "AWS_PROFILE": "deploy",
           "AWS_CONFIG_FILE": "/etc/aws/config", "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials"}
    files = {IRSA_TOKEN_PATH: issuer.token("default", "my-sa"), "/etc/aws/config": config,
             "/etc/aws/credentials": keys(world, "base")}
    assert arn_of(run(runtime, env, files)) == f"arn:aws:sts::{cluster.account}:assumed-role/profiles-deployer/deploy-job"


def test_a_profile_that_does_not_exist_stops_the_cli(runtime, world):
    result = run(runtime, {"AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials", "AWS_PROFILE": "nightly"},
                 {"/etc/aws/credentials": keys(world)})
    assert (result.exit_code, result.stderr) == (255, "\nThe config profile (nightly) could not be found\n")


def test_aws_profile_without_any_file_stops_the_cli(runtime):
    result = run(runtime, {"AWS_PROFILE": "batch"}, {})
    assert (result.exit_code, result.stderr) == (255, "\nThe config profile (batch) could not be found\n")


def test_an_sso_profile_without_a_login_fails_as_botocore_does(runtime):
    config = "[profile dev]\nsso_start_url = https://corp.awsapps.com/start\nsso_account_id = 1\nsso_role_name = R\nsso_region = us-east-1\n"
    result = run(runtime, {"AWS_CONFIG_FILE": "/etc/aws/config", "AWS_PROFILE": "dev"}, {"/etc/aws/config": config})
    assert result.exit_code == 255
    assert "Error loading SSO Token: Token for https://corp.awsapps.com/start does not exist" in result.stderr


def test_the_profile_gives_the_region(runtime, world, cluster):
    ctx = ContainerContext(namespace="default", pod_name="p", pod_uid="u", container="c", image="amazon/aws-cli:latest",
                           node_name=None, service_account="my-sa",
                           env={"AWS_CONFIG_FILE": "/etc/aws/config", "AWS_PROFILE": "batch",
                                "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials"},
                           files={"/etc/aws/config": "[profile batch]\nregion = us-east-2\n",
                                  "/etc/aws/credentials": keys(world)})
    result = runtime.run(ctx, ["aws", "ec2", "describe-availability-zones"])
    # The call was made (the user may not make it): a region was found, in the profile.
    assert result.exit_code == 254 and "DescribeAvailabilityZones" in result.stderr, result.stderr
    without = runtime.run(ContainerContext(**{**ctx.__dict__, "files": {"/etc/aws/credentials": keys(world)},
                                              "env": {**ctx.env, "AWS_CONFIG_FILE": "/nowhere"}}),
                          ["aws", "ec2", "describe-availability-zones"])
    assert without.exit_code == 253 and "You must specify a region" in without.stderr
