"""The simulated `aws` in lab containers: the SDK's credential chain from the container's env
and files, against a running AwsLab, printing what aws CLI v2 prints."""

from __future__ import annotations

import json

import pytest

from irsa_explorer.lab.runtime.containers import ContainerContext, Runtime
from irsa_explorer.model import IRSA_TOKEN_PATH, POD_IDENTITY_TOKEN_PATH, POD_IDENTITY_URI

EPOCH = 1700000000
NODE = "ip-192-168-1-169.us-east-2.compute.internal"
NODE_ROLE = "runtime-node-role"
NO_CREDENTIALS = 'Unable to locate credentials. You can configure credentials by running "aws configure".\n'


@pytest.fixture(scope="module")
def runtime(aws_lab) -> Runtime:
    return Runtime(aws_lab, clock=lambda: EPOCH)


@pytest.fixture(scope="module")
def world(client, aws_lab, oidc_provider, trust_for, policies, cluster):
    """Roles for IRSA (with and without S3), Pod Identity and the node, one node instance, a bucket."""
    iam, ec2 = client("iam"), client("ec2")
    irsa = iam.create_role(RoleName="runtime-irsa", AssumeRolePolicyDocument=json.dumps(trust_for("default", "my-sa")))
    iam.attach_role_policy(RoleName="runtime-irsa", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    pods = iam.create_role(RoleName="runtime-pods", AssumeRolePolicyDocument=json.dumps(policies["pod-identity"]))
    client("eks").create_pod_identity_association(
        clusterName=cluster.name, namespace="default", serviceAccount="pi-sa", roleArn=pods["Role"]["Arn"]
    )
    iam.create_role(RoleName=NODE_ROLE, AssumeRolePolicyDocument=json.dumps(policies["ec2"]))
    iam.create_instance_profile(InstanceProfileName="runtime-node")
    iam.add_role_to_instance_profile(InstanceProfileName="runtime-node", RoleName=NODE_ROLE)
    instance = ec2.run_instances(
        ImageId="ami-0c55b159cbfafe1f0", InstanceType="m5.large", MinCount=1, MaxCount=1,
        IamInstanceProfile={"Name": "runtime-node"},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2},  # as EKS node groups set it
    )["Instances"][0]["InstanceId"]
    aws_lab.register_node(NODE, instance)
    client("s3").create_bucket(Bucket="runtime-bucket", CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    return {"irsa": irsa["Role"]["Arn"], "instance": instance}


def irsa_context(issuer, role_arn: str, sa: str = "my-sa", **extra_env) -> ContainerContext:
    env = {
        "AWS_ROLE_ARN": role_arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": IRSA_TOKEN_PATH,
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        "AWS_REGION": "us-east-2",
        "AWS_DEFAULT_REGION": "us-east-2",
        **extra_env,
    }
    return make_context(env, {IRSA_TOKEN_PATH: issuer.token("default", sa)}, sa=sa)


def make_context(env: dict, files: dict | None = None, *, sa: str = "my-sa", node: str | None = NODE) -> ContainerContext:
    return ContainerContext(
        namespace="default", pod_name="my-pod", pod_uid="uid-1", container="main", image="amazon/aws-cli:latest",
        node_name=node, service_account=sa, env=env, files=files or {},
    )


def test_irsa_identity_is_the_assumed_role(runtime, world, issuer, cluster):
    result = runtime.run(irsa_context(issuer, world["irsa"]), ["aws", "sts", "get-caller-identity"])

    assert result.exit_code == 0, result.stderr
    identity = json.loads(result.stdout)
    assert list(identity) == ["UserId", "Account", "Arn"]
    assert identity["Arn"] == f"arn:aws:sts::{cluster.account}:assumed-role/runtime-irsa/botocore-session-{EPOCH}"
    assert identity["Account"] == cluster.account
    assert identity["UserId"].endswith(f":botocore-session-{EPOCH}")
    assert result.stdout == json.dumps(identity, indent=4) + "\n"  # the CLI's 4-space JSON


def test_irsa_refused_prints_sts_error(runtime, world, issuer):
    ctx = irsa_context(issuer, world["irsa"], sa="other-sa")

    result = runtime.run(ctx, ["aws", "sts", "get-caller-identity"])

    assert result.exit_code == 254
    assert result.stdout == ""
    assert result.stderr == (
        "\nAn error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: "
        "Not authorized to perform sts:AssumeRoleWithWebIdentity\n"
    )


def test_static_keys_come_before_irsa(runtime, world, issuer, aws_lab, cluster):
    key, secret = aws_lab.admin_credentials
    ctx = irsa_context(issuer, world["irsa"], AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)

    result = runtime.run(ctx, ["aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"])

    assert result.stdout == f"arn:aws:iam::{cluster.account}:user/lab-admin\n"


def test_pod_identity_through_the_agent(runtime, world, issuer, cluster):
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": POD_IDENTITY_URI,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": POD_IDENTITY_TOKEN_PATH,
        "AWS_REGION": "us-east-2",
    }
    files = {POD_IDENTITY_TOKEN_PATH: issuer.token("default", "pi-sa", aud="pods.eks.amazonaws.com", pod="my-pod")}

    result = runtime.run(make_context(env, files, sa="pi-sa"), ["aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"])

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"arn:aws:sts::{cluster.account}:assumed-role/runtime-pods/eks-{cluster.name}-my-pod-")


def test_falls_back_to_the_node_role(runtime, world, cluster):
    result = runtime.run(make_context({"AWS_REGION": "us-east-2"}), ["aws", "sts", "get-caller-identity"])

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == f"arn:aws:sts::{cluster.account}:assumed-role/{NODE_ROLE}/{world['instance']}"


def test_node_role_cannot_list_buckets(runtime, world):
    result = runtime.run(make_context({"AWS_REGION": "us-east-2"}), ["aws", "s3", "ls"])

    assert result.exit_code == 254
    assert result.stderr == "\nAn error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied\n"


def test_irsa_role_with_s3_read_only_lists_buckets(runtime, world, issuer):
    result = runtime.run(irsa_context(issuer, world["irsa"]), ["aws", "s3", "ls"])

    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.endswith(" runtime-bucket"))
    date, time_of_day, name = line.split(" ")
    assert len(date) == 10 and len(time_of_day) == 8 and name == "runtime-bucket"


def test_no_credentials_anywhere(runtime, world):
    result = runtime.run(make_context({"AWS_REGION": "us-east-2"}, node=None), ["aws", "sts", "get-caller-identity"])

    assert (result.exit_code, result.stdout, result.stderr) == (253, "", NO_CREDENTIALS)


def test_imds_disabled_means_no_credentials(runtime, world):
    ctx = make_context({"AWS_REGION": "us-east-2", "AWS_EC2_METADATA_DISABLED": "true"})

    assert runtime.run(ctx, ["aws", "sts", "get-caller-identity"]).stderr == NO_CREDENTIALS


def test_missing_token_file(runtime, world):
    env = {"AWS_ROLE_ARN": world["irsa"], "AWS_WEB_IDENTITY_TOKEN_FILE": IRSA_TOKEN_PATH, "AWS_REGION": "us-east-2"}

    result = runtime.run(make_context(env), ["aws", "sts", "get-caller-identity"])

    assert result.exit_code == 255
    assert f"No such file or directory: '{IRSA_TOKEN_PATH}'" in result.stderr


def test_text_output_of_caller_identity(runtime, world, cluster):
    result = runtime.run(make_context({"AWS_REGION": "us-east-2"}), ["aws", "sts", "get-caller-identity", "--output", "text"])

    account, arn, user_id = result.stdout.rstrip("\n").split("\t")
    assert (account, arn) == (cluster.account, f"arn:aws:sts::{cluster.account}:assumed-role/{NODE_ROLE}/{world['instance']}")
    assert user_id.endswith(":" + world["instance"])


def test_generic_operation_with_parameters(runtime, world, aws_lab):
    key, secret = aws_lab.admin_credentials
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-2"}

    result = runtime.run(make_context(env), ["aws", "iam", "get-role", "--role-name", "runtime-irsa", "--query", "Role.RoleName"])

    assert (result.exit_code, result.stdout) == (0, '"runtime-irsa"\n')


def test_assume_role_with_web_identity_needs_no_credentials(runtime, world, issuer, cluster):
    token = issuer.token("default", "my-sa")
    ctx = make_context({"AWS_REGION": "us-east-2"}, node=None)

    result = runtime.run(ctx, [
        "aws", "sts", "assume-role-with-web-identity", "--role-arn", world["irsa"],
        "--role-session-name", "manual", "--web-identity-token", token, "--query", "AssumedRoleUser.Arn", "--output", "text",
    ])

    assert result.stdout == f"arn:aws:sts::{cluster.account}:assumed-role/runtime-irsa/manual\n"


def test_host_network_pod_reaches_imds_at_hop_limit_one(runtime, world, client, aws_lab, cluster):
    instance = client("ec2").run_instances(
        ImageId="ami-0c55b159cbfafe1f0", InstanceType="m5.large", MinCount=1, MaxCount=1,
        IamInstanceProfile={"Name": "runtime-node"},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
    )["Instances"][0]["InstanceId"]
    aws_lab.register_node("hop-one-node", instance)
    argv = ["aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"]

    pod = runtime.run(make_context({"AWS_REGION": "us-east-2"}, node="hop-one-node"), argv)
    host = make_context({"AWS_REGION": "us-east-2"}, node="hop-one-node")
    host.host_network = True
    on_host = runtime.run(host, argv)

    assert (pod.exit_code, pod.stderr) == (253, NO_CREDENTIALS)
    assert on_host.stdout == f"arn:aws:sts::{cluster.account}:assumed-role/{NODE_ROLE}/{instance}\n"


def test_yaml_output(runtime, world, cluster):
    result = runtime.run(make_context({"AWS_REGION": "us-east-2"}), ["aws", "sts", "get-caller-identity", "--output", "yaml"])

    lines = result.stdout.splitlines()
    assert lines[1] == f"Account: '{cluster.account}'"
    assert lines[2] == f"Arn: arn:aws:sts::{cluster.account}:assumed-role/{NODE_ROLE}/{world['instance']}"
