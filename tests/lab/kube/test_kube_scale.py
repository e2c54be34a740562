"""A large lab: 10,000 pods seeded through the store-backed API, listed in pages of 500."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from irsa_explorer.lab.kube.server import KubeApiServer
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.lab.tokens import TokenSigner

PODS = 10_000
NAMESPACES = 20


@pytest.fixture(scope="module")
def big_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KubeApiServer, requests.Session]]:
    cluster = LabCluster()
    server = KubeApiServer(cluster, None, TokenSigner(cluster.issuer))
    for i in range(3):
        server.create_object("nodes", {"metadata": {"name": f"ip-192-168-1-{i}.us-east-2.compute.internal"}})
    for n in range(NAMESPACES):
        server.create_object("namespaces", {"metadata": {"name": f"team-{n:02d}"}})
    for i in range(PODS):
        server.create_object("pods", {
            "metadata": {"name": f"worker-{i:05d}", "namespace": f"team-{i % NAMESPACES:02d}",
                         "labels": {"app": f"app-{i % 7}"}},
            "spec": {"containers": [{"name": "main", "image": "amazon/aws-cli:latest",
                                     "command": ["sleep", "infinity"]}]},
        }, running=True)
    server.start_in_thread()
    ca = tmp_path_factory.mktemp("big-lab") / "ca.crt"
    ca.write_bytes(server.ca_pem)
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the lab CA
    session.verify = str(ca)
    session.headers["Authorization"] = f"Bearer {server.admin_token}"
    yield server, session
    server.stop_in_thread()


def _pages(server: KubeApiServer, session: requests.Session, **params) -> Iterator[bytes]:
    token = None
    while True:
        response = session.get(server.url + "/api/v1/pods",
                               params={"limit": 500, **params, **({"continue": token} if token else {})})
        response.raise_for_status()
        yield response.content
        # Read the continue token from the list head without parsing 1 MB of items.
        head = response.content[:response.content.index(b'"items"')].rstrip(b",") + b"}"
        token = json.loads(head)["metadata"].get("continue")
        if not token:
            return


def test_ten_thousand_pods_list_in_pages(big_lab) -> None:
    # How fast is bench/'s to measure (with realistic latency); here, that the pages are right.
    server, session = big_lab
    before = server.counters.get("list pods", 0)
    bodies = list(_pages(server, session))
    assert len(bodies) == PODS // 500
    assert server.counters["list pods"] - before == PODS // 500
    pages = [json.loads(b) for b in bodies]
    names = [(p["metadata"]["namespace"], p["metadata"]["name"]) for page in pages for p in page["items"]]
    assert len(names) == len(set(names)) == PODS and names == sorted(names)
    assert {page["metadata"]["resourceVersion"] for page in pages} == {str(server.store.resource_version)}
    assert all(p["status"]["phase"] == "Running" for page in pages for p in page["items"])


def test_selectors_and_table_on_a_large_lab(big_lab) -> None:
    server, session = big_lab
    selected = [json.loads(b) for b in _pages(server, session, labelSelector="app=app-3")]
    assert sum(len(p["items"]) for p in selected) == len(range(3, PODS, 7))
    table = session.get(server.url + "/api/v1/namespaces/team-05/pods", params={"limit": 500},
                        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert table["kind"] == "Table" and len(table["rows"]) == PODS // NAMESPACES
    assert table["rows"][0]["cells"][:4] == ["worker-00005", "1/1", "Running", 0]
