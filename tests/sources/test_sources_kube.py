"""KubeSource against the walkthrough lab, over the real wire (HTTPS, websocket exec, watch)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import jwt
import pytest
import requests

from irsa_explorer.sources import kube_paging
from irsa_explorer.sources.kube import ClusterError, KubeSource
from irsa_explorer.model import IssuerInfo


WALKTHROUGH_ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"


def kube_counters(lab, source: KubeSource) -> dict[str, int]:
    """The lab API server's request counters (GET /_lab/stats)."""
    configuration = source._api_client.configuration
    response = requests.get(
        lab.kube_url + "/_lab/stats",
        headers={"Authorization": configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization", "")},
        verify=configuration.ssl_ca_cert,
        timeout=10,
    )
    response.raise_for_status()
    body = response.json()
    return body.get("counters", body)


def test_context_and_cluster_name_from_the_kubeconfig(lab, kube) -> None:
    assert kube.context == lab.context
    assert kube.context in kube.contexts()
    assert kube.default_cluster_name() == "eks-oidc-demo"
    assert kube.default_region() == "us-east-2"


def test_walkthrough_pods_as_kubectl_shows_them(kube) -> None:
    pods = {p.name: p for p in kube.list_pods(None).items if p.namespace == "default"}
    assert pods["eks-iam-test1"].status == "Error" and pods["eks-iam-test1"].phase == "Failed"
    assert pods["eks-iam-test2"].status == "Running"
    test3 = pods["eks-iam-test3"]
    assert test3.service_account == "my-sa"
    container = next(c for c in test3.containers if not c.init)
    assert container.env_value("AWS_ROLE_ARN").endswith(":role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO")
    assert container.env_value("AWS_WEB_IDENTITY_TOKEN_FILE") == "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
    irsa = [t for t in test3.projected_tokens if t.volume == "aws-iam-token"]
    assert irsa and irsa[0].audience == "sts.amazonaws.com" and irsa[0].expiration_seconds == 86400
    assert not pods["eks-iam-test1"].containers[0].has_env("AWS_ROLE_ARN")
    sas = {sa.key: sa for sa in kube.list_service_accounts("default").items}
    assert sas[("default", "my-sa")].role_arn == container.env_value("AWS_ROLE_ARN")
    assert sas[("default", "default")].role_arn is None


def test_selectors_are_passed_to_the_server(kube) -> None:
    by_sa = kube.list_pods("default", field_selector="spec.serviceAccountName=my-sa").items
    assert "eks-iam-test3" in {p.name for p in by_sa}
    assert {p.service_account for p in by_sa} == {"my-sa"}
    assert "eks-iam-test1" not in {p.name for p in by_sa}
    assert kube.list_pods("default", label_selector="no-such-label=x").items == []


def test_one_list_call_per_resource_and_pages_follow_continue(lab, kube, monkeypatch) -> None:
    everything = kube.list_pods(None).items
    assert len(everything) >= 3
    before = kube_counters(lab, kube)
    kube.list_pods(None)
    after = kube_counters(lab, kube)
    assert after.get("list pods", 0) - before.get("list pods", 0) == 1

    monkeypatch.setattr(kube_paging, "PAGE_SIZE", 2)  # our own page size, not the client's internals
    before = kube_counters(lab, kube)
    paged = kube.list_pods(None)
    after = kube_counters(lab, kube)
    assert sorted(p.uid for p in paged.items) == sorted(p.uid for p in everything)
    assert after.get("list pods", 0) - before.get("list pods", 0) == -(-len(everything) // 2)


def test_nodes_carry_their_instance_ids(kube) -> None:
    nodes = kube.list_nodes()
    names = {n.name for n in nodes}
    assert {"ip-192-168-1-169.us-east-2.compute.internal", "ip-192-168-53-243.us-east-2.compute.internal"} <= names
    assert all(n.instance_id and n.instance_id.startswith("i-") for n in nodes)


def test_issuer_discovery_and_a_token_it_signed(kube) -> None:
    info = kube.issuer()
    assert isinstance(info, IssuerInfo) and info.issuer == WALKTHROUGH_ISSUER
    token = kube.create_token("default", "my-sa", "sts.amazonaws.com", 600)
    header = jwt.get_unverified_header(token)
    key = next(k for k in info.jwks["keys"] if k.get("kid") == header["kid"])
    claims = jwt.decode(
        token, jwt.PyJWK(key).key, algorithms=["RS256"], audience="sts.amazonaws.com", issuer=WALKTHROUGH_ISSUER
    )
    assert claims["sub"] == "system:serviceaccount:default:my-sa"


def test_exec_returns_output_and_exit_codes(kube) -> None:
    ok = kube.exec("default", "eks-iam-test2", None, ["aws", "sts", "get-caller-identity", "--output", "json"])
    assert ok.exit_code == 0
    assert ":assumed-role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4/" in json.loads(ok.stdout)["Arn"]
    missing = kube.exec("default", "eks-iam-test2", None, ["cat", "/no/such/file"])
    assert missing.exit_code == 1 and "No such file or directory" in missing.stderr
    unknown = kube.exec("default", "eks-iam-test2", None, ["no-such-binary"])
    assert unknown.exit_code == 127 and "executable file not found" in unknown.stderr


def test_exec_refused_says_why_in_the_servers_words(kube) -> None:
    with pytest.raises(ClusterError, match="not found"):
        kube.exec("default", "no-such-pod", None, ["id"])
    with pytest.raises(ClusterError, match="completed pod") as refused:
        kube.exec("default", "eks-iam-test1", None, ["id"])  # Failed: nothing left to exec into
    assert "-+-+-" not in str(refused.value)


def test_watch_sees_a_created_pod_and_stops(lab, kube) -> None:
    listing = kube.list_pods("default")
    stop = threading.Event()
    seen: list[tuple[str, str]] = []
    name = f"watched-{uuid.uuid4().hex[:6]}"

    def follow() -> None:
        for kind, pod in kube.watch_pods("default", listing.resource_version, stop, poll_seconds=2):
            seen.append((kind, pod.name))

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)

    client.CoreV1Api(api).create_namespaced_pod(
        "default",
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
         "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}},
    )
    deadline = time.monotonic() + 10
    while ("ADDED", name) not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    client.CoreV1Api(api).delete_namespaced_pod(name, "default")
    stop.set()
    thread.join(8)
    api.close()
    assert ("ADDED", name) in seen
    assert not thread.is_alive(), "watch_pods did not notice stop"


def test_unreachable_cluster_is_a_cluster_error(tmp_path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    source = KubeSource(kubeconfig=str(kubeconfig))
    with pytest.raises(ClusterError):
        source.list_pods(None)


EXEC_PLUGIN = """
import json, sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
token = config["users"][0]["user"]["token"]
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {"token": token}}))
"""


def test_exec_plugin_kubeconfig_authenticates_and_names_the_cluster(lab, tmp_path) -> None:
    """An EKS-style kubeconfig (exec plugin, `--cluster-name`, `--region`) works unchanged.

    The plugin here reads the lab's admin token from the lab's own kubeconfig at run time, as
    `aws eks get-token` computes one: nothing new is written to disk.
    """
    import sys

    import yaml

    lab_config = yaml.safe_load(lab.kubeconfig.read_text())
    cluster_entry = lab_config["clusters"][0]["cluster"]
    kubeconfig = tmp_path / "exec-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "plain",
        "clusters": [{"name": "plain-cluster", "cluster": cluster_entry}],
        "contexts": [{"name": "plain", "context": {"cluster": "plain-cluster", "user": "eks-user"}}],
        "users": [{"name": "eks-user", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", EXEC_PLUGIN, str(lab.kubeconfig), "eks", "get-token",
                     "--cluster-name", "eks-oidc-demo", "--region", "us-east-2"],
            "interactiveMode": "Never",
        }}}],
    }))
    source = KubeSource(kubeconfig=str(kubeconfig))
    try:
        assert source.default_cluster_name() == "eks-oidc-demo"
        assert source.default_region() == "us-east-2"
        assert any(p.name == "eks-iam-test3" for p in source.list_pods("default").items)
    finally:
        source.close()
