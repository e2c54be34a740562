"""`irsa-explorer report` end to end against labs.

Most runs call `report.main` in this process with sources pointed at a shared lab (a run costs
well under a second then); the literal "Done when" (`--lab walkthrough`), the exit-2 path and
one run configured only by environment variables go through the installed command.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from irsa_explorer.cli import build_parser
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.report import main

ACCOUNT = "113534181560"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
BROKEN_SCENARIOS = ("pod-before-annotation", "no-oidc-provider", "sub-wrong-namespace", "wrong-audience", "static-keys")


def run_report(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "irsa_explorer", "report", *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )


def report_on(lab, *args: str, aws_env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`report.main` in this process, on the lab's kubeconfig and AWS account."""
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    aws = AwsSource.from_env(aws_env or lab.aws_env)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(build_parser().parse_args(["report", *args]), stdout=out, stderr=err, sources=(kube, aws))
    finally:
        kube.close()
    return code, out.getvalue(), err.getvalue()


def json_report_on(lab, *args: str, aws_env: dict[str, str] | None = None) -> tuple[int, dict]:
    code, out, err = report_on(lab, "--format", "json", *args, aws_env=aws_env)
    assert code in (0, 1), err
    return code, json.loads(out)


def pods_by_name(report: dict) -> dict[str, dict]:
    return {p["name"]: p for p in report["pods"]}


def codes(pod: dict) -> set[str]:
    return {f["code"] for f in pod["findings"]}


def code_for_shared_lab(report: dict) -> int:
    """The exit status the rules give. Other suites may leave pods of their own in the shared
    walkthrough lab, so its status is checked against its verdicts; `--lab` runs on a lab of
    its own, where the status is asserted exactly."""
    return 1 if any(p["verdict"] in ("broken", "unknown") for p in report["pods"]) else 0


@pytest.fixture(scope="module")
def walkthrough_report(lab) -> tuple[int, dict]:
    return json_report_on(lab)


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
    assert code == code_for_shared_lab(report)  # the walkthrough's warnings alone do not fail


def test_fail_on_warning_fails_on_the_node_role_pods(lab) -> None:
    code, _ = json_report_on(lab, "--fail-on", "warning")
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
    json_report_on(lab)
    kube_after, aws_after = kube_stats(), aws_stats()
    api.close()
    for kind in ("list pods", "list serviceaccounts", "list nodes"):
        assert kube_after.get(kind, 0) - kube_before.get(kind, 0) == 1, kind
    # One GetRole per distinct role (the walkthrough has two: my-sa's and the node role; other
    # suites sharing this lab may add their own), never one per pod.
    from irsa_explorer.sources.inventory import load_inventory

    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    distinct = load_inventory(kube, AwsSource.from_env(lab.aws_env), None).roles
    kube.close()
    assert {MY_SA_ROLE, NODE_ROLE} <= set(distinct)
    assert aws_after.get("iam:GetRole", 0) - aws_before.get("iam:GetRole", 0) == len(distinct)


def test_denied_get_role_makes_the_irsa_pod_unknown_not_ok(lab, no_get_role_env) -> None:
    code, report = json_report_on(lab, aws_env=no_get_role_env)
    assert code == 1
    pod = pods_by_name(report)["eks-iam-test3"]
    assert pod["verdict"] == "unknown"
    assert "iam:GetRole" in json.dumps(pod)


@pytest.fixture(scope="module")
def broken_labs(lab_for):
    """The catalogue scenarios' labs, started side by side (each start is mostly waiting)."""
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(BROKEN_SCENARIOS, pool.map(lab_for, BROKEN_SCENARIOS)))


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
def test_each_broken_scenario_yields_its_finding(broken_labs, scenario, pod, expected_codes, healthy) -> None:
    running = broken_labs[scenario]
    code, out, err = report_on(running, "--format", "json")
    assert code == 1, err
    pods = pods_by_name(json.loads(out))
    assert pods[pod]["verdict"] in ("broken", "warning"), pods[pod]
    assert expected_codes & codes(pods[pod]), (codes(pods[pod]), expected_codes)
    if healthy:
        assert pods[healthy]["verdict"] == "ok", pods[healthy]
    if scenario == "static-keys":
        # The pod spec carries an IAM user's secret key in clear: the report must not repeat it.
        kube = KubeSource(kubeconfig=str(running.kubeconfig))
        spec = next(p for p in kube.list_pods("default").items if p.name == pod)
        kube.close()
        secret = next(c.env_value("AWS_SECRET_ACCESS_KEY") for c in spec.containers if c.has_env("AWS_SECRET_ACCESS_KEY"))
        assert secret and secret not in out


def test_report_lab_flag_starts_its_own_lab_done_when() -> None:
    done = run_report("--lab", "walkthrough", "--format", "json", timeout=180)
    # eks-iam-test1 ended in Error as the node role: broken, so the status is 1
    assert done.returncode == 1, done.stderr
    pods = pods_by_name(json.loads(done.stdout))
    assert (pods["eks-iam-test1"]["mechanism"], pods["eks-iam-test1"]["verdict"]) == ("node-role", "broken")
    failed = next(f for f in pods["eks-iam-test1"]["findings"] if f["code"] == "POD_FAILED_ON_NODE_ROLE")
    # read from the pod's status (no log): its aws-cli container ended with the CLI's "AWS said no" code
    assert "container my-aws-cli exited 254" in failed["title"]
    assert {"object": "Pod default/eks-iam-test1", "field": "status.containerStatuses[my-aws-cli].state.terminated.exitCode",
            "value": "254"} in failed["evidence"]
    assert (pods["eks-iam-test2"]["mechanism"], pods["eks-iam-test2"]["verdict"]) == ("node-role", "warning")
    assert (pods["eks-iam-test3"]["mechanism"], pods["eks-iam-test3"]["verdict"]) == ("irsa", "ok")
    assert pods["eks-iam-test3"]["intended_role_arn"] == MY_SA_ROLE


def test_markdown_and_table_formats(lab) -> None:
    code, markdown, err = report_on(lab, "--format", "markdown", "-n", "default")
    assert code == code_for_shared_lab(json_report_on(lab, "-n", "default")[1]), err
    assert "| default | eks-iam-test3 | my-sa | irsa | **ok** |" in markdown
    _, table, _ = report_on(lab, "--format", "table", "-n", "default")
    assert "eks-iam-test1" in table and "node-role" in table and "NODE_ROLE_FALLBACK" in table
    assert "eyJ" not in markdown + table


def test_the_command_reads_kubeconfig_and_aws_from_the_environment(lab, lab_env) -> None:
    done = run_report("-n", "default", env=lab_env(lab))  # not a terminal: JSON by default
    assert done.returncode == code_for_shared_lab(json.loads(done.stdout)), done.stderr
    pods = pods_by_name(json.loads(done.stdout))
    assert (pods["eks-iam-test3"]["mechanism"], pods["eks-iam-test3"]["verdict"]) == ("irsa", "ok")


def test_unknown_context_exits_two_without_traceback(lab, lab_env) -> None:
    done = run_report("--context", "no-such-context", env=lab_env(lab))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "cannot run" in done.stderr and "Traceback" not in done.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_default_format_is_a_table_on_a_terminal_and_json_otherwise(lab) -> None:
    args = build_parser().parse_args(["report", "-n", "default"])
    kube, aws = KubeSource(kubeconfig=str(lab.kubeconfig)), AwsSource.from_env(lab.aws_env)
    terminal, pipe = _Terminal(), io.StringIO()
    main(args, stdout=terminal, stderr=io.StringIO(), sources=(kube, aws))
    main(args, stdout=pipe, stderr=io.StringIO(), sources=(kube, aws))
    kube.close()
    assert terminal.getvalue().startswith("context: ") and "MECHANISM" in terminal.getvalue()
    assert json.loads(pipe.getvalue())["schema"] == "irsa-explorer.report/v1"
