"""Conversion of the API's JSON into model objects, and the small parsers around the sources.

These need no server: they pin the rules (kubectl's STATUS column, valueFrom descriptions,
context-name forms, role ARN matching, SDK error strings) that the lab tests then exercise
over the wire.
"""

from __future__ import annotations

import pytest

from irsa_explorer.analysis.arns import parse_role_arn
from irsa_explorer.sources.aws_errors import unavailable_from
from irsa_explorer.sources.kube import _exit_code, parse_eks_context
from irsa_explorer.sources.kube_convert import pod_from_dict, pod_status_text
from irsa_explorer.sources.livecheck import _parse_error, mask_tokens, same_role

IRSA_POD = {
    "metadata": {
        "name": "eks-iam-test3",
        "namespace": "default",
        "uid": "u-3",
        "resourceVersion": "42",
        "creationTimestamp": "2024-03-30T00:29:51Z",
        "labels": {"app": "demo"},
    },
    "spec": {
        "serviceAccountName": "my-sa",
        "nodeName": "ip-192-168-1-169.us-east-2.compute.internal",
        "securityContext": {"fsGroup": 65534, "runAsUser": 1000},
        "initContainers": [{"name": "setup", "image": "busybox"}],
        "containers": [
            {
                "name": "my-aws-cli",
                "image": "amazon/aws-cli:latest",
                "env": [
                    {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::113534181560:role/r"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                ],
                "envFrom": [{"secretRef": {"name": "aws-creds"}}, {"configMapRef": {"name": "cfg"}, "prefix": "X_"}],
                "volumeMounts": [
                    {"name": "aws-iam-token", "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}
                ],
            }
        ],
        "volumes": [
            {
                "name": "aws-iam-token",
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}
                    ]
                },
            },
            {
                "name": "kube-api-access-abcde",
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt"}},
                    ]
                },
            },
        ],
    },
    "status": {
        "phase": "Running",
        "containerStatuses": [{"name": "my-aws-cli", "ready": True, "state": {"running": {}}}],
    },
}


def test_pod_fields_come_from_the_spec() -> None:
    pod = pod_from_dict(IRSA_POD)
    assert (pod.namespace, pod.name, pod.uid, pod.service_account) == ("default", "eks-iam-test3", "u-3", "my-sa")
    assert pod.node_name == "ip-192-168-1-169.us-east-2.compute.internal"
    assert (pod.fs_group, pod.run_as_user, pod.resource_version) == (65534, 1000, "42")
    assert pod.created is not None and pod.created.year == 2024 and pod.created.tzinfo is not None
    assert [(c.name, c.init) for c in pod.containers] == [("setup", True), ("my-aws-cli", False)]
    main = pod.containers[1]
    assert main.env_value("AWS_ROLE_ARN") == "arn:aws:iam::113534181560:role/r"
    secret_var = next(v for v in main.env if v.name == "DB_PASSWORD")
    assert secret_var.value is None and secret_var.value_from == "secret db/pw"
    assert next(v for v in main.env if v.name == "NODE").value_from == "field spec.nodeName"
    assert main.env_from == ("secret aws-creds", "configMap cfg (prefix X_)")
    assert main.volume_mounts == (("aws-iam-token", "/var/run/secrets/eks.amazonaws.com/serviceaccount"),)
    tokens = {t.volume: t for t in pod.projected_tokens}
    assert tokens["aws-iam-token"].audience == "sts.amazonaws.com"
    assert tokens["aws-iam-token"].expiration_seconds == 86400
    assert tokens["kube-api-access-abcde"].audience is None  # the API server's default audience
    assert pod.status == "Running" and pod.phase == "Running"


def _pod_with(status: dict, **metadata) -> dict:
    return {"metadata": {"name": "p", **metadata}, "spec": {"containers": [{"name": "c"}]}, "status": status}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"phase": "Pending"}, "Pending"),
        ({"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}, "ContainerCreating"),
        ({"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 254, "reason": "Error"}}}]}, "Error"),
        ({"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}, "Completed"),
        ({"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 3}}}]}, "ExitCode:3"),
        ({"phase": "Running", "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}, "CrashLoopBackOff"),
        ({"phase": "Pending", "initContainerStatuses": [{"state": {"waiting": {"reason": "PodInitializing"}}}]}, "Init:0/1"),
        ({"phase": "Pending", "initContainerStatuses": [{"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}, "Init:Error"),
        ({"phase": "Failed", "reason": "Evicted"}, "Evicted"),
    ],
)
def test_status_column_follows_kubectl(status: dict, expected: str) -> None:
    raw = _pod_with(status)
    if "initContainerStatuses" in status:
        raw["spec"]["initContainers"] = [{"name": "i"}]
    assert pod_status_text(raw) == expected


def test_terminating_wins() -> None:
    assert pod_status_text(_pod_with({"phase": "Running"}, deletionTimestamp="2024-01-01T00:00:00Z")) == "Terminating"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ("2024iamadmin@eks-oidc-demo.us-east-2.eksctl.io", ("eks-oidc-demo", "us-east-2")),
        ("arn:aws:eks:eu-west-1:123456789012:cluster/prod", ("prod", "eu-west-1")),
        ("arn:aws-us-gov:eks:us-gov-west-1:123456789012:cluster/gov", ("gov", "us-gov-west-1")),
        ("kind-kind", (None, None)),
        (None, (None, None)),
    ],
)
def test_cluster_name_from_context(context, expected) -> None:
    assert parse_eks_context(context) == expected


def test_exec_exit_code_from_channel_three_status() -> None:
    assert _exit_code('{"metadata":{},"status":"Success"}') == 0
    failure = '{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"127"}]}}'
    assert _exit_code(failure) == 127
    assert _exit_code("") is None and _exit_code("not json") is None


def test_role_arn_parsing_and_session_matching() -> None:
    team = parse_role_arn("arn:aws:iam::111122223333:role/team/app")
    assert (team.account, team.path, team.name) == ("111122223333", "/team/", "app")
    plain = parse_role_arn("arn:aws:iam::111122223333:role/app")
    assert (plain.account, plain.path, plain.name) == ("111122223333", "/", "app")
    for bad in ("app", "arn:aws:iam::111122223333:user/app", "arn:aws:iam::abc:role/app", "arn:aws:iam::1:role/"):
        assert parse_role_arn(bad) is None
    session = "arn:aws:sts::111122223333:assumed-role/app/botocore-session-1"
    assert same_role(session, "arn:aws:iam::111122223333:role/team/app") is True  # paths are not in session ARNs
    assert same_role(session, "arn:aws:iam::111122223333:role/other") is False
    assert same_role(session, "arn:aws:iam::999999999999:role/app") is False
    assert same_role(session, None) is None


def test_sdk_error_text_is_classified() -> None:
    code, message, hint = _parse_error(
        "\nAn error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: "
        "No OpenIDConnect provider found in your account for https://oidc.eks.us-east-2.amazonaws.com/id/X\n"
    )
    assert code == "InvalidIdentityToken" and message.startswith("No OpenIDConnect provider found")
    assert "OIDC provider" in hint
    code, _, hint = _parse_error('Unable to locate credentials. You can configure credentials by running "aws configure".')
    assert code is None and "no credentials" in hint


def test_tokens_are_masked() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"
    assert token not in mask_tokens(f"got {token} back")


def test_access_denied_and_missing_stay_apart() -> None:
    from botocore.exceptions import ClientError

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetRole")
    missing = ClientError({"Error": {"Code": "NoSuchEntity", "Message": "gone"}}, "GetRole")
    assert unavailable_from(denied, "iam:GetRole").kind == "forbidden"
    assert unavailable_from(denied, "iam:GetRole").permission == "iam:GetRole"
    assert unavailable_from(missing, "iam:GetRole").kind == "not-found"
