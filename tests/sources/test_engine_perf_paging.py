"""Pipelined paging against the walkthrough lab: the next page is asked for as soon as the
previous page's continue token is read from the head of its JSON, whatever the consumer is
doing with that page; the list is the same, in the same order, with one request a page."""

from __future__ import annotations

import json
import threading

import pytest
from kubernetes.client.rest import ApiException

from irsa_explorer.sources import kube_paging
from irsa_explorer.sources.kube import ClusterError, KubeSource
from irsa_explorer.sources.kube_convert import pod_from_dict
from irsa_explorer.sources.kube_paging import list_metadata


@pytest.fixture
def kube(lab):
    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


class _Page:
    """What a raw list call returns, as far as paging reads it."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _recorded(real, requests: list[str | None]):
    def call(**kwargs):
        requests.append(kwargs.get("_continue"))
        return real(**kwargs)

    return call


# --- the list's metadata from the head of a page ------------------------------------------------


def test_metadata_read_from_the_head_is_the_whole_page_s(kube) -> None:
    data = kube.core.list_pod_for_all_namespaces(limit=1, _preload_content=False).data
    assert len(data) > 1000  # a real page: the head is a small part of it
    head = list_metadata(data)
    assert head == json.loads(data)["metadata"]
    assert head["continue"]  # the walkthrough has more than one pod


@pytest.mark.parametrize(
    "text",
    [
        '{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"abc","resourceVersion":"7"},"items":[]}',
        '{\n  "kind": "PodList",\n  "apiVersion": "v1",\n  "metadata": {"continue": "abc", "resourceVersion": "7"},\n  "items": []\n}',
        '  {"metadata":{"continue":"abc","resourceVersion":"7"},"kind":"PodList"}',
    ],
)
def test_metadata_before_items_is_found_in_any_layout(text: str) -> None:
    assert list_metadata(text.encode()) == {"continue": "abc", "resourceVersion": "7"}


@pytest.mark.parametrize(
    "text",
    [
        '{"kind":"PodList","items":[],"metadata":{"continue":"abc"}}',  # items first: parse it all
        '{"kind":"PodList","metadata":' + '{"x":"' + "y" * kube_paging.LIST_HEAD_BYTES + '"}}',  # cut off
        '{"kind":"PodList","metadata":"odd"}',
        '["not", "a", "list"]',
        "",
        "not json",
    ],
)
def test_metadata_not_at_the_head_is_none(text: str) -> None:
    assert list_metadata(text.encode()) is None


# --- pipelining ---------------------------------------------------------------------------------


def test_pages_are_requested_while_the_first_is_still_being_converted(kube, monkeypatch) -> None:
    whole = [p.uid for p in kube.list_pods(None).items]
    requests: list[str | None] = []
    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 1)
    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", _recorded(kube.core.list_pod_for_all_namespaces, requests))
    every_page_asked = threading.Event()
    seen_while_converting: list[int] = []

    def slow_convert(raw: dict):
        if not seen_while_converting:
            # Hold the first page until every page has been asked for: only a fetcher that
            # does not wait for conversion gets there (bounded, so a regression fails, not hangs).
            for _ in range(200):
                if len(requests) == len(whole):
                    every_page_asked.set()
                    break
                every_page_asked.wait(0.05)
            seen_while_converting.append(len(requests))
        return pod_from_dict(raw)

    listing = kube._list("pods", kube.core.list_pod_for_all_namespaces, kube.core.list_namespaced_pod, None, slow_convert)
    assert every_page_asked.is_set(), seen_while_converting
    assert [p.uid for p in listing.items] == whole
    assert len(requests) == len(whole)  # one request a page, none asked twice
    assert requests[0] is None and all(requests[1:])


def test_on_page_gets_each_page_in_order(kube, monkeypatch) -> None:
    whole = [p.uid for p in kube.list_pods(None).items]
    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 2)
    pages: list[list[str]] = []
    listing = kube.list_pods(None, on_page=lambda pods: pages.append([p.uid for p in pods]))
    assert [p.uid for p in listing.items] == whole
    assert [uid for page in pages for uid in page] == whole
    assert [len(page) for page in pages] == [2] * (len(whole) // 2) + ([len(whole) % 2] if len(whole) % 2 else [])


def test_a_page_whose_metadata_comes_last_is_parsed_whole(kube, monkeypatch) -> None:
    whole = [p.uid for p in kube.list_pods(None).items]
    real = kube.core.list_pod_for_all_namespaces
    reordered: list[bool] = []

    def items_first(**kwargs):
        body = json.loads(real(**kwargs).data)
        again = {"items": body["items"], "kind": body["kind"], "metadata": body["metadata"]}
        data = json.dumps(again).encode()
        reordered.append(list_metadata(data) is None)
        return _Page(data)

    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 1)
    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", items_first)
    assert [p.uid for p in kube.list_pods(None).items] == whole
    assert reordered == [True] * len(whole)


def test_a_page_that_contradicts_its_head_is_refused(kube, monkeypatch) -> None:
    real = kube.core.list_pod_for_all_namespaces

    def two_tokens(**kwargs):
        body = json.loads(real(**kwargs).data)
        text = json.dumps({"metadata": {"continue": "first"}, **body})
        # a second "metadata" key: json.loads keeps the last, the head reader the first
        return _Page(text[:-1].encode() + b',"metadata":{"continue":"second"}}')

    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", two_tokens)
    with pytest.raises(ClusterError, match="contradicts"):
        kube.list_pods(None)


def test_an_error_on_a_later_page_reaches_the_caller_after_the_pages_before_it(kube, monkeypatch) -> None:
    real = kube.core.list_pod_for_all_namespaces
    requests: list[str | None] = []

    def failing_second(**kwargs):
        requests.append(kwargs.get("_continue"))
        if len(requests) == 2:  # an error asking again cannot mend (a 5xx would be asked again)
            raise ApiException(status=404, reason="Not Found")
        return real(**kwargs)

    pages: list[int] = []
    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 1)
    monkeypatch.setattr(kube.core, "list_pod_for_all_namespaces", failing_second)
    with pytest.raises(ClusterError, match="404"):
        kube.list_pods(None, on_page=lambda pods: pages.append(len(pods)))
    assert pages == [1]  # the first page was handed on before the failure
    assert len(requests) == 2  # and nothing was asked after it
