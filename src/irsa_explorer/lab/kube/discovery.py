"""Discovery documents: what kubectl and the Python client read to find resources."""

from __future__ import annotations

from typing import Any

from .resources import RESOURCES, SUBRESOURCES


def version(kube_version: str) -> dict[str, Any]:
    """`/version` as an EKS control plane answers it (e.g. v1.27.16-eks-…)."""
    major, minor = (kube_version.split(".") + ["0"])[:2]
    return {
        "major": major,
        "minor": f"{minor}+",
        "gitVersion": f"v{kube_version}.16-eks-lab",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-03-01T00:00:00Z",
        "goVersion": "go1.21.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}],
    }


def api_groups() -> dict[str, Any]:
    # Only the core group is served; an empty group list is what a minimal cluster would say.
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}


def core_v1_resources() -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for res in RESOURCES.values():
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs),
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        resources.append(entry)
    for name, kind, verbs in SUBRESOURCES:
        parent = RESOURCES[name.split("/")[0]]
        resources.append({
            "name": name, "singularName": "", "namespaced": parent.namespaced, "kind": kind, "verbs": list(verbs),
            **({"group": "authentication.k8s.io", "version": "v1"} if kind == "TokenRequest" else {}),
        })
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}
