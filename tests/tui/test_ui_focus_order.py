"""tab and shift+tab in the pods view follow the chain (issue 11): the pod (table), the chain,
then service account → token → role → trust → live (→ CloudTrail), each pane's links between
it and the next pane; at 80 columns, where one pane shows at a time, each pane is shown as tab
reaches it, and the tab bar is never a stop."""

from __future__ import annotations

import pytest
from textual.widgets import Tabs

from irsa_explorer.navigation import PANES
from irsa_explorer.screens.focus_order import STOPS, stop_of
from ui_pilot_helpers import filter_to, make_app, settle, wait_until


async def walk(pilot, key: str) -> list[str]:
    """The stops focus passes through, pressing `key` until it is back on the table."""
    app, passed = pilot.app, []
    for _ in range(200):  # a hang guard, not a target: each pane's few links are stops too
        await pilot.press(key)
        await pilot.pause()
        focused = app.screen.focused
        assert not isinstance(focused, Tabs), "the tab bar is no stop"
        stop = stop_of(focused)
        assert stop is not None, f"{key} left the chain's stops for {focused!r}"
        if stop in PANES:
            pane = app.screen.query_one(f"#{stop}")
            assert pane.display and pane.region.area, f"{stop} is focused but not shown"
            assert app.screen.pane == stop
        if not passed or passed[-1] != stop:
            passed.append(stop)
        if stop == "pods":
            return passed
    raise AssertionError(f"{key} never came back to the table: {passed}")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_tab_and_shift_tab_follow_the_chain(lab, size):
    app = make_app(lab)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")  # IRSA: every pane has something, the role pane links
        await wait_until(pilot, lambda: app.state.chains, "the chains")
        app.screen.table.focus()
        await pilot.pause()
        assert await walk(pilot, "tab") == [*STOPS[1:], "pods"]
        assert await walk(pilot, "shift+tab") == [*reversed(STOPS[1:]), "pods"]


async def test_a_panes_links_are_stops_between_it_and_the_next_pane(lab):
    from irsa_explorer.widgets.link import Link

    app = make_app(lab)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("3")  # the role pane, focused
        await settle(pilot)
        role = app.screen.query_one("#role")
        links = [w for w in role.walk_children(Link) if w.can_focus]
        assert links, "the role pane links to its pods and policies"
        await pilot.press("tab")
        assert app.screen.focused is links[0]
        await pilot.press("shift+tab")
        assert app.screen.focused is role
        await pilot.press("shift+tab")
        assert app.screen.focused is app.screen.query_one("#token")
