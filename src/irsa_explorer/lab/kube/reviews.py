"""The self reviews: `kubectl auth can-i` (SelfSubjectAccessReview, and SelfSubjectRulesReview
for `--list`) and `kubectl auth whoami` (SelfSubjectReview).

They answer from the same simplified rules the server enforces (authz.py): the admin may
do everything, service-account tokens nothing, `add_user` users get their verbs, in all
or some namespaces. Every authenticated user may create these reviews, as on a real
cluster (system:basic-user).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .authz import ADMIN, ALL_VERBS, Grant, grant_allows, user_groups
from .errors import ApiError, json_response
from .protobuf import ProtobufError
from .protobuf_objects import decode_object
from .resources import RESOURCES

AUTHORIZATION = "authorization.k8s.io"
AUTHENTICATION = "authentication.k8s.io"
# (group, version, plural) → kind, for the review endpoints the lab serves.
REVIEWS: dict[tuple[str, str, str], str] = {
    (AUTHORIZATION, "v1", "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
    (AUTHORIZATION, "v1", "selfsubjectrulesreviews"): "SelfSubjectRulesReview",
    (AUTHENTICATION, "v1", "selfsubjectreviews"): "SelfSubjectReview",
    (AUTHENTICATION, "v1beta1", "selfsubjectreviews"): "SelfSubjectReview",
}
_SELF_REVIEWS = {(group, plural) for group, _, plural in REVIEWS}
# What any authenticated user may GET outside resources (system:discovery, system:public-info-viewer).
DISCOVERY_PATHS = ("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version",
                   "/version/", "/openapi", "/openapi/*", "/.well-known/openid-configuration", "/openid/v1/jwks")


def access_review_status(grant: Grant, spec: dict[str, Any]) -> dict[str, Any]:
    """SubjectAccessReviewStatus for one resource or non-resource request by `grant`'s user."""
    attrs = spec.get("resourceAttributes")
    if attrs:
        verb, resource = attrs.get("verb", ""), attrs.get("resource", "")
        known = RESOURCES.get(resource) if attrs.get("group", "") == "" else None
        namespaced = known.namespaced if known else bool(attrs.get("namespace"))
        if verb == "create" and (attrs.get("group", ""), resource) in _SELF_REVIEWS:
            # Anyone authenticated may ask (system:basic-user), as rules_review_status lists.
            return {"allowed": True, "reason": "lab: every authenticated user may create self reviews"}
        allowed = _verb_allowed(grant, verb, resource, attrs.get("name"), attrs.get("namespace") or None, namespaced)
    else:
        non_resource = spec.get("nonResourceAttributes") or {}
        allowed = grant == ADMIN or (
            non_resource.get("verb") == "get" and _matches_discovery(non_resource.get("path", "")))
    if not allowed:
        return {"allowed": False}  # as RBAC: a plain "no", no reason
    return {"allowed": True, "reason": f"lab: {_who(grant)} may {_verbs_text(grant)}"}


def rules_review_status(grant: Grant, namespace: str) -> dict[str, Any]:
    """SubjectRulesReviewStatus: what `grant`'s user may do in `namespace` (`can-i --list`)."""
    resource_rules: list[dict[str, Any]] = [{
        "verbs": ["create"], "apiGroups": [AUTHORIZATION],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
        {"verbs": ["create"], "apiGroups": [AUTHENTICATION], "resources": ["selfsubjectreviews"]}]
    if grant.verbs and (grant.namespaces is None or namespace in grant.namespaces):
        verbs = ["*"] if grant.verbs >= ALL_VERBS and grant.namespaces is None else sorted(grant.verbs)
        resource_rules.insert(0, {"verbs": verbs, "apiGroups": ["*"], "resources": ["*"]})
    non_resource_rules = [{"verbs": ["*"], "nonResourceURLs": ["*"]}] if grant == ADMIN else [
        {"verbs": ["get"], "nonResourceURLs": list(DISCOVERY_PATHS)}]
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}


def user_info(grant: Grant) -> dict[str, Any]:
    """The UserInfo of a SelfSubjectReview (`kubectl auth whoami`)."""
    return {"username": grant.user, "groups": user_groups(grant)}


def _verb_allowed(grant: Grant, verb: str, resource: str, name: str | None, namespace: str | None,
                  namespaced: bool) -> bool:
    if verb == "*":  # every verb, as RBAC reads a wildcard request
        return all(grant_allows(grant, v, resource, name, namespace, namespaced) for v in ALL_VERBS)
    return grant_allows(grant, verb, resource, name, namespace, namespaced)


def _matches_discovery(path: str) -> bool:
    return any(path == p or (p.endswith("/*") and path.startswith(p[:-1])) for p in DISCOVERY_PATHS)


def _who(grant: Grant) -> str:
    if grant == ADMIN:
        return "the cluster admin"
    if grant.user.startswith("system:serviceaccount:"):
        return "service-account tokens"
    return f'user "{grant.user}"'


def _verbs_text(grant: Grant) -> str:
    verbs = "do everything" if grant.verbs >= ALL_VERBS else "read (get, list, watch)"
    if grant.namespaces is None:
        return verbs
    return f"{verbs} in namespaces {', '.join(sorted(grant.namespaces))}"


class ReviewHandlers:
    """Mixed into KubeApiServer: POST /apis/{authorization,authentication}.k8s.io/<v>/<review>."""

    async def _review(self, request: web.Request, grant: Grant, group: str, version: str,
                      plural: str) -> web.Response:
        kind = REVIEWS.get((group, version, plural))
        if kind is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if request.method != "POST":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self._count(f"create {kind.lower()}")
        body = await _review_body(request)
        spec = body.get("spec") or {}
        if kind == "SelfSubjectAccessReview":
            if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
                raise ApiError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                               "spec.resourceAttributes: Invalid value: \"null\": exactly one of "
                               "nonResourceAttributes or resourceAttributes must be specified")
            status = access_review_status(grant, spec)
        elif kind == "SelfSubjectRulesReview":
            status = rules_review_status(grant, spec.get("namespace") or "default")
        else:
            status = {"userInfo": user_info(grant)}
        result = {"kind": kind, "apiVersion": f"{group}/{version}", "metadata": {"creationTimestamp": None},
                  **({"spec": spec} if kind != "SelfSubjectReview" else {}), "status": status}
        return json_response(result, 201)


async def _review_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = decode_object(raw) if request.content_type == "application/vnd.kubernetes.protobuf" \
            else json.loads(raw or b"{}")
    except (ProtobufError, ValueError) as exc:
        raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the body of the request must be an object")
    return body
