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
import resource
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
        lines[pid] = line
    for pid, line in list(lines.items()):
        # a fork keeps its parent's command line: told apart by where it is in the tree — a lab
        # forked by the lab host; an app forked by the app zygote, and the loader it forked
        # (sources/loader.prefork) under it
        if " lab host " in line and parents.get(pid) != root:
            lines[pid] = line + " (forked lab)"
        elif "classroom.app_zygote" in line and parents.get(pid) != root:
            under_app = "classroom.app_zygote" in lines.get(parents.get(pid, 0), "") and parents.get(parents.get(pid, 0)) != root
            lines[pid] = line + (" (forked loader)" if under_app else " (forked app)")
    return lines


def kind(cmdline: str) -> str:
    if " classroom " in f" {cmdline} ":
        return "classroom server"
    if "irsa_explorer.sources.loader" in cmdline:
        return "loaders"
    if cmdline.endswith(" (forked loader)"):
        return "loaders (forked in the app)"
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


TICK = os.sysconf("SC_CLK_TCK")


def cpu_fields(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds: utime+stime, reaped children's: cutime+cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the ")": state ppid … utime(12) stime(13) cutime(14) cstime(15), counted from state = 1
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


class CpuByKind:
    """CPU seconds of every process of the tree, by kind, sampled until each one ends.

    A process's own CPU (utime+stime) is kept as last seen; what it spent after its last sample
    shows in its parent's cutime+cstime once reaped: a parent's children's time, less what was
    seen of its children, goes to the kind of the child that ended ("ended between samples" when
    the parent itself is gone too). The tree's whole CPU, from the bench's own rusage once the
    classroom is waited for, checks the sum."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen: dict[int, dict] = {}  # pid → kind, parent, own, children (last seen)
        self.lock = threading.Lock()

    def sample(self) -> None:
        for pid, line in tree(self.root).items():
            fields = cpu_fields(pid)
            if fields is None:
                continue
            parent, own, children = fields
            with self.lock:
                known = self.seen.get(pid)
                if known is None or known["parent"] != parent and known["own"] > own:  # a pid used again
                    self.seen[pid] = {"kind": kind(line), "parent": parent, "own": own, "children": children}
                else:
                    known.update(own=own, children=children, parent=parent)

    def by_kind(self) -> dict[str, float]:
        with self.lock:
            seen = {pid: dict(v) for pid, v in self.seen.items()}
        alive = {pid for pid in seen if Path(f"/proc/{pid}").exists()}
        totals: dict[str, float] = {}
        for pid, row in seen.items():
            totals[row["kind"]] = totals.get(row["kind"], 0.0) + row["own"]
        for pid, row in seen.items():  # what the ended children of a parent spent unseen
            ended = [c for c, r in seen.items() if r["parent"] == pid and c not in alive]
            if not ended:
                continue
            unseen = row["children"] - sum(seen[c]["own"] + seen[c]["children"] for c in ended)
            if unseen > 0:
                name = seen[ended[0]]["kind"]
                totals[name] = totals.get(name, 0.0) + unseen
        return {k: round(v, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


class Tab:
    def __init__(self, port: int, name: str, loaded_marker: str) -> None:
        self.loaded_marker = loaded_marker
        self.loaded_s: float | None = None
        self.opened = time.monotonic()
        self.opened_wall = time.time()
        self.socket = websocket.create_connection(f"ws://127.0.0.1:{port}/ws/{name}?width=160&height=48", timeout=600)
        self.screen = bytearray()
        self.first_lesson_s: float | None = None
        self.connected_s: float | None = None
        self.ended: str | None = None  # why the tab's stream ended: the server closed it, or an error
        # 'lab@' in a frame but not in the screen's last 20 KB after it: what the bench before
        # 2026-12-05 09:00 (which looked there only) would never have seen
        self.missed_by_tail_window = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                opcode, data = self.socket.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    self.ended = "closed by the server"
                    return
                if opcode != websocket.ABNF.OPCODE_BINARY:
                    continue
                # this frame whole, with the end of the one before (a word split between two frames);
                # not only the screen's last bytes: a first full screen is larger than any window of it
                text = (bytes(self.screen[-64:]) + data).decode("utf-8", "replace")
                self.screen.extend(data)
                del self.screen[:-200_000]
                now = time.monotonic() - self.opened
                if self.first_lesson_s is None and "Lesson:" in text:
                    self.first_lesson_s = now
                if self.connected_s is None and "lab@" in text:
                    self.connected_s = now
                    self.missed_by_tail_window = "lab@" not in bytes(self.screen[-20_000:]).decode("utf-8", "replace")
                if self.loaded_s is None and self.loaded_marker in text:
                    self.loaded_s = now
        except Exception as error:
            self.ended = self.ended or f"{type(error).__name__}: {error}"[:200]
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
    parser.add_argument("--idle", type=float, default=20.0,
                        help="seconds the class then sits with nothing typed, for its CPU while idle (default 20)")
    parser.add_argument("--cpu-every", type=float, default=0.5, help="seconds between CPU samples (default 0.5)")
    parser.add_argument("--loaded-marker", default="No pods in any namespace",
                        help="text the explorer shows once its first load is done (default: the walkthrough's empty "
                             "cluster, 'No pods in any namespace')")
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
    cpu = CpuByKind(server.pid)

    def sample() -> None:
        next_memory = 0.0
        while not stop_sampling.wait(args.cpu_every):
            cpu.sample()
            if time.monotonic() >= next_memory:
                samples.append({"t": time.monotonic(), **memory(server.pid)})
                next_memory = time.monotonic() + 1.0

    sampler = threading.Thread(target=sample, daemon=True)
    time.sleep(args.settle)  # as a class arrives after the instructor started the classroom
    idle = memory(server.pid)
    cpu.sample()
    cpu_idle = cpu.by_kind()
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
            tabs.append(Tab(port, f"t{number:02d}", args.loaded_marker))
            time.sleep(args.stagger)
        give_up = time.monotonic() + args.hang_guard
        waiting_on: list[str] = []
        while time.monotonic() < give_up:
            rows = status(port)["trainees"]
            waiting_on = ([f"{len(rows)} of {len(tabs)} tabs in the roster"] if len(rows) < len(tabs) else []) + [
                f"trainee {r['number']}: lab {r['lab']}" for r in rows if r["lab"] != "ready"] + [
                f"tab {n}: no connected header ('lab@') seen" for n, t in enumerate(tabs, 1) if t.connected_s is None] + [
                f"tab {n}: {args.loaded_marker!r} not seen" for n, t in enumerate(tabs, 1) if t.loaded_s is None]
            # a tab the server closed (its app ended) will show nothing more: said, not waited for
            waiting_on = [w for w in waiting_on if not w.startswith("tab ") or not tabs[int(w.split()[1].rstrip(":")) - 1].ended]
            waiting_on = [w for w in waiting_on if not (w.startswith("trainee ") and w.endswith("lab stopped"))]
            if not waiting_on:
                break
            time.sleep(1.0)
        all_ready_s = time.monotonic() - began
        time.sleep(5)  # the apps' first load done: memory as a class sits in the lesson
        settled = memory(server.pid)
        cpu.sample()
        cpu_settled = cpu.by_kind()
        rows = status(port)["trainees"]
        ended_early = {n: t.ended for n, t in enumerate(tabs, 1) if t.ended}  # before the bench closes them
        time.sleep(args.idle)  # the class sitting in the lesson: what the tree costs doing nothing asked
        cpu.sample()
        cpu_idle_after = cpu.by_kind()
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
            server.wait()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the whole tree, every level reaped
        tree_cpu = children.ru_utime + children.ru_stime
        time.sleep(5)
        left = [pid for pid in started if Path(f"/proc/{pid}").exists()]
        shutil.rmtree(root, ignore_errors=True)  # the trainees' folders (lab credentials, progress)

    ready = [r["lab_ready_seconds"] for r in rows if r.get("lab_ready_seconds") is not None]
    connected = [t.connected_s for t in tabs if t.connected_s is not None]
    lesson = [t.first_lesson_s for t in tabs if t.first_lesson_s is not None]
    loaded = [t.loaded_s for t in tabs if t.loaded_s is not None]
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
        "still_waiting_on_at_hang_guard": waiting_on,
        "tabs_ended_early": ended_early,
        "trainees_stopped_early": [r["number"] for r in rows if r["lab"] == "stopped"],
        "connected_header_missed_by_a_20kb_tail_window": sum(t.missed_by_tail_window for t in tabs),
        "explorer_connected_each_s": [None if t.connected_s is None else round(t.connected_s, 2) for t in tabs],
        "explorer_loaded_s": {"max": max(loaded, default=None), "median": statistics.median(loaded) if loaded else None,
                              "seen": len(loaded), "marker": args.loaded_marker,
                              "each": [None if t.loaded_s is None else round(t.loaded_s, 2) for t in tabs]},
        "cpu_s_while_tabs_opened_by_kind": {k: round(v - cpu_idle.get(k, 0.0), 1) for k, v in cpu_settled.items()},
        "cpu_s_before_tabs_by_kind": cpu_idle,
        "cpu_share_of_a_core_sitting_by_kind": {k: round((v - cpu_settled.get(k, 0.0)) / args.idle, 3)
                                                for k, v in cpu_idle_after.items()} if args.idle else None,
        "cpu_s_whole_tree_measured": round(sum(cpu_settled.values()), 1),
        "cpu_s_whole_tree_to_stop_rusage": round(tree_cpu, 1),
        # the bench itself (its /proc sampling, the 30 websocket readers): on the same two cores
        "cpu_s_the_bench_itself": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
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
