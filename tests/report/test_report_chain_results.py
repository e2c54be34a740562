"""The report renders the chain's typed results: the effective identity (where from, why) and the
trust decision for the request the mechanism makes — the same values the TUI's panes show."""

from __future__ import annotations

import io
import json

import pytest

from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.cli import build_parser
from irsa_explorer.model import (
    POD_IDENTITY_TOKEN_PATH,
    POD_IDENTITY_URI,
    POD_IDENTITY_VOLUME,
    Cluster,
    Container,
    EnvVar,
    Inventory,
    Pod,
    PodIdentityAssociation,
    ProjectedToken,
    Role,
    ServiceAccount,
)
from irsa_explorer.report import build_report, main, render
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

ACCOUNT = "113534181560"
CLUSTER = Cluster("demo", f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/demo", "us-east-2", ACCOUNT,
                  "https://oidc.eks.us-east-2.amazonaws.com/id/X", "1.29")
PI_ROLE = f"arn:aws:iam::{ACCOUNT}:role/uploader"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/nodes"
ASSUME_ROLE_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _inventory() -> Inventory:
    pi_env = (EnvVar("AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_IDENTITY_URI),
              EnvVar("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", POD_IDENTITY_TOKEN_PATH))
    mount = ((POD_IDENTITY_VOLUME, POD_IDENTITY_TOKEN_PATH.rsplit("/", 1)[0]),)
    pods = [
        Pod(f"pi-{i}", "default", f"uploader-{i}", "uploader", "n1", "Running", "Running", None,
            containers=(Container("app", "img", env=pi_env, volume_mounts=mount),),
            projected_tokens=(ProjectedToken(POD_IDENTITY_VOLUME, "pods.eks.amazonaws.com", 86400,
                                             "eks-pod-identity-token"),))
        for i in range(3)
    ]
    pods.append(Pod("plain", "default", "plain", "default", "n1", "Running", "Running", None,
                    containers=(Container("app", "img"),)))
    return Inventory(
        context="test", namespace=None,
        pods={p.uid: p for p in pods},
        service_accounts={("default", name): ServiceAccount(f"sa-{name}", "default", name)
                          for name in ("uploader", "default")},
        cluster=CLUSTER, oidc_providers=[],
        roles={PI_ROLE: Role(PI_ROLE, "uploader", ACCOUNT, ASSUME_ROLE_ONLY),
               NODE_ROLE: Role(NODE_ROLE, "nodes", ACCOUNT, {})},
        node_roles={"n1": NODE_ROLE},
        associations=[PodIdentityAssociation("a-1", "demo", "default", "uploader", PI_ROLE)],
    )


def test_json_carries_the_trust_decision_and_the_effective_identity():
    inventory = _inventory()
    report = build_report(inventory, resolve_all(inventory))
    doc = json.loads(render(report, "json"))
    pods = {p["name"]: p for p in doc["pods"]}
    uploader = pods["uploader-0"]
    assert uploader["verdict"] == "broken"
    trust = uploader["trust"]
    assert trust["role_arn"] == PI_ROLE and trust["decision"] == "not-allowed"
    assert "sts:TagSession" in trust["reason"]
    assert [(r["action"], r["decision"]) for r in trust["requests"]] == [
        ("sts:AssumeRole", "allow"), ("sts:TagSession", "not-allowed")]
    assert "session tags" in trust["evaluated_for"]
    assert uploader["effective"]["status"] == "broken" and uploader["effective"]["arn"] is None
    plain = pods["plain"]
    assert plain["trust"] is None
    assert plain["effective"]["mechanism"] == "node-role" and plain["effective"]["arn"] == NODE_ROLE
    assert plain["effective"]["node"] == "n1" and "n1" in plain["effective"]["source"]
    assert plain["effective_identity"] == NODE_ROLE  # the v1 field, unchanged


def test_shared_results_are_rendered_once():
    inventory = _inventory()
    report = build_report(inventory, resolve_all(inventory))
    uploaders = [p for p in report["pods"] if p["name"].startswith("uploader-")]
    assert len(uploaders) == 3
    assert all(p["trust"] is uploaders[0]["trust"] for p in uploaders)
    assert all(p["effective"] is uploaders[0]["effective"] for p in uploaders)


@pytest.fixture(scope="module")
def no_tag_session_lab(lab_for):
    return lab_for("pod-identity-no-tag-session")


def test_report_on_the_no_tag_session_scenario(no_tag_session_lab):
    kube = KubeSource(kubeconfig=str(no_tag_session_lab.kubeconfig))
    aws = AwsSource.from_env(no_tag_session_lab.aws_env)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(build_parser().parse_args(["report", "--format", "json"]), stdout=out, stderr=err,
                    sources=(kube, aws))
    finally:
        kube.close()
    assert code == 1, err.getvalue()
    [reporter] = [p for p in json.loads(out.getvalue())["pods"] if p["name"] == "reporter"]
    assert (reporter["mechanism"], reporter["verdict"]) == ("pod-identity", "broken")
    assert reporter["trust"]["decision"] == "not-allowed" and "sts:TagSession" in reporter["trust"]["reason"]
    assert {f["code"] for f in reporter["findings"]} == {"POD_IDENTITY_TRUST_INVALID"}
    assert reporter["effective"]["label"] == "no credentials"
