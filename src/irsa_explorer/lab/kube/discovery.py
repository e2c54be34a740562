"""Discovery documents: what kubectl and the Python client read to find resources."""

from __future__ import annotations

from typing import Any

from .resources import RESOURCES, SUBRESOURCES, Resource


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


# Named groups: the self reviews that `kubectl auth can-i` / `whoami` need, preferred version first, and
# apps/v1 (DaemonSets, daemonsets.py).
GROUPS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "authentication.k8s.io": {"v1": (("selfsubjectreviews", "SelfSubjectReview"),),
                              "v1beta1": (("selfsubjectreviews", "SelfSubjectReview"),)},
    "authorization.k8s.io": {"v1": (("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
                                    ("selfsubjectrulesreviews", "SelfSubjectRulesReview"))},
    "apps": {"v1": tuple((r.plural, r.kind) for r in RESOURCES.values() if r.group == "apps")},
}


def api_groups() -> dict[str, Any]:
    """`/apis`: the named groups (the core group is at `/api`)."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group(name) for name in GROUPS]}


def api_group(name: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in GROUPS[name]]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": versions,
            "preferredVersion": versions[0]}


def group_resources(name: str, version: str) -> dict[str, Any]:
    """`/apis/<group>/<version>`: the review kinds are create-only and cluster-scoped."""
    if name == "apps":
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{name}/{version}",
                "resources": [_entry(r) for r in RESOURCES.values() if r.group == name]}
    resources = [{"name": plural, "singularName": "", "namespaced": False, "kind": kind, "verbs": ["create"]}
                 for plural, kind in GROUPS[name][version]]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{name}/{version}",
            "resources": resources}


def core_v1_resources() -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for res in (r for r in RESOURCES.values() if not r.group):
        resources.append(_entry(res))
    for name, kind, verbs in SUBRESOURCES:
        parent = RESOURCES[name.split("/")[0]]
        resources.append({
            "name": name, "singularName": "", "namespaced": parent.namespaced, "kind": kind, "verbs": list(verbs),
            **({"group": "authentication.k8s.io", "version": "v1"} if kind == "TokenRequest" else {}),
        })
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}


def _entry(res: Resource) -> dict[str, Any]:
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
    return entry
