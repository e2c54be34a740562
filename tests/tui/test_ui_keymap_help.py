"""A [keymap] line of the config file is what `?` shows and what every binding of that action
answers: help lists the key the user chose, not the built-in one, and under --readonly the
hidden binding that refuses `w` (view.whoami_readonly) moves with app.whoami."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from irsa_explorer import app as app_module
from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.cli import build_parser
from irsa_explorer.config import with_followers
from irsa_explorer.launch import configured
from irsa_explorer.screens.modals import ConfirmScreen, HelpScreen
from ui_pilot_helpers import SIZE, filter_to, make_app, settle, wait_until


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "xdg" / "irsa-explorer" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def explorer(lab, *argv: str, **extra):
    chosen = configured(build_parser().parse_args(list(argv)))
    assert chosen is not None
    app_class, options = chosen
    return make_app(lab, app_class=app_class, **options, **extra)


def help_lines(app) -> list[str]:
    body = app.screen.query_one("#help-body").query_one(Static)
    return str(body.render()).splitlines()


def line_for(lines: list[str], description: str) -> str:
    return next(line for line in lines if line.rstrip().endswith(description))


def test_a_moved_whoami_takes_its_readonly_stand_in_along():
    assert with_followers({"app.whoami": "i"}) == {"app.whoami": "i", "view.whoami_readonly": "i"}
    assert with_followers({"app.whoami": "i", "view.whoami_readonly": "x"})["view.whoami_readonly"] == "x"
    assert with_followers({"app.help": "h"}) == {"app.help": "h"}


async def test_help_shows_the_keys_of_the_keymap(lab, config_file):
    config_file.write_text('[keymap]\n"app.help" = "h,f1"\n"app.whoami" = "i"\n')
    app = explorer(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "h opens the help")
        lines = help_lines(app)
        whoami = line_for(lines, "Run sts get-caller-identity in the pod (asks once)")
        assert whoami.split()[0] == "i", whoami
        assert line_for(lines, "Every key").strip().split("  ")[0] == "h, f1"


class Told(IrsaExplorerApp):
    CSS_PATH = str(Path(app_module.__file__).parent / IrsaExplorerApp.CSS_PATH)

    def notify(self, message, **kwargs):
        self.told = [*getattr(self, "told", []), str(message)]
        return super().notify(message, **kwargs)


async def test_under_readonly_the_moved_whoami_key_still_says_why_nothing_runs(lab, config_file):
    config_file.write_text('[keymap]\n"app.whoami" = "i"\n')
    chosen = configured(build_parser().parse_args(["--readonly"]))
    assert chosen is not None
    _, options = chosen
    app = make_app(lab, app_class=type("ToldConfigured", (Told, chosen[0]), {}), **options)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("w")  # no longer the key: nothing is said
        await settle(pilot)
        assert not any("--readonly" in said for said in getattr(app, "told", []))
        offered = [key for key, active in app.active_bindings.items() if active.binding.show and active.binding.action == "who_am_i"]
        assert not offered, f"the footer offers {offered} under --readonly"
        await pilot.press("i")
        await wait_until(pilot, lambda: any("--readonly" in said for said in getattr(app, "told", [])), "the refusal")
        assert not isinstance(app.screen, ConfirmScreen)
