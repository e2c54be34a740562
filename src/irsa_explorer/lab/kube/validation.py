"""Field validation: unknown fields are rejected (`fieldValidation=Strict`, what kubectl sends)
or dropped with a warning, as kube-apiserver does.

Dropping matters for realism: a typo such as `serviceAcountName` silently vanishes on a real
cluster, and the pod runs as `default`. The field lists come from the official client's
core/v1 models, so there is no schema of our own to keep up to date.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

from kubernetes.client import models
from pydantic import BaseModel

MODELS: dict[str, type[BaseModel]] = {
    "pods": models.V1Pod,
    "serviceaccounts": models.V1ServiceAccount,
    "nodes": models.V1Node,
    "namespaces": models.V1Namespace,
    "secrets": models.V1Secret,
    "configmaps": models.V1ConfigMap,
    "events": models.CoreV1Event,
    "daemonsets": models.V1DaemonSet,
}


@functools.cache
def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """JSON field name → type annotation."""
    return {(info.serialization_alias or info.alias or name): info.annotation
            for name, info in model.model_fields.items()}


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / Annotated[X, …] → X (unions of scalars come back as they are)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _walk(value: Any, annotation: Any, path: str, unknown: list[str]) -> Any:
    """Return `value` without unknown fields, collecting their paths."""
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, dict):
        known = _fields(annotation)
        kept = {}
        for key, item in value.items():
            if key not in known:
                unknown.append(f"{path}.{key}" if path else key)
                continue
            kept[key] = _walk(item, known[key], f"{path}.{key}" if path else key, unknown)
        return kept
    if origin in (list, typing.List) and isinstance(value, list):
        (item_type,) = typing.get_args(annotation) or (Any,)
        return [_walk(item, item_type, f"{path}[{i}]", unknown) for i, item in enumerate(value)]
    if origin in (dict, typing.Dict) and isinstance(value, dict):
        args = typing.get_args(annotation)
        item_type = args[1] if len(args) == 2 else Any
        return {k: _walk(v, item_type, f"{path}.{k}", unknown) for k, v in value.items()}
    return value


def prune_unknown_fields(resource: str, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(obj without fields core/v1 does not define, their paths)."""
    model = MODELS.get(resource)
    if model is None:
        return obj, []
    unknown: list[str] = []
    return _walk(obj, model, "", unknown), unknown
