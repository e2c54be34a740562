"""`irsa-explorer lab host`: labs forked by one host, reached as any lab is — over the wire.

One host per module (its warm-up is the slow part); each test asks it for its own labs
through `start_lab` with $IRSA_EXPLORER_LAB_HOST, as `learn` does in a classroom. No timing
assertions: every wait is on an event (a line, an exit) with a generous hang guard.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from irsa_explorer.lab.launcher import HOST_ENV, LabProcess, LabStartError, start_lab

HANG_GUARD_S = 180  # a busy 2-core machine: a hang, never a measure
ROLE = "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"  # my-sa's, in the walkthrough


class Host:
    """A `lab host` subprocess, ready (it printed `ready`)."""

    def __init__(self, socket_path: Path, options: tuple[str, ...] = ()) -> None:
        self.socket_path = socket_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "irsa_explorer", "lab", "host", "--socket", str(socket_path), *options],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.log: list[str] = []
        self._heard = threading.Condition()

        def listen() -> None:
            for line in self.process.stderr:
                with self._heard:
                    self.log.append(line)
                    self._heard.notify_all()

        threading.Thread(target=listen, daemon=True).start()
        ready = threading.Event()

        def watch() -> None:
            for line in self.process.stdout:
                if line.strip() == "ready":
                    ready.set()
            ready.set()

        threading.Thread(target=watch, daemon=True).start()
        assert ready.wait(HANG_GUARD_S) and self.process.poll() is None, "".join(self.log)

    def said(self, text: str) -> None:
        """Until the host's log has a line with `text` (hang guard)."""
        with self._heard:
            assert self._heard.wait_for(lambda: any(text in line for line in self.log), HANG_GUARD_S), self.log

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(HANG_GUARD_S)


def _short_dir(tag: str) -> Path:
    # A Unix socket path is limited to ~107 bytes: pytest's tmp_path may be longer.
    folder = Path("/tmp") / f"hC-host-{tag}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    folder = _short_dir("m")
    running = Host(folder / "host.sock")
    try:
        yield running
    finally:
        running.stop()
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


@pytest.fixture
def hosted(host: Host, monkeypatch: pytest.MonkeyPatch):
    """`hosted(scenario, directory)`: start_lab through the host (the environment variable set)."""
    monkeypatch.setenv(HOST_ENV, str(host.socket_path))
    started: list[LabProcess] = []

    def start(scenario: str = "walkthrough", directory: Path | None = None, extra: tuple[str, ...] = ()) -> LabProcess:
        lab = start_lab(scenario, directory, extra_args=extra, timeout=HANG_GUARD_S)
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.stop()


def _iam(lab: LabProcess):
    import boto3

    return boto3.Session(
        aws_access_key_id=lab.aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=lab.aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=lab.aws_env["AWS_REGION"],
    ).client("iam", endpoint_url=lab.aws_endpoint)


def _env(lab: LabProcess) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_") and name != HOST_ENV}
    env.update(lab.aws_env)
    env["KUBECONFIG"] = str(lab.kubeconfig)
    return env


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex((parts.hostname, parts.port)) == 0


def test_two_labs_of_one_host_are_independent_and_stop_alone(hosted, tmp_path):
    first = hosted("walkthrough", tmp_path / "first")
    second = hosted("walkthrough", tmp_path / "second")
    assert first.process.pid != second.process.pid
    assert {first.kube_url, first.aws_endpoint}.isdisjoint({second.kube_url, second.aws_endpoint})
    # The same files, banner and `ready` as lab serve.
    for lab, folder in ((first, tmp_path / "first"), (second, tmp_path / "second")):
        assert lab.directory == folder and lab.kubeconfig == folder / "kubeconfig"
        assert {"kubeconfig", "aws.env"} <= {p.name for p in folder.iterdir()}
        assert lab.kubeconfig.stat().st_mode & 0o077 == 0
        assert "export KUBECONFIG=" in lab.banner and lab.context == "lab@eks-oidc-demo.us-east-2.eksctl.io"

    # A role made in one lab's account is not in the other's (each is its own moto).
    role = f"only-in-first-{uuid.uuid4().hex[:6]}"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    _iam(first).create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    assert role in {r["RoleName"] for r in _iam(first).list_roles()["Roles"]}
    assert role not in {r["RoleName"] for r in _iam(second).list_roles()["Roles"]}

    # The real CLIs against the second: kubectl deletes a pod there, the first still has it.
    deleted = subprocess.run(["kubectl", "delete", "pod", "eks-iam-test2", "--wait=false"], env=_env(second),
                             capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert deleted.returncode == 0, deleted.stderr
    listed = subprocess.run(["kubectl", "get", "pods", "-o", "name"], env=_env(first),
                            capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert "pod/eks-iam-test2" in listed.stdout.split()
    who = subprocess.run(["aws", "sts", "get-caller-identity", "--output", "json"], env=_env(second),
                         capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert who.returncode == 0 and json.loads(who.stdout)["Arn"].endswith(":user/lab-admin"), who.stderr

    # Stopping the first ends it (ports closed, exit 0) and leaves the second serving.
    assert first.stop() == 0
    assert not _port_open(first.kube_url) and not _port_open(first.aws_endpoint)
    assert second.process.poll() is None
    assert _iam(second).get_role(RoleName=ROLE)["Role"]["RoleName"] == ROLE


def test_start_lab_through_the_host_gives_sources_and_report_a_working_lab(hosted):
    from irsa_explorer.sources.connect import for_lab
    from irsa_explorer.sources.inventory import load_and_resolve

    lab = hosted("walkthrough")  # no directory: the lab's own temporary folder, removed when it stops
    folder = lab.directory
    assert folder.is_dir()
    sources = for_lab(lab)
    try:
        inventory, chains = load_and_resolve(sources.kube, sources.aws, None, sources.cluster_name)
        by_name = {inventory.pods[uid].name: chain for uid, chain in chains.items()}
        assert ROLE in (by_name["eks-iam-test3"].effective_identity or "")
        assert by_name["eks-iam-test3"].verdict == "ok"
    finally:
        sources.close()  # closing the sources stops the lab, as for a lab of its own
    assert lab.process.poll() == 0
    assert not folder.exists()


def test_report_lab_runs_on_a_hosted_lab(host):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, HOST_ENV: str(host.socket_path)}
    done = subprocess.run([sys.executable, "-m", "irsa_explorer", "report", "--lab", "walkthrough", "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert done.returncode in (0, 1), done.stderr  # 1: the walkthrough has broken pods on purpose
    pods = {pod["name"]: pod for pod in json.loads(done.stdout)["pods"]}
    assert ROLE in pods["eks-iam-test3"]["effective_identity"]
    host.said("ended (0)")  # the host forked that lab, and it stopped cleanly with the report


def test_options_and_refusals_are_lab_serves(hosted, tmp_path):
    with pytest.raises(LabStartError) as refused:
        hosted("no-such-scenario", tmp_path / "x")
    assert "no-such-scenario" in str(refused.value) and "\n" not in str(refused.value)
    seeded = hosted("walkthrough", tmp_path / "seeded", ("--seed", "7"))
    again = hosted("walkthrough", tmp_path / "again", ("--seed", "7"))
    ids = [
        {i["InstanceId"] for r in _ec2(lab).describe_instances()["Reservations"] for i in r["Instances"]}
        for lab in (seeded, again)
    ]
    assert ids[0] and ids[0] == ids[1]  # --seed reaches the forked lab


def _ec2(lab: LabProcess):
    import boto3

    return boto3.Session(
        aws_access_key_id=lab.aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=lab.aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=lab.aws_env["AWS_REGION"],
    ).client("ec2", endpoint_url=lab.aws_endpoint)


def test_a_client_that_dies_takes_its_lab_along(host, tmp_path):
    """The classroom's tab process killed: the host sees its connection close and ends the lab."""
    script = (
        "import os, sys; from irsa_explorer.lab.launcher import start_lab; "
        f"lab = start_lab('fresh-cluster', {str(tmp_path / 'orphan')!r}, timeout={HANG_GUARD_S}); "
        "print(lab.process.pid, lab.kube_url, flush=True); sys.stdin.read()"
    )
    client = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, HOST_ENV: str(host.socket_path)})
    pid, kube_url = client.stdout.readline().split()
    client.kill()
    client.wait(HANG_GUARD_S)
    _wait_gone(int(pid))
    assert not _port_open(kube_url)


def _wait_gone(pid: int) -> None:
    """Until `pid` is no more (the host reaps its labs); pidfd: an event, not a poll loop."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        assert select.select([fd], [], [], HANG_GUARD_S)[0], f"process {pid} still running"
    finally:
        os.close(fd)


def test_killing_the_host_ends_its_labs(tmp_path, monkeypatch):
    folder = _short_dir("k")
    doomed = Host(folder / "host.sock")
    try:
        monkeypatch.setenv(HOST_ENV, str(doomed.socket_path))
        lab = start_lab("fresh-cluster", tmp_path / "lab", timeout=HANG_GUARD_S)
        urls = [lab.kube_url, lab.aws_endpoint]
        doomed.process.kill()  # SIGKILL: no goodbye; each lab dies with its host (PR_SET_PDEATHSIG)
        doomed.process.wait(HANG_GUARD_S)
        assert lab.process.wait(HANG_GUARD_S) is not None
        _wait_gone(lab.process.pid)
        assert not any(_port_open(url) for url in urls)
        lab.stop()
    finally:
        doomed.stop()
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


def test_sigterm_to_the_host_stops_its_labs_and_removes_its_socket(tmp_path, monkeypatch):
    folder = _short_dir("t")
    host = Host(folder / "host.sock")
    try:
        monkeypatch.setenv(HOST_ENV, str(host.socket_path))
        labs = [start_lab("fresh-cluster", tmp_path / name, timeout=HANG_GUARD_S) for name in ("a", "b")]
        assert host.stop() == 0
        for lab in labs:
            assert lab.process.wait(HANG_GUARD_S) == 0  # the host said how each ended: cleanly
            assert not _port_open(lab.kube_url)
        assert not host.socket_path.exists()
    finally:
        host.stop()
        folder.rmdir()


def test_no_host_there_is_one_line(tmp_path, monkeypatch):
    missing = tmp_path / "nobody.sock"
    monkeypatch.setenv(HOST_ENV, str(missing))
    with pytest.raises(LabStartError) as failed:
        start_lab("walkthrough", tmp_path / "lab", timeout=HANG_GUARD_S)
    said = str(failed.value)
    assert "\n" not in said and str(missing) in said and "irsa-explorer lab host --socket" in said

    # A socket nobody answers on (a host that hangs): one line once the timeout passes, no hang.
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = _short_dir("s") / "silent.sock"
    silent.bind(str(path))
    silent.listen(1)
    try:
        monkeypatch.setenv(HOST_ENV, str(path))
        with pytest.raises(LabStartError) as unanswered:
            start_lab("walkthrough", tmp_path / "lab2", timeout=1)
        assert "did not answer" in str(unanswered.value) and "\n" not in str(unanswered.value)
    finally:
        silent.close()
        path.unlink()
        path.parent.rmdir()


def test_spares_are_started_ahead_and_handed_out_as_lab_serve(tmp_path, monkeypatch, lab_env):
    """`--spares 1 --spare-scenario fresh-cluster`: a lab of that scenario is a spare, already up,
    given the folder and output of the request; other options get a lab forked for them."""
    folder = _short_dir("p")
    host = Host(folder / "host.sock", ("--spares", "1", "--spare-scenario", "fresh-cluster"))
    try:
        host.said("spare")
        monkeypatch.setenv(HOST_ENV, str(host.socket_path))
        from irsa_explorer.lab.scenario.builtin import scenario_path

        as_file = str(scenario_path("fresh-cluster"))  # learn names the file: the same scenario, so the spare
        monkeypatch.chdir(tmp_path)  # not the host's folder: a relative --dir is the asker's
        lab = start_lab(as_file, "claimed", timeout=HANG_GUARD_S)
        host.said(f"a spare, claimed (--scenario {as_file} --dir claimed)")
        assert lab.directory.resolve() == tmp_path / "claimed"
        assert {"kubeconfig", "aws.env", "ca.crt"} <= {p.name for p in lab.directory.iterdir()}
        assert f"dir: {tmp_path / 'claimed'}" in lab.banner and "export KUBECONFIG=" in lab.banner
        nodes = subprocess.run(["kubectl", "get", "nodes", "-o", "name"], env=lab_env(lab),
                               capture_output=True, text=True, timeout=HANG_GUARD_S)
        assert nodes.returncode == 0 and "node/ip-192-168-1-169" in nodes.stdout, nodes.stderr
        other = start_lab("walkthrough", tmp_path / "other", timeout=HANG_GUARD_S)  # not the spares' options
        host.said("started (--scenario walkthrough --dir")
        assert other.process.pid != lab.process.pid
        # refilled after the claim (said before the next request was taken, so already in the log)
        spares = [line.split()[3] for line in host.log if " spare " in line and "starting" in line]
        assert len(spares) == 2
        assert lab.stop() == 0 and other.stop() == 0
        assert host.stop() == 0
        for pid in spares[1:]:  # the spare nobody claimed ends with its host
            _wait_gone(int(pid))
    finally:
        host.stop()
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()

