"""Server-side printing: the `meta.k8s.io/v1 Table` that kubectl asks for and shows as columns.

Column names, cell values and the STATUS logic follow kubectl's printers for pods, service
accounts, nodes, namespaces and DaemonSets, so `kubectl get` looks as it does against EKS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from .daemonsets import DAEMONSET_COLUMNS, daemonset_cells

Column = tuple[str, str, int, str]  # name, type, priority (1 = only with -o wide), format

_NAME: Column = ("Name", "string", 0, "name")
_AGE: Column = ("Age", "string", 0, "")


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: 45s, 3m20s, 95m, 5h4m, 3d4h, 400d, 2y10d."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(obj: dict[str, Any], now: datetime | None = None) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return human_duration(((now or datetime.now(timezone.utc)) - created).total_seconds())


def _since(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "<unknown>"
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return human_duration((now - then).total_seconds())


def pod_status_reason(pod: dict[str, Any]) -> str:
    """kubectl's STATUS column for a pod (Running, Completed, Error, ContainerCreating, …)."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        term = state.get("terminated")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif state.get("waiting", {}).get("reason") not in (None, "PodInitializing"):
            reason = "Init:" + state["waiting"]["reason"]
        else:
            total = len(pod.get("spec", {}).get("initContainers") or [])
            reason = f"Init:{i}/{total}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            if state.get("waiting", {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated", {}).get("reason"):
                reason = state["terminated"]["reason"]
            elif state.get("terminated"):
                reason = f"ExitCode:{state['terminated'].get('exitCode')}"
            elif cs.get("ready") and "running" in state:
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod_row(pod: dict[str, Any], now: datetime) -> list[Any]:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount", 0)) for cs in statuses)
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        pod_status_reason(pod),
        restarts,
        age(pod, now),
        status.get("podIP") or "<none>",
        pod.get("spec", {}).get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _node_row(node: dict[str, Any], now: datetime) -> list[Any]:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else ("NotReady" if ready else "Unknown")
    if node.get("spec", {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = node.get("metadata", {}).get("labels") or {}
    roles = sorted(
        k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k
    )
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        node["metadata"]["name"],
        state,
        ",".join(roles) or "<none>",
        age(node, now),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def _event_object(ev: dict[str, Any]) -> str:
    ref = ev.get("involvedObject") or {}
    return f"{(ref.get('kind') or '').lower()}/{ref.get('name', '')}"


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any], datetime], list[Any]]]] = {
    "pods": (
        [_NAME, ("Ready", "string", 0, ""), ("Status", "string", 0, ""), ("Restarts", "string", 0, ""),
         _AGE, ("IP", "string", 1, ""), ("Node", "string", 1, ""), ("Nominated Node", "string", 1, ""),
         ("Readiness Gates", "string", 1, "")],
        _pod_row,
    ),
    "serviceaccounts": (
        [_NAME, ("Secrets", "string", 0, ""), _AGE],
        lambda sa, now: [sa["metadata"]["name"], len(sa.get("secrets") or []), age(sa, now)],
    ),
    "nodes": (
        [_NAME, ("Status", "string", 0, ""), ("Roles", "string", 0, ""), _AGE, ("Version", "string", 0, ""),
         ("Internal-IP", "string", 1, ""), ("External-IP", "string", 1, ""), ("OS-Image", "string", 1, ""),
         ("Kernel-Version", "string", 1, ""), ("Container-Runtime", "string", 1, "")],
        _node_row,
    ),
    "namespaces": (
        [_NAME, ("Status", "string", 0, ""), _AGE],
        lambda ns, now: [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", "Active"), age(ns, now)],
    ),
    "secrets": (
        [_NAME, ("Type", "string", 0, ""), ("Data", "string", 0, ""), _AGE],
        lambda s, now: [s["metadata"]["name"], s.get("type", "Opaque"), len(s.get("data") or {}), age(s, now)],
    ),
    "configmaps": (
        [_NAME, ("Data", "string", 0, ""), _AGE],
        lambda c, now: [c["metadata"]["name"], len(c.get("data") or {}) + len(c.get("binaryData") or {}),
                        age(c, now)],
    ),
    "events": (
        [("Last Seen", "string", 0, ""), ("Type", "string", 0, ""), ("Reason", "string", 0, ""),
         ("Object", "string", 0, ""), ("Message", "string", 0, "")],
        lambda e, now: [_since(e.get("lastTimestamp"), now), e.get("type", ""), e.get("reason", ""),
                        _event_object(e), e.get("message", "")],
    ),
    "daemonsets": (DAEMONSET_COLUMNS, lambda ds, now: daemonset_cells(ds, age(ds, now))),
}


def wants_table(accept: str | None) -> bool:
    """True when the client accepts a Table first (kubectl get does; -o yaml/json does not)."""
    if not accept:
        return False
    first = accept.split(",")[0]
    return "as=Table" in first


def to_table(resource: str, objects: Iterable[dict[str, Any]], *, resource_version: str = "",
             continue_token: str | None = None, include_object: str = "Metadata") -> dict[str, Any]:
    """Render objects as a Table; rows carry the partial object metadata kubectl uses for -A."""
    columns, row = PRINTERS.get(resource, ([_NAME, _AGE], lambda o, now: [o["metadata"]["name"], age(o, now)]))
    now = datetime.now(timezone.utc)
    rows = []
    for obj in objects:
        if include_object == "Object":
            attached = obj
        elif include_object == "None":
            attached = None
        else:
            attached = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj.get("metadata", {})}
        entry: dict[str, Any] = {"cells": row(obj, now)}
        if attached is not None:
            entry["object"] = attached
        rows.append(entry)
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [
            {"name": name, "type": typ, "format": fmt, "description": name, "priority": priority}
            for name, typ, priority, fmt in columns
        ],
        "rows": rows,
    }
