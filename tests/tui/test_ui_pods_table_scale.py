"""The pods table at scale: ten thousand rows at once, drawn on demand; pages append sorted;
updates and filters keep the cursor on its pod. Plain model objects, no lab."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from textual import events

from irsa_explorer.model import IdentityChain, Inventory, Mechanism, Pod, Verdict
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.pods_table import PodsTable, short_node
from ui_pilot_helpers import TableApp, drawn

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def pods(count: int, namespaces: int = 20) -> dict[str, Pod]:
    out = {}
    for i in range(count):
        ns = f"ns-{i % namespaces:03d}"
        uid = f"uid-{i:05d}"
        out[uid] = Pod(uid, ns, f"pod-{i:05d}", "sa", "ip-10-0-0-1.us-east-2.compute.internal",
                       "Running", "Running", NOW - timedelta(hours=1))
    return out


def state_with(count: int) -> ExplorerState:
    state = ExplorerState(clock=lambda: NOW)
    state.inventory = Inventory(context="test", namespace=None, pods=pods(count))
    return state


async def test_ten_thousand_rows_are_there_at_once_sorted_and_the_cursor_walks_them():
    state = state_with(10_000)
    app = TableApp(state)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PodsTable)
        table.focus()
        table.sync(state)
        assert table.row_count == 10_000  # at once: nothing is left to apply later
        names = [(table.get_row_at(i)[0], table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert names == sorted(names)
        await pilot.pause()
        lines = drawn(table)
        assert lines[0].split()[:2] == ["Namespace", "Pod"]
        assert lines[1].split()[:2] == ["ns-000", "pod-00000"]
        # the node column shows the host part only; the verdict waits for the analysis
        first = table.row_cells(table.selected_uid)
        assert first["node"] == "ip-10-0-0-1" and first["verdict"] == "…"
        # a key as the terminal sends it (pilot.press would wait until everything is idle)
        app._driver.send_message(events.Key("down", None))
        deadline = time.monotonic() + 10
        while table.cursor_row == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        assert table.cursor_row == 1
        await pilot.press("end")
        assert table.cursor_row == 9_999
        await pilot.pause()
        lines = drawn(table)
        assert lines[-1].split()[:2] == ["ns-019", "pod-09999"], "the last row is scrolled into view"
        await pilot.press("pageup")
        assert table.cursor_row == 9_999 - (table.scrollable_content_region.height - 1)
        await pilot.press("home", "j", "j", "k")
        assert table.cursor_row == 1


async def test_a_verdict_arriving_is_drawn_without_touching_the_rows():
    state = state_with(500)
    app = TableApp(state)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PodsTable)
        table.sync(state)
        await pilot.pause()
        first = table.selected_uid
        assert "…" in drawn(table)[1]
        pod = state.pods[first]
        state.chains[first] = IdentityChain(pod=pod.ref, mechanism=Mechanism.IRSA, verdict=Verdict.OK,
                                            intended_role_arn=None, effective_identity=None)
        table.refresh()
        await pilot.pause()
        assert "IRSA" in drawn(table)[1] and "✓ ok" in drawn(table)[1]
        assert (table.row_cells(first)["mechanism"], table.row_cells(first)["verdict"]) == ("IRSA", "✓ ok")


async def test_pages_append_and_an_update_keeps_the_selected_pod_and_a_filter_narrows_to_the_matches():
    state = state_with(1200)
    everything = state.inventory.pods
    state.inventory = None  # the first load: pages build the inventory
    generation = state.load_started()
    app = TableApp(state)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PodsTable)
        table.sync(state)
        # pages as the loader hands them on, the second one out of order
        pages = [list(everything.values())[600:], list(everything.values())[:600]]
        for page in pages:
            state.add_pods(generation, page, "test", None)
            table.add_pods(state, page)
        assert table.row_count == 1200
        names = [table.get_row_at(i)[:2] for i in range(table.row_count)]
        assert names == sorted(names)
        table.select_uid("uid-00777")
        # a pod changes phase (as a watch event would): its row updates, the cursor stays
        changed = state.inventory.pods["uid-00777"]
        state.inventory = state.inventory.with_pod(
            Pod(changed.uid, changed.namespace, changed.name, "sa", None, "Failed", "Error", changed.created))
        table.sync(state)
        assert table.selected_uid == "uid-00777"
        assert table.row_cells("uid-00777")["phase"] == "Error"
        assert table.row_cells("uid-00777")["node"] == "-"
        await pilot.pause()
        assert any("pod-00777" in line and "Error" in line for line in drawn(table)), "the cursor's row is on screen"
        # a filter that hides most rows: only the matches remain, the selection survives
        table.sync(state, "pod-007")
        assert table.row_count == 100  # pod-00700 … pod-00799
        assert table.selected_uid == "uid-00777"
        table.sync(state, "")
        assert table.row_count == 1200 and table.selected_uid == "uid-00777"
        # a filter that hides the selected pod: the cursor goes to the first match
        table.sync(state, "pod-0010")
        assert table.row_count == 10 and table.cursor_row == 0 and table.selected_uid == "uid-00100"
        table.sync(state, "")
        table.select_uid("uid-00777")
        # the selected pod goes away: the cursor stays on the same row, now another pod
        row = table.cursor_row
        state.inventory = state.inventory.without_pod("uid-00777")
        table.sync(state)
        assert table.row_count == 1199 and table.cursor_row == row and table.selected_uid != "uid-00777"


def test_short_node_keeps_the_host_part():
    assert short_node("ip-192-168-1-1.us-east-2.compute.internal") == "ip-192-168-1-1"
    assert short_node("fargate-ip-10-0-1-2") == "fargate-ip-10-0-1-2"
    assert short_node(None) == "-"


async def test_verdicts_arriving_keep_a_chosen_pod_even_at_the_top():
    # At the top where the load left it, the cursor stays at the top (the worst pod first); a pod
    # chosen there (a key, a link) is kept when the verdicts sort it elsewhere.
    state = state_with(3)
    app = TableApp(state)
    async with app.run_test(size=(120, 30)):
        table = app.query_one(PodsTable)
        table.sync(state)
        first, last = table.selected_uid, table._order[-1]

        def verdicts(worst: str) -> None:
            for uid, pod in state.pods.items():
                state.chains[uid] = IdentityChain(pod=pod.ref, mechanism=Mechanism.IRSA, intended_role_arn=None,
                                                  verdict=Verdict.BROKEN if uid == worst else Verdict.OK,
                                                  effective_identity=None)
            table.resort()

        verdicts(last)
        assert table.cursor_row == 0 and table.selected_uid == last, "not chosen: the worst pod first"
        assert table.select_uid(first) and table.cursor_row == 1
        table.move_cursor(row=0)  # chosen at the top
        chosen = table.selected_uid
        verdicts(first if chosen != first else last)
        assert table.selected_uid == chosen and table.cursor_row != 0
