"""The least privilege docs/ ships (iam-policy.json, clusterrole.yaml) is enough for a complete
answer, and less is "unknown" naming the missing permission — checked through the lab's real
IAM enforcement and RBAC, with the scenarios `least-privilege` and `missing-permissions`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from irsa_explorer.cli import build_parser
from irsa_explorer.model import Unavailable
from irsa_explorer.report import main
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "src" / "irsa_explorer" / "lab" / "scenarios"


def report_as(lab, context: str | None, env: dict[str, str]) -> tuple[int, dict]:
    kube = KubeSource(context=context, kubeconfig=str(lab.kubeconfig))
    aws = AwsSource.from_env(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(build_parser().parse_args(["report", "-A", "--format", "json"]), stdout=out, stderr=err,
                    sources=(kube, aws))
    finally:
        kube.close()
    assert code in (0, 1), err.getvalue()
    return code, json.loads(out.getvalue())


def keys_of(lab, lab_aws_client, user: str) -> dict[str, str]:
    key = lab_aws_client(lab, "iam").create_access_key(UserName=user)["AccessKey"]
    return dict(lab.aws_env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])


def context_of(lab, user: str) -> str:
    return lab.context.replace("lab@", f"{user}@", 1)


def test_the_scenarios_policy_is_the_documented_one():
    documented = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    steps = yaml.safe_load((SCENARIOS / "least-privilege.yaml").read_text())["steps"]
    policy = next(s["params"]["PolicyDocument"] for s in steps if s.get("aws") == "iam.put_user_policy")
    assert policy == documented
    roles = list(yaml.safe_load_all((ROOT / "docs" / "clusterrole.yaml").read_text()))
    reader = next(r for r in roles if r["kind"] == "ClusterRole" and r["metadata"]["name"] == "irsa-explorer-reader")
    assert reader["rules"][0]["verbs"] == ["get", "list", "watch"]  # read-only


def test_least_privilege_gives_the_same_complete_answer_as_the_admin(lab_for, lab_aws_client):
    lab = lab_for("least-privilege")
    env = keys_of(lab, lab_aws_client, "irsa-explorer-reader")
    _, admin = report_as(lab, None, lab.aws_env)
    _, reader = report_as(lab, context_of(lab, "reader"), env)

    def answers(report: dict) -> list:
        return [(p["namespace"], p["name"], p["verdict"], p["effective_identity"], [c["status"] for c in p["chain"]])
                for p in report["pods"]]

    assert answers(reader) == answers(admin)
    assert reader["notes"] == [] and reader["summary"]["unknown"] == 0
    assert "unknown" not in json.dumps(reader["pods"]).lower().replace('"unknown": 0', "")
    # what the TUI asks when a role is opened: its policies and each attached policy's document
    aws = AwsSource.from_env(env)
    role = next(p["intended_role_arn"] for p in reader["pods"] if p["intended_role_arn"])
    policies = aws.role_policies(role)
    assert not isinstance(policies, Unavailable), policies
    assert policies.attached and not isinstance(aws.policy_document(policies.attached[0].arn), Unavailable)
    assert not isinstance(aws.list_roles(), Unavailable)


@pytest.mark.parametrize("context_user", ["reader", "dev"])
def test_less_than_that_is_unknown_naming_the_permission(lab_for, lab_aws_client, context_user):
    lab = lab_for("missing-permissions")
    env = keys_of(lab, lab_aws_client, "irsa-explorer-partial")
    code, report = report_as(lab, context_of(lab, context_user), env)
    assert code == 1  # unknown is not "all is well"
    irsa = next(p for p in report["pods"] if p["name"] == "eks-iam-test3")
    assert irsa["verdict"] == "unknown"
    assert any("iam:GetRole" in (link["detail"] or "") for link in irsa["chain"]), irsa["chain"]
    node_pod = next(p for p in report["pods"] if p["name"] == "eks-iam-test2")
    assert node_pod["verdict"] == "unknown"
    details = " ".join(link["detail"] or "" for link in node_pod["chain"])
    if context_user == "dev":  # namespace default only: nodes are forbidden to it
        assert "list nodes" in details, details
        assert any("forbidden" in note for note in report["notes"])
    else:
        assert "ec2:DescribeInstances" in details, details
