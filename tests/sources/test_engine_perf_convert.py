"""Replicas converted from the API's JSON share one env and one envFrom tuple (what the
analysis' caches recognise by identity), with values exactly as converted one by one."""

from __future__ import annotations

import copy

import pytest

from irsa_explorer.sources import kube_convert
from irsa_explorer.sources.kube_convert import pod_from_dict
from irsa_explorer.model import EnvVar


def _replica(name: str, env: list[dict], env_from: list[dict] | None = None) -> dict:
    container = {
        "name": "app",
        "image": "busybox",
        "env": copy.deepcopy(env),
        "volumeMounts": [{"name": f"kube-api-access-{name}", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
    }
    if env_from is not None:
        container["envFrom"] = copy.deepcopy(env_from)
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}"},
        "spec": {"serviceAccountName": "my-sa", "containers": [container]},
    }


ENV = [
    {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/app"},
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
    {"name": "EMPTY"},
]
ENV_FROM = [{"secretRef": {"name": "aws-creds"}}]


def test_replicas_share_env_and_env_from_with_the_values_of_each() -> None:
    a = pod_from_dict(_replica("a-1", ENV, ENV_FROM)).containers[0]
    b = pod_from_dict(_replica("a-2", ENV, ENV_FROM)).containers[0]
    assert a.env is b.env and a.env_from is b.env_from
    assert a.env == (
        EnvVar("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/app"),
        EnvVar("DB_PASSWORD", None, "secret db/pw"),
        EnvVar("EMPTY", None, None),
    )
    assert a.env_from == ("secret aws-creds",)
    assert a.volume_mounts != b.volume_mounts  # each replica keeps its own volumes


def test_a_different_env_is_not_shared() -> None:
    other = copy.deepcopy(ENV)
    other[0]["value"] = "arn:aws:iam::111122223333:role/other"
    a = pod_from_dict(_replica("b-1", ENV)).containers[0]
    b = pod_from_dict(_replica("b-2", other)).containers[0]
    assert a.env is not b.env
    assert b.env[0] == EnvVar("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/other")
    # A literal value and a valueFrom of the same variable are two different specs.
    c = pod_from_dict(_replica("b-3", [{"name": "X", "value": "secret db/pw"}])).containers[0]
    d = pod_from_dict(_replica("b-4", [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}])).containers[0]
    assert c.env == (EnvVar("X", "secret db/pw"),) and d.env == (EnvVar("X", None, "secret db/pw"),)


def test_no_env_is_the_empty_tuple() -> None:
    container = pod_from_dict(_replica("c-1", [])).containers[0]
    assert container.env == () and container.env_from == ()


@pytest.mark.parametrize("limit", [1, 2])
def test_the_shared_table_stays_bounded_and_right(monkeypatch, limit: int) -> None:
    monkeypatch.setattr(kube_convert, "_SHARED_LIMIT", limit)
    monkeypatch.setattr(kube_convert, "_shared_env", {})
    envs = [[{"name": "N", "value": str(i)}] for i in range(5)]
    for round_ in range(2):
        for i, env in enumerate(envs):
            converted = pod_from_dict(_replica(f"d-{round_}-{i}", env)).containers[0]
            assert converted.env == (EnvVar("N", str(i)),)
            assert len(kube_convert._shared_env) <= limit


def test_the_strings_pods_repeat_are_one_object_each_with_their_values() -> None:
    """Each pod's JSON is parsed on its own (json.loads makes new strings for every pod): the
    namespace, service account, node, image, mount paths, token and label strings come out as
    one object each, so 10,000 pods (and a pickle of a page of them) hold one copy."""
    import json

    def parsed(name: str) -> dict:
        raw = _replica(name, ENV)
        raw["spec"]["nodeName"] = "ip-10-0-0-1.ec2.internal"
        raw["metadata"]["labels"] = {"app": "checkout"}
        raw["spec"]["volumes"] = [{"name": "aws-iam-token", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "sts.amazonaws.com", "path": "token"}}]}}]
        return json.loads(json.dumps(raw))  # fresh strings, as each page of a list

    a, b = pod_from_dict(parsed("c-1")), pod_from_dict(parsed("c-2"))
    assert (a.namespace, a.service_account, a.node_name) == ("default", "my-sa", "ip-10-0-0-1.ec2.internal")
    for x, y in ((a.namespace, b.namespace), (a.service_account, b.service_account), (a.node_name, b.node_name),
                 (a.containers[0].image, b.containers[0].image), (a.containers[0].name, b.containers[0].name),
                 (a.containers[0].volume_mounts[0][1], b.containers[0].volume_mounts[0][1]),
                 (a.labels["app"], b.labels["app"]), (a.projected_tokens[0].audience, b.projected_tokens[0].audience),
                 (a.projected_tokens[0].path, b.projected_tokens[0].path), (a.status, b.status)):
        assert x == y and x is y
    assert a.name == "c-1" and b.name == "c-2" and a.labels == {"app": "checkout"}


def test_values_that_are_not_strings_are_left_as_they_are() -> None:
    raw = _replica("d-1", [{"name": "N", "value": 5}])
    raw["metadata"].update(namespace=7, labels={"k": 3}, annotations=None)
    raw["spec"]["nodeName"] = ["n"]
    pod = pod_from_dict(raw)
    assert (pod.namespace, pod.node_name, pod.labels, pod.annotations) == (7, ["n"], {"k": 3}, {})
    assert pod.containers[0].env == (EnvVar("N", 5),)
