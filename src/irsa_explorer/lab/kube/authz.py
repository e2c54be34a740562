"""Who may do what: RBAC reduced to what the explorer meets — namespace-scoped readers.

The admin (kubeconfig user) may do everything; service-account tokens may do nothing beyond
discovery and the self reviews, as on EKS where a service account has no RBAC binding until
someone makes one (the lab has no Role/RoleBinding API); users added with
`KubeApiServer.add_user` get a verb set, everywhere or in some namespaces only. A namespace-scoped user cannot list across namespaces nor read cluster-scoped
resources, which is exactly the restricted-kubeconfig case the explorer must report.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_VERBS = frozenset({"get", "list", "watch"})
ALL_VERBS = READ_VERBS | {"create", "update", "patch", "delete", "deletecollection"}
NO_VERBS: frozenset[str] = frozenset()  # a service account: no RBAC binding


@dataclass(frozen=True)
class Grant:
    user: str
    verbs: frozenset[str] = READ_VERBS
    namespaces: frozenset[str] | None = None  # None: all namespaces and cluster scope
    groups: tuple[str, ...] = ()  # given by impersonation (`--as-group`); otherwise derived, see user_groups
    # Cluster-scoped resources a namespace user may read anyway, as a ClusterRole binding would
    # grant (e.g. "namespaces": may list namespaces but not pods across them).
    cluster_read: frozenset[str] = frozenset()

    def allows(self, verb: str, namespace: str | None) -> bool:
        if verb not in self.verbs:
            return False
        return self.namespaces is None or (namespace is not None and namespace in self.namespaces)


ADMIN = Grant("kubernetes-admin", ALL_VERBS)


def impersonated(requester: Grant, user: str, groups: list[str], known_users: list[Grant]) -> Grant | None:
    """The grant of the user named in `Impersonate-User` (`kubectl --as … [--as-group …]`), or None
    when `requester` may not impersonate: as on EKS, only the cluster admin (system:masters) may.

    The lab's rules decide what the impersonated user may do: system:masters all, `add_user`
    users their grant, service accounts and anyone else nothing.
    """
    if requester != ADMIN:
        return None
    if user == ADMIN.user and not groups:
        return ADMIN
    named = tuple(groups)
    if "system:masters" in groups:
        return Grant(user, ALL_VERBS, groups=named)
    if user.startswith("system:serviceaccount:"):
        return Grant(user, NO_VERBS, groups=named)
    for grant in known_users:
        if grant.user == user:
            return Grant(grant.user, grant.verbs, grant.namespaces, named, grant.cluster_read)
    return Grant(user, frozenset(), groups=named)


def grant_allows(grant: Grant, verb: str, resource: str, name: str | None, namespace: str | None,
                 namespaced: bool) -> bool:
    """The one access rule, shared by requests and `kubectl auth can-i` (SelfSubjectAccessReview)."""
    scope = namespace if namespaced else None
    if resource == "namespaces" and name and grant.namespaces is not None and name in grant.namespaces:
        scope = name  # reading one's own namespace object is allowed to namespace users
    if not namespaced and resource in grant.cluster_read and verb in READ_VERBS:
        return True
    return grant.allows(verb, scope)


def user_groups(grant: Grant) -> list[str]:
    """The groups kube-apiserver would report for the user (`kubectl auth whoami`)."""
    if grant.groups:
        return [*grant.groups, "system:authenticated"]
    if grant.user.startswith("system:serviceaccount:"):
        namespace = grant.user.split(":")[2]
        return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    if grant == ADMIN:
        return ["system:masters", "system:authenticated"]
    return ["system:authenticated"]


def request_verb(method: str, has_name: bool, watch: bool, subresource: str | None) -> str:
    """The RBAC verb of a request, as the API server's request-info resolver names it."""
    if subresource in ("exec", "attach", "token"):
        return "create"
    if method == "GET":
        return "get" if has_name else ("watch" if watch else "list")
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    return method.lower()


def forbidden_message(user: str, verb: str, resource: str, subresource: str | None, name: str | None,
                      namespace: str | None, group: str = "") -> str:
    """kube-apiserver's wording, e.g. `pods is forbidden: User "x" cannot list resource "pods"
    in API group "" at the cluster scope`."""
    qualified = f"{resource}.{group}" if group else resource
    target = f'{qualified} "{name}"' if name else qualified
    full = f"{resource}/{subresource}" if subresource else resource
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return f'{target} is forbidden: User "{user}" cannot {verb} resource "{full}" in API group "{group}" {scope}'
