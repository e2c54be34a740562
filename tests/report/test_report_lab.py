"""`irsa-explorer report` end to end: the installed command against labs, as a user runs it.

Pending (skipped) until the analysis engine's `identity.resolve_all` exists.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

pytest.importorskip("irsa_explorer.analysis.identity", reason="analysis.identity has not landed yet")

ACCOUNT = "113534181560"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"


def run_report(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "irsa_explorer", "report", *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )


def pods_by_name(report: dict) -> dict[str, dict]:
    return {p["name"]: p for p in report["pods"]}


def codes(pod: dict) -> set[str]:
    return {f["code"] for f in pod["findings"]}


@pytest.fixture(scope="module")
def walkthrough_report(lab) -> tuple[int, dict]:
    done = run_report("--format", "json", env=lab.env())
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_walkthrough_node_role_pods_are_not_ok(walkthrough_report) -> None:
    code, report = walkthrough_report
    pods = pods_by_name(report)
    for name in ("eks-iam-test1", "eks-iam-test2"):
        pod = pods[name]
        assert pod["mechanism"] == "node-role", pod
        assert pod["verdict"] != "ok"
        assert pod["effective_identity"] == NODE_ROLE
        assert pod["findings"], "a node-role pod must say why and how to fix it"
        assert any(f["fix"] for f in pod["findings"])
    assert code == 1


def test_walkthrough_irsa_pod_is_ok_with_my_sa_role(walkthrough_report) -> None:
    _, report = walkthrough_report
    pod = pods_by_name(report)["eks-iam-test3"]
    assert (pod["mechanism"], pod["verdict"]) == ("irsa", "ok")
    assert pod["intended_role_arn"] == MY_SA_ROLE
    assert pod["effective_identity"] == MY_SA_ROLE
    assert report["cluster"]["name"] == "eks-oidc-demo"
    assert report["summary"]["pods"] == len(report["pods"])


def test_report_makes_one_list_call_per_resource_and_one_get_role_per_role(lab) -> None:
    import requests
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)
    cfg = api.configuration
    headers = {"Authorization": cfg.api_key.get("BearerToken") or cfg.api_key.get("authorization", "")}

    def kube_stats() -> dict:
        return requests.get(lab.kube_url + "/_lab/stats", headers=headers, verify=cfg.ssl_ca_cert, timeout=10).json()["counters"]

    def aws_stats() -> dict:
        return requests.get(lab.aws_endpoint + "/_lab/stats", timeout=10).json()["counters"]

    kube_before, aws_before = kube_stats(), aws_stats()
    done = run_report("--format", "json", env=lab.env())
    kube_after, aws_after = kube_stats(), aws_stats()
    api.close()
    assert done.returncode in (0, 1), done.stderr
    for kind in ("list pods", "list serviceaccounts", "list nodes"):
        assert kube_after.get(kind, 0) - kube_before.get(kind, 0) == 1, kind
    # my-sa's role and the node role: two distinct roles, two GetRole calls.
    assert aws_after.get("iam:GetRole", 0) - aws_before.get("iam:GetRole", 0) == 2


def test_denied_get_role_makes_the_irsa_pod_unknown_not_ok(lab) -> None:
    import boto3

    iam = boto3.Session(
        aws_access_key_id=lab.aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=lab.aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=lab.aws_env["AWS_REGION"],
    ).client("iam", endpoint_url=lab.aws_endpoint)
    name = f"report-no-get-role-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="everything-but-getrole",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*"},
        ]}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    env = lab.env()
    env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    done = run_report("--format", "json", env=env)
    assert done.returncode == 1, done.stderr
    pod = pods_by_name(json.loads(done.stdout))["eks-iam-test3"]
    assert pod["verdict"] == "unknown"
    assert "iam:GetRole" in json.dumps(pod)


@pytest.mark.parametrize(
    ("scenario", "pod", "expected_codes", "healthy"),
    [
        ("pod-before-annotation", "reports-before", {"IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION"}, "reports-after"),
        ("no-oidc-provider", "eks-iam-test3", {"NO_OIDC_PROVIDER"}, None),
        ("sub-wrong-namespace", "checkout", {"TRUST_SUB_MISMATCH"}, "billing"),
        ("wrong-audience", "audience-typo", {"AUDIENCE_NOT_IN_CLIENT_IDS"}, "eks-iam-test3"),
        ("static-keys", "legacy-uploader", {"STATIC_KEYS_IN_ENV"}, "eks-iam-test3"),
    ],
)
def test_each_broken_scenario_yields_its_finding(lab_for, scenario, pod, expected_codes, healthy) -> None:
    running = lab_for(scenario)
    done = run_report("--format", "json", env=running.env())
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    pods = pods_by_name(report)
    assert pods[pod]["verdict"] in ("broken", "warning"), pods[pod]
    assert expected_codes & codes(pods[pod]), (codes(pods[pod]), expected_codes)
    if healthy:
        assert pods[healthy]["verdict"] == "ok", pods[healthy]
    if scenario == "static-keys":
        secret = next(
            line.split("=", 1)[1] for line in (running.directory / "aws.env").read_text().splitlines()
            if line.startswith("export AWS_SECRET_ACCESS_KEY=")
        )
        assert secret.strip("'\"") not in done.stdout


def test_report_lab_flag_starts_its_own_lab_done_when() -> None:
    done = run_report("--lab", "walkthrough", "--format", "json", timeout=180)
    assert done.returncode == 1, done.stderr
    pods = pods_by_name(json.loads(done.stdout))
    assert pods["eks-iam-test1"]["mechanism"] == "node-role" and pods["eks-iam-test1"]["verdict"] != "ok"
    assert pods["eks-iam-test2"]["mechanism"] == "node-role" and pods["eks-iam-test2"]["verdict"] != "ok"
    assert (pods["eks-iam-test3"]["mechanism"], pods["eks-iam-test3"]["verdict"]) == ("irsa", "ok")
    assert pods["eks-iam-test3"]["intended_role_arn"] == MY_SA_ROLE


def test_markdown_and_table_formats(lab) -> None:
    markdown = run_report("--format", "markdown", "-n", "default", env=lab.env())
    assert markdown.returncode == 1, markdown.stderr
    assert "| default | eks-iam-test3 | my-sa | irsa | **ok** |" in markdown.stdout
    table = run_report("--format", "table", "-n", "default", env=lab.env())
    assert "eks-iam-test1" in table.stdout and "node-role" in table.stdout
    assert "eyJ" not in markdown.stdout + table.stdout


def test_unknown_context_exits_two_without_traceback(lab) -> None:
    done = run_report("--context", "no-such-context", env=lab.env())
    assert done.returncode == 2
    assert done.stdout == ""
    assert "cannot run" in done.stderr and "Traceback" not in done.stderr
