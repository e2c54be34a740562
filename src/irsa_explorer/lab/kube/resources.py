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
    group: str = ""  # "" is the core group (/api/v1); others are served at /apis/<group>/v1

    @property
    def api_version(self) -> str:
        return f"{self.group}/v1" if self.group else "v1"


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
        # apps/v1: the EKS add-ons' DaemonSets (eks-pod-identity-agent), kept by daemonsets.py
        Resource("daemonsets", "daemonset", "DaemonSet", True, ("ds",), categories=("all",), group="apps"),
    )
}



def qualified(resource: str) -> str:
    """The resource as the API server names it in messages: `pods`, `daemonsets.apps`."""
    info = RESOURCES.get(resource)
    return f"{resource}.{info.group}" if info is not None and info.group else resource


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
