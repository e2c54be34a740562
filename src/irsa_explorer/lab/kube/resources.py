"""The resources the lab API server serves, with what discovery says about them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )
    categories: tuple[str, ...] = ()


RESOURCES: dict[str, Resource] = {
    r.plural: r
    for r in (
        Resource("namespaces", "namespace", "Namespace", False, ("ns",),
                 ("create", "delete", "get", "list", "patch", "update", "watch")),
        Resource("nodes", "node", "Node", False, ("no",)),
        Resource("pods", "pod", "Pod", True, ("po",), categories=("all",)),
        Resource("serviceaccounts", "serviceaccount", "ServiceAccount", True, ("sa",)),
        Resource("events", "event", "Event", True, ("ev",)),
        Resource("secrets", "secret", "Secret", True),
        Resource("configmaps", "configmap", "ConfigMap", True, ("cm",)),
    )
}

# Subresources listed in discovery (kubectl and the Python client look some of them up).
SUBRESOURCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pods/log", "Pod", ("get",)),
    ("pods/exec", "PodExecOptions", ("create", "get")),
    ("pods/attach", "PodAttachOptions", ("create", "get")),
    ("pods/status", "Pod", ("get", "patch", "update")),
    ("serviceaccounts/token", "TokenRequest", ("create",)),
    ("namespaces/status", "Namespace", ("get", "patch", "update")),
    ("nodes/status", "Node", ("get", "patch", "update")),
)
