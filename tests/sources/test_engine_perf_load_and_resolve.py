"""load_and_resolve against the walkthrough lab: the inventory load_inventory gives and the
chains resolve_all gives, with pages resolved as they arrive; failures raise as load_inventory
raises them; a list restarted after an expired continue token is resolved from its new pods."""

from __future__ import annotations

import threading

import pytest
from kubernetes.client.rest import ApiException

from irsa_explorer.sources import kube_paging
from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import ClusterError, KubeSource
from irsa_explorer.sources.inventory import load_and_resolve, load_inventory

FIELDS = ("pods", "service_accounts", "nodes", "roles", "node_roles", "associations", "oidc_providers",
          "cluster", "issuer", "notes")


@pytest.fixture
def kube(lab):
    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


@pytest.fixture
def aws(lab):
    return AwsSource.from_env(lab.aws_env)


def _same_inventory(a, b) -> None:
    for name in FIELDS:
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("discover_issuer", [False, True])
def test_same_inventory_and_chains_as_load_then_resolve(kube, aws, monkeypatch, discover_issuer: bool) -> None:
    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 1)  # one pod a page: most pods resolved page by page
    expected = load_inventory(kube, aws, None, discover_issuer=discover_issuer)
    expected_chains = resolve_all(expected)
    stages: list[str] = []
    handed: list[str] = []
    threads: set[str] = set()

    def on_pods(pods) -> None:
        handed.extend(p.uid for p in pods)
        threads.add(threading.current_thread().name)

    inventory, chains = load_and_resolve(kube, aws, None, on_stage=lambda s, _: stages.append(s),
                                         discover_issuer=discover_issuer, on_pods=on_pods)
    _same_inventory(inventory, expected)
    assert list(chains.items()) == list(expected_chains.items())  # same chains, same order
    assert handed == list(inventory.pods)
    assert stages == ["kubernetes", "aws"]
    assert threading.current_thread().name not in threads  # pages are handed on from a worker


def test_a_namespace_as_well(kube, aws) -> None:
    expected = load_inventory(kube, aws, "default", discover_issuer=False)
    inventory, chains = load_and_resolve(kube, aws, "default", discover_issuer=False)
    _same_inventory(inventory, expected)
    assert chains == resolve_all(expected)


def test_a_pod_list_that_fails_raises(kube, aws, monkeypatch) -> None:
    def broken(**kwargs):
        raise ApiException(status=500, reason="Internal Server Error")

    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", broken)
    with pytest.raises(ClusterError, match="500"):
        load_and_resolve(kube, aws, None, discover_issuer=False)


def test_pods_listed_again_after_an_expired_token_are_resolved_again(kube, aws, monkeypatch) -> None:
    real = kube.core.list_pod_for_all_namespaces
    expired: list[str] = []

    def expiring_once(**kwargs):
        if kwargs.get("_continue") and not expired:
            expired.append(kwargs["_continue"])
            raise ApiException(status=410, reason="Gone")
        return real(**kwargs)

    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 1)
    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", expiring_once)
    handed: list[str] = []
    inventory, chains = load_and_resolve(kube, aws, None, discover_issuer=False,
                                         on_pods=lambda pods: handed.extend(p.uid for p in pods))
    assert expired  # the first page came twice: once before, once after the restart
    assert handed.count(handed[0]) == 2
    assert chains == resolve_all(inventory)
    assert list(chains) == list(inventory.pods)
