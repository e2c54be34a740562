"""A class of trainees on one machine: `irsa-explorer classroom` with N tabs open at once.

    .venv/bin/python bench/classroom_browser.py --trainees 30            # the issue's class
    .venv/bin/python bench/classroom_browser.py --trainees 5 --output /tmp/c5.json

Each tab is a websocket client speaking textual-serve's protocol as the page's script does (the
size in the URL, the screen's bytes read as they come), opened `--stagger` seconds apart. For
each tab: its lab's ready time from the tab opening (the server's roster: `lab serve` writes the
trainee's kubeconfig once its servers answer), and from the client, when the lesson panel and
the explorer's connected header (`lab@…`) first reach the tab. Memory: the PSS of the whole
process tree under the classroom (smaps_rollup; shared pages counted once across the tree),
sampled every second, by kind of process (the server, the apps, their loaders, the labs, a lab
host). The bar (issue 13): every lab ready < 5 s from its tab opening; the whole < 12 GB.

A guard: no further tab opens while the machine's MemAvailable is under --min-available-mb
(default 2048): the run then says how many tabs it held and why it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import websocket  # websocket-client

READY_BAR_S = 5.0
MEMORY_BAR_GB = 12.0


def mem_available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree(root: int) -> dict[int, str]:
    """root and every process under it, with its command line."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for child, its in parents.items():
            if its == parent and child not in found:
                found.add(child)
                frontier.append(child)
    lines = {}
    for pid in found:
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # a lab forked by the lab host keeps the host's command line: told apart by its parent
        hosted = " lab host " in line and parents.get(pid) != root
        forked_app = "classroom.app_zygote" in line and parents.get(pid) != root
        lines[pid] = line + (" (forked lab)" if hosted else " (forked app)" if forked_app else "")
    return lines


def kind(cmdline: str) -> str:
    if " classroom " in f" {cmdline} ":
        return "classroom server"
    if "irsa_explorer.sources.loader" in cmdline:
        return "loaders"
    if " lab serve " in cmdline:
        return "labs (lab serve)"
    if cmdline.endswith(" (forked app)"):
        return "apps (forked by the app zygote)"
    if "classroom.app_zygote" in cmdline:
        return "app zygote"
    if cmdline.endswith(" (forked lab)"):
        return "labs (forked by the lab host)"
    if " lab host " in cmdline:
        return "lab host"
    if " learn " in cmdline:
        return "apps (learn)"
    return "other"


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory(root: int) -> dict[str, float]:
    by_kind: dict[str, float] = {}
    counts: dict[str, int] = {}
    for pid, line in tree(root).items():
        name = kind(line)
        by_kind[name] = by_kind.get(name, 0.0) + pss_mb(pid)
        counts[name] = counts.get(name, 0) + 1
    total = sum(by_kind.values())
    return {"total_mb": round(total, 1), **{k: round(v, 1) for k, v in by_kind.items()},
            **{f"{k} (processes)": n for k, n in counts.items()}}


class Tab:
    def __init__(self, port: int, name: str) -> None:
        self.opened = time.monotonic()
        self.opened_wall = time.time()
        self.socket = websocket.create_connection(f"ws://127.0.0.1:{port}/ws/{name}?width=160&height=48", timeout=600)
        self.screen = bytearray()
        self.first_lesson_s: float | None = None
        self.connected_s: float | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                opcode, data = self.socket.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    return
                if opcode != websocket.ABNF.OPCODE_BINARY:
                    continue
                self.screen.extend(data)
                del self.screen[:-200_000]  # the recent screens are enough to look for text
                text = bytes(self.screen[-20_000:]).decode("utf-8", "replace")
                now = time.monotonic() - self.opened
                if self.first_lesson_s is None and "Lesson:" in text:
                    self.first_lesson_s = now
                if self.connected_s is None and "lab@" in text:
                    self.connected_s = now
        except Exception:
            return

    def close(self) -> None:
        try:
            self.socket.close()
        except Exception:
            pass


def status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json", timeout=60) as answer:
        return json.loads(answer.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainees", type=int, default=30)
    parser.add_argument("--stagger", type=float, default=1.0, help="seconds between two tabs opening (default 1)")
    parser.add_argument("--lesson", default="walkthrough")
    parser.add_argument("--min-available-mb", type=float, default=2048)
    parser.add_argument("--hang-guard", type=float, default=600, help="seconds to wait for every lab (default 600)")
    parser.add_argument("--spare-labs", type=int, help="the classroom's --spare-labs (default: --trainees)")
    parser.add_argument("--settle", type=float, default=90.0,
                        help="seconds to wait after the classroom starts, for its spare labs (default 90)")
    parser.add_argument("--output", help="write the results as JSON here")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="classroom-bench-"))
    server = subprocess.Popen([sys.executable, "-m", "irsa_explorer", "classroom", args.lesson, "--port", "0",
                               "--dir", str(root), "--max-trainees", str(args.trainees),
                               "--spare-labs", str(args.spare_labs if args.spare_labs is not None else args.trainees)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = None
    for line in server.stdout:
        if "trainees open" in line:
            port = int(line.split()[2].rstrip("/").rsplit(":", 1)[1])
        if line.strip() == "ready":
            break
    assert port, "the classroom did not start"
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()

    samples: list[dict] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(1.0):
            samples.append({"t": time.monotonic(), **memory(server.pid)})

    sampler = threading.Thread(target=sample, daemon=True)
    time.sleep(args.settle)  # as a class arrives after the instructor started the classroom
    idle = memory(server.pid)
    began = time.monotonic()
    sampler.start()
    tabs: list[Tab] = []
    held_back = None
    try:
        for number in range(1, args.trainees + 1):
            available = mem_available_mb()
            if available < args.min_available_mb:
                held_back = f"stopped opening tabs at {len(tabs)}: MemAvailable {available:.0f} MB < {args.min_available_mb:.0f} MB"
                print(held_back, file=sys.stderr)
                break
            tabs.append(Tab(port, f"t{number:02d}"))
            time.sleep(args.stagger)
        give_up = time.monotonic() + args.hang_guard
        while time.monotonic() < give_up:
            rows = status(port)["trainees"]
            if len(rows) >= len(tabs) and all(r["lab"] == "ready" for r in rows) and all(t.connected_s for t in tabs):
                break
            time.sleep(1.0)
        all_ready_s = time.monotonic() - began
        time.sleep(5)  # the apps' first load done: memory as a class sits in the lesson
        settled = memory(server.pid)
        rows = status(port)["trainees"]
    finally:
        stop_sampling.set()
        sampler.join()
        started = tree(server.pid)
        for tab in tabs:
            tab.close()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(300)
        except subprocess.TimeoutExpired:
            server.kill()
        time.sleep(5)
        left = [pid for pid in started if Path(f"/proc/{pid}").exists()]
        shutil.rmtree(root, ignore_errors=True)  # the trainees' folders (lab credentials, progress)

    ready = [r["lab_ready_seconds"] for r in rows if r.get("lab_ready_seconds") is not None]
    connected = [t.connected_s for t in tabs if t.connected_s is not None]
    lesson = [t.first_lesson_s for t in tabs if t.first_lesson_s is not None]
    peak = max(samples, key=lambda s: s["total_mb"]) if samples else settled
    results = {
        "trainees_asked": args.trainees, "trainees_opened": len(tabs), "held_back": held_back,
        "stagger_s": args.stagger, "lesson": args.lesson, "spare_labs": args.spare_labs,
        "settle_s": args.settle,
        "lab_ready_s": {"max": max(ready, default=None), "median": statistics.median(ready) if ready else None,
                        "over_bar": sum(1 for r in ready if r >= READY_BAR_S), "each": ready},
        "explorer_connected_s": {"max": max(connected, default=None),
                                 "median": statistics.median(connected) if connected else None},
        "first_lesson_screen_s": {"max": max(lesson, default=None)},
        "all_ready_after_s": round(all_ready_s, 1),
        "memory_idle_mb": idle, "memory_settled_mb": settled,
        "memory_peak_mb": {k: v for k, v in peak.items() if k != "t"},
        "per_trainee_settled_mb": round((settled["total_mb"] - idle["total_mb"]) / max(1, len(tabs)), 1),
        "processes_left_after_stop": len(left),
        "load_average": os.getloadavg(),
        "bars": {"lab_ready_under_5s": bool(ready) and max(ready) < READY_BAR_S and len(ready) == len(tabs),
                 "whole_under_12gb": peak["total_mb"] < MEMORY_BAR_GB * 1024},
    }
    print(json.dumps(results, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
