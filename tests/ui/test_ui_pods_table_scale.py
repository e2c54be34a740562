"""The pods table at scale: thousands of rows arrive in chunks and a key press is handled
between them; updates keep the cursor; filtering rebuilds. Plain model objects, no lab."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from textual import events
from textual.app import App, ComposeResult

from irsa_explorer.model import Inventory, Pod
from irsa_explorer.screens.state import ExplorerState
from irsa_explorer.widgets.pods_table import PodsTable, short_node

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def pods(count: int, namespaces: int = 20) -> dict[str, Pod]:
    out = {}
    for i in range(count):
        ns = f"ns-{i % namespaces:03d}"
        uid = f"uid-{i:05d}"
        out[uid] = Pod(uid, ns, f"pod-{i:05d}", "sa", "ip-10-0-0-1.us-east-2.compute.internal",
                       "Running", "Running", NOW - timedelta(hours=1))
    return out


class TableApp(App):
    def __init__(self, state: ExplorerState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield PodsTable(id="pods")


def state_with(count: int) -> ExplorerState:
    state = ExplorerState(clock=lambda: NOW)
    state.inventory = Inventory(context="test", namespace=None)
    state.inventory.pods = pods(count)
    return state


async def drained(pilot, table: PodsTable, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while table.syncing and time.monotonic() < deadline:
        await pilot.pause(0.01)
    assert not table.syncing


async def test_thousands_of_rows_arrive_in_chunks_sorted_and_keys_are_handled_between_them():
    state = state_with(3000)
    app = TableApp(state)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PodsTable)
        table.focus()
        table.sync(state)
        # only the first chunk at once: the event loop is free again right away
        assert 0 < table.row_count <= PodsTable.CHUNK and table.syncing
        # a key as the terminal sends it (pilot.press would wait until everything is idle)
        app._driver.send_message(events.Key("down", None))
        deadline = time.monotonic() + 10
        while table.cursor_row == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        assert table.cursor_row == 1
        assert table.row_count < 3000, "the key waited for every row"
        await drained(pilot, table)
        assert table.row_count == 3000
        names = [(str(table.get_row_at(i)[0]), str(table.get_row_at(i)[1])) for i in range(table.row_count)]
        assert names == sorted(names)
        # the node column shows the host part only; the verdict waits for the analysis
        assert str(table.get_row_at(0)[5]) == "ip-10-0-0-1"
        assert str(table.get_row_at(0)[4]) == "…"


async def test_an_update_keeps_the_selected_pod_and_a_filter_rebuilds_to_the_matches():
    state = state_with(1200)
    app = TableApp(state)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PodsTable)
        table.sync(state)
        await drained(pilot, table)
        table.select_uid("uid-00777")
        # a pod changes phase (as a watch event would): its row updates, the cursor stays
        changed = state.inventory.pods["uid-00777"]
        state.inventory.pods["uid-00777"] = Pod(changed.uid, changed.namespace, changed.name, "sa", None,
                                                "Failed", "Error", changed.created)
        table.sync(state)
        await drained(pilot, table)
        assert table.selected_uid == "uid-00777"
        assert str(table.get_row("uid-00777")[6]) == "Error"
        assert str(table.get_row("uid-00777")[5]) == "-"
        # a filter that hides most rows: only the matches remain, the selection survives
        table.sync(state, "pod-007")
        await drained(pilot, table)
        assert table.row_count == 100  # pod-00700 … pod-00799
        assert table.selected_uid == "uid-00777"
        table.sync(state, "")
        await drained(pilot, table)
        assert table.row_count == 1200


def test_short_node_keeps_the_host_part():
    assert short_node("ip-192-168-1-1.us-east-2.compute.internal") == "ip-192-168-1-1"
    assert short_node("fargate-ip-10-0-1-2") == "fargate-ip-10-0-1-2"
    assert short_node(None) == "-"
