"""Throttling: with IAM rate-limited by the lab, a burst of GetRole calls still returns every
role — botocore's retries (adaptive mode, 8 attempts) absorb the Throttling answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from irsa_explorer.cloud import AwsSource
from irsa_explorer.lab.launcher import start_lab
from irsa_explorer.model import Role

ACCOUNT = "113534181560"
ROLES = [
    f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4",
    f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO",
]


@pytest.fixture(scope="module")
def throttled_lab(tmp_path_factory):
    lab = start_lab("walkthrough", tmp_path_factory.mktemp("lab-throttled"), ["--throttle", "iam=10"])
    yield lab
    lab.stop()


def test_burst_of_get_role_survives_throttling(throttled_lab) -> None:
    before = requests.get(throttled_lab.aws_endpoint + "/_lab/stats", timeout=10).json()
    sources = [AwsSource.from_env(throttled_lab.aws_env) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda source: source.get_roles(ROLES), sources))
    after = requests.get(throttled_lab.aws_endpoint + "/_lab/stats", timeout=10).json()
    for answer in answers:
        assert all(isinstance(answer[arn], Role) for arn in ROLES), answer
    throttled = sum(after["throttled"].values()) - sum(before["throttled"].values())
    assert throttled > 0, "the burst should have been throttled at least once"
