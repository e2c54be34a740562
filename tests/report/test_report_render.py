"""The report document and its renderings, from hand-built model objects (no servers).

The lab-backed tests (test_report_lab.py) check the diagnosis itself; these pin the output
contract of docs/report.md: keys, exit codes, the unknown shape, and that no token leaks.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

from irsa_explorer.model import (
    ChainLink,
    Evidence,
    Finding,
    IdentityChain,
    Inventory,
    LinkStatus,
    Mechanism,
    ObjectRef,
    Pod,
    Severity,
    Unavailable,
    Verdict,
)
from irsa_explorer.report import build_report, exit_code_for, render, write_json

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"


def _inventory() -> tuple[Inventory, dict[str, IdentityChain]]:
    pods = [
        Pod("u1", "default", "eks-iam-test1", "default", "n1", "Failed", "Error", None),
        Pod("u3", "default", "eks-iam-test3", "my-sa", "n1", "Running", "Running", None),
    ]
    inv = Inventory(
        context="lab@eks-oidc-demo.us-east-2.eksctl.io",
        namespace=None,
        pods={p.uid: p for p in pods},
        cluster=Unavailable("access denied: no", "eks:DescribeCluster", "forbidden"),
        notes=("listing pods in all namespaces is forbidden",),
    )
    finding = Finding(
        code="NODE_ROLE_FALLBACK",
        severity=Severity.WARNING,
        title="No IRSA: the pod uses the node's role",
        explanation=f"token was {TOKEN}",
        evidence=(Evidence(ObjectRef("Pod", "eks-iam-test1", "default"), "spec.containers[0].env", None),),
        fix="kubectl annotate sa default eks.amazonaws.com/role-arn=ARN\nkubectl delete pod eks-iam-test1",
    )
    chains = {
        "u1": IdentityChain(
            pods[0].ref, Mechanism.NODE_ROLE, None, "arn:aws:iam::1:role/node", Verdict.WARNING,
            (ChainLink("pod", "eks-iam-test1", LinkStatus.OK),), (finding,),
        ),
        "u3": IdentityChain(pods[1].ref, Mechanism.IRSA, "arn:aws:iam::1:role/r", "arn:aws:iam::1:role/r", Verdict.OK),
    }
    return inv, chains


def test_json_document_has_the_documented_fields() -> None:
    report = build_report(*_inventory())
    text = render(report, "json")
    doc = json.loads(text)
    assert doc["schema"] == "irsa-explorer.report/v1"
    assert doc["cluster"] == {"unknown": True, "reason": "access denied: no", "permission": "eks:DescribeCluster", "kind": "forbidden"}
    assert doc["summary"]["pods"] == 2 and doc["summary"]["ok"] == 1 and doc["summary"]["warning"] == 1
    assert doc["summary"]["by_mechanism"] == {"node-role": 1, "irsa": 1}
    first = doc["pods"][0]
    for key in ("namespace", "name", "service_account", "mechanism", "verdict", "intended_role_arn",
                "effective_identity", "findings", "chain", "status", "node", "uid"):
        assert key in first
    assert first["findings"][0]["code"] == "NODE_ROLE_FALLBACK"
    assert set(first["findings"][0]) >= {"code", "severity", "title", "fix", "explanation", "evidence"}
    assert TOKEN not in text


def test_json_written_a_few_pods_at_a_time_is_the_same_text() -> None:
    """`report` streams compact JSON (write_json) rather than building it whole: the very text
    render gives, whatever the batch size, with or without pods."""
    report = build_report(*_inventory())
    for batch in (1, 2, 200):
        out = io.StringIO()
        write_json(report, out, batch=batch)
        assert out.getvalue() == render(report, "json", pretty=False)
    empty = {**report, "pods": []}
    out = io.StringIO()
    write_json(empty, out)
    assert out.getvalue() == render(empty, "json", pretty=False) and json.loads(out.getvalue())["pods"] == []


def test_secrets_from_pod_specs_are_redacted() -> None:
    from irsa_explorer.model import Container, EnvVar

    inv, chains = _inventory()
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    pod = inv.pods["u1"]
    inv.pods["u1"] = Pod(
        pod.uid, pod.namespace, pod.name, pod.service_account, pod.node_name, pod.phase, pod.status, None,
        containers=(Container("c", "img", env=(EnvVar("AWS_SECRET_ACCESS_KEY", secret),)),),
    )
    chain = chains["u1"]
    leaky = Finding("STATIC_KEYS_IN_ENV", Severity.ERROR, "keys", f"AWS_SECRET_ACCESS_KEY={secret}")
    chains["u1"] = IdentityChain(chain.pod, Mechanism.STATIC_KEYS, None, None, Verdict.BROKEN, findings=(leaky,))
    for fmt in ("json", "table", "markdown"):
        text = render(build_report(inv, chains), fmt)
        assert secret not in text
    assert "<secret redacted>" in render(build_report(inv, chains), "json")


def test_exit_code_is_one_when_a_pod_is_broken_or_unknown() -> None:
    inv, chains = _inventory()
    # u1 is a warning (node role), u3 ok: nothing is broken, unless warnings are asked to fail.
    assert exit_code_for(build_report(inv, chains)) == 0
    assert exit_code_for(build_report(inv, chains), fail_on="warning") == 1
    broken = dict(chains, u1=IdentityChain(inv.pods["u1"].ref, Mechanism.IRSA, "r", None, Verdict.BROKEN))
    assert exit_code_for(build_report(inv, broken)) == 1
    ok_only = {"u3": chains["u3"]}
    del inv.pods["u1"]
    assert exit_code_for(build_report(inv, ok_only)) == 0
    unknown = {"u3": IdentityChain(inv.pods["u3"].ref, Mechanism.IRSA, "r", None, Verdict.UNKNOWN)}
    assert exit_code_for(build_report(inv, unknown)) == 1
    inv = replace(inv, pods={}, notes=())
    assert exit_code_for(build_report(inv, {})) == 0  # an empty namespace is fine…
    inv = replace(inv, notes=("listing pods forbidden in every namespace",))
    assert exit_code_for(build_report(inv, {})) == 1  # …a cluster we could not read is not


def test_table_and_markdown_show_rows_findings_and_fixes() -> None:
    report = build_report(*_inventory())
    table = render(report, "table")
    assert "eks-iam-test1" in table and "node-role" in table and "NODE_ROLE_FALLBACK" in table
    assert "fix: kubectl annotate sa default" in table
    assert "note: listing pods in all namespaces is forbidden" in table
    markdown = render(report, "markdown")
    assert "| default | eks-iam-test3 | my-sa | irsa | **ok** |" in markdown
    assert "```\nkubectl annotate sa default" in markdown
    assert TOKEN not in table and TOKEN not in markdown


def test_cannot_run_is_exit_two_with_a_reason_and_no_traceback(tmp_path) -> None:
    from irsa_explorer.cli import build_parser
    from irsa_explorer.report import main

    args = build_parser().parse_args(["report", "--kubeconfig", str(tmp_path / "missing"), "--format", "json"])
    out, err = io.StringIO(), io.StringIO()
    assert main(args, stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith("irsa-explorer report: cannot run:")
    assert "Traceback" not in err.getvalue()


def test_target_options_before_report_are_kept() -> None:
    """`irsa-explorer --kubeconfig F report` reads F: the subcommand's copy of the option must not
    put its default back over the value given before it."""
    from irsa_explorer.cli import build_parser

    parse = build_parser().parse_args
    before = parse(["--kubeconfig", "k.yaml", "--context", "c", "-n", "ns", "--profile", "p", "--region", "r",
                    "--account-profile", "222233334444=m", "--cluster", "x", "--request-timeout", "3s", "report"])
    after = parse(["report", "--kubeconfig", "k.yaml", "--context", "c", "-n", "ns", "--profile", "p", "--region", "r",
                   "--account-profile", "222233334444=m", "--cluster", "x", "--request-timeout", "3s"])
    assert vars(before) == vars(after)
    assert before.kubeconfig == "k.yaml" and before.namespace == "ns" and before.request_timeout == 3
    plain = parse(["report"])
    assert plain.kubeconfig is None and plain.all_namespaces is False and plain.account_profile == []
    assert plain.request_timeout == parse([]).request_timeout  # the default, given nowhere
