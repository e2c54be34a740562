"""The lesson panel in the explorer (Pilot): beside the pods view on a lab of its own, hints and
the solution on request, the step's pane pointed at, and the lesson advancing by itself when
the lab changes — changed here with the kubernetes client and boto3, as a trainee's second
terminal would."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lesson_drive import Trainee

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.lab.launcher import LabProcess, start_lab
from irsa_explorer.learn import HIGHLIGHT, learn_app_class
from irsa_explorer.lessons import lesson_scenario_file, load_lesson
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.connect import Sources
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.screens.modals import ConfirmScreen, key_help
from irsa_explorer.widgets.lesson_panel import LessonPanel, PasteStrip

SIZE = (160, 48)


@pytest.fixture
def fresh_lab(tmp_path: Path) -> Iterator[LabProcess]:
    with start_lab(lesson_scenario_file(load_lesson("walkthrough"), tmp_path), tmp_path) as lab:
        yield lab


def learn_app(lab: LabProcess):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    sources = Sources(kube, AwsSource.from_env(dict(lab.aws_env)), None, kube.default_cluster_name(), kube.close)
    return learn_app_class(IrsaExplorerApp)(sources=sources, lesson=load_lesson("walkthrough"), directory=lab.directory,
                                            stale_after=None)


async def until(pilot, condition, what: str, hang_guard: float = 90) -> None:
    """Let the app work until `condition()` holds; the guard only stops a hang (no timing target)."""
    deadline = time.monotonic() + hang_guard
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await pilot.pause(0.1)


def panel_text(app) -> str:
    return app.screen.query_one(LessonPanel).text


def saved(lab: LabProcess) -> dict:
    return json.loads((lab.directory / "progress.json").read_text())


async def test_the_panel_teaches_points_and_advances_by_itself(fresh_lab: LabProcess) -> None:
    lab = fresh_lab
    app = learn_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.query(LessonPanel) and app.lesson_run.observations > 0, "the panel and a first look")
        text = panel_text(app)
        assert "Step 1/5: A pod with no AWS identity of its own" in text
        assert f"export KUBECONFIG={lab.directory / 'kubeconfig'}" in text and f"source {lab.directory / 'aws.env'}" in text
        assert "✗ pod default/eks-iam-test1 does not exist" in text
        assert "kubectl apply -f -" in text
        chain = app.screen.query_one("#chain")
        assert chain.has_class(HIGHLIGHT) and chain.styles.border_top[0] == "double"  # step 1 talks about the chain

        await pilot.press("h")
        await until(pilot, lambda: "Hint 1: Create the pod" in panel_text(app), "the first hint")
        assert saved(lab)["hints_used"] == 1 and saved(lab)["steps"][0]["hints_used"] == 1
        assert "Solution:" not in panel_text(app)
        await pilot.press("o")
        await until(pilot, lambda: "Solution:" in panel_text(app), "the solution")
        assert saved(lab)["steps"][0]["solution_shown"] is True

        trainee = Trainee(lab)
        await asyncio.to_thread(trainee.pod, "eks-iam-test1", None, ["s3", "ls"])
        await asyncio.to_thread(trainee.wait_phase, "eks-iam-test1", ("Failed", "Succeeded"))
        await until(pilot, lambda: "Step 2/5" in panel_text(app), "step 1 done by itself")
        assert saved(lab)["steps"][0]["done"] is True and saved(lab)["current"] == "default-token"
        assert "✓ A pod with no AWS identity of its own: Without credentials" in panel_text(app)
        assert app.screen.query_one("#token").has_class(HIGHLIGHT) and not app.screen.query_one("#chain").has_class(HIGHLIGHT)

        # an IAM change is not watched: the lesson still sees it (it reads the lab again)
        await asyncio.to_thread(trainee.oidc_provider)
        await until(pilot, lambda: any("oidc-provider" in c.check or c.passed for c in app.lesson_run.step_progress("oidc-provider").checks)
                    and app.lesson_run.step_progress("oidc-provider").done, "the OIDC provider step done")
        assert saved(lab)["steps"][2]["done"] is True and saved(lab)["steps"][1]["done"] is False
        assert "Step 2/5" in panel_text(app)  # the first step not done stays current


async def test_x_runs_the_step_s_commands_and_shows_their_output(fresh_lab: LabProcess) -> None:
    import shutil

    if not shutil.which("kubectl"):
        pytest.skip("needs the real kubectl")
    lab = fresh_lab
    app = learn_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.query(LessonPanel) and app.lesson_state.lab_ready, "the panel")
        await pilot.press("x")  # asks first (the commands create objects in the lab), then runs them
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "kubectl apply -f -" in app.screen.question and str(lab.directory / "kubeconfig") in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: not app.lesson_state.running and app.lesson_run.step_progress("node-role").done,
                    "step 1's commands run, and the step done by them", 180)
        outcomes = {o.command.run.split()[0] + " " + o.command.run.split()[1]: o for o in app.lesson_state.outcomes}
        assert len(app.lesson_state.outcomes) == len(app.lesson_run.lesson.steps[0].commands)
        assert all(o.exit_code == 0 for o in app.lesson_state.outcomes)
        denied = "An error occurred (AccessDenied) when calling the ListBuckets operation"
        assert denied in outcomes["kubectl logs"].output
        # CloudTrail says as whom: the node role's session on the instance
        assert "assumed-role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-" in outcomes["aws cloudtrail"].output
        await until(pilot, lambda: "Step 2/5" in panel_text(app) and denied in panel_text(app), "the output in the panel")
        assert "Output of step 1's commands" in panel_text(app)


async def test_the_panel_fits_at_80x24(fresh_lab: LabProcess) -> None:
    app = learn_app(fresh_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.query(LessonPanel) and app.lesson_run.observations > 0, "the panel")
        panel = app.screen.query_one(LessonPanel)
        assert panel.region.width >= 34 and panel.region.right <= 80
        assert "Step 1/5" in panel.text and "Start from the cluster as eksctl create cluster leaves it" in panel.text
        strip = app.screen.query_one(PasteStrip)  # the paste lines across the screen: too wide for the panel
        await until(pilot, lambda: strip.display and strip.region.height == 2, "the paste lines' strip")
        assert str(strip.content) == f"export KUBECONFIG={fresh_lab.directory / 'kubeconfig'}\nsource {fresh_lab.directory / 'aws.env'}"
        await until(pilot, lambda: app.focused is app.screen.query_one("#pods"), "the pods table focused")
        await pilot.press("shift+tab")  # the panel is the last tab stop: one back from the pods table
        await until(pilot, lambda: app.focused is panel, "the panel focused")
        await pilot.press("y")  # its two lines to the clipboard
        await until(pilot, lambda: app.clipboard == str(strip.content), "the lines copied")
        await pilot.press("z")  # the lesson over the whole screen, and back
        await pilot.pause()
        assert app.screen.maximized is panel and panel.region.width == 80
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is None and panel.region.width < 80

        await pilot.press("question_mark")  # help lists the explorer's keys and the lesson's
        await pilot.pause()
        from irsa_explorer.screens.modals import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        everywhere = dict(key_help(app))["Everywhere"]
        said = {key: what for key, what in everywhere}
        assert said["q"] == "Leave the explorer" and said["h"].startswith("The lesson's next hint") and "x" in said
        panel_keys = dict(dict(key_help(app))["Lesson panel (tab reaches it)"])
        assert panel_keys["y"].startswith("Copy the two lines for the second terminal"), panel_keys
