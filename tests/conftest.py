"""Shared lab fixtures for every test suite.

- `lab`: the walkthrough lab (`lab serve` in a subprocess), one per test session (per xdist worker).
- `lab_for(scenario)`: a lab for any built-in scenario or file, started once per session and cached.

Reach a lab without touching os.environ: `lab.env()` for subprocesses, `lab.kubeconfig` and
`lab.aws_env` for clients. (Test modules cannot import from a conftest under rootdir import
mode, so helpers live in the launcher, not here.)

A lab is a real subprocess with real servers: tests talk to it only over the wire, as kubectl, the
aws CLI and the explorer do. Tests that change a shared lab must use names of their own.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from irsa_explorer.lab.launcher import LabProcess, start_lab


class LabFactory:
    """`lab_for("static-keys")` starts that scenario's lab once per session (thread-safe);
    `lab_for.prefetch(a, b, …)` starts several at once, in parallel, to save wall time."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._labs: dict[str, LabProcess] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, scenario: str) -> LabProcess:
        with self._guard:
            lock = self._locks.setdefault(scenario, threading.Lock())
        with lock:
            running = self._labs.get(scenario)
            if running is None or not running.running:
                with self._guard:  # tmp_path_factory makes its base folder lazily: not thread-safe
                    directory = self._tmp.mktemp(f"lab-{Path(scenario).stem}")
                running = self._labs[scenario] = start_lab(scenario, directory)
            return running

    def prefetch(self, *scenarios: str) -> None:
        with ThreadPoolExecutor(max_workers=len(scenarios) or 1) as pool:
            list(pool.map(self, scenarios))

    def stop_all(self) -> None:
        for running in self._labs.values():  # signal all first: they shut down side by side
            if running.running:
                running.process.send_signal(signal.SIGTERM)
        for running in self._labs.values():
            running.stop()


@pytest.fixture(scope="session")
def lab_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """A factory: `lab_for("static-keys")` starts that scenario's lab once per session."""
    factory = LabFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def lab(lab_for: LabFactory) -> LabProcess:
    """The walkthrough lab: eks-iam-test1 (Error), eks-iam-test2 and eks-iam-test3 (Running)."""
    return lab_for("walkthrough")


@pytest.fixture(scope="session")
def no_get_role_env(lab: LabProcess) -> dict[str, str]:
    """The walkthrough lab's AWS env, but as a user who may do everything except iam:GetRole:
    what "a forbidden lookup shows unknown, never ok" is tested with, through the lab's real IAM
    enforcement."""
    import json
    import uuid

    iam = lab.aws_client("iam")
    name = f"no-get-role-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="everything-but-getrole",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*"},
            ],
        }),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return dict(lab.aws_env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
