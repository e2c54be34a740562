"""A classroom driven as browsers drive it: `irsa-explorer classroom` in a subprocess, tabs that
speak textual-serve's websocket protocol, the processes each tab's app started.
Not a test module; imported by the tests beside it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import websocket  # websocket-client (a dependency of the kubernetes client)

HANG_GUARD_S = 180.0  # generous: a lab and an app start on a busy 2-core machine


def wait_for(condition: Callable[[], object], what: str, hang_guard: float = HANG_GUARD_S) -> object:
    """Until `condition()` is true (polled): a hang guard, not a timing assumption."""
    give_up = time.monotonic() + hang_guard
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < give_up, f"still waiting after {hang_guard:g} s: {what}"
        time.sleep(0.1)


class Classroom:
    """`irsa-explorer classroom --port 0 --dir ROOT` until stop()."""

    def __init__(self, root: Path, *extra: str) -> None:
        self.root = root
        self.process = subprocess.Popen(
            [sys.executable, "-m", "irsa_explorer", "classroom", "--port", "0", "--dir", str(root), *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.banner: list[str] = []
        self.log: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        for line in self.process.stdout:
            self.banner.append(line)
            if line.strip() == "ready":
                break
        else:
            raise AssertionError(f"classroom exited {self.process.wait()}: {''.join(self.banner + self.log)}")
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        opened = next(line for line in self.banner if "trainees open" in line)
        self.url = opened.split()[2].rstrip("/")
        self.port = int(urllib.parse.urlsplit(self.url).port)

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.log.append(line)

    def _drain_stdout(self) -> None:
        for line in self.process.stdout:
            self.log.append(line)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def status(self) -> dict:
        code, body = self.get("/status.json")
        assert code == 200, body
        return json.loads(body)

    def trainee(self, number: int) -> dict | None:
        return next((t for t in self.status()["trainees"] if t["number"] == number), None)

    def open_tab(self, name: str | None = None, width: int = 160, height: int = 48) -> Tab:
        return Tab(self, name, width, height)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


class Tab:
    """One browser tab as the page's script speaks to the server: stdin, resize; the screen's
    bytes collected by a reader (an unread socket would stall the app)."""

    def __init__(self, classroom: Classroom, name: str | None, width: int, height: int) -> None:
        self.classroom = classroom
        before = {t["number"] for t in classroom.status()["trainees"]}
        path = "/ws" + (f"/{urllib.parse.quote(name, safe='')}" if name else "")
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{classroom.port}{path}?width={width}&height={height}", timeout=HANG_GUARD_S)
        self.screen = bytearray()
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.number = wait_for(lambda: ({t["number"] for t in classroom.status()["trainees"]} - before or {0}).pop(),
                               "the tab's trainee on the roster")

    def _read(self) -> None:
        try:
            while True:
                opcode, data = self.socket.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                if opcode == websocket.ABNF.OPCODE_BINARY:
                    self.screen.extend(data)
        except Exception:
            pass
        finally:
            self.closed.set()

    def text(self) -> str:
        return bytes(self.screen).decode("utf-8", "replace")

    def status(self) -> dict:
        return self.classroom.trainee(self.number) or {}

    @property
    def directory(self) -> Path:
        return Path(self.status()["directory"])

    def wait_lab_ready(self) -> dict:
        return wait_for(lambda: (s := self.status()).get("lab") == "ready" and s, f"trainee {self.number}'s lab")

    def press(self, keys: str) -> None:
        self.socket.send(json.dumps(["stdin", keys]))

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.closed.wait(30)


# -- processes ---------------------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(pid: int) -> dict[int, str]:
    """Every living process under `pid` (children, theirs, …) with its command line."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[1] != "Z":
            parents[int(entry)] = stat[0]
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = cmdline(child)
                frontier.append(child)
    return found


def still_running(processes: dict[int, str]) -> dict[int, str]:
    """Those of `processes` still alive (same pid, same command line, not a zombie)."""
    return {pid: line for pid, line in processes.items()
            if (stat := _stat(pid)) is not None and stat[1] != "Z" and cmdline(pid) == line}


def listening_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1:`port` (a tab's API server: its lab, whether the app
    started it or a lab host forked it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(fields[9])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/fd/{fd}").removeprefix("socket:[").rstrip("]") in inodes:
                        return int(entry)
        except OSError:
            continue
    return None
