"""Measuring one process: wall time, exit status and peak memory, plus the lab's request counters.

Peak memory is the kernel's high-water mark of the measured process's own memory (`VmHWM` in
/proc/PID/status, read while it runs; it only grows, so the last reading is the peak to within
one poll), plus the high-water mark of each process it started (the TUI's loader process):
their sum is at least the peak of the whole tree. `ru_maxrss` from `wait4` is not used for it: Linux carries the forking parent's peak
across fork and exec into the child's figure, so a child of a large pytest worker would report
the worker's memory.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Measured:
    argv: list[str]
    wall_s: float
    peak_rss_mb: float
    exit_code: int
    cpu_s: float  # user + system CPU of the process: less sensitive to a busy machine than wall time
    stdout: str
    stderr: str


def run_measured(argv: list[str], env: dict[str, str], *, timeout: float = 900, stdin: str | None = None) -> Measured:
    """Run `argv` to completion; its wall time and the peak RSS of it and the processes it starts."""
    # Output goes to files, not pipes: a 10,000-pod JSON report would fill a pipe and block.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=err,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        )
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        deadline = started + timeout
        peaks: dict[int, int] = {}  # pid → its high-water mark, for the process and its descendants
        while True:
            for pid in [proc.pid, *_descendants(proc.pid)]:
                peaks[pid] = max(peaks.get(pid, 0), _high_water_kib(pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            # VmHWM is a high-water mark: any read before a process ends has its peak so far,
            # but what it grows by after the last read is not seen. Every 5 ms for the first
            # second (short processes), then every 25 ms: at 5 ms throughout, this polling took
            # ~7% of a core (0.28 s CPU in a 4.2 s TUI run) from the 2 the measured share.
            time.sleep(0.005 if time.perf_counter() - started < 1.0 else 0.025)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
        out.seek(0)
        err.seek(0)
        return Measured(
            argv=argv,
            wall_s=wall,
            peak_rss_mb=(sum(peaks.values()) or usage.ru_maxrss) / 1024,  # both in KiB
            exit_code=proc.returncode,
            cpu_s=usage.ru_utime + usage.ru_stime,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def _descendants(pid: int) -> list[int]:
    """The processes started by `pid` and by them, still running (from /proc/*/task/*/children)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(k) for k in children.read().split()]
            except (OSError, ValueError):
                continue
            found += kids
            pending += kids
    return found


def _high_water_kib(pid: int) -> int:
    """The process's peak resident memory so far, in KiB (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# --- the lab's counters ------------------------------------------------------------------


class LabStats:
    """Reads `/_lab/stats` from both lab servers; `delta(before)` gives one phase's requests."""

    def __init__(self, kubeconfig: str, aws_endpoint: str) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text())
        context_name = config.get("current-context")
        context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        self.kube_url = cluster["server"].rstrip("/")
        self._token = user.get("token")
        self._ssl = ssl.create_default_context()
        ca = cluster.get("certificate-authority-data")
        if ca:
            import base64

            self._ssl.load_verify_locations(cadata=base64.b64decode(ca).decode())
        elif cluster.get("certificate-authority"):
            self._ssl.load_verify_locations(cafile=cluster["certificate-authority"])
        self.aws_endpoint = aws_endpoint.rstrip("/")

    def _get(self, url: str, headers: dict[str, str], context: ssl.SSLContext | None) -> dict[str, Any]:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return json.loads(response.read())

    def snapshot(self) -> dict[str, int]:
        """Every counter of both servers, kube ones prefixed `kube:` (AWS ones are `service:Action`)."""
        kube = self._get(
            f"{self.kube_url}/_lab/stats",
            {"Authorization": f"Bearer {self._token}"} if self._token else {},
            self._ssl,
        )
        aws = self._get(f"{self.aws_endpoint}/_lab/stats", {}, None)
        counts: Counter[str] = Counter()
        for key, value in _counters_of(kube).items():
            counts[f"kube:{key}"] += value
        for key, value in _counters_of(aws).items():
            counts[key] += value
        # Requests refused with Throttling are counted above too; this says how many were.
        for key, value in (aws.get("throttled") or {}).items():
            counts[f"throttled {key}"] += int(value)
        return dict(counts)

    def delta(self, before: dict[str, int]) -> dict[str, int]:
        """Requests since `before`, minus the stats requests themselves."""
        after = self.snapshot()
        diff = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}
        return {k: v for k, v in sorted(diff.items()) if "_lab" not in k and "stats" not in k}


def _counters_of(payload: dict[str, Any]) -> dict[str, int]:
    # Tolerate both shapes the servers may answer: {"counters": {...}} or the counters themselves.
    inner = payload.get("counters", payload) if isinstance(payload, dict) else {}
    return {str(k): int(v) for k, v in inner.items() if isinstance(v, (int, float))}


def summarize_requests(requests: dict[str, int]) -> dict[str, int]:
    """Totals per service (kube, iam, sts, eks, ec2, …) for the table."""
    totals: Counter[str] = Counter()
    for key, value in requests.items():
        if not key.startswith("throttled "):
            totals[key.split(":", 1)[0]] += value
    return dict(totals)
