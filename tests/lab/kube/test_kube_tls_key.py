"""The lab API server's own TLS key never lands in a file: it is loaded from a memory file (or,
without memory files, written only encrypted under a one-time password)."""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from irsa_explorer.lab.kube.certs import make_serving_certificate
from irsa_explorer.lab.kube.server import MEMORY_FILES, KubeApiServer, load_chain_in_memory
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.lab.tokens import TokenSigner


@pytest.mark.skipif(not MEMORY_FILES, reason="memory files are Linux's")
def test_the_server_starts_and_answers_with_no_temporary_folder_to_write_in(tmp_path, monkeypatch):
    # every temporary file of this process would go to a folder that does not exist: the old way
    # (the key in a temp folder for a moment) could not start at all
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    cluster = LabCluster()
    server = KubeApiServer(cluster, None, TokenSigner(cluster.issuer))
    server.start_in_thread()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(server.kubeconfig("lab", "admin")))
        monkeypatch.setattr(tempfile, "tempdir", None)  # the client's own CA file may go where it likes
        api = k8s.CoreV1Api(k8s_config.new_client_from_config(str(kubeconfig)))
        assert api.list_namespace().items is not None  # a TLS handshake with the server's certificate
    finally:
        server.stop_in_thread()
    assert not (tmp_path / "no-such-folder").exists()


@pytest.mark.parametrize("memory", [True, False] if MEMORY_FILES else [False], ids=lambda m: "memfd" if m else "sealed")
def test_the_chain_loaded_either_way_serves_a_handshake(memory, tmp_path, monkeypatch):
    certs = make_serving_certificate("kube-apiserver")
    written: list[bytes] = []
    real = tempfile.TemporaryDirectory

    class Watched(real):  # what the fallback leaves in its folder, read before it is removed
        def __exit__(self, *exc):
            from pathlib import Path
            written.extend(p.read_bytes() for p in Path(self.name).iterdir())
            return super().__exit__(*exc)

    monkeypatch.setattr(tempfile, "TemporaryDirectory", Watched)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    load_chain_in_memory(server_ctx, certs.cert_pem, certs.key_pem, memory=memory)
    if memory:
        assert written == []
    else:
        assert written and certs.key_pem not in written and all(b"ENCRYPTED PRIVATE KEY" in w or b"CERTIFICATE" in w for w in written)

    client_ctx = ssl.create_default_context(cadata=certs.ca_pem.decode())
    listener = socket.create_server(("127.0.0.1", 0))
    served: list[str] = []

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            served.append(tls.recv(5).decode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with socket.create_connection(listener.getsockname()) as raw, client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"hello")
    thread.join(timeout=60)
    listener.close()
    assert served == ["hello"]
