"""Paging of Kubernetes lists against the walkthrough lab, one object a page: the next page is
fetched while the previous one is converted, yet every object comes once and in order, and an
expired continue token (410 Gone) restarts the list once."""

from __future__ import annotations

import pytest
from kubernetes.client.rest import ApiException

from irsa_explorer.sources import kube_paging
from irsa_explorer.sources.kube import ClusterError, KubeSource


@pytest.fixture
def kube(lab):
    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


def test_one_object_a_page_gives_the_same_list(kube, monkeypatch) -> None:
    whole = [p.uid for p in kube.list_pods(None).items]
    assert len(whole) >= 3
    pages: list[str | None] = []
    real = kube.core.list_pod_for_all_namespaces

    def counted(**kwargs):
        pages.append(kwargs.get("_continue"))
        return real(**kwargs)

    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 1)
    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", counted)
    paged = [p.uid for p in kube.list_pods(None).items]
    assert paged == whole
    assert len(pages) == len(whole)  # one request a page, no page asked twice
    assert pages[0] is None and all(pages[1:])


def test_expired_continue_token_restarts_once(kube, monkeypatch) -> None:
    whole = [p.uid for p in kube.list_pods(None).items]
    real = kube.core.list_pod_for_all_namespaces
    expired: list[str] = []

    def expiring(times: int):
        def call(**kwargs):
            if kwargs.get("_continue") and len(expired) < times:
                expired.append(kwargs["_continue"])
                raise ApiException(status=410, reason="Gone")
            return real(**kwargs)
        return call

    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 1)
    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", expiring(1))
    assert [p.uid for p in kube.list_pods(None).items] == whole
    assert len(expired) == 1

    expired.clear()
    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", expiring(2))
    with pytest.raises(ClusterError, match="410"):
        kube.list_pods(None)
