"""Waiting on the lab API server for a pod's phase: poll, never sleep a guessed time."""

from __future__ import annotations

import time
from collections.abc import Collection

from kubernetes import client as k8s


def wait_phase(core: k8s.CoreV1Api, namespace: str, name: str, phases: Collection[str],
               timeout: float = 10.0) -> k8s.V1Pod:
    """The pod once its phase is one of `phases`; AssertionError naming the phase it stayed in."""
    deadline = time.monotonic() + timeout
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase in phases:
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {namespace}/{name} stayed {pod.status.phase}, not {sorted(phases)}")
        time.sleep(0.02)
