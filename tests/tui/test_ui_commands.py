"""The `:` commands as a k9s user types them, driven with Pilot against the `restricted-user`
lab (the admin's context, and dev@… who reads only namespace default): `:ns`, `:ctx`, the
aliases, `ctrl+a` listing them, and an unknown command said so. Waits are on workers and
messages, never on sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from irsa_explorer import app as app_module
from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.commands import COMMANDS, parse_command
from irsa_explorer.screens.modals import HelpScreen, PickerScreen
from ui_pilot_helpers import SIZE, settle, wait_until
from ui_pilot_helpers import make_app as make_explorer

DEV = "dev@eks-oidc-demo.us-east-2.eksctl.io"


@pytest.fixture(scope="module")
def restricted(lab_for):
    return lab_for("restricted-user")


class RecordingExplorer(IrsaExplorerApp):
    """The explorer, keeping the text of every notification it shows (toasts vanish)."""

    CSS_PATH = str(Path(app_module.__file__).parent / IrsaExplorerApp.CSS_PATH)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notified: list[str] = []

    def notify(self, message, **kwargs) -> None:
        self.notified.append(str(message))
        super().notify(message, **kwargs)


async def command(pilot, text: str) -> None:
    await pilot.press("colon", *text, "enter")
    await settle(pilot)


def test_a_command_line_is_a_command_and_what_follows_it():
    assert parse_command(":ns  team-b ") == ("ns", "team-b")
    assert parse_command("ctx") == ("ctx", "")
    assert parse_command("PO") == ("pods", "")
    assert parse_command("ro") == ("roles", "")
    assert parse_command("no") == ("nodes", "")
    assert parse_command("fi") == ("findings", "")
    assert parse_command("bogus x") == ("bogus", "x")


async def test_ns_switches_namespace_and_back_to_all(restricted):
    app = make_explorer(restricted, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        everywhere = {pod.namespace for pod in app.state.pods.values()}
        assert {"default", "team-b"} <= everywhere
        await command(pilot, "ns team-b")
        await wait_until(pilot, lambda: app.state.pods and app.state.inventory is not None and not app.state.stage,
                         "team-b loaded")
        assert app.sources.namespace == "team-b"
        assert {pod.namespace for pod in app.state.pods.values()} == {"team-b"}
        assert app.history.current.view == "pods"
        await command(pilot, "ro")  # an alias, as k9s has it
        assert app.history.current.view == "roles"
        await command(pilot, "ns")  # alone: every namespace, as `n` then "all namespaces"
        await wait_until(pilot, lambda: {pod.namespace for pod in app.state.pods.values()} == everywhere,
                         "every namespace loaded again")
        assert app.sources.namespace is None and app.history.current.view == "pods"
        await command(pilot, "ns team-b")
        await command(pilot, "ns all")
        await wait_until(pilot, lambda: app.sources.namespace is None and len(
            {pod.namespace for pod in app.state.pods.values()}) > 1, "all namespaces again")


async def test_ctx_switches_context_and_alone_opens_the_picker(restricted):
    app = make_explorer(restricted, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        admin = app.context_name
        await command(pilot, "ctx no-such-context")
        assert app.context_name == admin
        assert any("No context no-such-context" in text and DEV in text for text in app.notified)
        await command(pilot, f"ctx {DEV}")
        await settle(pilot)
        assert app.context_name == DEV
        assert {pod.namespace for pod in app.state.pods.values()} <= {"default"}
        await command(pilot, "ctx")
        assert isinstance(app.screen, PickerScreen) and app.screen.title_text == "Context"
        await pilot.press("escape")
        await pilot.pause()
        assert app.context_name == DEV


async def test_ctrl_a_lists_the_commands_and_an_unknown_one_is_said_so(restricted):
    app = make_explorer(restricted, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = "\n".join(f"{keys} {what}" for _, rows in app.screen.sections for keys, what in rows)
        for word in (":ns", ":ctx", ":po", ":ro", ":no", ":fi", ":sa"):
            assert word in shown.split(), word
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        # after `:`, ctrl+a lists them too (in a filter it is the start of the line)
        await pilot.press("colon", "n", "ctrl+a")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("escape")  # the prompt, kept as typed
        await command(pilot, "bogus")
        said = app.notified[-1]
        assert said.startswith("No command :bogus.") and all(f":{name}" in said for name in COMMANDS)
        assert "Error" not in said
