"""`GET pods/NAME/log` on the lab as the kubelet answers it: previous, tailLines, limitBytes,
sinceSeconds, timestamps — through the official client and real kubectl."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from irsa_explorer.lab.kube.pod_logs import LogRun, render, stamp

from lab_kube_waits import wait_phase


def _pod(name: str, command: list[str], restart: str = "Never") -> k8s.V1Pod:
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name),
        spec=k8s.V1PodSpec(restart_policy=restart,
                           containers=[k8s.V1Container(name="main", image="busybox:1.36", command=command)]),
    )


def _wait_restarted(core: k8s.CoreV1Api, namespace: str, name: str) -> k8s.V1Pod:
    import time

    deadline = time.monotonic() + 10
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        statuses = pod.status.container_statuses or []
        if statuses and statuses[0].restart_count:
            return pod
        assert time.monotonic() < deadline, f"{name} never restarted"
        time.sleep(0.02)


def test_options_as_the_kubelet_applies_them(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _pod("lines", ["echo", "one\ntwo\nthree"]))
    wait_phase(core, namespace, "lines", ("Succeeded",))
    assert core.read_namespaced_pod_log("lines", namespace) == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("lines", namespace, tail_lines=2) == "two\nthree\n"
    assert core.read_namespaced_pod_log("lines", namespace, tail_lines=0) == ""
    assert core.read_namespaced_pod_log("lines", namespace, limit_bytes=6) == "one\ntw"
    stamped = core.read_namespaced_pod_log("lines", namespace, timestamps=True).splitlines()
    assert len(stamped) == 3
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \w+", line) for line in stamped)
    # limitBytes counts the timestamps too, as the kubelet's writer does
    assert len(core.read_namespaced_pod_log("lines", namespace, timestamps=True, limit_bytes=40)) == 40
    assert core.read_namespaced_pod_log("lines", namespace, since_seconds=3600) == "one\ntwo\nthree\n"


def test_previous_is_refused_without_a_restart(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _pod("once", ["echo", "hi"]))
    wait_phase(core, namespace, "once", ("Succeeded",))
    with pytest.raises(ApiException) as refused:
        core.read_namespaced_pod_log("once", namespace, previous=True)
    assert refused.value.status == 400
    assert 'previous terminated container \\"main\\" in pod \\"once\\" not found' in refused.value.body


def test_previous_of_a_restarted_container(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _pod("again", ["echo", "first run"], restart="Always"))
    pod = _wait_restarted(core, namespace, "again")
    assert pod.status.container_statuses[0].last_state.terminated is not None
    assert core.read_namespaced_pod_log("again", namespace, previous=True) == "first run\n"
    # waiting to restart: the kubelet serves the last terminated instance without `previous` too
    assert core.read_namespaced_pod_log("again", namespace) == "first run\n"
    said = kube_lab.kubectl("-n", namespace, "logs", "again", "--previous").stdout
    assert said == "first run\n"


def test_kubectl_logs_flags(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _pod("flags", ["echo", "a\nb\nc"]))
    wait_phase(core, namespace, "flags", ("Succeeded",))
    assert kube_lab.kubectl("-n", namespace, "logs", "flags", "--tail=1").stdout == "c\n"
    assert kube_lab.kubectl("-n", namespace, "logs", "flags", "--limit-bytes=3").stdout == "a\nb"
    assert kube_lab.kubectl("-n", namespace, "logs", "flags", "--since=1h").stdout == "a\nb\nc\n"
    stamped = kube_lab.kubectl("-n", namespace, "logs", "flags", "--timestamps").stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["a", "b", "c"]
    refused = kube_lab.kubectl("-n", namespace, "logs", "flags", "--previous", check=False)
    assert refused.returncode == 1
    assert 'previous terminated container "main" in pod "flags" not found' in refused.stderr


def test_since_drops_older_runs_and_stamps_are_nanoseconds() -> None:
    run = LogRun("x\ny\n", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc).timestamp())
    assert re.fullmatch(r"2026-01-02T03:04:05\.1234\d{5}Z", stamp(run.at))
    assert render(run, {"sinceSeconds": 10}, now=run.at + 5) == b"x\ny\n"
    assert render(run, {"sinceSeconds": 10}, now=run.at + 11) == b""
    assert render(run, {"tailLines": 1, "timestamps": True}) == f"{stamp(run.at)} y\n".encode()
    assert render(None, {}) == b""
