"""`report` on the node-side scenarios names the mechanism and identity the pod's SDK really
ends with — no credentials at hop limit 1, on Fargate, without a Pod Identity agent — with the
node's IMDS settings, the agent and the STS endpoint in the JSON, and the finding and its fix."""

from __future__ import annotations

import io
import json

import pytest

from irsa_explorer.cli import build_parser
from irsa_explorer.report import main
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

SCENARIOS = ("imds-hop-limit", "fargate-no-node-role", "pod-identity-agent-missing", "sts-legacy-endpoint")
NODE_ROLE = "arn:aws:iam::113534181560:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"


@pytest.fixture(scope="module", autouse=True)
def _start_them_together(lab_for):
    lab_for.prefetch(*SCENARIOS)


def report(lab, *args: str) -> tuple[int, str]:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(build_parser().parse_args(["report", *args]), stdout=out, stderr=err,
                    sources=(kube, AwsSource.from_env(lab.aws_env)))
    finally:
        kube.close()
    assert code in (0, 1), err.getvalue()
    return code, out.getvalue()


def pods(lab) -> dict[str, dict]:
    return {p["name"]: p for p in json.loads(report(lab, "--format", "json")[1])["pods"]}


def test_hop_limit_1_is_no_credentials_not_the_node_role(lab_for):
    found = pods(lab_for("imds-hop-limit"))
    for name in ("hardened-app", "karpenter-app"):
        pod = found[name]
        assert (pod["mechanism"], pod["verdict"], pod["effective_identity"]) == ("none", "ok", "no credentials")
        access = pod["effective"]["access"]
        assert (access["kind"], access["status"], access["host_network"]) == ("imds", "broken", False)
        assert access["metadata_options"]["http_tokens"] == "required" and access["metadata_options"]["hop_limit"] == 1
        assert [f["code"] for f in pod["findings"]] == ["IMDS_HOP_LIMIT"]
        assert access["metadata_options"]["instance_id"] in pod["findings"][0]["fix"]
    for name in ("hardened-hostnet", "default-app", "imdsv1-app"):
        pod = found[name]
        assert (pod["mechanism"], pod["effective"]["arn"]) == ("node-role", NODE_ROLE), name
        assert pod["effective"]["access"]["status"] == "ok"
    assert found["hardened-hostnet"]["effective"]["access"]["host_network"] is True
    assert found["imdsv1-app"]["effective"]["access"]["metadata_options"]["http_tokens"] == "optional"


def test_fargate_without_irsa_has_no_credentials(lab_for):
    found = pods(lab_for("fargate-no-node-role"))
    job = found["report-job"]
    assert (job["mechanism"], job["effective"]["label"]) == ("none", "no credentials")
    assert job["effective"]["access"]["compute"] == "fargate"
    assert [f["code"] for f in job["findings"]] == ["FARGATE_NO_CREDENTIALS"]
    assert found["uploader"]["effective"]["arn"] == "arn:aws:iam::113534181560:role/fargate-uploader"


def test_no_agent_on_the_node_is_broken_with_the_fix(lab_for):
    code, text = report(lab_for("pod-identity-agent-missing"), "--format", "json")
    assert code == 1
    found = {p["name"]: p for p in json.loads(text)["pods"]}
    batch = found["batch-uploader"]
    assert (batch["mechanism"], batch["verdict"], batch["effective"]["label"]) == ("pod-identity", "broken", "no credentials")
    assert batch["effective"]["access"]["kind"] == "pod-identity-agent" and batch["effective"]["access"]["agents"] == []
    [finding] = [f for f in batch["findings"] if f["code"] == "POD_IDENTITY_AGENT_MISSING"]
    assert "kubectl describe node ip-192-168-53-243.us-east-2.compute.internal" in finding["fix"]
    uploader = found["uploader"]
    assert uploader["verdict"] == "ok" and uploader["effective"]["access"]["agents"] == ["eks-pod-identity-agent-4xk2p"]


def test_the_legacy_sts_endpoint_is_a_warning_and_named(lab_for):
    lab = lab_for("sts-legacy-endpoint")
    found = pods(lab)
    legacy = found["legacy-sts"]
    assert (legacy["mechanism"], legacy["verdict"]) == ("irsa", "warning")
    assert legacy["effective"]["sts_endpoint"] == {
        "setting": "legacy", "scope": "global", "endpoint": "sts.amazonaws.com",
        "reason": legacy["effective"]["sts_endpoint"]["reason"]}
    assert [f["code"] for f in legacy["findings"]] == ["STS_GLOBAL_ENDPOINT"]
    regional = found["eks-iam-test3"]["effective"]["sts_endpoint"]
    assert (regional["scope"], regional["endpoint"]) == ("regional", "sts.us-east-2.amazonaws.com")
    markdown = report(lab, "--format", "markdown")[1]
    assert "STS_GLOBAL_ENDPOINT" in markdown and "AWS_STS_REGIONAL_ENDPOINTS=regional" in markdown
