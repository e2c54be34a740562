"""Counters, latency and throttling per service, and the stats endpoint."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from irsa_explorer.lab.aws.server import AwsLab
from irsa_explorer.lab.spec import LabCluster

IAM_LATENCY = 0.15
EKS_RATE = 4


class ManualClock:
    """The throttle's clock: time passes only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def slow_lab(clock) -> Iterator[AwsLab]:
    lab = AwsLab(LabCluster(), latency={"iam": IAM_LATENCY}, throttle={"eks": EKS_RATE}, clock=clock)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def slow_client(slow_lab):
    key, secret = slow_lab.admin_credentials
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-2")

    def make(service: str):
        return session.client(service, endpoint_url=slow_lab.endpoint_url, config=Config(retries={"mode": "standard", "total_max_attempts": 1}))

    return make


def test_counters_by_service_and_action(slow_lab, slow_client):
    slow_lab.reset_counters()
    iam = slow_client("iam")
    iam.create_role(RoleName="counted", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    for _ in range(3):
        iam.get_role(RoleName="counted")
    slow_client("sts").get_caller_identity()
    slow_client("ec2").describe_instances()

    counters = slow_lab.counters
    assert counters["iam:GetRole"] == 3
    assert counters["iam:CreateRole"] == 1
    assert counters["sts:GetCallerIdentity"] == 1
    assert counters["ec2:DescribeInstances"] == 1

    stats = json.loads(urllib.request.urlopen(slow_lab.endpoint_url + "/_lab/stats", timeout=5).read())
    assert stats["counters"] == counters


def test_latency_is_added_per_service(slow_lab, slow_client):
    iam, sts = slow_client("iam"), slow_client("sts")
    slow_lab.reset_counters()

    began = time.monotonic()
    iam.list_roles()
    iam_seconds = time.monotonic() - began
    sts.get_caller_identity()

    # A lower bound holds however busy the machine is; which service was slowed, the lab says.
    assert iam_seconds >= IAM_LATENCY
    stats = json.loads(urllib.request.urlopen(slow_lab.endpoint_url + "/_lab/stats", timeout=30).read())
    assert stats["delayed_seconds"] == {"iam": IAM_LATENCY}


def test_throttling_beyond_the_rate(slow_lab, slow_client, clock):
    eks = slow_client("eks")
    slow_lab.traffic.reset()  # a full bucket: earlier EKS calls do not count
    for _ in range(EKS_RATE):  # the burst: however slowly they arrive, no time passes
        eks.list_clusters()

    with pytest.raises(ClientError) as caught:
        eks.list_clusters()

    assert caught.value.response["Error"]["Code"] == "Throttling"
    assert caught.value.response["Error"]["Message"] == "Rate exceeded"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert slow_lab.traffic.throttled()["eks:ListClusters"] == 1
    clock.advance(1 / EKS_RATE)  # one request's worth of refill
    assert eks.list_clusters()["clusters"] == ["eks-oidc-demo"]
    with pytest.raises(ClientError):
        eks.list_clusters()  # and only one


def test_query_protocol_throttling_reads_as_aws_throttling(slow_lab):
    """IAM's XML error shape: botocore's retry logic recognises the code as a throttle."""
    slow_lab.traffic.throttle["iam"] = 0
    try:
        key, secret = slow_lab.admin_credentials
        iam = boto3.client(
            "iam", endpoint_url=slow_lab.endpoint_url, aws_access_key_id=key, aws_secret_access_key=secret,
            region_name="us-east-2", config=Config(retries={"mode": "standard", "total_max_attempts": 2}),  # one retry
        )
        with pytest.raises(ClientError) as caught:
            iam.list_roles()
    finally:
        del slow_lab.traffic.throttle["iam"]
    assert caught.value.response["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 1  # retried as a throttle


def test_s3_throttling_is_slow_down(slow_lab, slow_client):
    slow_lab.traffic.throttle["s3"] = 0
    try:
        with pytest.raises(ClientError) as caught:
            slow_client("s3").list_buckets()
    finally:
        del slow_lab.traffic.throttle["s3"]
    assert caught.value.response["Error"]["Code"] == "SlowDown"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_stats_reset_over_http(slow_lab, slow_client):
    slow_client("sts").get_caller_identity()
    request = urllib.request.Request(slow_lab.endpoint_url + "/_lab/stats", method="DELETE")
    emptied = json.loads(urllib.request.urlopen(request, timeout=5).read())

    assert emptied["counters"] == {}
    assert slow_lab.counters == {}
