"""`irsa-explorer lab host --socket PATH`: one process that starts labs cheaply, by fork.

A classroom runs thirty labs on one machine. A plain `lab serve` is a fresh interpreter that
imports moto, werkzeug, aiohttp, boto3 and the kubernetes client, parses the service models
and loads IAM's managed policies before it serves: ~2 s of CPU and ~350 MB PSS each. The lab
host does all of that once — it imports everything a lab needs, parses every built-in scenario
(which loads the botocore service models the scenarios use), builds moto's catalogues, its IAM
backends with the managed policies and its per-service apps (warm()) — then `gc.freeze()`s and
forks one child per lab asked for. The children share the host's pages copy-on-write and start
without importing anything. Measured (bench/classroom_labs.py, 30 walkthrough labs, PSS summed
over the tree, load 14–33): 4.36 GB with the host against 10.5 GB for 30 `lab serve`s (137 MB a
lab against 351), ready p50 1.8 s against 9.7 s one after another; docs/classroom.md.

Why fork rather than one moto backend with an account per trainee: moto keeps process-wide
backends and the lab's servers (IMDS, Pod Identity, CloudTrail, the API server) are one per
cluster; a fork keeps every lab exactly `lab serve` — the same code path, files, banner and
`ready` — and isolated (a trainee's IAM changes cannot reach another trainee's account), and
stopping one is killing a process.

The host stays single-threaded (it never starts a server; labs start theirs after the fork),
so nothing is forked holding a lock another thread held.

Protocol on the Unix socket (one connection per lab, JSON lines):
  client → host  {"argv": [lab serve options], "cwd": "..."} with two file descriptors
                 (SCM_RIGHTS): the lab's stdout and stderr (pipes the client reads);
  host → client  {"pid": N} once forked, or {"error": "..."};
  client → host  {"signal": N}: deliver a signal to that lab (how LabProcess.stop() stops it);
  host → client  {"exit": CODE} when the lab has ended (negative: killed by that signal).
The client closing the connection (it stopped, or died) ends the lab.
Spares (`--spares N`): labs forked ahead with a socketpair instead of a client; started (servers
up, scenario applied) each waits in lab serve (`args.claim`) for a request with its options: the
host sends it {"dir": ..., "cwd": ...} and the request's two descriptors, and it carries on as
that request's lab.
The host ends its labs when it gets SIGTERM/SIGINT/SIGHUP or its parent dies, and each lab ends
when the host dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from irsa_explorer.lab.launcher import HOST_ENV, STOP_WITH_PARENT_ENV

REFILL_SPARES = 2  # once spares are being claimed, at most this many are started again (memory)
STOP_GRACE_S = 10.0  # SIGTERM, then SIGKILL after this long (the host's own stop)
_REQUEST_LIMIT = 64 * 1024
_REQUEST_TIMEOUT_S = 10.0  # a client that connects and says nothing is dropped after this long


def warm() -> dict[str, float]:
    """Import and parse, in the host, everything every lab would otherwise do on its own.

    Returns seconds per step (shown in the host's banner). Nothing here starts a thread.
    """
    steps: dict[str, float] = {}
    mark = time.monotonic()

    def step(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        steps[name] = now - mark
        mark = now

    import boto3  # noqa: F401
    import kubernetes.client  # noqa: F401
    from kubernetes.client import CoreV1Api  # noqa: F401  (imported on first use: ~0.45 s of CPU in each lab's seeding)
    import moto.moto_server.werkzeug_app  # noqa: F401
    import werkzeug.serving  # noqa: F401
    from aiohttp import web  # noqa: F401

    import irsa_explorer.lab.aws.server  # noqa: F401  (moto's backends, with the lab's settings)
    import irsa_explorer.lab.kube.server  # noqa: F401
    import irsa_explorer.lab.runtime.containers  # noqa: F401
    import irsa_explorer.lab.scale  # noqa: F401
    import irsa_explorer.lab.serve  # noqa: F401

    step("imports")
    from irsa_explorer.lab.scenario import load_scenario
    from irsa_explorer.lab.scenario.builtin import builtin_scenarios

    accounts: set[str] = set()
    for name in builtin_scenarios():  # checking a scenario loads the service models its steps use
        with contextlib.suppress(Exception):
            accounts.add(load_scenario(name).cluster.account)
    from irsa_explorer.lab.scenario import botocore_session

    for service in ("iam", "sts", "ec2", "eks", "s3"):  # what a lab's clients and moto's parsers read
        botocore_session().get_service_model(service)
    # moto's models import their catalogues (instance types, regions from botocore's endpoints)
    import moto.ec2.models  # noqa: F401
    import moto.eks.models  # noqa: F401
    import moto.s3.models  # noqa: F401
    import moto.sts.models  # noqa: F401
    from moto.core import DEFAULT_ACCOUNT_ID

    step("models")
    from irsa_explorer.lab.aws import moto_backends

    moto_backends.warm_up(sorted(accounts | {DEFAULT_ACCOUNT_ID}))
    step("moto")
    gc.collect()  # the warm-up's garbage is not frozen into every lab
    step("collect")
    return steps


@dataclass
class _Lab:
    pid: int
    connection: socket.socket | None  # its client's; None while a spare waits to be claimed
    spare_end: socket.socket | None = None  # a spare's: where its claim is sent
    started: float = field(default_factory=time.monotonic)


def _key(argv: Sequence[str], cwd: str) -> tuple[tuple[str, ...], str]:
    """What a spare must have been started with to serve a request: its options but --dir, the
    scenario as its file (`learn` names the file, an instructor the built-in name)."""
    options = _without_dir(argv)[0]
    for index, option in enumerate(options[:-1]):
        if option == "--scenario":
            with contextlib.suppress(Exception):
                from irsa_explorer.lab.scenario.builtin import scenario_path

                options[index + 1] = str(scenario_path(options[index + 1], relative_to=Path(cwd)).resolve())
    return tuple(options), cwd


def _without_dir(argv: Sequence[str]) -> tuple[list[str], str | None]:
    rest: list[str] = []
    directory = None
    items = iter(argv)
    for item in items:
        if item == "--dir":
            directory = next(items, None)
        elif item.startswith("--dir="):
            directory = item.removeprefix("--dir=")
        else:
            rest.append(item)
    return rest, directory


class LabHost:
    """The host's loop: accept requests, fork labs, relay signals and exits."""

    def __init__(self, socket_path: Path, parse: Callable[[Sequence[str]], object], log: TextIO, *,
                 spares: int = 0, spare_options: Sequence[str] | None = None) -> None:
        self.socket_path = socket_path
        # Spares: labs started ahead, waiting for a request with the same options (a class that
        # opens its tabs at once gets labs already up). Their options: given, or the first request's.
        self.spares_wanted = spares  # started ahead; after the first claim, kept at min(spares, REFILL_SPARES)
        self.spare_key = _key(spare_options, os.getcwd()) if spare_options else None
        self.parse = parse  # `lab serve` options → the argparse Namespace serve.main takes (cli's parser)
        self.log = log
        self.labs: dict[int, _Lab] = {}
        self.claims = 0
        self._spare_end_forking: socket.socket | None = None
        self.stopping = False
        self.parent = os.getppid()
        self.pid_of_host = os.getpid()
        self.listener: socket.socket | None = None
        self._wake_r, self._wake_w = os.pipe()

    # --- the loop ----------------------------------------------------------------------------

    def listen(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.socket_path.is_socket():
                self.socket_path.unlink()  # a host that died left it behind; connecting to it fails anyway
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o177)  # only this user may ask for labs (they hold lab credentials)
        try:
            listener.bind(str(self.socket_path))
        finally:
            os.umask(old_mask)
        listener.listen(64)
        listener.setblocking(False)
        self.listener = listener
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self._wake_w)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select through the wakeup fd

    def _on_stop(self, *_: object) -> None:
        self.stopping = True

    def run(self) -> int:
        assert self.listener is not None
        try:
            self._refill()
            while not self.stopping:
                clients = [lab.connection for lab in self.labs.values() if lab.connection is not None]
                watched = [self.listener, self._wake_r, *clients]
                try:
                    readable, _, _ = select.select(watched, [], [], 0.5)
                except InterruptedError:
                    readable = []
                if os.getppid() != self.parent:
                    print("lab host: the process that started it is gone", file=self.log, flush=True)
                    break
                for ready in readable:
                    if ready is self.listener:
                        self._accept()
                    elif ready == self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 4096)
                    else:
                        self._from_client(ready)
                self._reap()
        finally:
            self._stop_all()
            with contextlib.suppress(OSError):
                self.listener.close()
                self.socket_path.unlink()
        return 0

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            connection, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        fds: list[int] = []
        try:
            connection.setblocking(True)
            connection.settimeout(_REQUEST_TIMEOUT_S)
            request, fds = _read_request(connection)
            argv = [str(arg) for arg in request.get("argv", [])]
            cwd = str(request.get("cwd") or "/")
            if len(fds) != 2:
                raise ValueError("send the lab's stdout and stderr with the request")
            key = _key(argv, cwd)
            if self.spares_wanted and self.spare_key is None:
                self.spare_key = key
            # the options decide (a relative scenario is resolved in the key); the folder is
            # resolved in the request's cwd when the spare is claimed
            same = self.spare_key is not None and key[0] == self.spare_key[0]
            pid = self._claim(argv, cwd, fds) if same else None
            claimed = pid is not None
            self.claims += claimed
            if pid is None:
                pid = self._fork_lab(argv, cwd, fds, connection)
        except (OSError, ValueError) as problem:
            with contextlib.suppress(OSError):
                connection.sendall(_message({"error": f"the lab host could not start a lab: {problem}"}))
            connection.close()
            return
        finally:
            for fd in fds:
                os.close(fd)  # the lab has its copies
        if claimed:
            self.labs[pid].connection = connection
        else:
            self.labs[pid] = _Lab(pid, connection)  # reaped whatever happens next
        try:
            connection.settimeout(5)
            connection.sendall(_message({"pid": pid}))
            connection.setblocking(False)
        except OSError:  # the client left while its lab was forked: the lab has no one to serve
            _signal(pid, signal.SIGTERM)
        said = "a spare, claimed" if claimed else "started"
        print(f"lab host: lab {pid} {said} ({' '.join(argv)})", file=self.log, flush=True)
        self._refill()

    def _claim(self, argv: list[str], cwd: str, fds: list[int]) -> int | None:
        """Hand a waiting spare this request's folder and output; its pid, or None (no spare)."""
        directory = _without_dir(argv)[1]
        for lab in self.labs.values():
            if lab.spare_end is None:
                continue
            end, lab.spare_end = lab.spare_end, None
            try:
                socket.send_fds(end, [_message({"dir": directory, "cwd": cwd})], fds)
                return lab.pid
            except OSError:
                _signal(lab.pid, signal.SIGTERM)  # a spare that cannot be reached is no use
            finally:
                end.close()
        return None

    def _refill(self) -> None:
        """Start spares until `spares_wanted` wait (once their options are known)."""
        if self.spare_key is None or self.stopping:
            return
        waiting = sum(1 for lab in self.labs.values() if lab.spare_end is not None)
        # A class claims its spares as its tabs open: they are not all started again (30 claimed
        # and 30 waiting would double the memory), a couple are, for the late and the reloads.
        wanted = min(self.spares_wanted, REFILL_SPARES) if self.claims else self.spares_wanted
        for _ in range(wanted - waiting):
            host_end, lab_end = socket.socketpair()
            self._spare_end_forking = host_end  # the spare closes it: its claim's EOF is the host's
            try:
                pid = self._fork_lab(list(self.spare_key[0]), self.spare_key[1], None, None, claim=lab_end)
            except OSError as problem:
                print(f"lab host: no spare started: {problem}", file=self.log, flush=True)
                host_end.close()
                return
            finally:
                lab_end.close()
                self._spare_end_forking = None
            self.labs[pid] = _Lab(pid, None, spare_end=host_end)
            print(f"lab host: spare {pid} starting ({' '.join(self.spare_key[0])})", file=self.log, flush=True)

    def _fork_lab(self, argv: list[str], cwd: str, fds: list[int] | None, connection: socket.socket | None,
                  claim: socket.socket | None = None) -> int:
        for stream in (sys.stdout, sys.stderr, self.log):
            stream.flush()
        pid = os.fork()
        if pid:
            return pid
        # The lab. Whatever happens here ends in os._exit: it never returns into the host's loop.
        code = 70
        try:
            code = _run_lab(argv, cwd, fds, self, connection, claim)
        except SystemExit as exit_:  # argparse refusing an option: it printed why
            code = exit_.code if isinstance(exit_.code, int) else 2
        except BaseException as error:  # noqa: BLE001 - one line on the lab's stderr, like lab serve's crash
            with contextlib.suppress(Exception):
                print(f"lab serve: unexpected error: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _from_client(self, connection: socket.socket) -> None:
        lab = next((lab for lab in self.labs.values() if lab.connection is connection), None)
        if lab is None:
            return
        try:
            data = connection.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client stopped or died: so does its lab
            _signal(lab.pid, signal.SIGTERM)
            return
        for line in data.splitlines():
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                number = int(json.loads(line).get("signal"))
                if number in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGHUP):
                    _signal(lab.pid, number)

    def _reap(self) -> None:
        while self.labs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            lab = self.labs.pop(pid, None)
            if lab is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if lab.connection is None:  # a spare that ended before anyone asked for it (not restarted)
                if lab.spare_end is not None:
                    lab.spare_end.close()
                print(f"lab host: spare {pid} ended ({code})", file=self.log, flush=True)
                continue
            with contextlib.suppress(OSError):
                lab.connection.setblocking(True)
                lab.connection.settimeout(2)
                lab.connection.sendall(_message({"exit": code}))
            lab.connection.close()
            print(f"lab host: lab {pid} ended ({code})", file=self.log, flush=True)

    def _stop_all(self) -> None:
        """SIGTERM every lab, wait for them (STOP_GRACE_S), SIGKILL the rest."""
        for lab in self.labs.values():
            _signal(lab.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.labs and time.monotonic() < deadline:
            self._reap()
            if self.labs:
                time.sleep(0.05)
        for lab in list(self.labs.values()):
            _signal(lab.pid, signal.SIGKILL)
        while self.labs:
            pid, _ = os.waitpid(next(iter(self.labs)), 0)
            self.labs.pop(pid, None)
            self._reap()


def _run_lab(argv: list[str], cwd: str, fds: list[int] | None, host: LabHost, connection: socket.socket | None,
             claim: socket.socket | None = None) -> int:
    """In the forked child: become a lab serve of its own and run it (serve.main). A spare
    (`claim`, no `fds`) starts with its output on /dev/null and waits, started, for its claim."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    os.setsid()  # a Ctrl-C in the host's terminal is the host's to handle (it stops its labs)
    _die_with_parent()
    host_pid = host.pid_of_host
    if os.getppid() != host_pid:  # the host died between the fork and the line above
        return 1
    # Nothing of the host's reaches the lab: its socket, the other labs' connections, its pipe.
    for lab in host.labs.values():
        for other in (lab.connection, lab.spare_end):
            if other is not None:
                other.close()
    for other in (host.listener, connection, host._spare_end_forking):
        if other is not None:
            other.close()
    for fd in (host._wake_r, host._wake_w):
        os.close(fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(fds[0] if fds else devnull, 1)
    os.dup2(fds[1] if fds else devnull, 2)
    os.close(devnull)
    os.chdir(cwd)
    from irsa_explorer.lab.serve import main as serve_main

    os.environ[STOP_WITH_PARENT_ENV] = str(host_pid)  # serve's own check: stop once the host is gone
    # The host's objects stay frozen (gc.freeze before the fork): the lab's collections never
    # walk them, so never write to their pages, which stay shared.
    args = host.parse(argv)
    if claim is not None:
        args.claim = lambda own_directory: _claimed(claim, own_directory)
    return serve_main(args)


def _claimed(claim: socket.socket, own_directory: Path) -> Path:
    """In a spare, once started: wait for the host to hand it a request; take its output and
    folder (the CA certificate copied there, as lab serve leaves it). Its own temporary folder
    when the request named none (removed when it stops, as lab serve's)."""
    import shutil

    request, fds = _read_request(claim, timeout=None)
    if len(fds) != 2:
        raise SystemExit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    claim.close()
    os.chdir(str(request.get("cwd") or "/"))
    if not request.get("dir"):
        return own_directory
    folder = Path(str(request["dir"])).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        shutil.copyfile(own_directory / "ca.crt", folder / "ca.crt")
    return folder


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when the host dies (prctl PR_SET_PDEATHSIG), however it died."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def _message(payload: dict) -> bytes:
    return (json.dumps(payload) + "\n").encode()


def _read_request(connection: socket.socket, timeout: float | None = _REQUEST_TIMEOUT_S) -> tuple[dict, list[int]]:
    """One JSON line and the file descriptors sent with it (a closed connection: SystemExit in a
    spare, ValueError in the host)."""
    connection.settimeout(timeout)
    data, fds, _, _ = socket.recv_fds(connection, _REQUEST_LIMIT, 4)
    fds = list(fds)
    if not data and timeout is None:
        raise SystemExit(1)  # a spare's host is gone: stop (the with-blocks clean up on the way)
    while not data.endswith(b"\n"):
        more = connection.recv(_REQUEST_LIMIT)
        if not more or len(data) > _REQUEST_LIMIT:
            for fd in fds:
                os.close(fd)
            raise ValueError("the request was cut short")
        data += more
    try:
        request = json.loads(data)
    except ValueError:
        for fd in fds:
            os.close(fd)
        raise ValueError("the request is not JSON") from None
    if not isinstance(request, dict):
        for fd in fds:
            os.close(fd)
        raise ValueError("the request is not a JSON object")
    return request, fds


def main(socket_path: str, parse: Callable[[Sequence[str]], object], out: TextIO = sys.stdout,
         log: TextIO = sys.stderr, *, spares: int = 0, spare_options: Sequence[str] | None = None) -> int:
    """Entry point of `irsa-explorer lab host` (cli.py passes its `lab serve` parser as `parse`).

    Prints a banner and `ready` once the socket accepts requests."""
    began = time.monotonic()
    gc.disable()  # the warm-up builds a large heap and no garbage (as lab serve's start)
    steps = warm()
    path = Path(socket_path).expanduser().resolve()
    host = LabHost(path, parse, log, spares=spares, spare_options=spare_options)
    try:
        host.listen()
    except OSError as problem:
        print(f"lab host: cannot listen on {path}: {problem.strerror or problem}", file=log, flush=True)
        return 2
    gc.freeze()  # everything so far is shared with the labs, never touched by their collections
    gc.enable()
    summary = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in steps.items())
    print(f"lab host: {path} (pid {os.getpid()})", file=out)
    print(f"  {HOST_ENV}={path} irsa-explorer learn   # a lesson whose lab this host starts", file=out)
    print(f"warmed in {time.monotonic() - began:.2f}s ({summary})", file=out)
    print("ready", file=out, flush=True)
    return host.run()
