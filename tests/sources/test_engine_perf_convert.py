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
