"""Throttling: with IAM rate-limited by the lab, a burst of GetRole calls still returns every
role — botocore's retries (adaptive mode, 8 attempts) absorb the Throttling answers.

The lab's throttle runs on a clock of this test's: no time passes during the burst, so the
request after it is refused however slowly the machine delivers them, and time runs on after
that, so each retry is admitted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.lab.aws.server import AwsLab
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.model import Role

RATE = 4
SOURCES = 8
TRUST = {"Version": "2012-10-17", "Statement": []}


class StandsStillForABurst:
    """No time passes until the request after the first `burst` ones, then a thousand seconds
    per request: the bucket empties, one request is refused, and every later one finds it full."""

    def __init__(self, burst: int) -> None:
        self.burst, self.calls = burst, 0

    def __call__(self) -> float:
        self.calls += 1  # called under the lab's traffic lock: no race on the count
        return 0.0 if self.calls <= self.burst + 1 else 1000.0 * self.calls


@pytest.fixture(scope="module")
def throttled_lab() -> Iterator[tuple[AwsLab, list[str]]]:
    lab = AwsLab(LabCluster(), clock=StandsStillForABurst(RATE))
    lab.start()
    key, secret = lab.admin_credentials
    iam = boto3.client("iam", endpoint_url=lab.endpoint_url, aws_access_key_id=key,
                       aws_secret_access_key=secret, region_name=lab.region)
    arns = [iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
            for name in ("node-role", "app-role")]
    lab.traffic.reset()
    lab.traffic.throttle["iam"] = RATE  # from here on the clock counts IAM requests
    try:
        yield lab, arns
    finally:
        lab.stop()


def test_burst_of_get_role_survives_throttling(throttled_lab) -> None:
    lab, arns = throttled_lab
    key, secret = lab.admin_credentials
    sources = [AwsSource(region=lab.region, endpoint_url=lab.endpoint_url, credentials=(key, secret, None))
               for _ in range(SOURCES)]
    with ThreadPoolExecutor(SOURCES) as pool:
        answers = list(pool.map(lambda source: source.get_roles(arns), sources))
    for answer in answers:
        assert all(isinstance(answer[arn], Role) for arn in arns), answer
    assert lab.traffic.throttled() == {"iam:GetRole": 1}  # refused once, and retried
    assert lab.counters["iam:GetRole"] == SOURCES * len(arns) + 1
