"""The simulated `aws` on the node-side paths: no Pod Identity agent on the node (botocore's
connect timeout), IMDS without the IMDSv1 fallback, and an AWS_STS_REGIONAL_ENDPOINTS value
botocore refuses — each as the real CLI says it."""

from __future__ import annotations

import json
import pytest

from irsa_explorer.lab.runtime.containers import ContainerContext, Runtime
from irsa_explorer.model import IRSA_TOKEN_PATH, POD_IDENTITY_TOKEN_PATH, POD_IDENTITY_URI

NODE = "node-side-node"
NODE_ROLE = "node-side-role"
ARGV = ["aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"]


@pytest.fixture(scope="module")
def runtime(aws_lab) -> Runtime:
    return Runtime(aws_lab, clock=lambda: 1700000000)


@pytest.fixture(scope="module")
def world(client, aws_lab, policies, cluster, oidc_provider, trust_for):
    iam, ec2 = client("iam"), client("ec2")
    pods = iam.create_role(RoleName="node-side-pods", AssumeRolePolicyDocument=json.dumps(policies["pod-identity"]))
    client("eks").create_pod_identity_association(
        clusterName=cluster.name, namespace="default", serviceAccount="agentless-sa", roleArn=pods["Role"]["Arn"])
    irsa = iam.create_role(RoleName="node-side-irsa", AssumeRolePolicyDocument=json.dumps(trust_for("default", "my-sa")))
    iam.create_role(RoleName=NODE_ROLE, AssumeRolePolicyDocument=json.dumps(policies["ec2"]))
    iam.create_instance_profile(InstanceProfileName="node-side")
    iam.add_role_to_instance_profile(InstanceProfileName="node-side", RoleName=NODE_ROLE)
    instance = ec2.run_instances(
        ImageId="ami-0c55b159cbfafe1f0", InstanceType="m5.large", MinCount=1, MaxCount=1,
        IamInstanceProfile={"Name": "node-side"},
        MetadataOptions={"HttpTokens": "optional", "HttpPutResponseHopLimit": 1},  # IMDSv1 allowed
    )["Instances"][0]["InstanceId"]
    aws_lab.register_node(NODE, instance)
    return {"irsa": irsa["Role"]["Arn"]}


def context(env: dict, files: dict | None = None, sa: str = "my-sa", **kw) -> ContainerContext:
    return ContainerContext(namespace="default", pod_name="p", pod_uid="u", container="app",
                            image="amazon/aws-cli:latest", node_name=NODE, service_account=sa,
                            env={"AWS_REGION": "us-east-2", **env}, files=files or {}, **kw)


def pod_identity_context(issuer, agent: bool) -> ContainerContext:
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": POD_IDENTITY_URI,
           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": POD_IDENTITY_TOKEN_PATH}
    token = issuer.token("default", "agentless-sa", aud="pods.eks.amazonaws.com")
    return context(env, {POD_IDENTITY_TOKEN_PATH: token}, sa="agentless-sa", pod_identity_agent=agent)


def test_without_an_agent_on_the_node_the_sdk_times_out(runtime, world, issuer):
    assert runtime.run(pod_identity_context(issuer, agent=True), ARGV).stdout.startswith(
        "arn:aws:sts::113534181560:assumed-role/node-side-pods/")
    result = runtime.run(pod_identity_context(issuer, agent=False), ARGV)
    assert result.exit_code == 255
    assert result.stderr == (
        "\nError when retrieving credentials from container-role: Error retrieving metadata: Received error when "
        'attempting to retrieve container metadata: Connect timeout on endpoint URL: "http://169.254.170.23/v1/credentials"\n')


def test_imdsv1_answers_at_hop_limit_1_unless_the_container_turns_it_off(runtime, world):
    assert runtime.run(context({}), ARGV).stdout.startswith(f"arn:aws:sts::113534181560:assumed-role/{NODE_ROLE}/i-")
    result = runtime.run(context({"AWS_EC2_METADATA_V1_DISABLED": "true"}), ARGV)
    assert result.exit_code == 255
    assert "IMDSv1 has been disabled" in result.stderr


@pytest.mark.parametrize("value", ["true", "Regional"])
def test_an_sts_setting_botocore_does_not_know_fails_the_web_identity_exchange(runtime, world, issuer, value):
    env = {"AWS_ROLE_ARN": world["irsa"], "AWS_WEB_IDENTITY_TOKEN_FILE": IRSA_TOKEN_PATH}
    files = {IRSA_TOKEN_PATH: issuer.token("default", "my-sa")}
    assert runtime.run(context({**env, "AWS_STS_REGIONAL_ENDPOINTS": "legacy"}, files), ARGV).exit_code == 0
    result = runtime.run(context({**env, "AWS_STS_REGIONAL_ENDPOINTS": value}, files), ARGV)
    assert (result.exit_code, result.stderr) == (
        255, f'\nSTS regional endpoints option {value} is invalid. Valid options are: "legacy", "regional"\n')


def test_the_agent_image_runs_its_server_until_stopped(runtime):
    argv = runtime.entrypoint("602401143452.dkr.ecr.us-east-2.amazonaws.com/eks/eks-pod-identity-agent:0.1.29")
    assert runtime.is_long_running(argv + ["--port", "80"])
    assert not runtime.is_long_running(["/go-runner", "--version"])
