"""`report --pod NS/NAME` and `--role`: one pod's or one role's triage to share, on the lab.

The walkthrough's `eks-iam-test3` (IRSA, ok) exports its chain and no token byte; `eks-iam-test1`
(node role, failed) its findings with their fixes and a failing exit status. A pod planted with
a real lab token in its annotation, static keys and control characters shows none of them raw.
"""

from __future__ import annotations

import io
import json
import re
import stat
import subprocess
import sys
import uuid

import pytest

from irsa_explorer import markdown_safe as md
from irsa_explorer.cli import build_parser
from irsa_explorer.report import main
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

ACCOUNT = "113534181560"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
IRSA_TOKEN = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
KEY_ID, SECRET = "AKIAIOSFODNN7TRIAGEE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTRIAGEKEYE"


def triage_on(lab, *args: str) -> tuple[int, str, str]:
    """`report.main` in this process, on the lab's kubeconfig and AWS account."""
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    aws = AwsSource.from_env(lab.aws_env)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(build_parser().parse_args(["report", *args]), stdout=out, stderr=err, sources=(kube, aws))
    finally:
        kube.close()
    return code, out.getvalue(), err.getvalue()


def lab_tokens(lab) -> list[str]:
    """Real tokens of the lab: eks-iam-test3's projected IRSA token (read in the pod) and a fresh
    TokenRequest for my-sa — the signer and claims a triage of that pod is about."""
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        projected = kube.exec("default", "eks-iam-test3", None, ["cat", IRSA_TOKEN]).stdout.strip()
        fresh = kube.create_token("default", "my-sa", "sts.amazonaws.com")
    finally:
        kube.close()
    assert JWT.fullmatch(projected) and JWT.fullmatch(fresh)
    return [projected, fresh]


def assert_no_token_byte(text: str, tokens: list[str]) -> None:
    assert not JWT.search(text)
    for token in tokens:
        for part in token.split("."):
            assert part[:24] not in text  # header, claims and signature alike


def test_eks_iam_test3_exports_its_chain_and_no_token(lab) -> None:
    tokens = lab_tokens(lab)
    code, markdown, err = triage_on(lab, "--pod", "default/eks-iam-test3", "--format", "markdown")
    assert code == 0, err
    assert markdown.startswith("# IRSA triage: pod `default/eks-iam-test3`")
    assert "**Verdict: ok** — irsa" in markdown
    assert MY_SA_ROLE in markdown and "`my-sa`" in markdown
    chain = markdown.split("## Identity chain", 1)[1].split("\n## ", 1)[0]
    for step in ("pod", "service-account", "token", "oidc-provider", "role", "trust-policy", "identity"):
        assert f"\n| {step} | ✓ ok |" in chain
    assert "### sts:AssumeRoleWithWebIdentity: ✓ allow" in markdown
    assert "system:serviceaccount:default:my-sa" in markdown  # the sub the trust was evaluated for
    assert "No findings." in markdown
    assert_no_token_byte(markdown, tokens)

    code, text, err = triage_on(lab, "--pod", "default/eks-iam-test3", "--format", "json")
    doc = json.loads(text)
    assert code == 0 and doc["schema"] == "irsa-explorer.triage/v1" and doc["kind"] == "pod"
    assert doc["pod"]["intended_role_arn"] == MY_SA_ROLE and doc["pod"]["verdict"] == "ok"
    assert doc["trust_evaluation"]["decision"] == "allow"
    assert doc["token"]["subject"] == "system:serviceaccount:default:my-sa"
    assert doc["live"] == [] and doc["cloudtrail"] is None
    assert_no_token_byte(text, tokens)


def test_eks_iam_test1_exports_findings_with_fixes_and_fails(lab) -> None:
    code, markdown, err = triage_on(lab, "--pod", "default/eks-iam-test1", "--format", "markdown")
    assert code == 1, err  # broken, as `report` says it
    assert "**Verdict: broken** — node-role" in markdown and NODE_ROLE in markdown
    findings = markdown.split("## Findings", 1)[1].split("\n## ", 1)[0]
    assert "### `POD_FAILED_ON_NODE_ROLE` (error)" in findings and "### `NODE_ROLE_FALLBACK` (warning)" in findings
    assert findings.count("Fix:\n\n```\n") == 2 and "eksctl create iamserviceaccount --cluster eks-oidc-demo" in findings
    assert "No trust policy is evaluated" in markdown  # a node role has no trust to evaluate for the pod

    code, text, _ = triage_on(lab, "--pod", "default/eks-iam-test1", "--format", "json")
    doc = json.loads(text)
    assert code == 1 and doc["pod"]["verdict"] == "broken"
    assert {f["code"] for f in doc["pod"]["findings"]} == {"POD_FAILED_ON_NODE_ROLE", "NODE_ROLE_FALLBACK"}
    assert all(f["fix"] for f in doc["pod"]["findings"])
    # a warning passes unless asked: eks-iam-test2 only shares the node role
    assert triage_on(lab, "--pod", "default/eks-iam-test2")[0] == 0
    assert triage_on(lab, "--pod", "default/eks-iam-test2", "--fail-on", "warning")[0] == 1


def test_a_pod_that_is_not_there_is_one_line_and_exit_2(lab) -> None:
    code, out, err = triage_on(lab, "--pod", "default/eks-iam-test9")
    assert code == 2 and out == ""
    assert err.startswith("irsa-explorer report: cannot run: no pod default/eks-iam-test9 (pods there: eks-iam-test1")
    assert err.count("\n") == 1


def test_output_file_is_readable_by_its_owner_only(lab, tmp_path) -> None:
    target = tmp_path / "triage.md"
    target.write_text("old")
    target.chmod(0o644)  # an existing file loses its wider mode too
    code, out, err = triage_on(lab, "--pod", "default/eks-iam-test3", "-o", str(target))
    assert code == 0 and out == ""
    assert err.strip() == f"triage written to {target}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("# IRSA triage: pod `default/eks-iam-test3`")  # Markdown to a file
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "elsewhere.md")
    code, _, err = triage_on(lab, "--pod", "default/eks-iam-test3", "-o", str(link))
    assert code == 2 and "cannot write" in err and not (tmp_path / "elsewhere.md").exists()


def test_the_whole_report_to_a_file_too(lab, tmp_path) -> None:
    target = tmp_path / "report.json"
    code, out, err = triage_on(lab, "-n", "default", "--output", str(target))
    assert code == 1 and out == "" and err.strip() == f"report written to {target}"  # eks-iam-test1 is broken
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["schema"] == "irsa-explorer.report/v1"


def test_role_triage_by_name_and_by_arn(lab) -> None:
    code, markdown, err = triage_on(lab, "--role", MY_SA_ROLE.rsplit("/", 1)[1], "--format", "markdown")
    assert code == 0, err
    assert markdown.startswith("# IRSA triage: role `eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO`")
    assert "| `default/eks-iam-test3` | `my-sa` | irsa | ✓ ok | ✓ yes | ✓ yes |" in markdown
    assert "For `default/eks-iam-test3`:" in markdown and "### Trust policy document" in markdown
    assert "- `ServiceAccount default/my-sa` (irsa, annotated): ✓ allow" in markdown
    code, text, _ = triage_on(lab, "--role", NODE_ROLE, "--format", "json")
    doc = json.loads(text)
    assert code == 1 and doc["kind"] == "role" and doc["verdict"] == "broken"  # eks-iam-test1 gets it and failed
    assert {p["name"] for p in doc["pods"] if p["gets"]} >= {"eks-iam-test1", "eks-iam-test2"}
    code, _, err = triage_on(lab, "--role", "no-such-role")
    assert code == 2 and "no pod of the cluster means to use or gets a role 'no-such-role'" in err


@pytest.fixture(scope="module")
def planted(lab):
    """A service account annotated with a real lab token, control characters and Markdown, and a
    pod using it with static keys in its env — what a careless or hostile cluster holds."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)
    core = client.CoreV1Api(api)
    name = f"triage-e-{uuid.uuid4().hex[:6]}"
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        token = kube.create_token("default", "my-sa", "sts.amazonaws.com")
    finally:
        kube.close()
    annotation = f"{token}\x1b[2J|x\n# heading <img src=x> `tick`"
    core.create_namespaced_service_account("default", {
        "metadata": {"name": name, "annotations": {"eks.amazonaws.com/role-arn": annotation}}})
    core.create_namespaced_pod("default", {
        "metadata": {"name": name},
        "spec": {"serviceAccountName": name, "containers": [{
            "name": "app", "image": "amazon/aws-cli:latest", "command": ["sleep", "3600"],
            "env": [{"name": "AWS_ACCESS_KEY_ID", "value": KEY_ID}, {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET}]}]},
    })
    yield name, token
    core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
    core.delete_namespaced_service_account(name, "default")
    api.close()


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_planted_token_keys_and_control_characters_never_leave_raw(lab, planted, fmt) -> None:
    name, token = planted
    code, text, err = triage_on(lab, "--pod", f"default/{name}", "--format", fmt, "--redact-accounts")
    assert code in (0, 1), err
    assert_no_token_byte(text, [token])
    assert "<token redacted>" in text
    assert "\x1b" not in text and "\x07" not in text
    if fmt == "json":  # the values as a reader of the JSON gets them
        text = json.dumps(json.loads(text), ensure_ascii=False)
    assert SECRET not in text and KEY_ID not in text and "AKIA…AGEE" in text  # which key, not the key
    assert ACCOUNT not in text and "account-1" in text
    if fmt == "markdown":
        assert "\\\\x1b[2J" in text or "\\x1b[2J" in text  # shown, not done
        assert not re.search(r"^# heading", text, re.M)
        prose = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text)  # outside code spans, nothing is HTML
        assert "<img" not in prose.replace("\\<img", "")
        for line in text.splitlines():
            if line.startswith("| "):  # every table row keeps its cells: no raw pipe from the value
                assert len(re.findall(r"(?<!\\)\|", line)) in (5, 6, 8)


def test_the_done_when_command_as_a_user_runs_it() -> None:
    """`irsa-explorer report --lab walkthrough --pod default/eks-iam-test3 --format markdown`."""
    done = subprocess.run(
        [sys.executable, "-m", "irsa_explorer", "report", "--lab", "walkthrough", "--pod", "default/eks-iam-test3",
         "--format", "markdown"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert MY_SA_ROLE in done.stdout and "`my-sa`" in done.stdout and "**Verdict: ok**" in done.stdout
    assert not JWT.search(done.stdout)


# --- markdown_safe on its own ----------------------------------------------------------------


def test_markdown_values_read_literally() -> None:
    assert md.code_cell("a|b") == "`a\\|b`"
    assert md.code("x ``y`` z") == "```x ``y`` z```"
    assert md.code("`edge`") == "`` `edge` ``"
    assert md.text("[x](http://e) <b>*y*</b> _z_ a_b &amp;") == "\\[x\\](http://e) \\<b>\\*y\\*\\</b> \\_z\\_ a_b \\&amp;"
    assert md.text("bell\x07 esc\x1b rtl\u202e nl\nx") == "bell\\\\x07 esc\\\\x1b rtl\\\\u202e nl x"
    assert md.paragraph("# not a heading") == "\\# not a heading"
    assert md.paragraph("1. not a list") == "1\\. not a list"
    assert md.block("```\nnot closed") == ["````", "```", "not closed", "````"]
    assert md.text("x" * 3000).endswith("… (1000 more characters)")


def test_live_runs_and_cloudtrail_events_are_part_of_the_triage() -> None:
    """What the TUI hands in: `w` runs and CloudTrail events — the sources' TrailEvent or a raw
    CloudTrail record as LookupEvents returns it — rendered, redacted, literal."""
    from datetime import datetime, timezone

    from irsa_explorer.analysis.identity import resolve_all
    from irsa_explorer.model import TrailEvent, Unavailable
    from irsa_explorer.sources.livecheck import LiveResult
    from irsa_explorer import triage
    from test_report_masking import _irsa_inventory

    inventory = _irsa_inventory()
    chains = resolve_all(inventory)
    pod = next(iter(inventory.pods.values()))
    at = datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc)
    denied = LiveResult(pod.ref, "app", at, "aws", False, exit_code=254, error_code="AccessDenied",
                        error_message="not authorized | eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl\x1b[2J")
    record = {"EventId": "1", "CloudTrailEvent": json.dumps({
        "eventTime": "2026-12-05T03:00:00Z", "eventName": "AssumeRoleWithWebIdentity", "eventSource": "sts.amazonaws.com",
        "errorCode": "AccessDenied", "errorMessage": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "userIdentity": {"type": "WebIdentityUser", "principalId": "oidc:system:serviceaccount:default:app"},
        "requestParameters": {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/app-role", "roleSessionName": "botocore-session-1"}})}
    event = TrailEvent("2", "ListBuckets", "s3.amazonaws.com", at, "AssumedRole",
                       f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/botocore-session-1", error_code="AccessDenied",
                       error_message="Access Denied")
    doc = triage.pod_document(inventory, chains[pod.uid], pod, live=[denied], trail=[event, record], accounts=True)
    text = triage.render_markdown(doc)
    live = text.split("## Live identity", 1)[1].split("\n## ", 1)[0]
    assert "| ✗ AccessDenied: not authorized \\| \\<token redacted>\\\\x1b\\[2J (exit 254) |" in live
    trail = text.split("## CloudTrail", 1)[1]
    assert "| `AssumeRoleWithWebIdentity` | `oidc:system:serviceaccount:default:app` | `botocore-session-1` " in trail
    assert "| `ListBuckets` | `arn:aws:sts::account-1:assumed-role/app-role/botocore-session-1` |" in trail
    assert ACCOUNT not in text and "eyJ" not in text and "\x1b" not in text
    unknown = triage.pod_document(inventory, chains[pod.uid], pod,
                                  trail=Unavailable("access denied", "cloudtrail:LookupEvents", "forbidden"))
    assert "unknown: access denied (needs `cloudtrail:LookupEvents`)" in triage.render_markdown(unknown)
