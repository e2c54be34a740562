"""The Kubernetes side as kubectl resolves it: kubeconfig failures name the file and the context,
the exec plugin's failure is its own words said once, and a silent server is a timeout that
names it. Against the lab, real exec plugins (small scripts) and real local sockets."""

from __future__ import annotations

import stat
import textwrap
import threading

import pytest
import yaml

from irsa_explorer.model import Unavailable
from irsa_explorer.sources.kube import ClusterError, KubeSource, WatchStatus


def plugin(tmp_path, body: str, name: str = "get-token"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def exec_user(command, args=(), env=()):
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(command),
                     "args": list(args), "env": [{"name": k, "value": v} for k, v in env]}}


# --- the kubeconfig ----------------------------------------------------------------------------


def test_no_kubeconfig_names_the_file_and_the_command(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ClusterError) as raised:
        KubeSource()
    assert str(raised.value) == (
        f"no kubeconfig: {tmp_path}/.kube/config does not exist — run `aws eks update-kubeconfig "
        f"--name CLUSTER --region REGION`, or pass --kubeconfig FILE"
    )
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "elsewhere"))
    with pytest.raises(ClusterError, match=r"elsewhere \(\$KUBECONFIG\) does not exist"):
        KubeSource()


def test_a_context_that_is_not_there_lists_those_that_are(lab):
    with pytest.raises(ClusterError) as raised:
        KubeSource(context="prod", kubeconfig=str(lab.kubeconfig))
    assert str(raised.value) == (
        f"context 'prod' is not in kubeconfig {lab.kubeconfig} (contexts: {lab.context})"
    )


def test_no_current_context_says_use_context(lab, tmp_path):
    config = yaml.safe_load(lab.kubeconfig.read_text())
    del config["current-context"]
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ClusterError, match=r"has no current context — pass --context NAME .* `kubectl config use-context NAME`"):
        KubeSource(kubeconfig=str(path))


def test_a_kubeconfig_that_is_not_yaml_names_the_line(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nclusters: [\n  - name: x\n")
    with pytest.raises(ClusterError, match=rf"^kubeconfig {path} is not valid YAML \(line \d+\)$"):
        KubeSource(kubeconfig=str(path))


def test_a_context_naming_a_missing_user(lab, tmp_path):
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["contexts"][0]["context"]["user"] = "ghost"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ClusterError, match=r"names user 'ghost', which is not in the file"):
        KubeSource(kubeconfig=str(path))


def test_kubeconfig_env_with_two_files_merges_them(lab, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "contexts": [
        {"name": "elsewhere", "context": {"cluster": "x", "user": "y"}}], "clusters": [], "users": []}))
    monkeypatch.setenv("KUBECONFIG", f"{lab.kubeconfig}:{other}")
    kube = KubeSource()
    try:
        assert set(kube.contexts()) == {lab.context, "elsewhere"}
        assert kube.list_pods("default").items
    finally:
        kube.close()


# --- the exec plugin ---------------------------------------------------------------------------


def test_a_working_exec_plugin_runs_on_the_first_request_only(lab, tmp_path, make_kubeconfig):
    token = yaml.safe_load(lab.kubeconfig.read_text())["users"][0]["user"]["token"]
    runs = tmp_path / "runs"
    command = plugin(tmp_path, f"""\
        echo run >> {runs}
        echo '{{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
              "status": {{"token": "{token}", "expirationTimestamp": "2999-01-01T00:00:00Z"}}}}'
    """)
    kube = KubeSource(kubeconfig=str(make_kubeconfig(user=exec_user(command))))
    try:
        assert not runs.exists()  # reading the kubeconfig runs nothing
        assert kube.list_pods(None).items and kube.list_service_accounts(None).items
        assert runs.read_text().count("run") == 1
    finally:
        kube.close()


def test_a_failing_exec_plugin_is_its_own_words_once(tmp_path, make_kubeconfig, capfd):
    runs = tmp_path / "runs"
    command = plugin(tmp_path, f"""\
        echo run >> {runs}
        echo "" >&2
        echo "Error loading SSO Token: Token for https://example.awsapps.com/start does not exist" >&2
        exit 255
    """, name="aws")
    kube = KubeSource(kubeconfig=str(make_kubeconfig(user=exec_user(
        command, ["eks", "get-token", "--cluster-name", "demo"], [("AWS_PROFILE", "corp")]))))
    try:
        errors = []
        for _ in range(3):
            with pytest.raises(ClusterError) as raised:
                kube.list_pods(None)
            errors.append(str(raised.value))
        with pytest.raises(ClusterError):
            kube.handover()  # the loader process is not started with a plugin that fails
    finally:
        kube.close()
    assert errors[0] == (
        f"`{command} eks get-token --cluster-name demo` (exec plugin of context 'lab@eks-oidc-demo.us-east-2.eksctl.io') "
        f"failed with exit code 255: Error loading SSO Token: Token for https://example.awsapps.com/start does not exist"
        f" — run `aws sso login --profile corp`"
    )
    assert errors == [errors[0]] * 3
    assert runs.read_text().count("run") == 1  # not once per request
    said = capfd.readouterr()
    assert said.out == "" and said.err == ""  # nothing on the terminal: not the plugin, not a log


def test_an_exec_plugin_not_on_path(make_kubeconfig):
    kube = KubeSource(kubeconfig=str(make_kubeconfig(user=exec_user("no-such-plugin-here", ["token"]))))
    try:
        with pytest.raises(ClusterError, match=r"^`no-such-plugin-here`, the exec plugin of context '.*', is not on PATH$"):
            kube.list_pods(None)
    finally:
        kube.close()


def test_an_exec_plugin_that_hangs_times_out(tmp_path, make_kubeconfig):
    command = plugin(tmp_path, "exec sleep 600\n")
    kube = KubeSource(kubeconfig=str(make_kubeconfig(user=exec_user(command))), request_timeout=0.5)
    try:
        with pytest.raises(ClusterError, match=r"gave no answer in 1.5 s"):
            kube.list_pods(None)
    finally:
        kube.close()


# --- a server that never answers ------------------------------------------------------------------


def test_a_silent_api_server_is_no_answer_naming_it(silent_server, make_kubeconfig):
    server = f"https://127.0.0.1:{silent_server.port}"
    kube = KubeSource(kubeconfig=str(make_kubeconfig(server=server)), request_timeout=0.5)
    try:
        with pytest.raises(ClusterError) as raised:
            kube.list_pods(None)
        assert str(raised.value) == (
            f"no answer from {server} in 0.5 s (list pods, context 'lab@eks-oidc-demo.us-east-2.eksctl.io')"
        )
        nodes = kube.list_nodes()  # nodes are not needed to go on: unknown, with why
        assert isinstance(nodes, Unavailable) and f"no answer from {server} in 0.5 s" in nodes.reason
        issuer = kube.issuer()
        assert isinstance(issuer, Unavailable) and f"no answer from {server} in 0.5 s" in issuer.reason
    finally:
        kube.close()
    assert silent_server.accepted == 3  # one connection per request: a timeout is not retried


def test_a_refused_connection_says_so(make_kubeconfig):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kube = KubeSource(kubeconfig=str(make_kubeconfig(server=f"https://127.0.0.1:{port}")))
    try:
        with pytest.raises(ClusterError, match=rf"^cannot connect to https://127.0.0.1:{port}: connection refused \(list pods"):
            kube.list_pods(None)
    finally:
        kube.close()


# --- watches reconnect ---------------------------------------------------------------------------------


def test_a_lost_watch_reconnects_with_backoff_and_says_so(lab, make_kubeconfig):
    import queue
    import uuid
    from urllib.parse import urlsplit

    from tcp_relay import Relay  # tests/tcp_relay.py

    relay = Relay(urlsplit(lab.kube_url).port)
    kube = KubeSource(kubeconfig=str(make_kubeconfig(server=f"https://127.0.0.1:{relay.port}")))
    stop = threading.Event()
    seen: queue.SimpleQueue = queue.SimpleQueue()
    statuses: queue.SimpleQueue = queue.SimpleQueue()

    def on_status(status: WatchStatus) -> None:
        statuses.put(status)
        if status.state == "reconnecting" and status.attempt == 2:
            relay.up.set()  # the blip is over after two failed tries

    def watch() -> None:
        try:
            for kind, pod in kube.watch_pods("default", "", stop, poll_seconds=2, on_status=on_status, backoff=(0.05, 0.2)):
                seen.put((kind, pod.name))
        except BaseException as error:
            seen.put(("ERROR", repr(error)))

    listing = kube.list_pods("default")
    thread = threading.Thread(target=watch, daemon=True)
    try:
        relay.cut()  # before the watch starts: its first connections are refused
        thread.start()
        first = statuses.get(timeout=60)
        assert first.state == "reconnecting" and first.attempt == 1 and first.retry_in == 0.05
        assert "127.0.0.1" in first.reason and str(first).startswith("watch lost: ")
        second = statuses.get(timeout=60)
        assert (second.state, second.attempt, second.retry_in) == ("reconnecting", 2, 0.1)
        assert statuses.get(timeout=60).state == "watching"
        name = f"after-blip-{uuid.uuid4().hex[:6]}"
        _create_pod(lab, name)
        while True:
            kind, pod_name = seen.get(timeout=60)
            assert kind != "ERROR", pod_name
            if pod_name == name:
                break
        assert listing.items  # the list before the blip is still what the watch goes on from
    finally:
        stop.set()
        thread.join(30)
        kube.close()
        relay.close()


def _create_pod(lab, name: str) -> None:
    from kubernetes import client

    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        client.CoreV1Api(kube._api_client).create_namespaced_pod("default", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "amazon/aws-cli", "command": ["sleep", "600"]}]},
        })
    finally:
        kube.close()
