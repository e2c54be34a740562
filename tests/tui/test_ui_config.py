"""The config file ($XDG_CONFIG_HOME/irsa-explorer/config.toml) and --theme: read as launch.py
reads them, applied to a real explorer on the lab, the picked theme written back to the file."""

from __future__ import annotations

import tomllib

import pytest

from irsa_explorer import config as settings
from irsa_explorer.cli import build_parser
from irsa_explorer.launch import configured
from irsa_explorer.screens.modals import HelpScreen

from ui_pilot_helpers import SIZE, make_app, settle, wait_until


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "xdg" / "irsa-explorer" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def explorer(lab, *argv: str):
    chosen = configured(build_parser().parse_args(list(argv)))
    assert chosen is not None
    app_class, options = chosen
    return make_app(lab, app_class=app_class, **options)


def notes(app) -> list[str]:
    return [str(note.message) for note in app._notifications]


def test_the_path_follows_xdg_config_home(tmp_path):
    assert settings.config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "irsa-explorer" / "config.toml"
    assert settings.config_path({"HOME": str(tmp_path)}) == tmp_path / ".config" / "irsa-explorer" / "config.toml"


def test_a_missing_file_is_the_defaults(config_file):
    config = settings.load()
    assert config.path == config_file and config.theme is None and not config.keymap and not config.problems


def test_each_wrong_key_is_one_line_naming_the_file_and_the_key(config_file):
    config_file.write_text('theme = 3\nreadonly = "yes"\ncolour = "red"\n[keymap]\n"app.quit" = 1\n"app.help" = "h"\n')
    config = settings.load()
    assert config.theme is None and config.readonly is False and config.keymap == {"app.help": "h"}
    assert len(config.problems) == 4
    for key, line in zip(("colour", "theme", "readonly", "keymap.app.quit"), config.problems):
        assert str(config_file) in line and f": {key}: " in line and "\n" not in line


def test_a_file_that_does_not_parse_is_one_line_and_the_defaults(config_file):
    config_file.write_text('theme = "nord"\n[keymap\n')
    config = settings.load()
    assert config.theme is None and len(config.problems) == 1
    assert str(config_file) in config.problems[0] and "line 2" in config.problems[0]


def test_saving_the_theme_changes_only_its_line(config_file):
    text = '# mine\ntheme = "nord"  # was dark\nreadonly = true\n\n[keymap]\n"app.help" = "h"  # h for help\n'
    config_file.write_text(text)
    assert settings.save_theme(config_file, "textual-light") is None
    assert config_file.read_text() == text.replace('theme = "nord"  # was dark', 'theme = "textual-light"')
    # no theme line yet: one is added on top, before any table
    config_file.write_text('[keymap]\n"app.help" = "h"\n')
    assert settings.save_theme(config_file, "gruvbox") is None
    assert tomllib.loads(config_file.read_text()) == {"theme": "gruvbox", "keymap": {"app.help": "h"}}
    # no file yet
    config_file.unlink()
    assert settings.save_theme(config_file, "nord") is None and tomllib.loads(config_file.read_text()) == {"theme": "nord"}


def test_a_file_that_does_not_parse_is_never_overwritten(config_file):
    config_file.write_text('theme = "nord"\n[keymap\n')
    why = settings.save_theme(config_file, "gruvbox")
    assert why and str(config_file) in why and config_file.read_text() == 'theme = "nord"\n[keymap\n'


def test_an_unknown_theme_on_the_command_line_is_one_line_and_exit_2(config_file, capsys):
    from irsa_explorer.launch import run

    assert run(build_parser().parse_args(["--theme", "no-such-theme"])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--theme" in err and "no-such-theme" in err and "textual-light" in err
    assert build_parser().parse_args(["lab", "--theme", "nord"]).theme == "nord"


async def test_the_file_sets_the_theme_and_a_keymap_line_moves_a_key(lab, config_file):
    config_file.write_text('theme = "textual-light"\n[keymap]\n"app.help" = "h"\n')
    app = explorer(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-light" and not notes(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)  # ? is no longer help
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "h opens the help")
    assert config_file.read_text() == 'theme = "textual-light"\n[keymap]\n"app.help" = "h"\n'


async def test_theme_on_the_command_line_wins_over_the_file_and_is_not_saved(lab, config_file):
    config_file.write_text('theme = "textual-light"\n')
    app = explorer(lab, "--theme", "nord")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
    assert config_file.read_text() == 'theme = "textual-light"\n'


async def test_a_malformed_file_says_so_and_the_explorer_runs_on_the_defaults(lab, config_file):
    config_file.write_text('theme = "solarized-purple"\n[keymap]\n"app.nothing" = "x"\n')
    app = explorer(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark" and app.state.pods  # the defaults, and the pods loaded
        shown = notes(app)
        assert len(shown) == 2 and all(str(config_file) in line for line in shown)
        assert "theme: unknown theme 'solarized-purple'" in shown[0] and "keymap.app.nothing" in shown[1]
    config_file.write_text('theme = "nord"\n[keymap\n')
    app = explorer(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark" and app.state.pods
        assert len(notes(app)) == 1 and "line 2" in notes(app)[0]


async def test_the_theme_picked_in_the_app_is_written_back_keeping_the_rest(lab, config_file):
    config_file.write_text('# my settings\nreadonly = false\n[keymap]\n"app.help" = "h"\n')
    app = explorer(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "gruvbox"  # what the command palette's "Change theme" does
        await wait_until(pilot, lambda: 'theme = "gruvbox"' in config_file.read_text(), "the theme saved")
    assert config_file.read_text() == 'theme = "gruvbox"\n# my settings\nreadonly = false\n[keymap]\n"app.help" = "h"\n'
