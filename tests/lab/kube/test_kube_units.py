"""Pure pieces of the API server: selectors, patches, the TokenRequest protobuf, Table cells."""

from __future__ import annotations

import pytest

from irsa_explorer.lab.kube import protobuf
from irsa_explorer.lab.kube.patch import json_patch, merge_patch, strategic_merge_patch
from irsa_explorer.lab.kube.selectors import SelectorError, parse_field_selector, parse_label_selector
from irsa_explorer.lab.kube.table import human_duration, pod_status_reason

OBJ = {"metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web", "tier": "front"}},
       "spec": {"serviceAccountName": "my-sa", "nodeName": "n1"}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", True), ("app==web", True), ("app!=web", False), ("app=db", False),
        ("app in (db, web)", True), ("app notin (db,web)", False), ("tier", True), ("!tier", False),
        ("!missing", True), ("missing", False), ("app=web,tier in (front)", True), ("app=web,!tier", False),
        ("missing!=x", True), ("", True),
    ],
)
def test_label_selector(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector)(OBJ) is expected


def test_label_selector_rejects_garbage() -> None:
    with pytest.raises(SelectorError):
        parse_label_selector("app in (a")


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("spec.serviceAccountName=my-sa", True), ("spec.serviceAccountName!=my-sa", False),
        ("spec.nodeName==n1,status.phase=Running", True), ("metadata.name=q", False),
        ("metadata.namespace=ns", True),
    ],
)
def test_field_selector(selector: str, expected: bool) -> None:
    assert parse_field_selector(selector, "pods")(OBJ) is expected


def test_field_selector_rejects_unknown_field() -> None:
    with pytest.raises(SelectorError, match="field label not supported: spec.containers"):
        parse_field_selector("spec.containers=x", "pods")


def test_merge_patch_nulls_delete() -> None:
    doc = {"metadata": {"annotations": {"a": "1", "b": "2"}}}
    assert merge_patch(doc, {"metadata": {"annotations": {"a": None, "c": "3"}}}) == {
        "metadata": {"annotations": {"b": "2", "c": "3"}}}
    assert doc["metadata"]["annotations"] == {"a": "1", "b": "2"}  # input untouched


def test_strategic_merge_by_name_and_directives() -> None:
    doc = {"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "K", "value": "1"}]},
                                   {"name": "b", "image": "y"}]}}
    patch = {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
             "spec": {"containers": [{"name": "a", "env": [{"name": "L", "value": "2"}]},
                                     {"name": "b", "$patch": "delete"}, {"name": "c", "image": "z"}]}}
    result = strategic_merge_patch(doc, patch)
    assert [c["name"] for c in result["spec"]["containers"]] == ["a", "c"]
    assert result["spec"]["containers"][0] == {
        "name": "a", "image": "x", "env": [{"name": "K", "value": "1"}, {"name": "L", "value": "2"}]}


def test_json_patch_ops() -> None:
    doc = {"metadata": {"labels": {"a": "1"}}, "list": [1, 2]}
    out = json_patch(doc, [{"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
                           {"op": "remove", "path": "/metadata/labels/a"},
                           {"op": "add", "path": "/list/-", "value": 3},
                           {"op": "replace", "path": "/list/0", "value": 0}])
    assert out == {"metadata": {"labels": {"b/c": "2"}}, "list": [0, 2, 3]}


def _token_request_bytes(audiences: list[str], expiration: int | None) -> bytes:
    spec = b"".join(protobuf.string_field(1, a) for a in audiences)
    if expiration is not None:
        spec += protobuf._encode_varint(4 << 3) + protobuf._encode_varint(expiration)
    message = protobuf.message_field(1, protobuf.string_field(1, "sa")) + protobuf.message_field(2, spec)
    type_meta = protobuf.string_field(1, "authentication.k8s.io/v1") + protobuf.string_field(2, "TokenRequest")
    unknown = protobuf.message_field(1, type_meta) + protobuf.message_field(2, message)
    return protobuf.MAGIC + unknown


def test_decode_token_request_protobuf() -> None:
    body = protobuf.decode_token_request(_token_request_bytes(["sts.amazonaws.com", "x"], 7200))
    assert body == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                    "spec": {"audiences": ["sts.amazonaws.com", "x"], "expirationSeconds": 7200}}


def test_decode_token_request_rejects_non_k8s_protobuf() -> None:
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode_token_request(b'{"spec":{}}')


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (119, "119s"), (200, "3m20s"), (600, "10m"),
                                               (7200, "120m"), (4 * 3600 + 60, "4h1m"), (30 * 3600, "30h"),
                                               (3 * 86400 + 3600, "3d1h"), (400 * 86400, "400d")])
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_pod_status_column() -> None:
    failed = {"status": {"phase": "Failed", "containerStatuses": [
        {"ready": False, "state": {"terminated": {"exitCode": 254, "reason": "Error"}}}]}}
    creating = {"status": {"phase": "Pending", "containerStatuses": [
        {"ready": False, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    assert pod_status_reason(failed) == "Error"
    assert pod_status_reason(creating) == "ContainerCreating"
