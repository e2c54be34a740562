"""KubeSource's list calls skip the generated CoreV1Api (and its ~250 pydantic models) yet send
the same requests: same objects as the generated client, selectors and errors honoured."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kubernetes import client

from irsa_explorer.sources.kube import ClusterError, KubeSource


@pytest.fixture
def kube(lab):
    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


def test_same_objects_as_the_generated_client(kube) -> None:
    generated = client.CoreV1Api(kube.core.api_client)
    for ours, theirs in (
        (kube.core.list_pod_for_all_namespaces, generated.list_pod_for_all_namespaces),
        (kube.core.list_service_account_for_all_namespaces, generated.list_service_account_for_all_namespaces),
        (kube.core.list_node, generated.list_node),
    ):
        mine = json.loads(ours(limit=500, _preload_content=False).data)
        expected = json.loads(theirs(limit=500, _preload_content=False).data)
        assert [o["metadata"]["uid"] for o in mine["items"]] == [o["metadata"]["uid"] for o in expected["items"]]


def test_selectors_and_namespaces_are_sent(kube) -> None:
    everything = kube.list_pods(None).items
    one = everything[0]
    by_field = kube.list_pods(None, field_selector=f"metadata.name={one.name}").items
    assert {p.uid for p in by_field} == {p.uid for p in everything if p.name == one.name}
    in_namespace = kube.list_pods(one.namespace).items
    assert {p.uid for p in in_namespace} == {p.uid for p in everything if p.namespace == one.namespace}
    assert kube.list_pods(None, label_selector="no-such-label-p9=yes").items == []


def test_errors_are_api_errors(kube) -> None:
    with pytest.raises(ClusterError, match="400|422|field"):
        kube.list_pods(None, field_selector="no.such.field=1")


def test_lists_do_not_import_the_generated_api(lab) -> None:
    script = (
        "import sys\n"
        "from irsa_explorer.sources.kube import KubeSource\n"
        f"k = KubeSource(kubeconfig={str(lab.kubeconfig)!r})\n"
        "assert k.list_pods(None).items and k.list_service_accounts(None).items and k.list_nodes()\n"
        "print('kubernetes.client.api.core_v1_api' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
