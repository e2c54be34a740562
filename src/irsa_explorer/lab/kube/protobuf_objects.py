"""Decode the Kubernetes objects kubectl sends as protobuf into the JSON dicts the lab stores.

kubectl 1.32's `create serviceaccount|namespace|secret|configmap` and `auth can-i`
post `application/vnd.kubernetes.protobuf` (see protobuf.py for the envelope).
Each message is described by a small schema — field number → (JSON name, how to read it) —
taken from the field numbers of k8s.io/api core/v1 and authorization/v1 generated.proto and
apimachinery meta/v1 generated.proto. Only the fields the lab uses are listed; any other
field is skipped, as a protobuf reader must.

Go's generated marshallers always write non-pointer strings, ints and bools, even when
empty ("omitempty" does not exist in protobuf), so zero values of those are dropped here
to give the same dict a JSON client would have sent. Pointer fields (`optbool`) keep
`false`, because there false was chosen by the user.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Union

from .protobuf import ProtobufError, fields, unwrap_unknown

# How a field is read: a scalar kind, or a nested schema (a message).
Kind = Union[str, "Schema"]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind  # "string", "bytes" (base64 in JSON), "int", "bool", "optbool", "map", "bytesmap", or a Schema
    repeated: bool = False


Schema = dict[int, Field]

OBJECT_META: Schema = {
    1: Field("name", "string"),
    2: Field("generateName", "string"),
    3: Field("namespace", "string"),
    6: Field("resourceVersion", "string"),
    11: Field("labels", "map"),
    12: Field("annotations", "map"),
}
LOCAL_OBJECT_REFERENCE: Schema = {1: Field("name", "string")}
ENV_VAR: Schema = {1: Field("name", "string"), 2: Field("value", "string")}
CONTAINER: Schema = {
    1: Field("name", "string"),
    2: Field("image", "string"),
    3: Field("command", "string", repeated=True),
    4: Field("args", "string", repeated=True),
    5: Field("workingDir", "string"),
    7: Field("env", ENV_VAR, repeated=True),
    14: Field("imagePullPolicy", "string"),
    16: Field("stdin", "bool"),
    17: Field("stdinOnce", "bool"),
    18: Field("tty", "bool"),
}
POD_SPEC: Schema = {
    2: Field("containers", CONTAINER, repeated=True),
    3: Field("restartPolicy", "string"),
    4: Field("terminationGracePeriodSeconds", "int"),
    6: Field("dnsPolicy", "string"),
    7: Field("nodeSelector", "map"),
    8: Field("serviceAccountName", "string"),
    9: Field("serviceAccount", "string"),
    10: Field("nodeName", "string"),
    11: Field("hostNetwork", "bool"),
    15: Field("imagePullSecrets", LOCAL_OBJECT_REFERENCE, repeated=True),
    20: Field("initContainers", CONTAINER, repeated=True),
    21: Field("automountServiceAccountToken", "optbool"),
}
RESOURCE_ATTRIBUTES: Schema = {
    1: Field("namespace", "string"),
    2: Field("verb", "string"),
    3: Field("group", "string"),
    4: Field("version", "string"),
    5: Field("resource", "string"),
    6: Field("subresource", "string"),
    7: Field("name", "string"),
}
NON_RESOURCE_ATTRIBUTES: Schema = {1: Field("path", "string"), 2: Field("verb", "string")}

# Top-level objects by kind; field 1 is always metadata.
OBJECTS: dict[str, Schema] = {
    "ServiceAccount": {
        1: Field("metadata", OBJECT_META),
        3: Field("imagePullSecrets", LOCAL_OBJECT_REFERENCE, repeated=True),
        4: Field("automountServiceAccountToken", "optbool"),
    },
    "Namespace": {
        1: Field("metadata", OBJECT_META),
        2: Field("spec", {1: Field("finalizers", "string", repeated=True)}),
    },
    "Secret": {
        1: Field("metadata", OBJECT_META),
        2: Field("data", "bytesmap"),
        3: Field("type", "string"),
        4: Field("stringData", "map"),
        5: Field("immutable", "optbool"),
    },
    "ConfigMap": {
        1: Field("metadata", OBJECT_META),
        2: Field("data", "map"),
        3: Field("binaryData", "bytesmap"),
        4: Field("immutable", "optbool"),
    },
    "Pod": {
        1: Field("metadata", OBJECT_META),
        2: Field("spec", POD_SPEC),
    },
    "SelfSubjectAccessReview": {
        1: Field("metadata", OBJECT_META),
        2: Field("spec", {1: Field("resourceAttributes", RESOURCE_ATTRIBUTES),
                          2: Field("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES)}),
    },
    "SelfSubjectReview": {1: Field("metadata", OBJECT_META)},
    "SelfSubjectRulesReview": {
        1: Field("metadata", OBJECT_META),
        2: Field("spec", {1: Field("namespace", "string")}),
    },
}

# The wire type each kind arrives with; a field sent with another one is skipped.
_WIRE = {"string": 2, "bytes": 2, "map": 2, "bytesmap": 2, "int": 0, "bool": 0, "optbool": 0}


def decode_object(body: bytes) -> dict[str, Any]:
    """The object in a `k8s\\0` + runtime.Unknown body, as the JSON dict a JSON client sends.

    Raises ProtobufError for a malformed body or a kind the lab does not decode.
    """
    type_meta, raw = unwrap_unknown(body)
    kind = type_meta.get("kind", "")
    schema = OBJECTS.get(kind)
    if schema is None:
        raise ProtobufError(f"the lab cannot decode {kind or 'an untyped object'} from protobuf")
    obj = decode_message(raw, schema)
    obj["apiVersion"] = type_meta.get("apiVersion", "v1")
    obj["kind"] = kind
    return obj


def decode_message(data: bytes, schema: Schema) -> dict[str, Any]:
    """One message as a dict: known fields by JSON name, unknown fields skipped."""
    out: dict[str, Any] = {}
    for number, wire, value in fields(data):
        field = schema.get(number)
        if field is None:
            continue
        expected = 2 if isinstance(field.kind, dict) else _WIRE[field.kind]
        if wire != expected:
            continue
        if field.kind in ("map", "bytesmap"):
            key, item = _map_entry(value, binary=field.kind == "bytesmap")
            out.setdefault(field.name, {})[key] = item
            continue
        decoded = _scalar_or_message(field.kind, value)
        if field.repeated:
            out.setdefault(field.name, []).append(decoded)
        elif not _is_zero(field.kind, decoded):
            out[field.name] = decoded
    return out


def _scalar_or_message(kind: Kind, value: Any) -> Any:
    if isinstance(kind, dict):
        return decode_message(value, kind)
    if kind == "string":
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise ProtobufError("a string field is not UTF-8") from exc
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "int":
        return value - (1 << 64) if value >= 1 << 63 else value  # int64 two's complement
    return bool(value)  # bool, optbool


def _is_zero(kind: Kind, value: Any) -> bool:
    """A value Go would have written even though nobody set it (see the module docstring)."""
    if kind == "optbool":
        return False
    if isinstance(kind, dict):
        return value == {}
    return value in ("", 0, False)


def _map_entry(entry: bytes, *, binary: bool) -> tuple[str, str]:
    """A map<string, string|bytes> entry (1: key, 2: value); bytes become base64 as in JSON."""
    key, value = "", b""
    for number, wire, item in fields(entry):
        if wire != 2:
            continue
        if number == 1:
            key = _scalar_or_message("string", item)
        elif number == 2:
            value = item
    return key, base64.b64encode(value).decode() if binary else _scalar_or_message("string", value)
