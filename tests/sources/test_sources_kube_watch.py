"""Watches of pods, service accounts and nodes (sources/kube_watch.py) against the lab, over the
real wire: each resource's changes arrive as model objects; a cut watch reconnects and says so;
a user who may not watch everywhere watches what they may, and a forbidden node watch is said
once and ends without an error. Waits are on queues (hang guards only), never on sleeps."""

from __future__ import annotations

import queue
import threading
import uuid
from urllib.parse import urlsplit

import pytest
from kubernetes import client, config

from irsa_explorer.model import ROLE_ARN_ANNOTATION, Node, ServiceAccount
from irsa_explorer.sources.kube import KubeSource, WatchStatus

DEV = "dev@eks-oidc-demo.us-east-2.eksctl.io"  # restricted-user: namespace default only
GUARD = 60  # seconds: a hang guard, not a timing target


class Follower:
    """A watch in a thread: its events and statuses on queues, stopped by `close`."""

    def __init__(self, kube: KubeSource, resource: str, namespace: str | None, version: str = "", **kwargs) -> None:
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.statuses: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = threading.Event()
        self.ended = threading.Event()

        def run() -> None:
            try:
                for kind, obj in kube.watch(resource, namespace, version, self.stop, poll_seconds=2,
                                            on_status=self.statuses.put, **kwargs):
                    self.events.put((kind, obj))
            except BaseException as error:
                self.events.put(("ERROR", error))
            finally:
                self.ended.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def until(self, wanted) -> tuple[str, object]:
        """The first event for which `wanted(kind, obj)` holds (earlier ones are skipped)."""
        while True:
            kind, obj = self.events.get(timeout=GUARD)
            assert kind != "ERROR", obj
            if wanted(kind, obj):
                return kind, obj

    def close(self) -> None:
        self.stop.set()
        self.thread.join(GUARD)
        assert not self.thread.is_alive(), "the watch did not notice stop"


@pytest.fixture
def admin(lab):
    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def kube(lab):
    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


def test_service_accounts_are_watched_as_they_are_made_annotated_and_deleted(kube, admin) -> None:
    name = f"watched-sa-{uuid.uuid4().hex[:6]}"
    arn = "arn:aws:iam::111122223333:role/watched"
    follower = Follower(kube, "serviceaccounts", "default", kube.list_service_accounts("default").resource_version)
    try:
        admin.create_namespaced_service_account("default", {"metadata": {"name": name}})
        kind, sa = follower.until(lambda k, o: o.name == name)
        assert kind == "ADDED" and isinstance(sa, ServiceAccount) and sa.role_arn is None
        admin.patch_namespaced_service_account(name, "default", {"metadata": {"annotations": {ROLE_ARN_ANNOTATION: arn}}})
        kind, sa = follower.until(lambda k, o: o.name == name)
        assert kind == "MODIFIED" and sa.role_arn == arn
        admin.delete_namespaced_service_account(name, "default")
        assert follower.until(lambda k, o: o.name == name)[0] == "DELETED"
    finally:
        follower.close()


def test_nodes_are_watched_from_the_current_state(kube, admin) -> None:
    listed = kube.list_nodes()
    assert isinstance(listed, list) and listed
    node = listed[0]
    follower = Follower(kube, "nodes", None)  # no version: every node first, as ADDED
    label = f"watched-{uuid.uuid4().hex[:6]}"
    try:
        kind, first = follower.until(lambda k, o: o.name == node.name)
        assert kind == "ADDED" and isinstance(first, Node) and first.provider_id == node.provider_id
        admin.patch_node(node.name, {"metadata": {"labels": {label: "yes"}}})
        kind, changed = follower.until(lambda k, o: o.name == node.name and label in o.labels)
        assert kind == "MODIFIED"
    finally:
        admin.patch_node(node.name, {"metadata": {"labels": {label: None}}})
        follower.close()


def test_a_forbidden_node_watch_is_said_once_and_ends_without_an_error(lab_for) -> None:
    restricted = lab_for("restricted-user")
    kube = KubeSource(kubeconfig=str(restricted.kubeconfig), context=DEV)
    try:
        follower = Follower(kube, "nodes", None)
        assert follower.ended.wait(GUARD)
        status = follower.statuses.get(timeout=GUARD)
        assert status.state == "forbidden" and status.resource == "nodes" and "HTTP 403" in status.reason
        assert str(status).startswith("watching nodes is forbidden (HTTP 403")
        assert follower.events.empty() and follower.statuses.empty()  # no error, said once
        follower.close()
    finally:
        kube.close()


def test_a_user_who_may_not_watch_everywhere_watches_the_namespace_they_may_read(lab_for) -> None:
    restricted = lab_for("restricted-user")
    kube = KubeSource(kubeconfig=str(restricted.kubeconfig), context=DEV)
    api = config.new_client_from_config(config_file=str(restricted.kubeconfig), persist_config=False)
    name = f"dev-visible-{uuid.uuid4().hex[:6]}"
    follower = Follower(kube, "serviceaccounts", None)  # every namespace: 403, then `default` alone
    try:
        client.CoreV1Api(api).create_namespaced_service_account("default", {"metadata": {"name": name}})
        kind, sa = follower.until(lambda k, o: o.name == name)
        assert kind == "ADDED" and sa.namespace == "default"
        assert follower.statuses.empty()  # the fallback is no loss
    finally:
        follower.close()
        client.CoreV1Api(api).delete_namespaced_service_account(name, "default")
        api.close()
        kube.close()


def test_a_cut_service_account_watch_reconnects_and_says_so(lab, make_kubeconfig, admin) -> None:
    from tcp_relay import Relay  # tests/tcp_relay.py

    relay = Relay(urlsplit(lab.kube_url).port)
    kube = KubeSource(kubeconfig=str(make_kubeconfig(server=f"https://127.0.0.1:{relay.port}")))
    version = kube.list_service_accounts("default").resource_version
    relay.cut()  # before the watch starts: its first connections are refused
    follower = Follower(kube, "serviceaccounts", "default", version, backoff=(0.05, 0.2))
    name = f"after-blip-{uuid.uuid4().hex[:6]}"
    try:
        first = follower.statuses.get(timeout=GUARD)
        assert (first.state, first.resource, first.attempt) == ("reconnecting", "serviceaccounts", 1)
        assert "watch serviceaccounts" in first.reason and str(first).startswith("watch lost: ")
        relay.up.set()  # the blip is over
        while (status := follower.statuses.get(timeout=GUARD)).state == "reconnecting":
            pass
        assert status == WatchStatus("watching", "", resource="serviceaccounts")
        admin.create_namespaced_service_account("default", {"metadata": {"name": name}})
        assert follower.until(lambda k, o: o.name == name)[0] == "ADDED"  # made after the blip, seen
    finally:
        follower.close()
        admin.delete_namespaced_service_account(name, "default")
        kube.close()
        relay.close()


def test_pods_are_still_watched_through_watch_pods(kube, admin) -> None:
    """KubeSource.watch_pods is the same watch, for the callers that knew it."""
    stop = threading.Event()
    events: queue.SimpleQueue = queue.SimpleQueue()
    name = f"watched-pod-{uuid.uuid4().hex[:6]}"
    version = kube.list_pods("default").resource_version  # before the pod is made: its ADDED comes after

    def run() -> None:
        for kind, pod in kube.watch_pods("default", version, stop, poll_seconds=2):
            events.put((kind, pod.name))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        admin.create_namespaced_pod("default", {
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "amazon/aws-cli", "command": ["sleep", "600"]}]},
        })
        while events.get(timeout=GUARD) != ("ADDED", name):
            pass
    finally:
        admin.delete_namespaced_pod(name, "default", grace_period_seconds=0)
        stop.set()
        thread.join(GUARD)
