"""The identity chain and its findings at 80×24 and at 160×48, with the keyboard alone (issue 11):
on `sub-wrong-namespace`, the broken pod's fix is on screen within five keys of the start; the
chain scrolls with ↑/↓, PgUp/PgDn, home/end once focused; `z` really maximises it.

What is "on screen" is read from the screen's compositor: the characters a terminal would show.
Waits are on conditions, never on durations."""

from __future__ import annotations

import pytest

from irsa_explorer.model import Verdict
from irsa_explorer.widgets.chain_strip import ChainStrip, ChainText
from ui_pilot_helpers import make_app, pod_uid, settle, wait_until

SCENARIO = "sub-wrong-namespace"  # payments/checkout is broken: the trust names default/my-sa


@pytest.fixture(scope="module")
def wrong_namespace_lab(lab_for):
    return lab_for(SCENARIO)


def screen_lines(app) -> list[str]:
    """The screen as the terminal shows it, line by line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def on_screen(app, text: str) -> bool:
    return any(text in line for line in screen_lines(app))


async def loaded(pilot) -> str:
    """Wait for the load to end with checkout's chain; its first fix's start (what the screen
    shows on the fix's first line, whatever the catalogue's wording)."""
    app = pilot.app
    await wait_until(
        pilot,
        lambda: not app.state.stage and {p.name for p in app.state.pods.values()} >= {"checkout", "billing"}
        and pod_uid(app, "checkout") in app.state.chains,
        "the lab's pods and their chains",
    )
    chain = app.state.chains[pod_uid(app, "checkout")]
    assert chain.verdict is Verdict.BROKEN
    fix = next(finding.fix for finding in chain.findings if finding.fix)
    return "fix: " + fix[:30]


async def test_the_broken_pods_fix_is_on_screen_in_at_most_five_keys_at_80x24(wrong_namespace_lab):
    app = make_app(wrong_namespace_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        fix = await loaded(pilot)
        screen = app.screen
        assert not on_screen(app, fix)  # at the start the chain is seven rows: no room for it
        # The keys: down to checkout unless the table starts on it (sorted worst first), then
        # `i` focuses the chain, which takes the table's leftover height, its cursor on the
        # first broken link.
        keys = ([] if screen.selected_pod.name == "checkout" else ["down"]) + ["i"]
        assert len(keys) <= 5
        await pilot.press(*keys)
        await wait_until(pilot, lambda: on_screen(app, fix), f"{fix!r} on screen after {keys}")
        strip = screen.query_one(ChainStrip)
        assert app.focused is strip and strip.chain.pod.name == "checkout"
        assert strip.region.bottom <= app.size.height  # the whole pane, inside the screen
        lines = screen_lines(app)
        at = next(i for i, line in enumerate(lines) if fix in line)
        assert strip.region.y < at < strip.region.bottom - 1  # inside the chain's frame, not hidden behind it
        # … with the verdict, the first broken link and the finding above it
        shown = "\n".join(lines[strip.region.y:at + 1])
        assert "✗ broken" in shown and "✗ trust policy" in shown and "TRUST_SUB_MISMATCH" in shown
        assert strip.shown_links()[strip.cursor].step == "trust-policy"  # enter would open it

        # `z`: the chain over the whole screen (but the footer), the fix still in view
        await pilot.press("z")
        await wait_until(pilot, lambda: screen.maximized is strip and strip.region.height == app.size.height - 1,
                         "the chain maximised")
        assert on_screen(app, fix) and not screen.query_one("#pods").region.height
        assert "checkout" in str(strip.border_title)  # whose chain, said on its frame
        await pilot.press("z")
        await wait_until(pilot, lambda: screen.maximized is None and screen.query_one("#pods").region.height > 0,
                         "the layout back")


async def test_the_focused_chain_scrolls_with_the_keyboard(wrong_namespace_lab):
    app = make_app(wrong_namespace_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        if app.screen.selected_pod.name != "checkout":
            await pilot.press("down")
        await pilot.press("i")
        await settle(pilot)
        strip = app.screen.query_one(ChainStrip)
        assert strip.max_scroll_y > 0  # more than fits, even grown
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: strip.scroll_y > 1, "a page down")
        await pilot.press("end")
        await wait_until(pilot, lambda: strip.scroll_y == strip.max_scroll_y, "the end")
        await pilot.press("home")
        await wait_until(pilot, lambda: strip.scroll_y == 0, "the top")
        await pilot.press("down")
        await wait_until(pilot, lambda: strip.scroll_y == 1, "one line down")
        await pilot.press("pageup")
        await wait_until(pilot, lambda: strip.scroll_y == 0, "a page up")
        # ←/→ still pick links, they do not scroll sideways
        cursor = strip.cursor
        await pilot.press("right")
        assert strip.cursor == (cursor + 1) % len(strip.chain.links) and strip.scroll_x == 0
        # … and the link under the cursor is spelled out (the live identity: not run yet)
        assert strip.shown_links()[strip.cursor].step == "identity"
        await wait_until(pilot, lambda: "live identity not run" in str(strip.query_one(ChainText).render()),
                         "the cursor's link in words")
        # the chain gives its height back when focus leaves: the panes return
        await pilot.press("tab")
        await wait_until(pilot, lambda: app.focused is not strip and app.screen.query_one("#panes").region.height > 3,
                         "the panes back")


async def test_at_160_columns_the_chain_takes_the_room_the_table_leaves(wrong_namespace_lab):
    app = make_app(wrong_namespace_lab)
    async with app.run_test(size=(160, 48)) as pilot:
        fix = await loaded(pilot)
        if app.screen.selected_pod.name != "checkout":
            await pilot.press("down")
        await wait_until(pilot, lambda: on_screen(app, fix), "the fix, with no key but the row")
        table, strip = app.screen.query_one("#pods"), app.screen.query_one(ChainStrip)
        assert strip.region.height > 2 * table.region.height  # two pods: the table is as tall as they need


async def test_at_80_columns_enter_on_the_broken_link_shows_its_pane(wrong_namespace_lab):
    app = make_app(wrong_namespace_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        if app.screen.selected_pod.name != "checkout":
            await pilot.press("down")
        await pilot.press("i", "enter")  # the cursor starts on the broken link: the trust policy
        trust = app.screen.query_one("#trust-policy")
        await wait_until(pilot, lambda: app.history.current.pane == "trust-policy" and app.focused is trust
                         and trust.region.height > 3, "the trust policy pane, focused and on screen")
        assert on_screen(app, "not-allowed")
