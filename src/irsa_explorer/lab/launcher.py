"""Start a lab in a subprocess (`irsa-explorer lab serve`) and hand back how to reach it.

Used by the tests, the `lab` TUI, `report --lab` and the benchmark. The lab runs in its own
process so its servers (and moto's global state) never share an interpreter with the code that
explores it — exactly like a real cluster and account, reached only over the wire.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from irsa_explorer.lab.scenario import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from irsa_explorer.lab.host_client import HostedLab

READY_LINE = "ready"
HOST_ENV = "IRSA_EXPLORER_LAB_HOST"  # a lab host's socket: start_lab asks it for the lab (lab/host.py)
STOP_WITH_PARENT_ENV = "IRSA_LAB_STOP_WITH_PARENT"  # the starter's pid
DEFAULT_TIMEOUT_S = 60.0


class LabStartError(RuntimeError):
    """`lab serve` exited or stayed silent before printing `ready`; carries its output."""


# What the `[lab]` extra brings (pyproject.toml): the lab's servers cannot start without them.
LAB_EXTRA_MODULES = ("moto", "aiohttp", "flask")
LAB_EXTRA_HINT = "pip install 'irsa-explorer[lab]'"


def missing_lab_extra() -> str | None:
    """One line saying the `[lab]` extra is not installed and how to install it, or None."""
    import importlib.util

    missing = [name for name in LAB_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return f"the lab needs the [lab] extra ({', '.join(missing)} not installed): {LAB_EXTRA_HINT}"


def read_aws_env(path: Path) -> dict[str, str]:
    """The variables of an aws.env file written by `lab serve` (`export NAME=value` lines)."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        parsed = shlex.split(value)
        env[name] = parsed[0] if parsed else ""
    return env


@dataclass
class LabProcess:
    """A running `lab serve`. Stop it with `stop()` or use it as a context manager."""

    directory: Path
    kubeconfig: Path
    aws_env: dict[str, str]
    kube_url: str
    aws_endpoint: str
    context: str
    process: subprocess.Popen | HostedLab = field(repr=False)  # HostedLab: forked by a lab host
    banner: str = ""  # what `lab serve` printed before `ready` (URLs, usage, start-up timings)
    _owns_directory: tempfile.TemporaryDirectory | None = field(default=None, repr=False)
    _readers: list[threading.Thread] = field(default_factory=list, repr=False)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the server and wait for it; kill it if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for reader in self._readers:  # they end at EOF, now that the process is gone
            reader.join(2)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        if self._owns_directory is not None:
            self._owns_directory.cleanup()
            self._owns_directory = None
        return self.process.returncode

    def __enter__(self) -> LabProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_lab(
    scenario: str | os.PathLike[str] = DEFAULT_SCENARIO,
    directory: str | os.PathLike[str] | None = None,
    extra_args: Sequence[str] = (),
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> LabProcess:
    """Run `irsa-explorer lab serve` in a subprocess and wait until it prints `ready`.

    With $IRSA_EXPLORER_LAB_HOST set to a lab host's socket (`irsa-explorer lab host`), the host
    forks the lab instead (the same `lab serve`, started without its imports); `process` is then
    a HostedLab (host_client.py) with the Popen methods used here, and `stop()` ends that lab only.
    A host that is not there, or does not answer in `timeout`, is one LabStartError line.

    `directory` receives kubeconfig and aws.env (None: a temporary folder that `lab serve`
    makes and removes itself when it stops — also when it stops because this process was
    killed, so no copy of the lab's CA, token or keys outlives the two of them).
    `extra_args` go to `lab serve` as they are (e.g. ["--latency", "iam=100ms"]).
    Raises LabStartError with the server's stderr when it fails or takes longer than `timeout`.
    """
    folder = Path(directory) if directory is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    options = ["--scenario", str(scenario), *(("--dir", str(folder)) if folder is not None else ()), *extra_args]
    host = os.environ.get(HOST_ENV)
    if host:  # a lab host forks the lab (lab/host.py): no imports, shared pages
        from irsa_explorer.lab.host_client import ask_host

        process = ask_host(host, options, timeout)
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "irsa_explorer", "lab", "serve", *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_server_env(),
            start_new_session=True,  # a Ctrl-C in the caller's terminal is the caller's to forward
        )
    stderr_lines: list[str] = []
    stderr_reader = threading.Thread(target=_drain, args=(process.stderr, stderr_lines), daemon=True)
    stderr_reader.start()
    stdout_lines: list[str] = []
    answered = threading.Event()  # `ready` seen, or stdout closed
    stdout_reader = threading.Thread(target=_watch_stdout, args=(process.stdout, stdout_lines, answered), daemon=True)
    stdout_reader.start()
    answered.wait(timeout)
    if READY_LINE not in (line.strip() for line in stdout_lines):
        timed_out = not answered.is_set()  # before stopping it closes stdout
        _give_up(process)
        stderr_reader.join(2)
        why = f"not ready after {timeout:g}s" if timed_out else f"exited with status {process.returncode}"
        output = "".join(stderr_lines).strip() or "".join(stdout_lines).strip() or "(no output)"
        if process.returncode == 2:  # it refused its options or scenario: its own words, one line
            raise LabStartError(" ".join(line.strip() for line in output.splitlines() if line.strip()))
        raise LabStartError(f"lab serve {why}:\n{output}")
    info = _serve_info(stdout_lines)
    folder = folder if folder is not None else Path(info["dir"])
    aws_env = read_aws_env(folder / "aws.env")
    return LabProcess(
        directory=folder,
        kubeconfig=folder / "kubeconfig",
        aws_env=aws_env,
        kube_url=info.get("kube", ""),
        aws_endpoint=aws_env.get("AWS_ENDPOINT_URL", info.get("aws", "")),
        context=info.get("context", ""),
        process=process,
        banner="".join(stdout_lines[: [line.strip() for line in stdout_lines].index(READY_LINE)]),
        _readers=[stdout_reader, stderr_reader],
    )


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # `lab serve` stops by itself when this process is gone, however it died (even SIGKILL).
    env[STOP_WITH_PARENT_ENV] = str(os.getpid())
    return env


def _drain(stream, sink: list[str]) -> None:
    for line in stream:
        sink.append(line)


def _watch_stdout(stream, sink: list[str], answered: threading.Event) -> None:
    for line in stream:
        sink.append(line)
        if line.strip() == READY_LINE:
            answered.set()
    answered.set()  # EOF: the process ended; the caller checks whether it really said `ready`


def _serve_info(lines: list[str]) -> dict[str, str]:
    """`lab serve` prints `kube: URL`, `aws: URL`, `context: NAME` and `dir: PATH` lines before `ready`."""
    info: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition(": ")
        if sep and key in ("kube", "aws", "context", "dir"):
            info[key] = value.strip()
    return info


def _give_up(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
