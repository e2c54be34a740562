"""The apps' fork server: one process that has imported `learn` once, forking an app per tab.

Thirty `irsa-explorer learn` apps would each import Textual, the kubernetes and boto3 clients
and the engine (~70 MB and ~0.6 s of CPU each). The zygote imports them once, freezes its heap
(`gc.freeze()`: no collection writes those pages again) and forks a child per tab: the children
share those pages copy-on-write and start without importing. The child is exactly
`irsa-explorer learn …` (cli.main), run with the tab's pipes as its stdin/stdout/stderr, its
environment and folder, in a session of its own.

`warm` also does what each app and its loader would do on first use (the kubernetes client's
lazy imports, botocore's models, the lessons' scenario checks), and each child forks its first
loader (sources/loader.prefork) before it runs: 30 tabs cost ~1.7 s of CPU each instead of ~5
(bench/README.md, "Where each tab's CPU goes").

It runs as `python -m irsa_explorer.classroom.app_zygote SOCKET`, started by the classroom with
the environment textual-serve gives an app (Textual reads its TEXTUAL_* settings at import).
Protocol on the Unix socket, one connection per app: the classroom sends one JSON line
{"argv": [...], "env": {...}, "cwd": "..."} with three file descriptors (SCM_RIGHTS: the app's
stdin, stdout, stderr); the zygote answers {"pid": N} (or {"error": "..."}) and closes. The
zygote stays single-threaded and reaps its children; it ends when its parent (the classroom)
is gone or on SIGTERM, leaving the apps to their own ends (their stdin closes with the server).

The command line is imported by name (importlib): this process runs the CLI in its children,
as `python -m irsa_explorer` would; the classroom's server itself imports nothing of the TUI.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path

WARM = (  # what `learn` imports on its way to its first load, and its loader (sources/loader.py)
    "irsa_explorer.cli", "irsa_explorer.launch", "irsa_explorer.learn", "irsa_explorer.app",
    "irsa_explorer.sources.inventory", "irsa_explorer.sources.kube", "irsa_explorer.sources.aws",
    "irsa_explorer.sources.loader", "irsa_explorer.analysis.identity", "irsa_explorer.lab.launcher",
    "irsa_explorer.sources.kube_watch", "irsa_explorer.sources.livecheck", "irsa_explorer.sources.probe",
    "irsa_explorer.analysis.prediction", "irsa_explorer.logfile", "irsa_explorer.screens.scenario_switch",
    "textual.drivers.web_driver",
)
# Textual's own modules an app imports as it runs, some private: imported when there (another
# Textual version may have others), never a reason for the zygote not to start
WARM_IF_THERE = ("textual.drivers._writer_thread", "textual.layouts.factory", "textual.layouts.horizontal",
                 "textual.layouts.stream", "textual.scrollbar")
# What the kubernetes client imports on first use (CoreV1Api: 4.5 MB of source, ~0.45 s of CPU)
KUBE_CLIENT_NAMES = ("ApiClient", "Configuration", "CoreV1Api", "WellKnownApi", "OpenidApi")
# The AWS services the explorer and its loader make clients for first: their models, endpoint
# rules and botocore's endpoints data are parsed once here, into the loader every AwsSource of a
# process shares (sources/botocore_data.py): ~0.2 s of CPU per app and per loader
AWS_SERVICES = ("sts", "iam", "eks", "ec2")
_REQUEST_LIMIT = 256 * 1024


def ask_zygote(socket_path: str, argv: list[str], env: dict[str, str], cwd: str, fds: list[int],
               timeout: float = 30.0) -> int:
    """Have the zygote fork `irsa-explorer ARGV` with these three fds as stdin, stdout, stderr;
    returns the app's pid. Raises OSError when the zygote is not there or refuses."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(socket_path)
        request = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n"
        socket.send_fds(connection, [request], fds)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    said = json.loads(answer or b"{}")
    if not isinstance(said.get("pid"), int):
        raise OSError(f"the app zygote did not start the app: {said.get('error', 'no answer')}")
    return said["pid"]


def _child(request: dict, fds: list[int]) -> None:
    """In the forked child: become `irsa-explorer ARGV` on the tab's pipes. Never returns."""
    code = 1
    try:
        os.setsid()
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the app's first load runs in a loader forked now, while this process has one thread
        # and everything imported, rather than in a fresh interpreter importing it all again
        importlib.import_module("irsa_explorer.sources.loader").prefork()
        gc.enable()
        cli = importlib.import_module("irsa_explorer.cli")
        code = cli.main(list(request["argv"]))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException as error:  # noqa: BLE001 - one line on the app's stderr, never the zygote's loop
        with contextlib.suppress(Exception):
            print(f"irsa-explorer: the app did not start: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)


def _serve_one(listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        connection.settimeout(10)
        fds: list[int] = []
        try:
            message, fds, _flags, _address = socket.recv_fds(connection, _REQUEST_LIMIT, 3)
            while not message.endswith(b"\n") and len(message) < _REQUEST_LIMIT:
                more = connection.recv(_REQUEST_LIMIT)
                if not more:
                    break
                message += more
            request = json.loads(message)
            if len(fds) != 3 or not isinstance(request.get("argv"), list) or not isinstance(request.get("env"), dict):
                raise ValueError("a request is argv, env and cwd with three file descriptors")
        except (OSError, ValueError) as problem:
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                connection.sendall(json.dumps({"error": str(problem)}).encode() + b"\n")
            return
        pid = os.fork()
        if pid == 0:
            listener.close()
            connection.close()
            _child(request, fds)
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def warm() -> None:
    """Import what every app and its loader need, and do the first-use work they would each do
    again (the kubernetes client's lazy imports, botocore's data): once here, shared by every
    child. Starts no thread: the zygote forks."""
    for name in WARM:
        importlib.import_module(name)
    for name in WARM_IF_THERE:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    kube_client = importlib.import_module("kubernetes.client")
    for name in KUBE_CLIENT_NAMES:
        getattr(kube_client, name)
    aws = importlib.import_module("irsa_explorer.sources.aws").AwsSource(
        region="us-east-1", credentials=("AKIAZYGOTEWARMUP0000", "not-a-secret", None), endpoint_url="http://127.0.0.1:9")
    for service in AWS_SERVICES:
        aws.client(service)  # made, never called: no request leaves this process
    # every built-in lesson read once: its scenario's check parses the botocore models its AWS
    # steps name (ec2's is megabytes) into the lab parser's one session — 0.3 s of CPU and
    # 24 MB in each app that reads its lesson, otherwise
    lessons = importlib.import_module("irsa_explorer.lessons")
    for name in lessons.builtin_lessons():
        with contextlib.suppress(Exception):  # a lesson that does not load says so in the app, as it would
            lessons.load_lesson(name)


def main(socket_path: str) -> int:
    parent = os.getppid()
    gc.disable()
    warm()
    path = Path(socket_path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    gc.freeze()  # the imports' objects: shared with every app, never written by a collection
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    while not stopping and os.getppid() == parent:
        with contextlib.suppress(InterruptedError):
            readable, _, _ = select.select([listener], [], [], 1.0)
            if readable:
                _serve_one(listener)
        _reap()
    listener.close()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))


class AppZygote:
    """The zygote process the classroom started, and its socket."""

    def __init__(self, socket_path: Path, process) -> None:
        self.socket, self.process = socket_path, process

    def stop(self) -> None:
        from irsa_explorer.classroom.lab_host import end_process

        end_process(self.process)


def start_app_zygote(root: Path, env: dict[str, str], hang_guard: float = 120.0) -> AppZygote | None:
    """The zygote at ROOT/app-zygote.sock, once it says `ready`; None when it did not start
    (then every tab's app is a process of its own, as textual-serve starts one)."""
    import subprocess
    import threading

    path = root / "app-zygote.sock"
    process = subprocess.Popen([sys.executable, "-m", "irsa_explorer.classroom.app_zygote", str(path)], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    answered = threading.Event()

    def read(stream, ready_line: bool) -> None:
        for line in stream:
            said.append(line)
            if ready_line and line.strip() == "ready":
                answered.set()
        answered.set()

    threading.Thread(target=read, args=(process.stdout, True), daemon=True).start()
    threading.Thread(target=read, args=(process.stderr, False), daemon=True).start()
    answered.wait(hang_guard)
    if "ready" not in (line.strip() for line in said):
        AppZygote(path, process).stop()
        import logging

        logging.getLogger("irsa_explorer.classroom").warning(
            "the app zygote did not start (%s): every tab's app is a process of its own",
            " ".join(" ".join(said).split())[-300:] or "no answer")
        return None
    return AppZygote(path, process)
