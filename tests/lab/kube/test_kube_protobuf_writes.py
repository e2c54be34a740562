"""Protobuf request bodies: the decoder on hand-built messages, and the writes kubectl 1.32
really sends as protobuf (create sa/ns/secret/configmap) against the lab."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from lab_kube_waits import wait_phase

from irsa_explorer.lab.kube.protobuf import MAGIC, ProtobufError, bool_field, message_field, string_field
from irsa_explorer.lab.kube.protobuf_objects import decode_object

KUBECTL_1_32 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def varint_field(number: int, value: int) -> bytes:
    """A varint field (wire type 0), written here rather than by the lab's encoder: the lab only
    writes strings, bools and messages (its OpenAPI document), and the decoder is what is tested."""
    key, value = number << 3, value & 0xFFFFFFFFFFFFFFFF  # negative ints as int64 two's complement
    out = bytearray()
    for part in (key, value):
        while part > 0x7F:
            out.append(part & 0x7F | 0x80)
            part >>= 7
        out.append(part)
    return bytes(out)


def _map_entry(number: int, key: str, value: bytes) -> bytes:
    return message_field(number, string_field(1, key) + message_field(2, value))


def _envelope(api_version: str, kind: str, message: bytes) -> bytes:
    """magic + runtime.Unknown{typeMeta, raw}, as client-go's protobuf serializer writes it."""
    type_meta = string_field(1, api_version) + string_field(2, kind)
    empty_encoding = message_field(3, b"") + message_field(4, b"")  # contentEncoding, contentType
    return MAGIC + message_field(1, type_meta) + message_field(2, message) + empty_encoding


def _meta(name: str, *, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> bytes:
    # Go writes every non-pointer field, set or not: empty strings, generation 0, an empty timestamp.
    meta = string_field(1, name) + b"".join(string_field(n, "") for n in (2, 3, 4, 5, 6))
    meta += varint_field(7, 0) + message_field(8, b"")
    meta += b"".join(_map_entry(11, k, v.encode()) for k, v in (labels or {}).items())
    meta += b"".join(_map_entry(12, k, v.encode()) for k, v in (annotations or {}).items())
    return meta


def _container(name: str, image: str, *, command=(), args=(), env=None) -> bytes:
    body = string_field(1, name) + string_field(2, image)
    body += b"".join(string_field(3, c) for c in command) + b"".join(string_field(4, a) for a in args)
    body += b"".join(message_field(7, string_field(1, k) + string_field(2, v)) for k, v in (env or {}).items())
    return body + string_field(14, "") + bool_field(16, False)


def test_service_account_keeps_set_fields_and_drops_go_zero_values() -> None:
    sa = message_field(1, _meta("my-sa", labels={"app": "x"},
                                annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/r"}))
    sa += message_field(3, string_field(1, "regcred")) + bool_field(4, False)
    assert decode_object(_envelope("v1", "ServiceAccount", sa)) == {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "my-sa", "labels": {"app": "x"},
                     "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/r"}},
        "imagePullSecrets": [{"name": "regcred"}],
        "automountServiceAccountToken": False,  # a pointer in Go: false was chosen, so it stays
    }


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = varint_field(99, 7) + message_field(98, b"\x08\x01") + varint_field(1, 3)  # 1 as varint: wrong type
    fixed64 = bytes([(97 << 3 | 1) & 0x7F | 0x80, (97 << 3 | 1) >> 7]) + b"\x00" * 8
    cm = message_field(1, _meta("c") + unknown) + _map_entry(2, "k", b"v") + unknown + fixed64
    assert decode_object(_envelope("v1", "ConfigMap", cm)) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}


def test_secret_bytes_become_base64_as_in_json() -> None:
    secret = message_field(1, _meta("s")) + _map_entry(2, "bin", b"\xff\x00a") + string_field(3, "Opaque")
    secret += _map_entry(4, "plain", b"text")
    assert decode_object(_envelope("v1", "Secret", secret)) == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"bin": base64.b64encode(b"\xff\x00a").decode()}, "type": "Opaque", "stringData": {"plain": "text"}}


def test_pod_as_kubectl_run_would_describe_it() -> None:
    spec = message_field(2, _container("p", "amazon/aws-cli", args=["sts", "get-caller-identity"],
                                       env={"AWS_REGION": "us-east-2"}))
    spec += string_field(3, "Never") + string_field(8, "my-sa") + varint_field(4, 30) + bool_field(11, False)
    pod = message_field(1, _meta("p", labels={"run": "p"})) + message_field(2, spec) + message_field(3, b"")
    assert decode_object(_envelope("v1", "Pod", pod)) == {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"run": "p"}},
        "spec": {"containers": [{"name": "p", "image": "amazon/aws-cli", "args": ["sts", "get-caller-identity"],
                                 "env": [{"name": "AWS_REGION", "value": "us-east-2"}]}],
                 "restartPolicy": "Never", "serviceAccountName": "my-sa", "terminationGracePeriodSeconds": 30}}


@pytest.mark.parametrize("body", [b'{"kind":"ServiceAccount"}', MAGIC + b"\x0a\x05\x0a\x02",
                                  _envelope("apps/v1", "Deployment", b"")])
def test_malformed_or_unknown_kinds_raise(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_object(body)


# --- over the wire -----------------------------------------------------------------------------


def _post_protobuf(kube_lab, path: str, body: bytes, method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(kube_lab.server.url + path, data=body, method=method, headers={
        "Content-Type": PROTOBUF, "Accept": f"{PROTOBUF}, application/json",
        "Authorization": f"Bearer {kube_lab.server.admin_token}"})
    context = ssl.create_default_context(cafile=str(kube_lab.ca_file))
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_protobuf_pod_is_admitted_and_runs(kube_lab, core, namespace: str) -> None:
    spec = message_field(2, _container("hello", "busybox", command=["echo"], args=["from protobuf"]))
    spec += string_field(3, "Never")
    pod = message_field(1, _meta("pb")) + message_field(2, spec)
    status, created = _post_protobuf(kube_lab, f"/api/v1/namespaces/{namespace}/pods", _envelope("v1", "Pod", pod))
    assert status == 201 and created["spec"]["serviceAccountName"] == "default"
    wait_phase(core, namespace, "pb", ("Succeeded",))  # fails here, not at the log, if it never ran
    assert core.read_namespaced_pod_log("pb", namespace) == "from protobuf\n"


def test_undecodable_protobuf_is_a_bad_request(kube_lab, namespace: str) -> None:
    status, body = _post_protobuf(kube_lab, f"/api/v1/namespaces/{namespace}/configmaps",
                                  _envelope("apps/v1", "Deployment", b""))
    assert status == 400 and body["reason"] == "BadRequest" and "Deployment" in body["message"]


@pytest.mark.kubectl
@pytest.mark.skipif(not os.path.exists(KUBECTL_1_32), reason="no kubectl 1.32 beside the gcloud dispatcher")
def test_kubectl_1_32_creates_sa_ns_secret_configmap(kube_lab, core, namespace: str, tmp_path) -> None:
    def kubectl(*args: str) -> str:
        result = subprocess.run([KUBECTL_1_32, "--kubeconfig", str(kube_lab.kubeconfig), "--cache-dir",
                                 str(kube_lab.cache_dir) + "-1.32", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    before = kube_lab.server.counters
    assert kubectl("create", "sa", "my-sa", "-n", namespace) == "serviceaccount/my-sa created"
    assert kubectl("create", "secret", "generic", "s", "-n", namespace, "--from-literal=k=v") == "secret/s created"
    assert kubectl("create", "configmap", "c", "-n", namespace, "--from-literal=x=y") == "configmap/c created"
    (tmp_path / "blob").write_bytes(b"\xff\x00\x01binary")
    assert kubectl("create", "secret", "generic", "b", "-n", namespace,
                   f"--from-file={tmp_path / 'blob'}") == "secret/b created"
    ns2 = namespace + "-b"
    assert kubectl("create", "ns", ns2) == f"namespace/{ns2} created"
    try:
        assert core.read_namespaced_service_account("my-sa", namespace).metadata.name == "my-sa"
        secret = core.read_namespaced_secret("s", namespace)
        assert (secret.type, secret.data) == ("Opaque", {"k": base64.b64encode(b"v").decode()})
        assert core.read_namespaced_config_map("c", namespace).data == {"x": "y"}
        assert base64.b64decode(core.read_namespaced_secret("b", namespace).data["blob"]) == b"\xff\x00\x01binary"
        assert core.read_namespace(ns2).status.phase == "Active"
        assert core.read_namespaced_service_account("default", ns2)  # created along, as upstream
        after = kube_lab.server.counters
        assert after.get("create serviceaccount", 0) - before.get("create serviceaccount", 0) == 1
        # Then what a trainee types next: the new SA is annotated, and a token is minted for it.
        kubectl("annotate", "sa", "my-sa", "-n", namespace, "eks.amazonaws.com/role-arn=arn:aws:iam::1:role/r")
        kubectl("label", "sa", "my-sa", "-n", namespace, "team=a")
        sa = core.read_namespaced_service_account("my-sa", namespace)
        assert sa.metadata.annotations["eks.amazonaws.com/role-arn"] == "arn:aws:iam::1:role/r"
        assert sa.metadata.labels == {"team": "a"}
    finally:
        core.delete_namespace(ns2)


def test_a_kind_posted_to_another_resource_is_refused(kube_lab, core, namespace: str) -> None:
    secret = message_field(1, _meta("wrong")) + _map_entry(2, "k", b"v")
    status, body = _post_protobuf(kube_lab, f"/api/v1/namespaces/{namespace}/configmaps",
                                  _envelope("v1", "Secret", secret))
    assert (status, body["reason"]) == (400, "BadRequest") and "(Secret)" in body["message"]
    assert core.list_namespaced_config_map(namespace, field_selector="metadata.name=wrong").items == []


def test_protobuf_update_replaces_the_object(kube_lab, core, namespace: str) -> None:
    cm = message_field(1, _meta("settings")) + _map_entry(2, "mode", b"a")
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    assert _post_protobuf(kube_lab, path, _envelope("v1", "ConfigMap", cm))[0] == 201
    changed = message_field(1, _meta("settings")) + _map_entry(2, "mode", b"b")
    status, body = _post_protobuf(kube_lab, f"{path}/settings", _envelope("v1", "ConfigMap", changed), method="PUT")
    assert (status, body["data"]) == (200, {"mode": "b"})
    assert core.read_namespaced_config_map("settings", namespace).data == {"mode": "b"}
