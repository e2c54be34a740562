"""Just enough protobuf to read what kubectl sends: the wire format and the TokenRequest of
`kubectl create token` (protobuf_objects.py decodes the other objects).

kubectl posts `application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a
`runtime.Unknown` (1: TypeMeta, 2: raw message bytes, 3: contentEncoding, 4: contentType)
whose raw bytes are an `authentication.v1.TokenRequest` (1: metadata, 2: spec, 3: status).
TokenRequestSpec: 1 audiences (repeated), 3 boundObjectRef, 4 expirationSeconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value): ints for varints, bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def unwrap_unknown(body: bytes) -> tuple[dict[str, str], bytes]:
    """Strip the magic and the runtime.Unknown envelope: (typeMeta, raw message)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic")
    type_meta: dict[str, str] = {}
    raw = b""
    for number, wire, value in fields(body[len(MAGIC):]):
        if number == 1 and wire == 2:
            for n, w, v in fields(value):
                if w == 2:
                    type_meta[{1: "apiVersion", 2: "kind"}.get(n, str(n))] = v.decode()
        elif number == 2 and wire == 2:
            raw = value
    return type_meta, raw


def decode_token_request(body: bytes) -> dict[str, Any]:
    """The TokenRequest as the JSON dict the same request would have carried."""
    type_meta, raw = unwrap_unknown(body)
    spec: dict[str, Any] = {}
    for number, wire, value in fields(raw):
        if number != 2 or wire != 2:
            continue
        for n, w, v in fields(value):
            if n == 1 and w == 2:
                spec.setdefault("audiences", []).append(v.decode())
            elif n == 4 and w == 0:
                spec["expirationSeconds"] = v
            elif n == 3 and w == 2:
                ref = {}
                for rn, rw, rv in fields(v):
                    if rw == 2:
                        ref[{1: "kind", 2: "apiVersion", 3: "name", 4: "uid"}.get(rn, str(rn))] = rv.decode()
                spec["boundObjectRef"] = ref
    return {"apiVersion": type_meta.get("apiVersion", "authentication.k8s.io/v1"),
            "kind": type_meta.get("kind", "TokenRequest"), "spec": spec}


# --- encoding (for the OpenAPI v2 document kubectl fetches as protobuf) ----------------------


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def string_field(number: int, value: str) -> bytes:
    return message_field(number, value.encode())


def message_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings, bytes and embedded messages."""
    return _encode_varint((number << 3) | 2) + _encode_varint(len(payload)) + payload


def bool_field(number: int, value: bool) -> bytes:
    return _encode_varint(number << 3) + _encode_varint(1 if value else 0)
