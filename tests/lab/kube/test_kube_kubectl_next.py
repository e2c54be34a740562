"""What a trainee types after creating things: `get pods -w`, `run` + `logs` + `get events`,
`describe pod` of an IRSA pod — with the dispatcher's kubectl (1.27 here) and kubectl 1.32."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time

import pytest
from lab_kube_waits import wait_phase

from irsa_explorer import model

pytestmark = [pytest.mark.kubectl,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")]

KUBECTL_1_32 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
KUBECTLS = ["kubectl"] + ([KUBECTL_1_32] if os.path.exists(KUBECTL_1_32) else [])

IRSA_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: eks-iam-test1
spec:
  serviceAccountName: my-sa
  containers:
    - name: my-aws-cli
      image: amazon/aws-cli:latest
      args: ['s3', 'ls']
  restartPolicy: Never
"""


def _base(kube_lab, binary: str) -> list[str]:
    return [binary, "--kubeconfig", str(kube_lab.kubeconfig), "--cache-dir",
            f"{kube_lab.cache_dir}-{os.path.basename(binary)}"]


def _run(kube_lab, binary: str, *args: str, input: str | None = None) -> str:
    result = subprocess.run(_base(kube_lab, binary) + list(args), capture_output=True, text=True, input=input,
                            timeout=60)
    assert result.returncode == 0, f"{' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.mark.parametrize("binary", KUBECTLS)
def test_get_pods_watch_prints_each_status_change(kube_lab, namespace: str, binary: str) -> None:
    watches_before = kube_lab.server.counters.get("watch pods", 0)
    watch = subprocess.Popen(_base(kube_lab, binary) + ["get", "pods", "-w", "-n", namespace,
                                                        "--output-watch-events"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watch.stdout], daemon=True).start()
    try:
        # The watch is open before the pod exists, as in a trainee's second terminal: kubectl lists,
        # then watches from that list's resourceVersion, so once the watch request has arrived
        # every later change reaches it.
        deadline = time.monotonic() + 15
        while kube_lab.server.counters.get("watch pods", 0) <= watches_before:
            assert watch.poll() is None, watch.stderr.read()
            assert time.monotonic() < deadline, "kubectl get -w never opened its watch"
            time.sleep(0.02)
        _run(kube_lab, binary, "run", "w", "-n", namespace, "--image=busybox", "--restart=Never", "--", "true")
        seen: list[list[str]] = []
        deleted = False
        deadline = time.monotonic() + 15
        while not any(row[:1] == ["DELETED"] for row in seen):
            assert time.monotonic() < deadline, f"watch printed only {seen}"
            try:
                seen.append(lines.get(timeout=0.2).split())
            except queue.Empty:
                continue
            if seen[-1][3:4] == ["Completed"] and not deleted:
                _run(kube_lab, binary, "delete", "pod", "w", "-n", namespace, "--wait=false")
                deleted = True
    finally:
        watch.terminate()
        watch.wait(5)
    assert seen[0] == ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    statuses = [(row[0], row[3]) for row in seen[1:]]
    assert statuses[0] == ("ADDED", "ContainerCreating") and ("MODIFIED", "Running") in statuses
    assert statuses[-1] == ("DELETED", "Completed")


@pytest.mark.parametrize("binary", KUBECTLS)
def test_run_logs_events_delete(kube_lab, core, namespace: str, binary: str) -> None:
    assert _run(kube_lab, binary, "run", "p", "-n", namespace, "--image=amazon/aws-cli", "--restart=Never",
                "--", "sts", "get-caller-identity").strip() == "pod/p created"
    # No IRSA, no reachable IMDS in this AWS-less lab: the CLI finds no credentials, as on a bare node.
    assert wait_phase(core, namespace, "p", {"Succeeded", "Failed"}).status.phase == "Failed"
    assert "Unable to locate credentials" in _run(kube_lab, binary, "logs", "p", "-n", namespace)
    events = _run(kube_lab, binary, "get", "events", "-n", namespace).splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert {line.split()[2] for line in events[1:]} >= {"Scheduled", "Pulling", "Pulled", "Created", "Started"}
    assert _run(kube_lab, binary, "delete", "pod", "p", "-n", namespace).strip() == 'pod "p" deleted'
    assert core.list_namespaced_pod(namespace).items == []


def test_describe_irsa_pod_shows_injected_env_and_events(kube_lab, core, namespace: str) -> None:
    role = "arn:aws:iam::111122223333:role/my-role"
    _run(kube_lab, "kubectl", "create", "sa", "my-sa", "-n", namespace)
    _run(kube_lab, "kubectl", "annotate", "sa", "my-sa", "-n", namespace, f"{model.ROLE_ARN_ANNOTATION}={role}")
    _run(kube_lab, "kubectl", "apply", "-n", namespace, "-f", "-", input=IRSA_POD)
    wait_phase(core, namespace, "eks-iam-test1", {"Succeeded", "Failed"})
    described = _run(kube_lab, KUBECTLS[-1], "describe", "pod", "eks-iam-test1", "-n", namespace)
    environment = described.split("    Environment:\n", 1)[1].split("    Mounts:\n", 1)[0]
    env = dict(line.split(None, 1) for line in environment.strip().splitlines())
    assert env["AWS_ROLE_ARN:"] == role
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE:"] == "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
    assert env["AWS_STS_REGIONAL_ENDPOINTS:"] == "regional"
    assert "/var/run/secrets/eks.amazonaws.com/serviceaccount from aws-iam-token (ro)" in described
    assert "Image ID:      docker.io/amazon/aws-cli@sha256:" in described
    events = described.split("Events:\n", 1)[1]
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        assert f"  Normal  {reason} " in events
