"""sources.logs against the lab over the wire: the walkthrough's failed pod's logs, the previous
instance the API server refuses, bounds, a forbidden read, and a follow that close() ends."""

from __future__ import annotations

import threading
import uuid


from irsa_explorer.model import Unavailable
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.logs import (
    MAX_LINE_CHARS,
    LogFollow,
    LogTarget,
    follows,
    log_targets,
    read_log,
    split_lines,
)

DEV = "dev@eks-oidc-demo.us-east-2.eksctl.io"  # restricted-user: namespace default only
DENIED = "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied"


def _pod(kube: KubeSource, name: str, namespace: str = "default"):
    return next(p for p in kube.list_pods(namespace).items if p.name == name)


def test_an_ended_pod_has_its_logs(kube) -> None:
    pod = _pod(kube, "eks-iam-test1")
    assert pod.phase == "Failed"
    targets = log_targets(pod)
    assert targets == [LogTarget("my-aws-cli")]  # no restart: no previous instance offered
    assert not follows(pod, targets[0])
    log = read_log(kube, "default", pod.name, targets[0])
    assert log.lines == ("", DENIED)  # as the aws CLI prints it: a blank line, then the error
    assert not log.cut


def test_bounds_say_what_was_left_out(kube) -> None:
    log = read_log(kube, "default", "eks-iam-test1", LogTarget("my-aws-cli"), tail_lines=1)
    assert log.lines == (DENIED,) and log.cut
    log = read_log(kube, "default", "eks-iam-test1", LogTarget("my-aws-cli"), limit_bytes=20)
    assert log.cut and "".join(log.lines) == ("\n" + DENIED)[:20].replace("\n", "")
    long = split_lines("x" * (MAX_LINE_CHARS + 10) + "\nshort\n")
    assert long[0].endswith("… (10 more characters)") and long[1] == "short"


def test_previous_without_a_restart_is_the_api_servers_answer(kube) -> None:
    log = read_log(kube, "default", "eks-iam-test1", LogTarget("my-aws-cli", previous=True))
    assert isinstance(log.lines, Unavailable)
    assert log.lines.reason == 'previous terminated container "my-aws-cli" in pod "eks-iam-test1" not found'
    missing = read_log(kube, "default", "no-such-pod", LogTarget("x"))
    assert isinstance(missing.lines, Unavailable) and missing.lines.kind == "not-found"


def test_previous_of_a_restarted_container(lab, kube) -> None:
    from kubernetes import client, config

    name = f"restarts-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False))
    core.create_namespaced_pod("default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"restartPolicy": "Always",
                 "containers": [{"name": "cli", "image": "amazon/aws-cli:latest", "args": ["s3", "ls"]}]}})
    try:
        stop = threading.Event()
        guard = threading.Timer(120, stop.set)  # a hang guard, not a timing bound
        guard.start()
        for _, pod in kube.watch_pods("default", "", stop):
            if pod.name == name and pod.restarts:
                stop.set()
                break
        guard.cancel()
        assert pod.name == name and pod.restarts, f"{name} never restarted"
        targets = log_targets(pod)
        assert LogTarget("cli", previous=True) in targets
        log = read_log(kube, "default", name, LogTarget("cli", previous=True))
        assert log.lines == ("", DENIED)
    finally:
        core.delete_namespaced_pod(name, "default")


def test_forbidden_needs_get_pods_log(lab_for) -> None:
    restricted = lab_for("restricted-user")
    dev = KubeSource(context=DEV, kubeconfig=str(restricted.kubeconfig))
    try:
        log = read_log(dev, "team-b", "batch", LogTarget("my-aws-cli"))
        assert isinstance(log.lines, Unavailable)
        assert log.lines.permission == "get pods/log" and log.lines.kind == "forbidden"
        assert str(log.lines) == ("unknown: reading the log of container my-aws-cli of pod team-b/batch is forbidden "
                                  "(needs get pods/log)")
        mine = read_log(dev, "default", "eks-iam-test1", LogTarget("my-aws-cli"))
        assert mine.lines == ("", DENIED)
    finally:
        dev.close()


def test_a_follow_of_an_ended_container_ends_with_its_lines(kube) -> None:
    follow = LogFollow(kube, "default", "eks-iam-test1", LogTarget("my-aws-cli"))
    assert [line for batch in follow.batches() for line in batch] == ["", DENIED]
    assert follow.ended is None and follow.closed


def test_close_ends_a_follow_of_a_running_container(kube) -> None:
    pod = _pod(kube, "eks-iam-test2")
    assert follows(pod, LogTarget("my-aws-cli"))
    follow = LogFollow(kube, "default", pod.name, LogTarget("my-aws-cli"))
    seen: list[list[str]] = []
    done = threading.Event()

    def run() -> None:
        seen.extend(follow.batches())
        done.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    # the stream stays open while the container sleeps; close() from this thread ends its read
    assert follow.opened.wait(60)
    assert not done.is_set()
    follow.close()
    assert done.wait(60), "close() did not end the follow"  # a hang guard, not a timing bound
    assert seen == [] and follow.ended is None
