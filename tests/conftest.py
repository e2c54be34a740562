"""Shared lab fixtures for every test suite.

- `lab`: the walkthrough lab (`lab serve` in a subprocess), one per test session (per xdist worker).
- `lab_for(scenario)`: a lab for any built-in scenario or file, started once per session and cached.
- `kube_client(lab)` / `aws_session(lab)` / `lab_env(lab)`: reach a lab without touching os.environ.

A lab is a real subprocess with real servers: tests talk to it only over the wire, as kubectl, the
aws CLI and the explorer do. Tests that change a shared lab must use names of their own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from irsa_explorer.lab.launcher import LabProcess, start_lab

LabFactory = Callable[[str], LabProcess]


@pytest.fixture(scope="session")
def lab_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """A factory: `lab_for("static-keys")` starts that scenario's lab once per session."""
    labs: dict[str, LabProcess] = {}

    def get(scenario: str) -> LabProcess:
        running = labs.get(scenario)
        if running is None or not running.running:
            directory = tmp_path_factory.mktemp(f"lab-{Path(scenario).stem}")
            running = labs[scenario] = start_lab(scenario, directory)
        return running

    yield get
    for running in labs.values():
        running.stop()


@pytest.fixture(scope="session")
def lab(lab_for: LabFactory) -> LabProcess:
    """The walkthrough lab: eks-iam-test1 (Error), eks-iam-test2 and eks-iam-test3 (Running)."""
    return lab_for("walkthrough")


def kube_client(lab: LabProcess):
    """A kubernetes ApiClient for the lab's kubeconfig (no global kube config is loaded)."""
    from kubernetes import config

    return config.new_client_from_config(config_file=str(lab.kubeconfig), context=lab.context or None)


def aws_session(lab: LabProcess):
    """A boto3 Session with the lab admin's keys and region; pass `endpoint_url=lab.aws_endpoint`
    to its clients (the session itself reads no environment)."""
    import boto3

    env = lab.aws_env
    return boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )


def aws_client(lab: LabProcess, service: str):
    """A boto3 client for `service` in the lab's account."""
    return aws_session(lab).client(service, endpoint_url=lab.aws_endpoint)


def lab_env(lab: LabProcess) -> dict[str, str]:
    """Environment for kubectl / aws subprocesses: KUBECONFIG and aws.env, none of the user's AWS_*."""
    return lab.env()


@pytest.fixture
def kubectl_bin() -> str:
    """The real kubectl, or skip."""
    found = shutil.which("kubectl")
    if not found:
        pytest.skip("kubectl is not installed")
    return found


@pytest.fixture
def aws_bin() -> str:
    """The real aws CLI, or skip."""
    found = shutil.which("aws")
    if not found:
        pytest.skip("the aws CLI is not installed")
    return found


@pytest.fixture(scope="session")
def lab_kube(lab: LabProcess):
    """A kubernetes ApiClient for the walkthrough lab."""
    client = kube_client(lab)
    yield client
    client.close()


@pytest.fixture(scope="session")
def lab_aws(lab: LabProcess):
    """A boto3 Session for the walkthrough lab (use `endpoint_url=lab.aws_endpoint`)."""
    return aws_session(lab)
