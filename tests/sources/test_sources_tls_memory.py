"""The kubeconfig's CA, client certificate and key stay in memory: no temp file holds them while
the app runs, nor after it is killed with SIGKILL (the lab it started removes its own folder)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest
import yaml

from irsa_explorer.sources.kube import ClusterError, KubeSource
from irsa_explorer.sources.kube_tls import MEMORY_FILES

pytestmark = pytest.mark.skipif(not MEMORY_FILES, reason="memory files are Linux's")


def ca_of(kubeconfig: Path) -> bytes:
    config = yaml.safe_load(kubeconfig.read_text())
    return base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])


def files_holding(folder: Path, secret: bytes) -> list[Path]:
    marker = secret.split(b"\n")[1]  # the first line of the PEM body
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and marker in path.read_bytes():
                found.append(path)
        except OSError:
            pass
    return found


def test_no_temp_file_holds_the_ca_while_the_source_reads(lab, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the client would write them
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        assert kube.list_pods(None).items
        configuration = kube._api_client.configuration
        assert configuration.ssl_ca_cert.startswith("/proc/self/fd/")
        assert files_holding(tmp_path, ca_of(lab.kubeconfig)) == []
        # another process (the TUI's loader) gets the content, not this process's paths
        handed = kube.handover()
        assert "ssl_ca_cert" not in handed["settings"]
        other = KubeSource(**handed)
        try:
            assert other.list_pods(None).items
        finally:
            other.close()
        assert list(tmp_path.iterdir()) == []
    finally:
        kube.close()


def test_exec_reads_the_ca_from_memory_too(lab) -> None:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        result = kube.exec("default", "eks-iam-test3", None, ["aws", "sts", "get-caller-identity"])
        assert result.exit_code == 0 and "assumed-role" in result.stdout
    finally:
        kube.close()


def test_after_kill_9_no_temp_file_holds_the_labs_ca(tmp_path) -> None:
    # The app as `irsa-explorer lab` runs it: a lab started in the background, sources on it,
    # the pods read; then SIGKILL, which no handler sees.
    program = textwrap.dedent("""
        import sys
        from irsa_explorer.sources.connect import lab_in_background
        connect, stop = lab_in_background("walkthrough")
        sources = connect()
        sources.kube.list_pods(None)
        print(sources.kube.kubeconfig, flush=True)
        sys.stdin.read()
    """)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    app = subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                           text=True)
    try:
        kubeconfig = Path(app.stdout.readline().strip())
        assert kubeconfig.is_relative_to(tmp_path), kubeconfig  # the lab's folder is a temp folder
        ca = ca_of(kubeconfig)
        lab_pids = [int(p) for p in subprocess.run(["pgrep", "-P", str(app.pid)], capture_output=True,
                                                   text=True).stdout.split()]
        assert lab_pids
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait()
    # the lab notices its starter is gone (it looks twice a second) and removes its folder
    gone = threading.Event()

    def wait_for_lab() -> None:
        while any(Path(f"/proc/{pid}").exists() for pid in lab_pids):
            gone.wait(0.2)
        gone.set()

    threading.Thread(target=wait_for_lab, daemon=True).start()
    assert gone.wait(120), "the lab outlived its starter"  # a hang guard
    assert files_holding(tmp_path, ca) == []
    assert not kubeconfig.exists()


def test_certificate_data_that_is_not_base64_pem_is_one_line_naming_the_file(lab, tmp_path) -> None:
    config = yaml.safe_load(lab.kubeconfig.read_text())
    for bad, said in (("!!!not base64", "not valid base64"), (base64.b64encode(b"hello").decode(), "not a PEM block")):
        config["clusters"][0]["cluster"]["certificate-authority-data"] = bad
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        with pytest.raises(ClusterError) as raised:
            KubeSource(kubeconfig=str(path))
        text = str(raised.value)
        assert str(path) in text and "certificate-authority-data" in text and said in text, text
