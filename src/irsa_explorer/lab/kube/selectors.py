"""Label and field selectors with the API server's grammar and its errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]

# Fields each resource can be selected by (what kube-apiserver registers; all resources
# also take metadata.name and metadata.namespace).
SELECTABLE_FIELDS: dict[str, frozenset[str]] = {
    "pods": frozenset(
        {"spec.serviceAccountName", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
         "status.phase", "status.podIP", "status.nominatedNodeName", "spec.hostNetwork"}
    ),
    "events": frozenset(
        {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
         "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
         "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}
    ),
    "secrets": frozenset({"type"}),
    "namespaces": frozenset({"status.phase"}),
    "nodes": frozenset({"spec.unschedulable"}),
}


class SelectorError(ValueError):
    """An unparsable or unsupported selector: the server answers 400 BadRequest."""


_REQUIREMENT = re.compile(
    r"""\s*(?:
        (?P<not>!)\s*(?P<nkey>[^\s,=!()]+)                                 # !key
      | (?P<skey>[^\s,=!()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)  # key in (a,b)
      | (?P<ekey>[^\s,=!()]+)\s*(?P<eop>==|=|!=)\s*(?P<value>[^\s,=!()]*) # key=value
      | (?P<xkey>[^\s,=!()]+)                                              # key
    )\s*(?:,|$)""",
    re.VERBOSE,
)


def parse_label_selector(text: str | None) -> Matcher:
    """Compile a label selector (=, ==, !=, in, notin, exists, !exists) into a predicate."""
    if not text or not text.strip():
        return lambda obj: True
    checks: list[Callable[[Mapping[str, str]], bool]] = []
    pos = 0
    while pos < len(text):
        match = _REQUIREMENT.match(text, pos)
        if not match or match.end() == pos:
            raise SelectorError(f"unable to parse requirement: {text[pos:]!r}")
        pos = match.end()
        g = match.groupdict()
        if g["nkey"]:
            key = g["nkey"]
            checks.append(lambda labels, key=key: key not in labels)
        elif g["skey"]:
            key = g["skey"]
            values = frozenset(v.strip() for v in g["values"].split(",") if v.strip())
            if g["op"] == "in":
                checks.append(lambda labels, key=key, values=values: labels.get(key) in values)
            else:
                checks.append(lambda labels, key=key, values=values: labels.get(key) not in values)
        elif g["ekey"]:
            key, value = g["ekey"], g["value"]
            if g["eop"] == "!=":
                checks.append(lambda labels, key=key, value=value: labels.get(key) != value)
            else:
                checks.append(lambda labels, key=key, value=value: labels.get(key) == value)
        else:
            key = g["xkey"]
            checks.append(lambda labels, key=key: key in labels)

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return matches


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string form of a dotted field, as field selectors compare it ("" when unset)."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_field_selector(text: str | None, resource: str) -> Matcher:
    """Compile a field selector (=, ==, !=) for `resource`; unknown fields are a 400 as upstream."""
    if not text or not text.strip():
        return lambda obj: True
    allowed = SELECTABLE_FIELDS.get(resource, frozenset()) | {"metadata.name", "metadata.namespace"}
    checks: list[tuple[str, bool, str]] = []
    for term in text.split(","):
        term = term.strip()
        if not term:
            continue
        for op in ("!=", "==", "="):
            if op in term:
                field, value = term.split(op, 1)
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field = field.strip()
        if field not in allowed:
            raise SelectorError(f'field label not supported: {field}')
        checks.append((field, op == "!=", value.strip()))

    def matches(obj: dict[str, Any]) -> bool:
        return all((field_value(obj, f) != v) if negate else (field_value(obj, f) == v)
                   for f, negate, v in checks)

    return matches
