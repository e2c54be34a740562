"""The two lines a trainee pastes into a second terminal are whole screen rows: a line the panel
wrapped would paste as two broken commands, and a row shared with the explorer beside the panel
copies the explorer's text with it. Too wide for the panel (80 columns), they are in a strip of
their own across the screen that takes its own rows and covers nothing; wide enough (160), in the
panel. `y` on the panel copies both."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from irsa_explorer.lessons import LessonRun, load_lesson
from irsa_explorer.widgets.lesson_panel import LessonPanel, PanelState, PasteStrip

DIRECTORY = Path("/tmp/irsa-explorer-learn-k2j3h4x9")  # as long as a default temporary folder
LINES = (f"export KUBECONFIG={DIRECTORY / 'kubeconfig'}", f"source {DIRECTORY / 'aws.env'}")


class Beside(App):
    """The explorer's screen as learn.py builds it: the views' widgets, the panel docked right."""

    CSS = "#pods { height: 1fr; }"  # the screen's own height, as the views' body is (no screen scrollbar)

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def compose(self) -> ComposeResult:
        yield Static("crumbs " * 20, id="crumbs")
        yield Static("podtable " * 400, id="pods")
        yield LessonPanel(LessonRun(load_lesson("walkthrough"), None), PanelState(self.directory, lab_ready=True))


def rows(app: App) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def settled(pilot: Pilot, done) -> None:
    """Until `done()` (the panel placed its lines after its first resize), with a hang guard only."""
    for _ in range(200):
        await pilot.pause()
        if done():
            return
    raise AssertionError("the screen never settled")


def on_screen(app: App) -> list[Widget]:
    return [w for w in app.screen._compositor.visible_widgets if w is not app.screen]


def assert_whole_rows(app: App, lines=LINES, *, alone: bool = True) -> list[str]:
    """Each line whole on a row (not cut, not wrapped); `alone`: nothing else on the row, else
    (in the panel) nothing of the explorer after it."""
    shown = rows(app)
    for line in lines:
        row = next((r for r in shown if line in r), None)
        assert row is not None, "\n".join(shown)
        rest = row if alone else row[row.index(line):]
        assert "podtable" not in rest and "crumbs" not in rest, row
    return shown


async def test_at_80_columns_a_strip_of_their_own_covers_nothing():
    app = Beside(DIRECTORY)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(LessonPanel)
        strip = app.query_one(PasteStrip)
        await settled(pilot, lambda: strip.display and strip.region.height)
        shown = assert_whole_rows(app)
        assert strip.region.width == 80 and strip.region.height == 2, strip.region
        assert [shown.index(next(r for r in shown if line in r)) for line in LINES] == [0, 1]
        # the rows are the strip's alone: no other widget's region meets it
        for widget in on_screen(app):
            if widget is not strip:
                assert not widget.region.overlaps(strip.region), (widget, widget.region, strip.region)
        # the explorer and the panel are all there below it, the panel no longer holds the lines
        assert app.query_one("#crumbs").region.y == 2 and panel.region.y == 2
        assert not panel.query_one(".lesson-paste").display
        assert any("In a second terminal:" in r for r in shown)
        assert any("↑ at the top of the screen" in r for r in shown), "\n".join(shown)


async def test_at_160_columns_they_are_in_the_panel():
    app = Beside(DIRECTORY)
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.query_one(LessonPanel)
        strip = app.query_one(PasteStrip)
        paste = panel.query_one(".lesson-paste")
        await settled(pilot, lambda: paste.region.height == 2)
        assert not strip.display and strip not in on_screen(app)
        assert_whole_rows(app, alone=False)
        assert panel.region.contains_region(paste.region), (panel.region, paste.region)
        assert f"{LINES[0]}\n{LINES[1]}" in panel.text
        assert not any("↑ at the top of the screen" in r for r in rows(app))


async def test_a_folder_too_long_for_the_panel_moves_them_to_the_strip_at_160_too():
    app = Beside(DIRECTORY)
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.query_one(LessonPanel)
        strip = app.query_one(PasteStrip)
        await settled(pilot, lambda: panel.query_one(".lesson-paste").region.height == 2)
        longer = Path("/home/trainee-with-a-long-name/irsa-explorer-lessons/walkthrough-again")
        panel.state = PanelState(longer, lab_ready=True)  # as :learn does
        panel.show()
        await settled(pilot, lambda: strip.display and strip.region.height)
        assert_whole_rows(app, (f"export KUBECONFIG={longer / 'kubeconfig'}", f"source {longer / 'aws.env'}"))
        assert not any(str(DIRECTORY) in r for r in rows(app))


async def test_maximised_the_panel_shows_them_whole_too():
    app = Beside(DIRECTORY)
    async with app.run_test(size=(80, 24)) as pilot:
        strip = app.query_one(PasteStrip)
        await settled(pilot, lambda: strip.display and strip.region.height)
        panel = app.query_one(LessonPanel)
        app.screen.maximized = panel  # as learn.py's z does
        await settled(pilot, lambda: panel.query_one(".lesson-paste").display and panel.region.width == 80)
        shown = assert_whole_rows(app, alone=False)
        assert not any("podtable" in r for r in shown), "\n".join(shown)
        assert strip not in on_screen(app)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_y_on_the_panel_copies_both_lines(size):
    app = Beside(DIRECTORY)
    async with app.run_test(size=size) as pilot:
        panel = app.query_one(LessonPanel)
        panel.focus()
        await pilot.press("y")
        await settled(pilot, lambda: app._notifications)
        assert app.clipboard == f"{LINES[0]}\n{LINES[1]}"
        assert any("Copied the two lines" in n.message for n in app._notifications)
