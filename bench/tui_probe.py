"""The explorer's TUI, headless under Textual's Pilot, timed against the lab in $KUBECONFIG / aws env.

Run by bench.py as its own process (so its peak memory is its own). Prints one JSON line:
  tui_first_rows_s    start → the first frame put out with rows in the pods table
  tui_all_verdicts_s  start → the first frame put out once the final inventory is applied:
                      every pod has its chain and verdict
  keypress_ms         the slowest of the cursor-down presses while loading (one every
                      0.25 s from the first rows on screen — a person presses keys at rows
                      they see — until the final verdicts): key sent as the
                      terminal driver sends it → the first frame put out after the cursor
                      moved (the key was handled, and the screen showing it drawn, by an event
                      loop that is also busy taking in the data)
  keypress_median_ms, keypresses  the median, and [seconds since start, ms] of each press
  keypress_while_loading  whether presses really happened before the final verdicts
  rows, chains, stages  what was on screen at the end, and when each loading stage arrived
  spans               seconds spent loading (the worker thread waiting for the loader process:
                      lists, AWS lookups and the analysis) and in each PodsTable.sync (the
                      event loop), timed by wrapping those calls
The clock starts before the App is constructed, so start-up (mount, screens) is included.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import sys
import time


PRESSES = 60  # at most this many key presses while loading, one every PRESS_GAP_S
PRESS_GAP_S = 0.25
_STARTED = time.perf_counter()


async def probe(timeout_s: float = 120.0) -> dict:
    global _STARTED
    started = _STARTED = time.perf_counter()
    from irsa_explorer.app import IrsaExplorerApp
    from irsa_explorer.sources.connect import Sources
    from irsa_explorer.sources.aws import AwsSource
    from irsa_explorer.sources.kube import KubeSource
    from irsa_explorer.widgets.pods_table import PodsTable

    imported = time.perf_counter() - started
    spans = _instrument()
    kube = KubeSource(kubeconfig=os.environ["KUBECONFIG"])
    aws = AwsSource.from_env(dict(os.environ))
    sources = Sources(kube, aws, None, kube.default_cluster_name(), kube.close)
    app = IrsaExplorerApp(sources, watch=False)
    _count_frames(app)
    result: dict = {"stages": [], "imports_s": round(imported, 3)}

    def elapsed() -> float:
        return round(time.perf_counter() - started, 3)

    async with app.run_test(size=(160, 48)):
        result["mounted_s"] = elapsed()
        deadline = time.perf_counter() + timeout_s
        last_stage = None
        table = None
        presses: list[tuple[float, float]] = []  # (when, ms) for each press while loading
        next_press = 0.0
        rows_at = final_at = None  # when the table first had rows / the state every verdict
        while time.perf_counter() < deadline:
            state = app.state
            if state.stage != last_stage:
                last_stage = state.stage
                result["stages"].append([elapsed(), state.stage])
            if state.error:
                result["error"] = state.error
                break
            if table is None:
                try:
                    table = app.screen.query_one(PodsTable)
                except Exception:
                    table = None
            if table is not None and table.row_count and rows_at is None:
                rows_at = time.perf_counter()
            if rows_at is not None and "tui_first_rows_s" not in result and _frame_after(rows_at):
                result["tui_first_rows_s"] = round(_frame_after(rows_at) - started, 3)  # on screen
            pods = state.inventory.pods if state.inventory is not None else {}
            # final: the last inventory is applied (the table draws its verdicts from it)
            final = state.inventory is not None and not state.stage and pods
            # A person presses keys once rows are on screen: from the first frame with rows on.
            if len(presses) < PRESSES and "tui_first_rows_s" in result and table.row_count > 2 and not final:
                if time.perf_counter() >= next_press:
                    presses.append(await _timed_key(app, table))
                    next_press = time.perf_counter() + PRESS_GAP_S
                    continue
            if final and len(state.chains) >= len(pods) and table is not None and table.row_count >= len(pods):
                final_at = final_at or time.perf_counter()
                if _frame_after(final_at):  # and a frame drawn from it is out
                    result["tui_all_verdicts_s"] = round(_frame_after(final_at) - started, 3)
                    break
            await asyncio.sleep(0.005)
        else:
            result["error"] = f"not every verdict within {timeout_s:.0f} s"
        result["keypress_while_loading"] = bool(presses)
        if not presses and table is not None and table.row_count > 2:
            # a small lab loads before a press was due: time one on the loaded view instead,
            # so keypress_ms is always measured (keypress_while_loading says which it was)
            presses.append(await _timed_key(app, table))
        if presses:
            result["keypress_ms"] = max(ms for _, ms in presses)
            result["keypress_median_ms"] = sorted(ms for _, ms in presses)[len(presses) // 2]
            result["keypresses"] = [[when, ms] for when, ms in presses]
        result["rows"] = table.row_count if table is not None else 0
        result["chains"] = len(app.state.chains)
        result["pods"] = len(app.state.inventory.pods) if app.state.inventory is not None else 0
        verdicts: dict[str, int] = {}
        for chain in app.state.chains.values():
            verdicts[chain.verdict.value] = verdicts.get(chain.verdict.value, 0) + 1
        result["verdicts"] = verdicts
        app.exit()
    # Where the time went inside the app: the loader with the analysis (worker threads), and
    # the table updates (the event loop: while one runs, no key press can be answered).
    result["spans"] = {name: [round(x, 3) for x in values] for name, values in spans.items()}
    return result


async def _timed_key(app, table) -> tuple[float, float]:
    """Send a cursor-down as the terminal driver would and time until the cursor has moved.

    Not `pilot.press`: it also waits until the whole process (worker threads included)
    looks idle, for up to a second twice, which is not what a person waits for.
    """
    from textual import events

    before = table.cursor_row
    pressed = time.perf_counter()
    app._driver.send_message(events.Key("down", None))
    while table.cursor_row == before and time.perf_counter() - pressed < 10:
        await asyncio.sleep(0.001)
    moved = time.perf_counter()
    # shown: the first frame Textual puts out after the cursor moved (what the person sees)
    while not _frame_after(moved) and time.perf_counter() - pressed < 10:
        await asyncio.sleep(0.001)
    ms = round(((_frame_after(moved) or time.perf_counter()) - pressed) * 1000, 1)
    if table.cursor_row == before + 1:
        app._driver.send_message(events.Key("up", None))  # back, so every press can move down again
        while table.cursor_row != before and time.perf_counter() - pressed < 10:
            await asyncio.sleep(0.001)
    return round(pressed - _STARTED, 3), ms


_FRAMES: list[float] = []  # when the app put each frame out


def _frame_after(moment: float) -> float | None:
    """When the first frame after `moment` was put out (None: not yet)."""
    at = bisect.bisect_left(_FRAMES, moment)
    return _FRAMES[at] if at < len(_FRAMES) else None


def _count_frames(app) -> None:
    """Note when each frame is output: `App._display` is where Textual hands a rendered
    screen update to the driver (headless, the driver drops it; the rendering is done)."""
    display = app._display

    def timed_display(screen, renderable):
        display(screen, renderable)
        if renderable is not None:
            _FRAMES.append(time.perf_counter())

    app._display = timed_display


def _instrument() -> dict[str, list[float]]:
    """Time the app's heavy calls by wrapping them (measurement only: results are unchanged)."""
    import functools

    import irsa_explorer.sources.loader as loader_process
    from irsa_explorer.widgets.pods_table import PodsTable

    spans: dict[str, list[float]] = {"load": [], "pods_table_sync": []}

    def timed(name, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spans[name].append(time.perf_counter() - began)

        return wrapper

    # the app loads in its loader process (workers.load_inventory looks it up when it runs)
    loader_process.load_in_process = timed("load", loader_process.load_in_process)
    PodsTable.sync = timed("pods_table_sync", PodsTable.sync)
    return spans


def main() -> int:
    result = asyncio.run(probe(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0))
    print(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
