"""The lab side of a classroom: N labs from one lab host, against plain `lab serve`s.

    .venv/bin/python bench/classroom_labs.py --labs 30 --output /tmp/labs.json
    .venv/bin/python bench/classroom_labs.py --labs 8 --plain 3      # a smaller run

What it measures (bench/README.md, "The labs of a classroom"):
- the host: `irsa-explorer lab host` from start to `ready` (its warm-up), its PSS;
- one after another: N labs asked of the host through `start_lab` (IRSA_EXPLORER_LAB_HOST),
  each one's ready time (the call to its return: `ready` printed, files written), then the PSS
  of the host and all N labs together, summed from /proc/PID/smaps_rollup (PSS, not RSS: the
  pages the labs share with the host are counted once, split between them);
- in a burst: the N labs stopped, then N asked at once (one thread each), the same figures;
- plain: `--plain M` labs as `lab serve` processes (no host), one after another, their ready
  times and PSS; the per-lab mean times N is the comparison (said as extrapolated when M < N).
A guard stops starting labs while MemAvailable is under --min-available-mb and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from irsa_explorer.lab.launcher import HOST_ENV, LabProcess, start_lab  # noqa: E402


def smaps(pid: int) -> dict[str, int]:
    """Rss and Pss of a process in kB (0 when it is gone)."""
    values = {"Rss": 0, "Pss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                key, _, rest = line.partition(":")
                if key in values:
                    values[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return values


def available_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def tree_memory(pids: list[int]) -> dict[str, float]:
    rows = [smaps(pid) for pid in pids]
    return {"pss_mb": sum(r["Pss"] for r in rows) / 1024, "rss_mb": sum(r["Rss"] for r in rows) / 1024}


def summary(times: list[float]) -> dict[str, float]:
    if not times:
        return {}
    return {"p50_s": statistics.median(times), "max_s": max(times), "min_s": min(times)}


class Guard:
    def __init__(self, minimum_mb: int) -> None:
        self.minimum_mb = minimum_mb
        self.stopped_at: int | None = None

    def allows(self, index: int) -> bool:
        if available_mb() < self.minimum_mb:
            if self.stopped_at is None:
                self.stopped_at = index
                print(f"  guard: MemAvailable {available_mb()} MB < {self.minimum_mb} MB: no lab #{index + 1}", flush=True)
            return False
        return True


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def wait_idle(host: int, count: int) -> float:
    """Until the host has `count` children and together they use under a tenth of a core for 2 s
    (the spares have started: an idle lab's servers still wake now and then)."""
    began = time.monotonic()
    hz = os.sysconf("SC_CLK_TCK")
    last, still = cpu_ticks(children(host)), 0
    while still < 2:
        time.sleep(1)
        pids = children(host)
        ticks = cpu_ticks(pids)
        still = still + 1 if len(pids) >= count and ticks - last < hz / 10 else 0
        last = ticks
    return time.monotonic() - began


def start_host(socket_path: Path, *options: str) -> tuple[subprocess.Popen, float]:
    began = time.monotonic()
    host = subprocess.Popen([sys.executable, "-m", "irsa_explorer", "lab", "host", "--socket", str(socket_path), *options],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in host.stdout:
        if line.strip() == "ready":
            break
    else:
        raise SystemExit("the lab host did not start")
    threading.Thread(target=lambda: [None for _ in host.stdout], daemon=True).start()
    return host, time.monotonic() - began


def one_after_another(count: int, scenario: str, root: Path, guard: Guard, tag: str) -> tuple[list[LabProcess], list[float]]:
    labs, times = [], []
    for index in range(count):
        if not guard.allows(index):
            break
        began = time.monotonic()
        labs.append(start_lab(scenario, root / f"{tag}-{index:02d}", timeout=600))
        times.append(time.monotonic() - began)
        print(f"  {tag} lab {index + 1}: ready in {times[-1]:.2f}s", flush=True)
    return labs, times


def burst(count: int, scenario: str, root: Path, guard: Guard) -> tuple[list[LabProcess], list[float]]:
    labs: list[LabProcess | None] = [None] * count
    times: list[float] = [0.0] * count
    if not guard.allows(0):
        return [], []

    def one(index: int) -> None:
        began = time.monotonic()
        labs[index] = start_lab(scenario, root / f"burst-{index:02d}", timeout=600)
        times[index] = time.monotonic() - began

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [lab for lab in labs if lab is not None]
    return started, [t for t, lab in zip(times, labs) if lab is not None]


def stop_all(labs: list[LabProcess]) -> dict[str, float]:
    """Stop each lab (SIGTERM, wait for its exit) one after another: how long each took."""
    times = []
    for lab in labs:
        began = time.monotonic()
        lab.stop()
        times.append(time.monotonic() - began)
    return summary(times)


class _Skip(Exception):
    pass


def settle() -> None:
    time.sleep(3)  # a bench, not a test: let the labs' last allocations land before reading PSS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", type=int, default=30)
    parser.add_argument("--plain", type=int, default=3, help="plain lab serve processes to compare with (0: none)")
    parser.add_argument("--scenario", default="walkthrough")
    parser.add_argument("--no-burst", action="store_true")
    parser.add_argument("--only-spares", action="store_true", help="only the --spares measure")
    parser.add_argument("--spares", action="store_true",
                        help="also: a host with --spares N (N labs started ahead), then N asked at once")
    parser.add_argument("--min-available-mb", type=int, default=2048)
    parser.add_argument("--output", help="write the results as JSON here")
    args = parser.parse_args()
    guard = Guard(args.min_available_mb)
    results: dict = {"labs": args.labs, "scenario": args.scenario, "memory": "PSS summed over host + labs (smaps_rollup)",
                     "load_average_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="hC-bench-") as folder:
        root = Path(folder)
        host, host_ready = start_host(root / "host.sock")
        os.environ[HOST_ENV] = str(root / "host.sock")
        try:
            if args.only_spares:
                raise _Skip
            results["host"] = {"ready_s": host_ready, **tree_memory([host.pid])}
            print(f"host ready in {host_ready:.2f}s, PSS {results['host']['pss_mb']:.0f} MB", flush=True)
            labs, times = one_after_another(args.labs, args.scenario, root, guard, "seq")
            settle()
            memory = tree_memory([host.pid, *(lab.process.pid for lab in labs)])
            results["sequential"] = {"started": len(labs), "ready": summary(times), "times": times, **memory,
                                     "per_lab_pss_mb": (memory["pss_mb"] - results["host"]["pss_mb"]) / max(1, len(labs))}
            print(f"sequential: {len(labs)} labs, ready p50 {summary(times).get('p50_s', 0):.2f}s max "
                  f"{summary(times).get('max_s', 0):.2f}s; host + labs PSS {memory['pss_mb']:.0f} MB "
                  f"(RSS sum {memory['rss_mb']:.0f} MB)", flush=True)
            results["sequential"]["stop"] = stop_all(labs)
            if not args.no_burst:
                labs, times = burst(args.labs, args.scenario, root, guard)
                settle()
                memory = tree_memory([host.pid, *(lab.process.pid for lab in labs)])
                results["burst"] = {"started": len(labs), "ready": summary(times), "times": times, **memory}
                print(f"burst: {len(labs)} labs at once, ready p50 {summary(times).get('p50_s', 0):.2f}s max "
                      f"{summary(times).get('max_s', 0):.2f}s; host + labs PSS {memory['pss_mb']:.0f} MB", flush=True)
                results["burst"]["stop"] = stop_all(labs)
        except _Skip:
            pass
        finally:
            host.terminate()
            host.wait(60)
            os.environ.pop(HOST_ENV, None)
        if args.spares or args.only_spares:
            host, host_ready = start_host(root / "spares.sock", "--spares", str(args.labs), "--spare-scenario", args.scenario)
            os.environ[HOST_ENV] = str(root / "spares.sock")
            try:
                warmed = wait_idle(host.pid, args.labs)
                idle = tree_memory([host.pid, *children(host.pid)])
                print(f"spares: {args.labs} started ahead in {warmed:.0f}s after the host's ready; PSS {idle['pss_mb']:.0f} MB",
                      flush=True)
                labs, times = burst(args.labs, args.scenario, root, guard)
                wait_idle(host.pid, len(labs))  # the refilled spares started too
                memory = tree_memory([host.pid, *children(host.pid)])
                results["spares_burst"] = {"started": len(labs), "ready": summary(times), "times": times,
                                           "spares_started_s": warmed, "pss_mb_before": idle["pss_mb"], **memory}
                print(f"burst on spares: {len(labs)} labs at once, ready p50 {summary(times).get('p50_s', 0):.2f}s max "
                      f"{summary(times).get('max_s', 0):.2f}s; host + labs + refilled spares PSS {memory['pss_mb']:.0f} MB",
                      flush=True)
                results["spares_burst"]["stop"] = stop_all(labs)
            finally:
                host.terminate()
                host.wait(60)
                os.environ.pop(HOST_ENV, None)
        if args.plain:
            labs, times = one_after_another(args.plain, args.scenario, root, guard, "plain")
            settle()
            memory = tree_memory([lab.process.pid for lab in labs])
            per_lab = memory["pss_mb"] / max(1, len(labs))
            results["plain"] = {"started": len(labs), "ready": summary(times), "times": times, **memory,
                                "per_lab_pss_mb": per_lab, f"extrapolated_{args.labs}_pss_mb": per_lab * args.labs,
                                "extrapolated": len(labs) < args.labs}
            print(f"plain lab serve: {len(labs)} labs, ready p50 {summary(times).get('p50_s', 0):.2f}s; "
                  f"{per_lab:.0f} MB PSS each → {per_lab * args.labs / 1024:.1f} GB for {args.labs}"
                  + (" (extrapolated)" if len(labs) < args.labs else ""), flush=True)
            results["plain"]["stop"] = stop_all(labs)
    results["load_average_end"] = os.getloadavg()
    results["guard_stopped_at"] = guard.stopped_at
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
