"""The first minutes on a real machine, run as a user runs them: the installed command in a
subprocess, HOME an empty folder, only a kubeconfig (the lab's) — one line on stderr and exit 2
for what cannot work, never a traceback or a library's log line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

NO_CREDENTIALS = "no AWS credentials — run `aws configure` or set AWS_PROFILE"


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no AWS_* of this machine, HOME empty, no instance metadata lookups."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBECONFIG", "IRSA_EXPLORER"))}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true", **extra)
    return env


def explorer(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "irsa_explorer", *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def assert_one_line(stderr: str) -> None:
    assert stderr.count("\n") == 1, stderr
    for noise in ("Traceback", "ERROR:root", "WARNING:", "Retrying"):
        assert noise not in stderr


def test_no_aws_configuration_report_is_exit_two_with_the_fix(lab, tmp_path):
    done = explorer("report", env=env_for(tmp_path, KUBECONFIG=str(lab.kubeconfig)))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"irsa-explorer report: cannot run: {NO_CREDENTIALS}\n"


def test_a_server_that_never_answers_is_named_within_the_timeout(lab, tmp_path, silent_server, lab_env):
    config = yaml.safe_load(lab.kubeconfig.read_text())
    server = f"https://127.0.0.1:{silent_server.port}"
    config["clusters"][0]["cluster"]["server"] = server
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    env = env_for(tmp_path / "home", KUBECONFIG=str(kubeconfig))
    env.update({k: v for k, v in lab.aws_env.items()})  # AWS answers: the cluster is what is silent
    began = time.monotonic()
    done = explorer("report", "--request-timeout", "3s", env=env)
    took = time.monotonic() - began
    assert done.returncode == 2
    assert done.stderr == (
        f"irsa-explorer report: cannot run: no answer from {server} in 3 s "
        f"(list pods, context '{lab.context}')\n"
    )
    assert took < 120  # a hang guard only: the by-hand figure is in docs/real-clusters.md


def test_a_failing_exec_plugin_is_one_line_with_its_words(lab, tmp_path):
    plugin = tmp_path / "aws"
    plugin.write_text("#!/bin/sh\necho 'Unable to locate credentials. You can configure credentials by running \"aws configure\".' >&2\nexit 253\n")
    plugin.chmod(0o755)
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                           "command": str(plugin), "args": ["eks", "get-token", "--cluster-name", "eks-oidc-demo"]}}
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    done = explorer("report", env=env_for(tmp_path / "home", KUBECONFIG=str(kubeconfig)))
    assert done.returncode == 2
    assert_one_line(done.stderr)
    assert done.stderr.startswith(f"irsa-explorer report: cannot run: `{plugin} eks get-token --cluster-name eks-oidc-demo` ")
    assert done.stderr.rstrip().endswith(
        "failed with exit code 253: Unable to locate credentials. You can configure credentials by running "
        "\"aws configure\". — run `aws configure` or set AWS_PROFILE"
    )


def test_debug_writes_a_log_with_tokens_masked(lab, tmp_path):
    log = tmp_path / "debug.log"
    env = env_for(tmp_path / "home", KUBECONFIG=str(lab.kubeconfig), IRSA_EXPLORER_LOG=str(log))
    env.update(lab.aws_env)
    done = explorer("report", "--debug", "--format", "json", env=env)
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""  # the log went to the file
    text = log.read_text()
    assert "botocore" in text and "urllib3" in text  # library debug records, as asked
    token = yaml.safe_load(lab.kubeconfig.read_text())["users"][0]["user"]["token"]
    assert token not in text
    assert lab.aws_env["AWS_SECRET_ACCESS_KEY"] not in text


def test_lab_with_an_unknown_scenario_lists_the_names(tmp_path):
    done = explorer("lab", "--scenario", "typo", env=env_for(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("irsa-explorer lab: invalid scenario:\n  typo: ")
    assert "walkthrough" in done.stderr and "restricted-user" in done.stderr
    assert "Traceback" not in done.stderr


def test_version(tmp_path):
    done = explorer("--version", env=env_for(tmp_path))
    assert done.returncode == 0 and done.stdout.startswith("irsa-explorer ")


@pytest.fixture
def silent_server():
    from silent_server import SilentServer  # tests/silent_server.py

    server = SilentServer()
    yield server
    server.close()
