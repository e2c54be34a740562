"""Shared lab fixtures for every test suite.

- `lab`: the walkthrough lab (`lab serve` in a subprocess), one per test session (per xdist worker).
- `lab_for(scenario)`: a lab for any built-in scenario or file, started once per session and cached.

Reach a lab without touching os.environ: `lab_env(lab)` for subprocesses, `lab.kubeconfig` and
`lab.aws_env` for clients, `lab_aws_client(lab, "iam")` for a boto3 client as the lab's admin.
(Test modules cannot import from a conftest under rootdir import mode, so helpers are fixtures.)

A lab is a real subprocess with real servers: tests talk to it only over the wire, as kubectl, the
aws CLI and the explorer do. Tests that change a shared lab must use names of their own.

The fixtures' labs are forked by one `lab host` per session (lab/host.py): the same `lab serve`,
without importing moto, boto3 and the kubernetes client again for each (about a second of CPU a
lab, and most of its memory shared). `lab_for.fresh(...)` is a lab of a test's own, the same way.
Tests of `lab serve` itself call `start_lab` and get the plain process. IRSA_TEST_PLAIN_LABS=1, or
a host that does not start, gives every fixture the plain process too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from irsa_explorer.lab.launcher import LabProcess, start_lab

# The suite runs the same on a developer's shell as in CI: the caller's AWS settings (a sourced
# lab aws.env, AWS_PROFILE, an endpoint URL), kubeconfig and explorer settings must not reach the
# explorer code that tests run in-process and that reads them as the aws CLI and kubectl do.
for _name in [n for n in os.environ if n.startswith(("AWS_", "IRSA_EXPLORER_")) or n == "KUBECONFIG"]:
    del os.environ[_name]
# … nor the developer's own explorer config (~/.config/irsa-explorer/config.toml: theme, keymap, readonly)
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="irsa-explorer-test-config-")
atexit.register(shutil.rmtree, os.environ["XDG_CONFIG_HOME"], True)


class LabHostForTests:
    """One `irsa-explorer lab host` for this session (a child of this process: it ends with it),
    started on first use; `start(...)` is `start_lab` through it, or plain when it is not there."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._guard = threading.Lock()
        self._socket: str | None = None
        self._process: subprocess.Popen | None = None
        self._tried = False
        self._users = 0  # start_lab reads the host from os.environ: set while any start needs it

    def _ensure(self) -> str | None:
        with self._guard:
            if self._tried:
                return self._socket
            self._tried = True
            import importlib.util

            if os.environ.get("IRSA_TEST_PLAIN_LABS") or importlib.util.find_spec("irsa_explorer.lab.host") is None:
                return None
            socket_path = self._folder / "host.sock"
            log = open(self._folder / "host.log", "w")  # noqa: SIM115 (the host writes it while it runs)
            process = subprocess.Popen(
                [sys.executable, "-m", "irsa_explorer", "lab", "host", "--socket", str(socket_path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
            )
            log.close()
            ready = threading.Event()

            def drain() -> None:
                assert process.stdout is not None
                for line in process.stdout:
                    if line.strip() == "ready":
                        ready.set()
                ready.set()  # it ended: the poll below says so

            threading.Thread(target=drain, daemon=True).start()
            ready.wait(300)  # a hang guard only: the host imports what every lab would
            if process.poll() is None and socket_path.is_socket():
                self._socket, self._process = str(socket_path), process
            else:
                with contextlib.suppress(OSError):
                    process.kill()
            return self._socket

    @contextlib.contextmanager
    def _environ(self, socket_path: str | None) -> Iterator[None]:
        from irsa_explorer.lab.launcher import HOST_ENV

        if socket_path is None:
            yield
            return
        with self._guard:
            self._users += 1
            os.environ[HOST_ENV] = socket_path
        try:
            yield
        finally:
            with self._guard:
                self._users -= 1
                if not self._users:
                    os.environ.pop(HOST_ENV, None)

    def start(self, scenario: str, directory: Path, extra_args: list[str] | tuple[str, ...] = (), **kwargs: Any) -> LabProcess:
        with self._environ(self._ensure()):
            return start_lab(scenario, directory, extra_args, **kwargs)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # it stops the labs it forked that are still running
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()


class LabFactory:
    """`lab_for("static-keys")` starts that scenario's lab once per session (thread-safe);
    `lab_for.prefetch(a, b, …)` starts several at once, in parallel, to save wall time;
    `with lab_for.fresh(scenario, directory, extra_args) as lab:` a lab of the caller's own."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._labs: dict[str, LabProcess] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.host = LabHostForTests(Path(tempfile.mkdtemp(prefix="irsa-test-labhost-")))
        atexit.register(shutil.rmtree, self.host._folder, True)  # also when the session ends early

    def fresh(self, scenario: str, directory: Path, extra_args: list[str] | tuple[str, ...] = (), **kwargs: Any) -> LabProcess:
        """A lab of the caller's own (not shared, not cached): stop it, or use it in `with`."""
        return self.host.start(scenario, directory, extra_args, **kwargs)

    def __call__(self, scenario: str) -> LabProcess:
        with self._guard:
            lock = self._locks.setdefault(scenario, threading.Lock())
        with lock:
            running = self._labs.get(scenario)
            if running is None or running.process.poll() is not None:
                with self._guard:  # tmp_path_factory makes its base folder lazily: not thread-safe
                    directory = self._tmp.mktemp(f"lab-{Path(scenario).stem}")
                running = self._labs[scenario] = self.host.start(scenario, directory)
            return running

    def prefetch(self, *scenarios: str) -> None:
        with ThreadPoolExecutor(max_workers=len(scenarios) or 1) as pool:
            list(pool.map(self, scenarios))

    def stop_all(self) -> None:
        for running in self._labs.values():  # signal all first: they shut down side by side
            if running.process.poll() is None:
                running.process.send_signal(signal.SIGTERM)
        for running in self._labs.values():
            running.stop()
        self.host.stop()
        shutil.rmtree(self.host._folder, ignore_errors=True)


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


def _lab_env(lab: LabProcess) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(lab.aws_env)  # no profile, region or key of the user's may leak in
    env["KUBECONFIG"] = str(lab.kubeconfig)
    return env


@pytest.fixture(scope="session")
def lab_env() -> Callable[[LabProcess], dict[str, str]]:
    """`lab_env(lab)`: an environment for kubectl, aws or irsa-explorer subprocesses pointed at
    that lab, as after `export KUBECONFIG=…; source aws.env` (none of the caller's AWS_* kept)."""
    return _lab_env


def _lab_aws_client(lab: LabProcess, service: str) -> Any:
    import boto3

    return boto3.Session(
        aws_access_key_id=lab.aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=lab.aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=lab.aws_env["AWS_REGION"],
    ).client(service, endpoint_url=lab.aws_endpoint)


@pytest.fixture(scope="session")
def lab_aws_client() -> Callable[[LabProcess, str], Any]:
    """`lab_aws_client(lab, "iam")`: a boto3 client on that lab's AWS side as the lab's admin
    (the keys, region and endpoint of its aws.env; nothing read from os.environ)."""
    return _lab_aws_client


@pytest.fixture(scope="session")
def no_get_role_env(lab: LabProcess, lab_aws_client: Callable[[LabProcess, str], Any]) -> dict[str, str]:
    """The walkthrough lab's AWS env, but as a user who may do everything except iam:GetRole:
    what "a forbidden lookup shows unknown, never ok" is tested with, through the lab's real IAM
    enforcement."""
    import json
    import uuid

    iam = lab_aws_client(lab, "iam")
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


# IRSA_TEST_RSS_LOG=FILE: each test's id, duration and this process's resident memory after it,
# one tab-separated line per test and worker — where a worker's memory grows (an xdist worker
# reached 3.5 GB and was OOM-killed on a busy 24 GB machine).
if os.environ.get("IRSA_TEST_RSS_LOG"):

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        with open("/proc/self/statm") as statm:
            rss_mb = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20
        with open(os.environ["IRSA_TEST_RSS_LOG"], "a") as log:
            log.write(f"{os.getpid()}\t{rss_mb}\t{report.nodeid}\n")
