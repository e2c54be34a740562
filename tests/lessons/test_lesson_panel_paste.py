"""The two lines a trainee pastes into a second terminal are whole screen rows at 80x24: a line
the panel wrapped would paste as two broken commands, and a row shared with the explorer beside
the panel copies the explorer's text with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from irsa_explorer.lessons import LessonRun, load_lesson
from irsa_explorer.widgets.lesson_panel import LessonPanel, PanelState

DIRECTORY = Path("/tmp/irsa-explorer-learn-k2j3h4x9")  # as long as a default temporary folder


class Beside(App):
    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def compose(self) -> ComposeResult:
        yield Static("podtable " * 400)
        yield LessonPanel(LessonRun(load_lesson("walkthrough"), None), PanelState(self.directory, lab_ready=True))


def rows(app: App) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_paste_lines_are_whole_rows_of_their_own(size):
    app = Beside(DIRECTORY)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        panel = app.query_one(LessonPanel)
        shown = rows(app)
        for line in (f"export KUBECONFIG={DIRECTORY / 'kubeconfig'}", f"source {DIRECTORY / 'aws.env'}"):
            row = next((r for r in shown if line in r), None)
            assert row is not None, "\n".join(shown)
            # nothing of the explorer on the row after the line, and the line not cut or wrapped
            assert "podtable" not in row[row.index(line):], row
        # what follows is not hidden under them
        assert any("In a second terminal:" in r for r in shown)
        text = panel.text
        assert f"export KUBECONFIG={DIRECTORY / 'kubeconfig'}\nsource {DIRECTORY / 'aws.env'}" in text


async def test_scrolled_away_the_paste_lines_leave_with_the_panel():
    app = Beside(DIRECTORY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(LessonPanel)
        panel.scroll_to(y=12, animate=False)
        await pilot.pause()
        shown = rows(app)
        assert not any("export KUBECONFIG=" in r for r in shown), "\n".join(shown)


async def test_maximised_the_panel_shows_them_whole_too():
    app = Beside(DIRECTORY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.maximized = app.query_one(LessonPanel)  # as learn.py's z does
        await pilot.pause()
        shown = rows(app)
        assert any(f"export KUBECONFIG={DIRECTORY / 'kubeconfig'}" in r for r in shown), "\n".join(shown)
        assert not any("podtable" in r for r in shown), "\n".join(shown)
