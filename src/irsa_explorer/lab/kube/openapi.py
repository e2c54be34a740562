"""The OpenAPI documents kubectl reads before `create`/`apply`.

kubectl validates manifests by asking whether the server takes the
`fieldValidation` query parameter on PATCH of the kind; if so the server validates and
kubectl sends `?fieldValidation=Strict`. That check reads `/openapi/v3/api/v1` (newer kubectl)
or `/openapi/v2` as gnostic protobuf (kubectl 1.27) for a PATCH operation tagged with
`x-kubernetes-group-version-kind`. The PATCH operations list no
strategic-merge content type on purpose: kubectl then computes strategic merge patches
from its compiled-in core/v1 types, which know every merge key, instead of from schemas
this server would have to reproduce.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .protobuf import bool_field, message_field, string_field
from .resources import RESOURCES

_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")


def _operation(kind: str, action: str, op_id: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": kind},
    }
    return op


def core_v1_document() -> dict[str, Any]:
    """The OpenAPI v3 document of group/version `api/v1` (paths only, no schemas)."""
    field_validation = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    dry_run = {"name": "dryRun", "in": "query", "schema": {"type": "string"}}
    field_manager = {"name": "fieldManager", "in": "query", "schema": {"type": "string"}}
    paths: dict[str, Any] = {}
    for res in (r for r in RESOURCES.values() if not r.group):  # api/v1 only
        base = f"/api/v1/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"/api/v1/{res.plural}"
        paths[base] = {
            "get": _operation(res.kind, "list", f"list{res.kind}", []),
            "post": {
                **_operation(res.kind, "post", f"create{res.kind}", [dry_run, field_manager, field_validation]),
                "requestBody": {"content": {"*/*": {}}},
            },
        }
        paths[base + "/{name}"] = {
            "get": _operation(res.kind, "get", f"read{res.kind}", []),
            "put": {
                **_operation(res.kind, "put", f"replace{res.kind}", [dry_run, field_manager, field_validation]),
                "requestBody": {"content": {"*/*": {}}},
            },
            "patch": {
                **_operation(res.kind, "patch", f"patch{res.kind}", [dry_run, field_manager, field_validation]),
                "requestBody": {"content": {t: {} for t in _PATCH_TYPES}},
            },
            "delete": _operation(res.kind, "delete", f"delete{res.kind}", [dry_run]),
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.27.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def documents() -> tuple[dict[str, Any], bytes]:
    """(the `/openapi/v3` index, the `api/v1` document as JSON bytes)."""
    body = json.dumps(core_v1_document(), separators=(",", ":")).encode()
    digest = hashlib.sha512(body).hexdigest()[:64].upper()
    index = {"paths": {"api/v1": {"serverRelativeURL": f"/openapi/v3/api/v1?hash={digest}"}}}
    return index, body


def _gvk_extension(kind: str) -> bytes:
    # NamedAny{name, value: Any{yaml}}: the v2 verifier reads the GVK from this YAML.
    value = string_field(2, f'group: ""\nkind: {kind}\nversion: v1\n')
    return string_field(1, "x-kubernetes-group-version-kind") + message_field(2, value)


def _query_parameter(name: str) -> bytes:
    # ParametersItem{parameter: Parameter{non_body: NonBodyParameter{query: QueryParameterSubSchema}}}
    sub = string_field(2, "query") + string_field(4, name) + string_field(6, "string") + bool_field(20, True)
    return message_field(1, message_field(2, message_field(3, sub)))


def _v2_operation(kind: str, op_id: str, params: tuple[str, ...]) -> bytes:
    body = string_field(5, op_id)
    for content in ("application/json",):
        body += string_field(6, content)
    for param in params:
        body += message_field(8, _query_parameter(param))
    ok = message_field(1, string_field(1, "200") + message_field(2, message_field(1, string_field(1, "OK"))))
    body += message_field(9, ok)
    body += message_field(13, _gvk_extension(kind))
    return body


def core_v1_swagger_protobuf() -> bytes:
    """`/openapi/v2` as `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
    (a gnostic openapi_v2.Document: paths only, no definitions)."""
    params = ("dryRun", "fieldManager", "fieldValidation")
    paths = b""
    for res in (r for r in RESOURCES.values() if not r.group):  # api/v1 only
        base = f"/api/v1/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"/api/v1/{res.plural}"
        collection = (message_field(2, _v2_operation(res.kind, f"list{res.kind}", ()))
                      + message_field(4, _v2_operation(res.kind, f"create{res.kind}", params)))
        item = (message_field(2, _v2_operation(res.kind, f"read{res.kind}", ()))
                + message_field(3, _v2_operation(res.kind, f"replace{res.kind}", params))
                + message_field(5, _v2_operation(res.kind, f"delete{res.kind}", ("dryRun",)))
                + message_field(8, _v2_operation(res.kind, f"patch{res.kind}", params)))
        paths += message_field(2, string_field(1, base) + message_field(2, collection))
        paths += message_field(2, string_field(1, base + "/{name}") + message_field(2, item))
    info = string_field(1, "Kubernetes") + string_field(2, "v1.27.0")
    return string_field(1, "2.0") + message_field(2, info) + message_field(8, paths)
