"""`:learn` (screens/learn_picker.py) driven with Pilot: inside `learn`, the picker lists the
walkthrough and every challenge with its description and the trainee's progress (from
progress.json); picking a challenge replaces the lab by the challenge's own and the panel by the
challenge, the walkthrough's progress kept; against a real cluster it says lessons need the lab
and touches nothing. Waits are on the app's state, never sleeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.commands import lesson_entries
from irsa_explorer.lab.launcher import LabProcess, start_lab
from irsa_explorer.learn import learn_app_class
from irsa_explorer.lessons import builtin_lessons, lesson_scenario_file, load_lesson
from irsa_explorer.screens.learn_picker import LearnPickerScreen
from irsa_explorer.screens.scenario_switch import LabStart
from irsa_explorer.sources.connect import for_lab
from irsa_explorer.widgets.lesson_panel import LessonPanel
from ui_pilot_helpers import SIZE, RecordingExplorer, make_app, settle, wait_until


@pytest.fixture
def learn_lab(tmp_path: Path) -> Iterator[LabProcess]:
    """The walkthrough lesson's lab in its folder, as `learn walkthrough --dir D` starts it."""
    lab = start_lab(lesson_scenario_file(load_lesson("walkthrough"), tmp_path), tmp_path)
    try:
        yield lab
    finally:
        lab.stop()


def learn_explorer(lab: LabProcess):
    scenario = lesson_scenario_file(load_lesson("walkthrough"), lab.directory)
    return learn_app_class(RecordingExplorer)(
        for_lab(lab), lesson=load_lesson("walkthrough"), directory=lab.directory,
        lab_start=LabStart(str(scenario), (), lab.directory), stale_after=None)


def progress(directory: Path, name: str = "progress.json") -> dict:
    return json.loads((directory / name).read_text(encoding="utf-8"))


async def test_learn_lists_lessons_and_challenges_with_progress_and_starts_one(learn_lab: LabProcess) -> None:
    lab, directory = learn_lab, learn_lab.directory
    app = learn_explorer(lab)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.lesson_run.observations > 0 and app.screen.query(LessonPanel), "the lesson's first look")
        await pilot.press("h")  # a hint: progress.json counts it, the picker says so
        await wait_until(pilot, lambda: progress(directory)["hints_used"] == 1, "the hint counted")

        await pilot.press("colon", *"learn", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LearnPickerScreen), ":learn opens the picker")
        picker = app.screen
        names = [entry.name for entry in picker.entries]
        assert set(builtin_lessons()) <= set(names)  # every challenge file there is, with no list of ours
        challenges = [e for e in picker.entries if e.kind == "challenge"]
        assert {"sub-wrong-namespace", "no-oidc-provider"} <= {e.name for e in challenges}
        assert names[0] == "walkthrough"  # lessons first
        text = picker.text
        walkthrough = load_lesson("walkthrough")
        assert f"lesson  walkthrough: {walkthrough.title}" in text
        assert " ".join(walkthrough.description.split()).replace("`", "") in text  # backticks: drawn as code
        steps = len(walkthrough.steps)
        assert f"0/{steps} steps done, 1 hints · running now" in text
        challenge = load_lesson("no-oidc-provider")
        assert f"challenge  no-oidc-provider: {challenge.title}" in text and "not started" in text

        # the palette (ctrl+p) offers the same, once the files are read, each started as :learn starts it
        palette = {title: help_text for title, help_text, _ in lesson_entries(app)}
        entry = next(title for title in palette if title.startswith("Challenge") and title.endswith(challenge.title))
        assert palette[entry].endswith("not started") and f"Lesson: {walkthrough.title}" in palette

        # a challenge picked: its lab in place of the walkthrough's, its panel, in the same folder
        await pilot.press("escape")
        await pilot.pause()
        old_process = lab.process
        await pilot.press("colon", *"learn no-oidc-provider", "enter")
        await wait_until(pilot, lambda: app.lesson_run.lesson.name == "no-oidc-provider", "the challenge in the panel")
        await wait_until(pilot, lambda: app.lesson_state.lab_ready and app.lesson_run.observations > 0
                         and {p.name for p in app.state.pods.values()} >= {"eks-iam-test3"}, "its lab up and looked at",
                         hang_guard=180)
        assert old_process.poll() is not None  # the walkthrough's lab: gone
        assert progress(directory)["lesson"] == "no-oidc-provider"
        assert progress(directory, "progress-walkthrough.json")["hints_used"] == 1  # kept
        assert app.sources.kube.kubeconfig == str(directory / "kubeconfig")  # the panel's two lines still hold
        panel_text = app.screen.query_one(LessonPanel).text
        assert challenge.title in panel_text and f"export KUBECONFIG={directory / 'kubeconfig'}" in panel_text

        await pilot.press("colon", *"learn", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LearnPickerScreen), ":learn again")
        said = {entry.name: app.screen.lines(entry).plain for entry in app.screen.entries}
        assert said["walkthrough"].endswith(f"0/{steps} steps done, 1 hints")  # from progress-walkthrough.json
        assert said["no-oidc-provider"].endswith("running now")
        await pilot.press("escape")


async def test_on_a_real_cluster_learn_lists_but_says_lessons_need_the_lab(lab) -> None:
    app = make_app(lab, app_class=RecordingExplorer)  # `irsa-explorer` on a kubeconfig
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sources, pods = app.sources, dict(app.state.pods)
        await pilot.press("colon", *"learn", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LearnPickerScreen), ":learn opens the picker")
        assert "lessons need the lab" in app.screen.title_text
        assert "walkthrough" in [e.name for e in app.screen.entries]
        await pilot.press("enter")  # the walkthrough, highlighted
        await settle(pilot)
        assert any("lessons run on a lab of their own" in said and "irsa-explorer learn walkthrough" in said
                   for said in app.notified)
        assert app.sources is sources and app.state.pods.keys() == pods.keys()  # nothing touched
        assert not [w for w in app.workers if w.description == "switch the lab"]
    assert isinstance(app, IrsaExplorerApp)


def test_a_trainers_folder_is_listed_after_the_built_in_ones_and_a_bad_file_says_why(tmp_path: Path, monkeypatch) -> None:
    from irsa_explorer.lessons import lesson_path
    from irsa_explorer.screens.learn_picker import LESSONS_ENV, lesson_catalogue

    own = lesson_path("walkthrough").read_text(encoding="utf-8")  # its name: the file's (it says none)
    (tmp_path / "my-walkthrough.yaml").write_text(own, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("scenario: fresh-cluster\nsteps:\n  - id: one\n    pane: trust\n", encoding="utf-8")
    monkeypatch.setenv(LESSONS_ENV, str(tmp_path))
    entries = lesson_catalogue()
    names = [e.name for e in entries]
    assert set(names[: len(builtin_lessons())]) == set(builtin_lessons())  # built in first, then the trainer's
    mine = next(e for e in entries if e.source == str((tmp_path / "my-walkthrough.yaml").resolve()))
    assert mine.name == "my-walkthrough" and mine.kind == "lesson" and mine.problem is None
    broken = next(e for e in entries if e.name == "broken")
    assert broken.problem.startswith("cannot be used: ") and "broken.yaml" in broken.problem
    assert names.index("broken") >= len(builtin_lessons()) and names.index("my-walkthrough") >= len(builtin_lessons())
