"""PATCH semantics: JSON merge patch, strategic merge patch (core/v1 keys) and JSON patch."""

from __future__ import annotations

from .store import clone
from typing import Any

# Lists that strategic merge patch merges element-wise, by this key (from core/v1's
# `patchMergeKey` tags); every other list is replaced whole.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "secrets": "name",
    "conditions": "type",
    # not tolerations: core/v1 declares them `listType=atomic` (no patchMergeKey), replaced whole
    "hostAliases": "ip",
    "ownerReferences": "uid",
}


class PatchError(ValueError):
    """A patch that cannot be applied: the server answers 422 or 400."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge for core/v1 objects: lists of named things merge by key; `$patch`
    directives (delete/replace) and `$setElementOrder`/`$retainKeys` are understood."""
    if not isinstance(patch, dict):
        return clone(patch)
    if patch.get("$patch") == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key.startswith("$deleteFromPrimitiveList/"):
            if key.startswith("$deleteFromPrimitiveList/"):
                field = key.split("/", 1)[1]
                result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if key in ("$retainKeys", "$patch"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, MERGE_KEYS[key])
        elif isinstance(value, dict):
            result[key] = strategic_merge_patch(result.get(key), value)
        else:
            result[key] = clone(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: list[Any], patch: list[Any], key: str) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [clone(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    merged = [clone(item) for item in current]
    index = {item.get(key): i for i, item in enumerate(merged) if isinstance(item, dict)}
    deleted: set[Any] = set()
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            merged.append(clone(item))
            continue
        if item.get("$patch") == "delete":
            deleted.add(item[key])
            continue
        if item[key] in index:
            pos = index[item[key]]
            merged[pos] = strategic_merge_patch(merged[pos], item)
        else:
            index[item[key]] = len(merged)
            merged.append(strategic_merge_patch({}, item))
    return [m for m in merged if not (isinstance(m, dict) and m.get(key) in deleted)]


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise PatchError(f"path {'/'.join(parts)!r} does not exist")
    return doc


def json_patch(target: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 (add, remove, replace, test, copy, move)."""
    doc = clone(target)
    try:
        for op in operations:
            kind = op.get("op")
            parts = _pointer(op.get("path", ""))
            if kind in ("copy", "move"):
                src = _pointer(op["from"])
                value = clone(_walk(doc, src))
                if kind == "move":
                    parent = _walk(doc, src[:-1])
                    del parent[int(src[-1]) if isinstance(parent, list) else src[-1]]
                kind, op = "add", {"value": value}
            if kind == "test":
                if _walk(doc, parts) != op.get("value"):
                    raise PatchError(f"test failed at {op.get('path')}")
                continue
            if not parts:
                if kind in ("add", "replace"):
                    doc = clone(op["value"])
                    continue
                raise PatchError("cannot remove the whole document")
            parent = _walk(doc, parts[:-1])
            last = parts[-1]
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), clone(op["value"]))
                else:
                    parent[last] = clone(op["value"])
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = clone(op["value"])
                else:
                    if last not in parent:
                        raise PatchError(f"replace operation does not apply: doc is missing key: {op.get('path')}")
                    parent[last] = clone(op["value"])
            else:
                raise PatchError(f"unexpected operation {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        if isinstance(exc, PatchError):
            raise
        raise PatchError(f"the patch does not apply: {exc}") from exc
    return doc
