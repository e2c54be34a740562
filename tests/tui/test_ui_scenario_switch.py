"""`:scenario` (screens/scenario_switch.py) driven with Pilot as a trainer would: the explorer on a
walkthrough lab as `irsa-explorer lab` builds it, switched to `no-oidc-provider` from inside — the
new scenario's pods and verdicts, its description, the old lab's process gone — and on a real
cluster (no lab) refused with why, nothing started. Waits are on the app's state, never sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import OptionList

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.lab.launcher import LabProcess, start_lab
from irsa_explorer.learn import learn_app_class
from irsa_explorer.model import Verdict
from irsa_explorer.screens.scenario_switch import LabStart, ScenarioBriefScreen, ScenarioPickerScreen, scenario_description
from irsa_explorer.sources.connect import for_lab
from ui_pilot_helpers import SIZE, RecordingExplorer, make_app, settle, wait_until


@pytest.fixture
def walkthrough_lab() -> Iterator[LabProcess]:
    """A lab of the test's own: the switch stops it (the shared session lab must stay)."""
    lab = start_lab("walkthrough")
    try:
        yield lab
    finally:
        lab.stop()


def lab_explorer(lab: LabProcess):
    """As `irsa-explorer lab` makes it (launch.run_lab): the lesson's part with no lesson, the lab it runs on."""
    return learn_app_class(RecordingExplorer)(for_lab(lab), lesson=None, directory=None, lab_start=LabStart("walkthrough"),
                                              watch=True, stale_after=None)


def pod_names(app) -> set[str]:
    return {pod.name for pod in app.state.pods.values()}


def verdict_of(app, name: str) -> Verdict | None:
    pod = next((p for p in app.state.pods.values() if p.name == name), None)
    chain = app.state.chains.get(pod.uid) if pod is not None else None
    return chain.verdict if chain is not None else None


async def test_scenario_switches_the_lab_in_place(walkthrough_lab: LabProcess) -> None:
    old = walkthrough_lab
    app = lab_explorer(old)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: verdict_of(app, "eks-iam-test3") is Verdict.OK, "the walkthrough's verdicts")
        assert pod_names(app) == {"eks-iam-test1", "eks-iam-test2", "eks-iam-test3"}
        old_server = app.sources.kube.server
        offered = {binding.key for _, binding, enabled, _ in app.active_bindings.values() if enabled}
        assert not {"h", "o", "x"} & offered  # plain lab: no lesson keys until :learn starts a lesson

        await pilot.press("colon", *"scenario", "enter")  # alone: the picker, with the descriptions
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioPickerScreen), ":scenario opens the picker")
        picker = app.screen
        options = picker.query_one(OptionList)
        assert options.get_option_at_index(options.highlighted).id == "walkthrough"  # the lab in use
        names = [name for name, _ in picker.choices]
        assert "no-oidc-provider" in names and "sub-wrong-namespace" in names and "_oidc-provider" not in names
        assert dict(picker.choices)["no-oidc-provider"].startswith("my-sa is annotated and eks-iam-test3 is injected")
        await pilot.press("escape")
        await pilot.pause()
        assert app.sources is not None and app.sources.kube.server == old_server  # esc: nothing changed

        await pilot.press("colon", *"scenario no-oidc-provider", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioBriefScreen), "the new lab loaded, its description shown",
                         hang_guard=180)
        description = scenario_description("no-oidc-provider")
        assert "no IAM OIDC provider" in description
        assert description in str(app.screen.query_one("#scenario-brief-text").render())
        assert any(description in said for said in app.notified)  # said as the switch started, too

        # the old lab: its process ended, its API server answers no more
        assert old.process.poll() is not None
        assert app.sources.kube.server != old_server
        # the new scenario's pods and the engine's verdicts for them
        await wait_until(pilot, lambda: verdict_of(app, "eks-iam-test3") is not None
                         and verdict_of(app, "node-fallback") is not None, "the new scenario's verdicts")
        assert pod_names(app) == {"eks-iam-test3", "node-fallback"}
        assert verdict_of(app, "eks-iam-test3") is Verdict.BROKEN
        chain = app.state.chains[next(p.uid for p in app.state.pods.values() if p.name == "eks-iam-test3")]
        assert "NO_OIDC_PROVIDER" in {f.code for f in chain.findings}
        assert app.lab_start.scenario == "no-oidc-provider"
        assert app.history.back() is None  # Back leads to nothing of the old lab

        await pilot.press("escape")  # the description closes
        await pilot.pause()
        assert not isinstance(app.screen, ScenarioBriefScreen)
        await pilot.press("colon", *"scenario nope", "enter")
        await settle(pilot)
        assert any(said.startswith("No scenario nope. Built in:") for said in app.notified)
        new_sources = app.sources
    new_sources.close()  # (the app closed it on exit already: closing again is harmless)


async def test_on_a_real_cluster_scenario_says_why_not_and_starts_nothing(lab) -> None:
    app = make_app(lab, app_class=RecordingExplorer)  # `irsa-explorer` on a kubeconfig: no lab it started
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sources = app.sources
        await pilot.press("colon", *"scenario no-oidc-provider", "enter")
        await settle(pilot)
        assert app.sources is sources and not isinstance(app.screen, (ScenarioPickerScreen, ScenarioBriefScreen))
        assert any("this explorer reads a real cluster" in said and "irsa-explorer lab --scenario" in said
                   for said in app.notified)
        assert not [w for w in app.workers if w.description == "switch the lab"]
        assert app.state.pods  # the view kept
    assert isinstance(app, IrsaExplorerApp)
