"""apps/v1 DaemonSets in the lab API server, driven by real kubectl and the Python client: discovery,
`kubectl get ds` columns, create/apply/patch (strategic, merge, json)/delete, and the controller —
one pod per eligible node (nodeSelector, node affinity, taints vs tolerations), adoption, rolling
replacement of older templates, pods deleted with their DaemonSet or when their node goes.

The lab here is one of its own (not the session's): these tests add, label, taint and delete nodes,
which are cluster-wide. Each test selects the nodes it makes by a label of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PodIdentityAssociations, make_runtime
from kubernetes import client as k8s

from irsa_explorer.lab.kube.daemonsets import GENERATION_LABEL, daemon_pod_name
from irsa_explorer.lab.kube.server import KubeApiServer
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.lab.tokens import TokenSigner

pytestmark = [pytest.mark.kubectl,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")]

KUBECTL_1_32 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
HANG_GUARD_S = 60.0
AGENT_IMAGE = "602401143452.dkr.ecr.us-east-2.amazonaws.com/eks/eks-pod-identity-agent:0.1.29"


class Lab:
    def __init__(self, server: KubeApiServer, directory: Path) -> None:
        self.server = server
        self.kubeconfig = directory / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(server.kubeconfig("lab", "admin")))
        (directory / "ca.crt").write_bytes(server.ca_pem)
        config = k8s.Configuration(host=server.url)
        config.ssl_ca_cert = str(directory / "ca.crt")
        config.api_key = {"authorization": server.admin_token}
        config.api_key_prefix = {"authorization": "Bearer"}
        self.client = k8s.ApiClient(config)
        self.core = k8s.CoreV1Api(self.client)
        self.apps = k8s.AppsV1Api(self.client)
        self.cache_dir = directory / "kubectl-cache"

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                binary: str = "kubectl") -> subprocess.CompletedProcess:
        result = subprocess.run([binary, "--kubeconfig", str(self.kubeconfig), "--cache-dir",
                                 f"{self.cache_dir}-{os.path.basename(binary)}", *args],
                                input=input, capture_output=True, text=True, timeout=HANG_GUARD_S)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    cluster = LabCluster()
    server = KubeApiServer(cluster, make_runtime(), TokenSigner(cluster.issuer),
                           pod_identity_lookup=PodIdentityAssociations(), pod_start_delay_s=0.01)
    server.start_in_thread()
    yield Lab(server, tmp_path_factory.mktemp("lab-daemonsets"))
    server.stop_in_thread()


@pytest.fixture
def ns(lab: Lab) -> Iterator[str]:
    name = f"ds-{uuid.uuid4().hex[:8]}"
    lab.core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    lab.core.delete_namespace(name)


def make_nodes(lab: Lab, pool: str, count: int, taints: dict[int, list[dict[str, str]]] | None = None) -> list[str]:
    """`count` nodes labelled pool=<pool>; taints by index."""
    names = []
    for i in range(count):
        name = f"ip-10-0-{i}-{uuid.uuid4().hex[:6]}.us-east-2.compute.internal"
        lab.core.create_node({"apiVersion": "v1", "kind": "Node",
                              "metadata": {"name": name, "labels": {"pool": pool, "kubernetes.io/os": "linux"}},
                              "spec": {"taints": (taints or {}).get(i, [])}})
        names.append(name)
    return names


def daemonset(name: str, pool: str, tolerations: list[dict[str, str]] | None = None,
              **extra: Any) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, **extra.pop("metadata", {})},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"nodeSelector": {"pool": pool}, "hostNetwork": True,
                                           "tolerations": tolerations or [],
                                           "containers": [{"name": "agent", "image": AGENT_IMAGE,
                                                           "command": ["/go-runner", "/eks-pod-identity-agent",
                                                                       "server"]}]}},
                     **extra}}


def wait_for(what: str, probe: Callable[[], Any]) -> Any:
    """Poll until `probe()` is truthy (the controller runs on its own thread); a hang guard only."""
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what}: last {probe()!r}")
        time.sleep(0.02)


def pods_by_node(lab: Lab, ns: str) -> dict[str, list[dict[str, Any]]]:
    items = json.loads(lab.core.list_namespaced_pod(ns, _preload_content=False).data)["items"]
    out: dict[str, list[dict[str, Any]]] = {}
    for pod in items:
        out.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
    return out


def ds_status(lab: Lab, ns: str, name: str) -> dict[str, Any]:
    return json.loads(lab.apps.read_namespaced_daemon_set(name, ns, _preload_content=False).data).get("status", {})


def settled(lab: Lab, ns: str, name: str, desired: int) -> Callable[[], dict[str, Any] | None]:
    """The status once the DaemonSet has `desired` nodes, all with a ready pod of its current template."""
    def probe() -> dict[str, Any] | None:
        ds = json.loads(lab.apps.read_namespaced_daemon_set(name, ns, _preload_content=False).data)
        status = ds.get("status", {})
        want = {"desiredNumberScheduled": desired, "currentNumberScheduled": desired, "numberReady": desired,
                "updatedNumberScheduled": desired if desired else None}
        if status.get("observedGeneration") != ds["metadata"]["generation"]:
            return None
        return status if all(status.get(k) == v for k, v in want.items() if v is not None) else None
    return probe


def test_discovery_and_table_columns(lab: Lab, ns: str) -> None:
    resources = lab.kubectl("api-resources", "--api-group=apps", "--no-headers").stdout.split()
    assert resources[:5] == ["daemonsets", "ds", "apps/v1", "true", "DaemonSet"]
    assert "daemonsets" not in lab.kubectl("api-resources", "--api-group=", "-o", "name").stdout.split()
    nodes = make_nodes(lab, ns, 2)
    lab.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(daemonset("agent", ns)))
    wait_for("rolled out", settled(lab, ns, "agent", 2))
    header, row = lab.kubectl("-n", ns, "get", "ds", "-o", "wide").stdout.splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR",
                              "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert row.split()[:7] == ["agent", "2", "2", "2", "2", "2", f"pool={ns}"]
    assert row.split()[-3:] == ["agent", AGENT_IMAGE, "app.kubernetes.io/name=agent"]
    # `all` category, across namespaces, the short name, and the Python client's list
    assert "daemonset.apps/agent" in lab.kubectl("-n", ns, "get", "all").stdout
    assert any(line.split()[:2] == [ns, "agent"] for line in lab.kubectl("get", "ds", "-A").stdout.splitlines())
    listed = lab.apps.list_daemon_set_for_all_namespaces()
    assert [(d.metadata.namespace, d.metadata.name) for d in listed.items if d.metadata.namespace == ns] == [
        (ns, "agent")]
    assert lab.kubectl("-n", ns, "rollout", "status", "ds/agent", "--timeout=60s").stdout.strip() == (
        'daemon set "agent" successfully rolled out')
    for node in nodes:
        lab.core.delete_node(node)


def test_one_pod_per_eligible_node_owned_and_named_deterministically(lab: Lab, ns: str) -> None:
    taint = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
    plain, other, batch = make_nodes(lab, ns, 3, taints={2: [taint]})
    created = json.loads(lab.kubectl("apply", "-n", ns, "-f", "-", "-o", "json",
                                     input=json.dumps(daemonset("agent", ns))).stdout)
    status = wait_for("rolled out", settled(lab, ns, "agent", 2))
    assert status["numberMisscheduled"] == 0 and status["numberAvailable"] == 2
    by_node = pods_by_node(lab, ns)
    assert sorted(by_node) == sorted([plain, other])  # not on the tainted node
    for node, (pod,) in by_node.items():
        assert pod["metadata"]["name"] == daemon_pod_name(ns, "agent", node)
        assert pod["metadata"]["ownerReferences"] == [{
            "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": created["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}]
        assert pod["metadata"]["labels"] == {"app.kubernetes.io/name": "agent", GENERATION_LABEL: "1"}
        assert pod["status"]["phase"] == "Running"
        # the controller's own tolerations, network-unavailable because it is on the host network
        keys = {t.get("key") for t in pod["spec"]["tolerations"]}
        assert {"node.kubernetes.io/unschedulable", "node.kubernetes.io/network-unavailable"} <= keys
    assert "dedicated" not in {t.get("key") for pod in sum(by_node.values(), []) for t in pod["spec"]["tolerations"]}
    events = lab.kubectl("-n", ns, "get", "events", "--field-selector", "involvedObject.kind=DaemonSet",
                         "-o", "jsonpath={range .items[*]}{.reason} {.message}{'\\n'}{end}").stdout
    assert sorted(events.splitlines()) == sorted(
        f"SuccessfulCreate Created pod: {daemon_pod_name(ns, 'agent', n)}" for n in (plain, other))
    assert batch not in by_node


@pytest.mark.parametrize("patch_type", ["strategic", "merge", "json"])
def test_toleration_added_by_patch_reaches_the_tainted_node_and_rolls_the_rest(lab: Lab, ns: str,
                                                                              patch_type: str) -> None:
    taint = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
    plain, batch = make_nodes(lab, ns, 2, taints={1: [taint]})
    lab.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(daemonset("agent", ns)))
    wait_for("one pod", settled(lab, ns, "agent", 1))
    before = pods_by_node(lab, ns)[plain][0]["metadata"]["uid"]
    if patch_type == "json":
        patch = json.dumps([{"op": "add", "path": "/spec/template/spec/tolerations/-",
                             "value": {"key": "dedicated", "operator": "Exists"}}])
    else:
        patch = json.dumps({"spec": {"template": {"spec": {"tolerations": [{"operator": "Exists"}]}}}})
    out = lab.kubectl("-n", ns, "patch", "daemonset", "agent", "--type", patch_type, "-p", patch).stdout
    assert out.strip() == "daemonset.apps/agent patched"
    status = wait_for("two pods of the new template", settled(lab, ns, "agent", 2))
    assert status["observedGeneration"] == 2
    by_node = pods_by_node(lab, ns)
    assert sorted(by_node) == sorted([plain, batch])
    assert all(len(pods) == 1 and pods[0]["metadata"]["labels"][GENERATION_LABEL] == "2" for pods in by_node.values())
    assert by_node[plain][0]["metadata"]["uid"] != before  # the older template's pod was replaced (RollingUpdate)
    ds = json.loads(lab.kubectl("-n", ns, "get", "ds", "agent", "-o", "json").stdout)
    assert ds["metadata"]["generation"] == 2
    assert ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"


def test_a_strategic_patch_replaces_the_tolerations_whole(lab: Lab, ns: str) -> None:
    """core/v1 tolerations are an atomic list (no patch merge key): kubectl patch replaces them."""
    lab.kubectl("apply", "-n", ns, "-f", "-",
                input=json.dumps(daemonset("agent", ns, [{"key": "dedicated", "operator": "Exists"}])))
    lab.kubectl("-n", ns, "patch", "ds", "agent", "-p",
                '{"spec":{"template":{"spec":{"tolerations":[{"operator":"Exists"}]}}}}')
    out = lab.kubectl("-n", ns, "get", "ds", "agent", "-o", "jsonpath={.spec.template.spec.tolerations}").stdout
    assert json.loads(out) == [{"operator": "Exists"}]


def test_nodes_coming_going_and_changing(lab: Lab, ns: str) -> None:
    first, second = make_nodes(lab, ns, 2)
    lab.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(daemonset("agent", ns)))
    wait_for("two pods", settled(lab, ns, "agent", 2))
    # a new node of the pool gets a pod
    (third,) = make_nodes(lab, ns, 1)
    wait_for("a pod on the new node", settled(lab, ns, "agent", 3))
    assert third in pods_by_node(lab, ns)
    # a NoSchedule taint added later: the pod may stay (misscheduled), no new one would be placed there
    lab.kubectl("taint", "node", third, "dedicated=batch:NoSchedule")
    status = wait_for("misscheduled", lambda: (s := ds_status(lab, ns, "agent")).get("numberMisscheduled") == 1 and s)
    assert status["desiredNumberScheduled"] == 2 and third in pods_by_node(lab, ns)
    # a NoExecute taint it does not tolerate: the pod goes
    lab.kubectl("taint", "node", third, "dedicated=batch:NoExecute")
    wait_for("the pod evicted", lambda: third not in pods_by_node(lab, ns))
    # the node's label no longer selected: the pod goes
    lab.kubectl("label", "node", second, "pool-", )
    wait_for("only one pod", lambda: list(pods_by_node(lab, ns)) == [first])
    wait_for("one desired", settled(lab, ns, "agent", 1))
    # a deleted pod comes back, with the same name; a deleted node takes its pod along
    name = daemon_pod_name(ns, "agent", first)
    uid = pods_by_node(lab, ns)[first][0]["metadata"]["uid"]
    lab.kubectl("-n", ns, "delete", "pod", name)
    wait_for("recreated", lambda: [p["metadata"]["uid"] for p in pods_by_node(lab, ns).get(first, [])
                                   if p["metadata"]["uid"] != uid])
    lab.core.delete_node(first)
    wait_for("no pod left", lambda: not pods_by_node(lab, ns))
    wait_for("nothing desired", lambda: ds_status(lab, ns, "agent").get("desiredNumberScheduled") == 0)
    for node in (second, third):
        lab.core.delete_node(node)


def test_adoption_and_deletion(lab: Lab, ns: str) -> None:
    """Pods made before their DaemonSet, owned by its uid (how the scenarios record the add-on's pods)
    or orphans matching its selector, are adopted, not duplicated; deleting it deletes them."""
    first, second, third = make_nodes(lab, ns, 3)
    uid = str(uuid.uuid4())
    spec = daemonset("agent", ns)["spec"]["template"]["spec"]
    owned = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "agent-4xk2p", "labels": {"app.kubernetes.io/name": "agent", GENERATION_LABEL: "1"},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                               "uid": uid, "controller": True, "blockOwnerDeletion": True}]},
             "spec": {**spec, "nodeName": first}}
    orphan = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "hand-made", "labels": {"app.kubernetes.io/name": "agent", GENERATION_LABEL: "1"}},
              "spec": {**spec, "nodeName": second}}
    unrelated = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other", "labels": {"app": "other"}},
                 "spec": {**spec, "nodeName": third}}
    for pod in (owned, orphan, unrelated):
        lab.core.create_namespaced_pod(ns, pod)
    lab.apps.create_namespaced_daemon_set(ns, daemonset("agent", ns, metadata={"uid": uid}))
    wait_for("three nodes served", settled(lab, ns, "agent", 3))
    names = {node: sorted(p["metadata"]["name"] for p in pods) for node, pods in pods_by_node(lab, ns).items()}
    assert names == {first: ["agent-4xk2p"], second: ["hand-made"],
                     third: sorted(["other", daemon_pod_name(ns, "agent", third)])}
    adopted = lab.core.read_namespaced_pod("hand-made", ns)
    assert [(r.kind, r.uid, r.controller) for r in adopted.metadata.owner_references] == [("DaemonSet", uid, True)]
    lab.kubectl("-n", ns, "delete", "ds", "agent")
    wait_for("its pods deleted with it", lambda: [p["metadata"]["name"] for pods in pods_by_node(lab, ns).values()
                                                   for p in pods] == ["other"])
    for node in (first, second, third):
        lab.core.delete_node(node)


def test_refused_as_the_api_server_refuses(lab: Lab, ns: str) -> None:
    bad = daemonset("agent", ns)
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "else"}
    result = lab.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(bad), check=False)
    assert result.returncode == 1
    assert 'The DaemonSet "agent" is invalid: spec.template.metadata.labels: Invalid value: ' in result.stderr
    assert "`selector` does not match template `labels`" in result.stderr
    lab.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(daemonset("agent", ns)))
    result = lab.kubectl("-n", ns, "patch", "ds", "agent", "--type", "merge", "-p",
                         '{"spec":{"selector":{"matchLabels":{"app.kubernetes.io/name":"x"}}}}', check=False)
    assert result.returncode == 1 and "spec.selector: Invalid value" in result.stderr
    assert "field is immutable" in result.stderr
    assert lab.kubectl("-n", ns, "get", "daemonset", "nope", check=False).stderr.strip() == (
        'Error from server (NotFound): daemonsets.apps "nope" not found')


@pytest.mark.skipif(not os.path.exists(KUBECTL_1_32), reason="kubectl 1.32 not installed")
def test_kubectl_1_32(lab: Lab, ns: str) -> None:
    plain, batch = make_nodes(lab, ns, 2, taints={1: [{"key": "dedicated", "value": "b", "effect": "NoSchedule"}]})
    lab.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(daemonset("agent", ns)), binary=KUBECTL_1_32)
    wait_for("one pod", settled(lab, ns, "agent", 1))
    lab.kubectl("-n", ns, "patch", "ds", "agent", "-p",
                '{"spec":{"template":{"spec":{"tolerations":[{"operator":"Exists"}]}}}}', binary=KUBECTL_1_32)
    lab.kubectl("-n", ns, "rollout", "status", "ds/agent", "--timeout=60s", binary=KUBECTL_1_32)
    wait_for("two pods", settled(lab, ns, "agent", 2))
    rows = lab.kubectl("-n", ns, "get", "ds", "--no-headers", binary=KUBECTL_1_32).stdout.split()
    assert rows[:6] == ["agent", "2", "2", "2", "2", "2"]
    for node in (plain, batch):
        lab.core.delete_node(node)


def test_a_namespace_reader_reads_its_daemonsets_only(lab: Lab, ns: str, tmp_path: Path) -> None:
    token = lab.server.add_user("ds-reader", namespaces=[ns])
    config = tmp_path / "reader.kubeconfig"
    config.write_text(yaml.safe_dump(lab.server.kubeconfig("lab", "ds-reader", token=token)))
    lab.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(daemonset("agent", ns)))
    reader = Lab.__new__(Lab)
    reader.kubeconfig, reader.cache_dir = config, tmp_path / "cache"
    assert lab.kubectl("-n", ns, "get", "ds", "-o", "name").stdout.split() == ["daemonset.apps/agent"]
    assert reader.kubectl("-n", ns, "get", "ds", "-o", "name").stdout.split() == ["daemonset.apps/agent"]
    denied = reader.kubectl("get", "ds", "-A", check=False)
    assert denied.returncode == 1 and (
        'daemonsets.apps is forbidden: User "ds-reader" cannot list resource "daemonsets" in API group "apps" '
        "at the cluster scope") in denied.stderr
    denied = reader.kubectl("-n", ns, "patch", "ds", "agent", "-p", '{"metadata":{"labels":{"x":"y"}}}', check=False)
    assert denied.returncode == 1 and (
        f'daemonsets.apps "agent" is forbidden: User "ds-reader" cannot patch resource "daemonsets" in API group '
        f'"apps" in the namespace "{ns}"') in denied.stderr


def test_replace_and_watch(lab: Lab, ns: str) -> None:
    """`kubectl replace` (PUT) is an update like a patch; a watch sees the controller's status as it goes."""
    from kubernetes import watch

    (node,) = make_nodes(lab, ns, 1, taints={0: [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]})
    lab.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(daemonset("agent", ns)))
    # read once the controller has written its status: else replace's resourceVersion is stale (409)
    wait_for("observed", lambda: ds_status(lab, ns, "agent").get("observedGeneration") == 1)
    current = json.loads(lab.kubectl("-n", ns, "get", "ds", "agent", "-o", "json").stdout)
    assert current["status"]["desiredNumberScheduled"] == 0
    current["spec"]["template"]["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    seen: list[tuple[str, int, int]] = []
    stream = watch.Watch()
    events = stream.stream(lab.apps.list_namespaced_daemon_set, ns, resource_version=current["metadata"]["resourceVersion"],
                           timeout_seconds=int(HANG_GUARD_S))
    assert lab.kubectl("replace", "-f", "-", input=json.dumps(current)).stdout.strip() == "daemonset.apps/agent replaced"
    for event in events:
        ds = event["object"]
        seen.append((event["type"], ds.metadata.generation, ds.status.number_ready or 0))
        if ds.status.observed_generation == 2 and ds.status.number_ready == 1:
            stream.stop()
    assert seen[0] == ("MODIFIED", 2, 0) and seen[-1] == ("MODIFIED", 2, 1), seen
    assert list(pods_by_node(lab, ns)) == [node]
    lab.core.delete_node(node)


@pytest.mark.parametrize(("scenario", "agents"), [
    ("pod-identity", {"ip-192-168-1-169.us-east-2.compute.internal": "eks-pod-identity-agent-4xk2p",
                      "ip-192-168-53-243.us-east-2.compute.internal": "eks-pod-identity-agent-9mzqd"}),
    ("pod-identity-agent-missing", {"ip-192-168-1-169.us-east-2.compute.internal": "eks-pod-identity-agent-4xk2p"}),
])
def test_the_agent_scenarios_declare_the_add_on_daemonset_which_adopts_their_recorded_pods(
        lab_for, scenario: str, agents: dict[str, str]) -> None:
    """The recorded pods keep their names (snapshots, seeded runs) and are the DaemonSet's: no duplicates."""
    lab = lab_for(scenario)

    def kubectl(*args: str) -> str:
        return subprocess.run(["kubectl", "--kubeconfig", str(lab.kubeconfig), "-n", "kube-system", *args],
                              capture_output=True, text=True, timeout=HANG_GUARD_S, check=True).stdout

    def status() -> dict[str, Any] | None:
        ds = json.loads(kubectl("get", "ds", "eks-pod-identity-agent", "-o", "json"))
        return ds if ds["status"].get("observedGeneration") == 1 else None

    ds = wait_for("the DaemonSet observed", status)
    assert {k: ds["status"].get(k) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                               "numberMisscheduled")} == {
        "desiredNumberScheduled": len(agents), "currentNumberScheduled": len(agents), "numberReady": len(agents),
        "numberMisscheduled": 0}
    pods = json.loads(kubectl("get", "pods", "-l", "app.kubernetes.io/name=eks-pod-identity-agent", "-o", "json"))["items"]
    assert {p["spec"]["nodeName"]: p["metadata"]["name"] for p in pods} == agents and len(pods) == len(agents)
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"] for p in pods)
