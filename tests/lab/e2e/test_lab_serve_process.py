"""`irsa-explorer lab serve` as a process: files it writes, how fast it is ready, how it stops,
and how it refuses bad scenarios and options before starting anything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from irsa_explorer.lab.launcher import LabStartError, read_aws_env, start_lab

SERVE = [sys.executable, "-m", "irsa_explorer", "lab", "serve"]


def port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((parts.hostname, parts.port)) == 0


def serve(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=timeout)


def test_files_and_their_contents(lab):
    env = read_aws_env(lab.directory / "aws.env")
    assert set(env) >= {
        "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    }  # fmt: skip
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-2"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        path = Path(env[name])
        assert path.parent == lab.directory and path.read_text() == ""
    assert lab.context == "lab@eks-oidc-demo.us-east-2.eksctl.io"
    assert lab.kube_url.startswith("https://127.0.0.1:")
    # Lab credentials: readable by their owner only.
    for secret in (lab.kubeconfig, lab.directory / "aws.env"):
        assert secret.stat().st_mode & 0o077 == 0


def test_options_reach_the_servers_and_sigterm_frees_everything(tmp_path, lab_aws_client):
    lab = start_lab("fresh-cluster", tmp_path / "lab", ["--latency", "iam=300ms,kube=0ms", "--throttle", "iam=1"])
    try:
        import requests

        # Set-up was neither slowed nor throttled (it would have failed at 1 IAM call per
        # second), and the request counters start from zero at `ready`.
        assert requests.get(lab.aws_endpoint + "/_lab/stats", timeout=10).json()["counters"] == {}

        # --latency reaches the AWS side: one IAM call takes at least the added 300 ms.
        iam = lab_aws_client(lab, "iam")
        began = time.monotonic()
        iam.get_role(RoleName="eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4")
        assert time.monotonic() - began >= 0.3

        urls = [lab.kube_url, lab.aws_endpoint]
        assert all(port_open(url) for url in urls)
        pgid = os.getpgid(lab.process.pid)
        lab.process.send_signal(signal.SIGTERM)
        assert lab.process.wait(10) == 0
        assert not any(port_open(url) for url in urls)
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)  # no process of the lab's group is left
    finally:
        lab.stop()


def test_a_bad_scenario_is_refused_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent(
            """
            steps:
              - aws: iam.create_role
                params: {RoleName: r}
              - kube: {apiVersion: v1, kind: Pod, metadata: {name: "${nope}"}}
            """
        )
    )
    done = serve(["--scenario", str(bad), "--dir", str(tmp_path / "out")])
    assert done.returncode == 2
    assert "ready" not in done.stdout
    assert "starting the lab" not in done.stderr  # refused before any server started
    assert f"{bad}, line 4: steps[0].params: Missing required parameter" in done.stderr
    assert "steps[1].kube.metadata.name: undefined variable ${nope}" in done.stderr
    assert not (tmp_path / "out" / "kubeconfig").exists()


def test_a_step_the_lab_refuses_stops_serve_with_the_step(tmp_path):
    refused = tmp_path / "refused.yaml"
    refused.write_text(
        "steps:\n"
        "  - aws: iam.attach_role_policy\n"
        "    params: {RoleName: no-such-role, PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'}\n"
    )
    with pytest.raises(LabStartError) as caught:
        start_lab(refused, tmp_path / "out", timeout=60)
    message = str(caught.value)
    assert "exited with status 1" in message
    assert f"{refused}, line 2: steps[0]" in message and "NoSuchEntity" in message


def test_unknown_scenario_name(tmp_path):
    done = serve(["--scenario", "no-such-scenario", "--dir", str(tmp_path)])
    assert done.returncode == 2
    assert "no such file and no built-in scenario" in done.stderr and "walkthrough" in done.stderr


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--latency", "iam"], "write service=value pairs"),
        (["--latency", "iam=fast"], "write a duration like 40ms"),
        (["--throttle", "iam=-1"], "the rate must be between 0.01 and 100000"),
        (["--scale", "pods=many"], "pods='many' is not a non-negative whole number"),
    ],
)
def test_bad_options(tmp_path, option, message):
    done = serve([*option, "--dir", str(tmp_path)])
    assert done.returncode == 2
    assert message in done.stderr


def test_the_lab_stops_when_its_starter_dies(tmp_path):
    """A test run killed outright must not leave a lab (and its ports) behind."""
    starter = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time; from irsa_explorer.lab.launcher import start_lab; "
            f"lab = start_lab('fresh-cluster', {str(tmp_path / 'lab')!r}); "
            "print(lab.process.pid, lab.kube_url, lab.aws_endpoint, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    pid, *urls = starter.stdout.readline().split()
    starter.kill()  # SIGKILL: no cleanup code of the starter runs
    starter.wait(10)
    deadline = time.monotonic() + 60  # a hang guard, not a speed target
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(int(pid), signal.SIGKILL)
        pytest.fail("the lab outlived the process that started it")
    assert not any(port_open(url) for url in urls)


def test_a_lab_not_ready_in_time_is_stopped_and_reported(tmp_path):
    with pytest.raises(LabStartError, match=r"not ready after 0.5s"):
        start_lab("walkthrough", tmp_path / "slow", timeout=0.5)
    # Given up on: nothing written, nothing left listening.
    assert not (tmp_path / "slow" / "kubeconfig").exists()
