"""`:roles`, cursor down over every role: each one's policies and "who can assume it" appear.

The role pane asks for them when it shows a role. It is shown from the roles screen's own
handlers (the cursor moved), not only from the app's: a request that reached the app only in
the second case left every role reached by the cursor on "loading…". Waits are on workers and
messages, with a hang guard; no timing is asserted.
"""

from __future__ import annotations

import pytest

from irsa_explorer.model import Role
from irsa_explorer.widgets.panes.role import RolePane
from test_ui_pilot import text_of
from ui_pilot_helpers import make_app, settle, wait_until


@pytest.mark.parametrize("scenario", ["walkthrough", "sub-wrong-namespace"])
async def test_each_role_the_cursor_reaches_shows_its_policies_and_who_can_assume_it(lab_for, scenario):
    app = make_app(lab_for(scenario))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"roles", "enter")
        await settle(pilot)
        table = app.screen.table
        roles = app.state.inventory.roles
        assert table.row_count >= 2 and sum(isinstance(r, Role) for r in roles.values()) >= 2
        pane = app.screen.query_one(RolePane)
        for row in range(table.row_count):
            if row:
                await pilot.press("down")
            arn = table.selected_key
            assert table.cursor_row == row and pane.arn == arn
            if not isinstance(roles[arn], Role):
                continue  # a role that could not be read has nothing more to load
            await wait_until(
                pilot,
                lambda: "Permission policies" in text_of(pane)
                and "loading policies" not in text_of(pane)
                and "working out which service accounts" not in text_of(pane),
                f"the policies and assumers of {arn}",
            )
            shown = text_of(pane)
            assert "Who can assume it" in shown
            assert arn in app.state.role_policies and app.state.assumers.get(arn) is not None
