"""The lab's IMDS follows each instance's MetadataOptions as EC2 keeps them: set at RunInstances,
from a launch template (managed node groups, Karpenter), changed by ModifyInstanceMetadataOptions
(only the options given), IMDS turned off — and DescribeInstances says the same."""

from __future__ import annotations

import json

import pytest
from botocore.utils import InstanceMetadataFetcher

PROFILE = "options-node-profile"
ROLE = "options-node-role"
COMMON = {"ImageId": "ami-0c55b159cbfafe1f0", "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1,
          "IamInstanceProfile": {"Name": PROFILE}}


@pytest.fixture(scope="module")
def ec2(client, policies):
    iam = client("iam")
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(policies["ec2"]))
    iam.create_instance_profile(InstanceProfileName=PROFILE)
    iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName=ROLE)
    return client("ec2")


def launch(ec2, aws_lab, node: str, **params) -> str:
    instance = ec2.run_instances(**{**COMMON, **params})["Instances"][0]["InstanceId"]
    aws_lab.register_node(node, instance)
    return instance


def described(ec2, instance: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["MetadataOptions"]


def from_pod(aws_lab, node: str, host_network: bool = False) -> dict:
    url = aws_lab.imds_url(node, host_network=host_network)
    return InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=url).retrieve_iam_role_credentials()


def test_modify_changes_only_the_options_it_is_given(ec2, aws_lab):
    instance = launch(ec2, aws_lab, "hardened", MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2})
    assert from_pod(aws_lab, "hardened")["role_name"] == ROLE

    # the hardening AWS recommends for EKS nodes: hop limit 1, tokens stay required
    answer = ec2.modify_instance_metadata_options(InstanceId=instance, HttpPutResponseHopLimit=1)
    assert answer["InstanceMetadataOptions"]["HttpTokens"] == "required"
    options = described(ec2, instance)
    assert (options["HttpTokens"], options["HttpPutResponseHopLimit"], options["HttpEndpoint"]) == ("required", 1, "enabled")
    assert from_pod(aws_lab, "hardened") == {}
    assert from_pod(aws_lab, "hardened", host_network=True)["role_name"] == ROLE


def test_a_launch_templates_options_reach_its_instances(ec2, aws_lab):
    # Karpenter's EC2NodeClass default: IMDSv2 required, hop limit 1
    ec2.create_launch_template(LaunchTemplateName="karpenter-default", LaunchTemplateData={
        "ImageId": "ami-0c55b159cbfafe1f0",
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}})
    common = {k: v for k, v in COMMON.items() if k != "ImageId"}
    instance = ec2.run_instances(**common, LaunchTemplate={"LaunchTemplateName": "karpenter-default"})["Instances"][0]["InstanceId"]
    aws_lab.register_node("karpenter-node", instance)
    assert (described(ec2, instance)["HttpTokens"], described(ec2, instance)["HttpPutResponseHopLimit"]) == ("required", 1)
    assert from_pod(aws_lab, "karpenter-node") == {}

    # RunInstances' own options win, field by field
    raised = ec2.run_instances(**common, LaunchTemplate={"LaunchTemplateName": "karpenter-default"},
                               MetadataOptions={"HttpPutResponseHopLimit": 2})["Instances"][0]["InstanceId"]
    aws_lab.register_node("karpenter-hop2", raised)
    assert (described(ec2, raised)["HttpTokens"], described(ec2, raised)["HttpPutResponseHopLimit"]) == ("required", 2)
    assert from_pod(aws_lab, "karpenter-hop2")["role_name"] == ROLE


def test_imds_turned_off_answers_nobody(ec2, aws_lab):
    launch(ec2, aws_lab, "imds-off", MetadataOptions={"HttpEndpoint": "disabled"})
    assert from_pod(aws_lab, "imds-off") == {}
    assert from_pod(aws_lab, "imds-off", host_network=True) == {}
