"""Instance metadata per node: IMDSv2 and the node's instance-profile role, read by botocore's
own IMDS fetcher."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.utils import InstanceMetadataFetcher

NODE_ROLE = "lab-node-role"
NODE = "ip-192-168-1-169.us-east-2.compute.internal"


@pytest.fixture(scope="module")
def nodes(client, aws_lab, policies):
    """Two instances with the node role (IMDSv2 required) and one without instance profile."""
    iam, ec2 = client("iam"), client("ec2")
    iam.create_role(RoleName=NODE_ROLE, AssumeRolePolicyDocument=json.dumps(policies["ec2"]))
    iam.create_instance_profile(InstanceProfileName="lab-node-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="lab-node-profile", RoleName=NODE_ROLE)
    common = {"ImageId": "ami-0c55b159cbfafe1f0", "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1}
    with_profile = ec2.run_instances(
        **common,
        PrivateIpAddress="192.168.1.169",
        IamInstanceProfile={"Name": "lab-node-profile"},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
    )["Instances"][0]["InstanceId"]
    registered = ec2.run_instances(**common, IamInstanceProfile={"Name": "lab-node-profile"})["Instances"][0]["InstanceId"]
    bare = ec2.run_instances(**common)["Instances"][0]["InstanceId"]
    aws_lab.register_node("registered-node", registered)
    aws_lab.register_node("bare-node", bare)
    return {"by-dns": with_profile, "registered": registered, "bare": bare}


def credentials(aws_lab, node: str) -> dict:
    fetcher = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=aws_lab.imds_url(node))
    return fetcher.retrieve_iam_role_credentials()


def test_node_found_by_private_dns_name_gives_node_role(aws_lab, nodes, client, to_session, cluster):
    found = credentials(aws_lab, NODE)

    assert found["role_name"] == NODE_ROLE
    session = to_session({"AccessKeyId": found["access_key"], "SecretAccessKey": found["secret_key"], "SessionToken": found["token"]})
    arn = client("sts", session).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{cluster.account}:assumed-role/{NODE_ROLE}/{nodes['by-dns']}"


def test_registered_node_gives_its_instance_session(aws_lab, nodes, client, to_session, cluster):
    found = credentials(aws_lab, "registered-node")

    session = to_session({"AccessKeyId": found["access_key"], "SecretAccessKey": found["secret_key"], "SessionToken": found["token"]})
    arn = client("sts", session).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{cluster.account}:assumed-role/{NODE_ROLE}/{nodes['registered']}"


def test_instance_without_profile_has_no_credentials(aws_lab, nodes):
    assert credentials(aws_lab, "bare-node") == {}


def test_imdsv2_required_refuses_requests_without_token(aws_lab, nodes):
    url = aws_lab.imds_url(NODE) + "/latest/meta-data/iam/security-credentials/"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=5)
    assert caught.value.code == 401

    put = urllib.request.Request(
        aws_lab.imds_url(NODE) + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    token = urllib.request.urlopen(put, timeout=5).read().decode()
    listed = urllib.request.urlopen(urllib.request.Request(url, headers={"X-aws-ec2-metadata-token": token}), timeout=5)
    assert listed.read().decode() == NODE_ROLE


def test_unknown_node_is_not_found(aws_lab, nodes):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(aws_lab.imds_url("no-such-node") + "/latest/meta-data/instance-id", timeout=5)
    assert caught.value.code == 404


def test_credentials_are_reused_until_near_expiry(aws_lab, nodes):
    first = credentials(aws_lab, "registered-node")
    second = credentials(aws_lab, "registered-node")

    assert first["access_key"] == second["access_key"]


@pytest.fixture(scope="module")
def hop_limited(client, aws_lab, nodes):
    """Instances at hop limit 1: one requiring IMDSv2 tokens, one also accepting IMDSv1."""
    ec2 = client("ec2")
    common = {
        "ImageId": "ami-0c55b159cbfafe1f0", "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1,
        "IamInstanceProfile": {"Name": "lab-node-profile"},
    }
    for name, tokens in (("hop1-required", "required"), ("hop1-optional", "optional")):
        instance = ec2.run_instances(**common, MetadataOptions={"HttpTokens": tokens, "HttpPutResponseHopLimit": 1})
        aws_lab.register_node(name, instance["Instances"][0]["InstanceId"])


def fetch_from(aws_lab, node: str, *, host_network: bool) -> dict:
    url = aws_lab.imds_url(node, host_network=host_network)
    return InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=url).retrieve_iam_role_credentials()


def test_hop_limit_one_with_tokens_required_starves_pods(aws_lab, hop_limited):
    assert fetch_from(aws_lab, "hop1-required", host_network=False) == {}
    assert fetch_from(aws_lab, "hop1-required", host_network=True)["role_name"] == NODE_ROLE


def test_hop_limit_one_with_imdsv1_allowed_still_serves_pods(aws_lab, hop_limited):
    assert fetch_from(aws_lab, "hop1-optional", host_network=False)["role_name"] == NODE_ROLE
