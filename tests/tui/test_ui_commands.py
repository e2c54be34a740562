"""The `:` commands as a k9s user types them, driven with Pilot against the `restricted-user`
lab (the admin's context, and dev@… who reads only namespace default): `:ns`, `:ctx`, the
aliases, `ctrl+a` listing them, and an unknown command said so. Waits are on workers and
messages, never on sleeps."""

from __future__ import annotations


import pytest

from irsa_explorer.commands import COMMANDS, parse_command
from irsa_explorer.screens.modals import HelpScreen, PickerScreen
from ui_pilot_helpers import SIZE, settle, wait_until
from ui_pilot_helpers import RecordingExplorer
from ui_pilot_helpers import make_app as make_explorer

DEV = "dev@eks-oidc-demo.us-east-2.eksctl.io"


@pytest.fixture(scope="module")
def restricted(lab_for):
    return lab_for("restricted-user")


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


def focused_in(app, pane_id: str) -> bool:
    node = app.focused
    while node is not None:
        if node.id == pane_id:
            return True
        node = node.parent
    return False


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_a_digit_focuses_its_pane_so_its_keys_work_at_once_even_from_the_chain(lab, size):
    from irsa_explorer.screens.modals import ConfirmScreen
    from ui_pilot_helpers import filter_to

    app = make_explorer(lab, app_class=RecordingExplorer)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("i")  # the chain focused: at 80 columns it fills the panes' place
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "chain"
        await pilot.press("2")
        await wait_until(pilot, lambda: focused_in(app, "token"), "the token pane focused")
        assert app.screen.query_one("#token").display
        assert app.history.current.pane == "token"
        await pilot.press("t")  # the token pane's own key, at once: it asks before the exec
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        for key, pane in (("3", "role"), ("4", "trust-policy"), ("5", "live-identity"), ("1", "service-account")):
            await pilot.press(key)
            await wait_until(pilot, lambda pane=pane: focused_in(app, pane), f"the {pane} pane focused")
            assert app.history.current.pane == pane


def footer_offers(app, key: str) -> bool:
    """What the footer shows for `key`: the binding that key runs now (focus first, then screen, app)."""
    active = app.screen.active_bindings.get(key)
    return active is not None and active.binding.show and active.enabled


async def test_w_on_an_ended_pod_says_in_words_that_nothing_runs_in_it(lab):
    from irsa_explorer.screens.modals import ConfirmScreen
    from ui_pilot_helpers import filter_to, lab_kube_counters

    app = make_explorer(lab, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert footer_offers(app, "w")
        await filter_to(pilot, "eks-iam-test1")
        pod = app.screen.selected_pod
        assert pod is not None and pod.name == "eks-iam-test1" and pod.phase == "Failed"
        before = lab_kube_counters(lab).get("exec pod", 0)
        await pilot.press("w")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)  # nothing to ask about: no question
        said = app.notified[-1]
        assert said.startswith("eks-iam-test1 has ended (Failed") and "nothing runs in it" in said
        assert "kubectl logs -n default eks-iam-test1" in said
        assert "Error:" not in said and "ClusterError" not in said
        assert lab_kube_counters(lab).get("exec pod", 0) == before


async def test_readonly_footer_offers_no_w_but_w_still_says_why(lab):
    app = make_explorer(lab, app_class=RecordingExplorer, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.active_bindings.get("w") is not None
        assert not footer_offers(app, "w")
        from ui_pilot_helpers import filter_to

        await filter_to(pilot, "eks-iam-test3")  # a running pod (an ended one says so first)
        await pilot.press("w")
        await settle(pilot)
        assert any("--readonly" in said and "Not run" in said for said in app.notified)
