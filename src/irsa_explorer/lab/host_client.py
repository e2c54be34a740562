"""Asking a lab host (lab/host.py) for a lab: the client side of its socket.

`ask_host` sends the `lab serve` options and the two pipes the lab writes its stdout and
stderr to, and returns a HostedLab: the forked lab as start_lab uses a Popen (poll, wait,
send_signal, kill, pid, returncode, stdout, stderr), so LabProcess and everything built on it
work unchanged. The lab is not our child: its signals go through the host, which also tells
us its exit status.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence

from irsa_explorer.lab.launcher import LabStartError

HOST_GONE = -signal.SIGKILL  # the returncode of a lab whose host went away without saying (it ends with its host)


def ask_host(socket_path: str, options: Sequence[str], timeout: float) -> HostedLab:
    """A lab forked by the host listening at `socket_path`, running `lab serve OPTIONS`.

    LabStartError (one line) when no host listens there or it does not answer within `timeout`."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    fix = f"start one with `irsa-explorer lab host --socket {socket_path}`, or unset IRSA_EXPLORER_LAB_HOST"
    try:
        connection.connect(socket_path)
    except OSError as problem:
        connection.close()
        raise LabStartError(f"no lab host at {socket_path} ({problem.strerror or problem}): {fix}") from None
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        request = {"argv": list(options), "cwd": os.getcwd()}
        socket.send_fds(connection, [(json.dumps(request) + "\n").encode()], [out_w, err_w])
        reply = _read_line(connection)
    except (OSError, ValueError) as problem:
        connection.close()
        for fd in (out_r, err_r):
            os.close(fd)
        why = "did not answer in time" if isinstance(problem, TimeoutError) else f"failed ({problem})"
        raise LabStartError(f"the lab host at {socket_path} {why}: {fix}") from None
    finally:
        for fd in (out_w, err_w):  # the lab holds its own copies: EOF here once it has ended
            os.close(fd)
    if "pid" not in reply:
        connection.close()
        for fd in (out_r, err_r):
            os.close(fd)
        raise LabStartError(str(reply.get("error") or f"the lab host at {socket_path} said {reply!r}"))
    connection.settimeout(None)
    return HostedLab(int(reply["pid"]), connection, os.fdopen(out_r, "r"), os.fdopen(err_r, "r"), list(options))


def _read_line(connection: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        more = connection.recv(4096)
        if not more:
            raise ValueError("it closed the connection")
        data += more
    reply = json.loads(data)
    if not isinstance(reply, dict):
        raise ValueError("its answer is not a JSON object")
    return reply


class HostedLab:
    """A lab the host forked, with the part of Popen's interface start_lab and LabProcess use."""

    def __init__(self, pid: int, connection: socket.socket, stdout, stderr, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None
        self._connection: socket.socket | None = connection
        self._buffer = b""
        self._lock = threading.Lock()

    def _read(self, timeout: float | None) -> None:
        """Read what the host said (its {"exit": N}) for up to `timeout` seconds (None: until it ends)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self.returncode is None and self._connection is not None:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                readable, _, _ = select.select([self._connection], [], [], left)
                if not readable:
                    return
                try:
                    data = self._connection.recv(4096)
                except OSError:
                    data = b""
                if not data:  # the host is gone without a word: the lab ends with it (its death signal)
                    self.returncode = HOST_GONE
                    self._close()
                    return
                self._buffer += data
                while b"\n" in self._buffer:
                    line, self._buffer = self._buffer.split(b"\n", 1)
                    try:
                        said = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(said, dict) and isinstance(said.get("exit"), int):
                        self.returncode = said["exit"]
                        self._close()
                        return

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()  # to the host: this lab's client is done
            self._connection = None

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._read(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Through the host, which knows whether the lab is still there (no pid reused by mistake)."""
        connection = self._connection  # not under the lock: a wait() in another thread holds it
        if self.returncode is None and connection is not None:
            try:
                connection.sendall((json.dumps({"signal": int(sig)}) + "\n").encode())
            except OSError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
