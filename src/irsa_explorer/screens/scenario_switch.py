"""`:scenario [NAME]`: the lab switched to another scenario from inside the explorer, no restart.

The lab the explorer runs on is a `LabStart` (what `lab` or `learn` started it with: scenario,
`lab serve`'s extra options, the folder of its kubeconfig and aws.env). A switch stops that lab,
starts the new one the way the first was started (`sources.connect.lab_in_background`, hence
`lab serve` through lab/launcher) in a worker named `connect` — so a lab that does not start is
said where the first one's failure is (`IrsaExplorerApp._worker_state_changed`, and the lesson
panel's note) — and hands the new sources to `use_sources`, the context switch's one way of
replacing them (nothing of the old lab stays on screen or in Back). Its `description:`, what
the trainee should find, is shown as the switch starts (a toast) and once the new lab is loaded
(a modal, esc closes). On a real cluster (no LabStart) it says why not and touches nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from irsa_explorer.navigation import History, Location
from irsa_explorer.widgets.format import literal

if TYPE_CHECKING:
    from irsa_explorer.sources.connect import Sources

NOT_ON_A_LAB = ("this explorer reads a real cluster ({context}); scenarios are the lab's — "
                "run `irsa-explorer lab --scenario NAME` (or `irsa-explorer learn`) for them")


@dataclass(frozen=True)
class LabStart:
    """How the explorer's lab was started, so another can be started the same way."""

    scenario: str  # a built-in name or a scenario file (a lesson's starting lab)
    extra_args: tuple[str, ...] = ()  # `lab serve` options: --latency, --throttle (not --scale: a scenario replaces it)
    directory: Path | None = None  # `learn --dir`: kubeconfig, aws.env and progress.json stay there

    @property
    def name(self) -> str:
        return Path(self.scenario).stem if "/" in self.scenario else self.scenario


def without_scale(extra_args: tuple[str, ...]) -> tuple[str, ...]:
    """`lab serve` options but `--scale N`: a switch to a scenario is that scenario."""
    out, skip = [], False
    for arg in extra_args:
        if skip:
            skip = False
        elif arg == "--scale":
            skip = True
        elif not arg.startswith("--scale="):
            out.append(arg)
    return tuple(out)


@cache
def _description(path: str, mtime: float) -> str:
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return f"(cannot be read: {error})"
    text = document.get("description") if isinstance(document, dict) else None
    return " ".join(str(text or "").split()) or "(no description)"


def scenario_description(name: str) -> str:
    """A scenario's `description:` (what the trainee should find), as one line."""
    from irsa_explorer.lab.scenario.builtin import scenario_path

    path = scenario_path(name)
    return _description(str(path), path.stat().st_mtime)


def scenario_catalogue() -> list[tuple[str, str]]:
    """Every built-in scenario with its description, as the picker lists them."""
    from irsa_explorer.lab.scenario.builtin import builtin_scenarios

    return [(name, scenario_description(name)) for name in builtin_scenarios()]


def lab_of(app) -> LabStart | None:
    """The lab the explorer runs on; None on a real cluster."""
    return getattr(app, "lab_start", None)


# -- the screens ------------------------------------------------------------------------------------


class ScenarioPickerScreen(ModalScreen[str | None]):
    """The built-in scenarios, each with its description; enter switches, esc keeps the lab."""

    BINDINGS = [Binding("escape,q", "dismiss(None)", "Cancel", id="scenario_picker.cancel", tooltip="Keep this lab")]
    DEFAULT_CSS = """
    ScenarioPickerScreen { align: center middle; }
    ScenarioPickerScreen #scenario-list { width: 90%; height: 90%; border: round $accent; background: $surface; }
    """

    def __init__(self, choices: list[tuple[str, str]], current: str | None) -> None:
        super().__init__(classes="picker")
        self.choices, self.current = choices, current

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(Content("\n").join([literal(name, "b"), literal(f"  {words}", "$text-muted")]), id=name)
                               for name, words in self.choices), id="scenario-list")
        options.border_title = "Scenario: the lab starts again with it (enter switches · esc keeps this one)"
        yield options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [name for name, _ in self.choices]
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ScenarioBriefScreen(ModalScreen[None]):
    """A scenario's description — what the trainee should find — once its lab is loaded."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="scenario_brief.close", tooltip="Close")]
    DEFAULT_CSS = """
    ScenarioBriefScreen { align: center middle; }
    ScenarioBriefScreen #scenario-brief { width: 70%; max-height: 70%; height: auto; border: round $accent;
                                          background: $surface; padding: 1 2; }
    """

    def __init__(self, name: str, description: str) -> None:
        super().__init__(id="scenario-brief-screen")
        self.name_text, self.description = name, description

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scenario-brief") as box:
            box.border_title = literal(f"Scenario {self.name_text} (esc closes)")
            yield Static(Content("\n").join([literal("What to find", "b $secondary"), literal(self.description)]),
                         id="scenario-brief-text")


# -- the switch ------------------------------------------------------------------------------------


def pick_scenario(app, name: str | None = None) -> None:
    """`:scenario NAME`: that scenario now; alone: the picker. Only on a lab."""
    from irsa_explorer.lab.scenario.builtin import builtin_scenarios

    lab = lab_of(app)
    if lab is None:
        app.notify(NOT_ON_A_LAB.format(context=app.context_name), title="Not a lab", severity="warning", timeout=10,
                   markup=False)
        return
    names = builtin_scenarios()
    if name is not None:
        if name in names:
            switch_scenario(app, name)
        else:
            app.notify(f"No scenario {name}. Built in: {', '.join(names)}", severity="warning", markup=False)
        return

    def picked(choice: str | None) -> None:
        if choice:
            switch_scenario(app, choice)

    app.push_screen(ScenarioPickerScreen(scenario_catalogue(), lab.name), picked)


def switch_scenario(app, name: str) -> None:
    """The lab replaced by a fresh one of built-in scenario `name`, its description shown."""
    lab = lab_of(app)
    assert lab is not None
    if lab_starting(app):
        app.notify("A lab is starting: switch once it is up.", severity="warning")
        return
    description = scenario_description(name)
    app.notify(f"Starting scenario {name}: {description}", title="Scenario", timeout=10, markup=False)

    def loaded() -> None:
        app.push_screen(ScenarioBriefScreen(name, description))

    switch_lab(app, replace(lab, scenario=name), f"starting the lab ({name})…", loaded)


def lab_starting(app) -> bool:
    """A lab is starting (the first, or a switch): another waits until it is up (or failed)."""
    return any(worker.name == "connect" and not worker.is_finished for worker in app.workers)


def switch_lab(app, lab: LabStart, stage: str, then: Callable[[], None] | None = None) -> None:
    """Stop the explorer's lab and start `lab` in its place (a worker named `connect`); then its
    sources through `use_sources`, and `then()` on the UI thread."""
    for worker in list(app.workers):  # what asked the old lab: dropped, not reported as failures
        if worker.node is app and worker.group not in ("lesson", "lesson-run"):
            worker.cancel()
    app._watch_stop.set()  # the old lab's watches end (start_loading makes the next one)
    old, app.sources = app.sources, None
    app.lab_start = lab
    app.state.forget_cluster()
    app.state.stage, app.state.error = stage, None
    app.history = History(Location("pods"))
    if (lesson := getattr(app, "lesson_state", None)) is not None:  # `x` waits for the lab (learn.py)
        lesson.lab_ready, lesson.note = False, "starting the lab…"
        for panel in app.lesson_panels():
            panel.show()
    app.refresh_views()
    _restart_lab(app, old, lab, then)


@work(thread=True, exclusive=True, exit_on_error=False, group="connect", name="connect", description="switch the lab")
def _restart_lab(app, old: Sources | None, lab: LabStart, then: Callable[[], None] | None) -> None:
    from irsa_explorer.sources.connect import lab_in_background

    if old is not None:
        old.close()  # stops the old lab (for_lab's close): its process is gone before the next starts
    connect, stop = lab_in_background(lab.scenario, list(lab.extra_args),
                                      str(lab.directory) if lab.directory is not None else None)
    try:
        sources = connect()
    except BaseException:
        stop()
        raise  # the worker's failure: "Could not load the cluster: the lab did not start: …"
    if get_current_worker().is_cancelled or not app.is_running:  # switched again, or the app left meanwhile
        sources.close()
        return
    app.call_from_thread(_use_lab, app, sources, then)


def _use_lab(app, sources: Sources, then: Callable[[], None] | None) -> None:
    app.use_sources(sources)
    if (ready := getattr(app, "lab_ready", None)) is not None:  # the lesson's part (learn.py)
        ready()
    if then is not None:
        app.call_after_refresh(then)
