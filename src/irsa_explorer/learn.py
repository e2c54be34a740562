"""`irsa-explorer learn [LESSON] [--dir D]`: the explorer on a fresh lab, a lesson panel beside it.

The lesson file is read and checked whole first (a bad one is its problems on stderr, exit 2,
nothing started). Then the lab starts as `lab` starts it (`lab serve` in a subprocess), with
its kubeconfig and aws.env written into D for a second terminal, and the explorer opens with
a `LessonPanel` on every view (`LessonExplorer`, a mixin over the configured App class).

The lesson advances by itself: whenever the explorer's data changes (a watch event, a load,
facts read again) a worker reads the lab afresh through the same sources and engine
(`lessons.observe`) and `LessonRun.observed` decides the checks; progress.json in D follows.
The AWS side is not watched, and a trainee's `aws iam …` must show within seconds: every
couple of seconds a poll asks the lab's event history for the newest write of each account
(`lessons.observe.last_writes`, one call each) and reads the lab whole only when it moved —
or when the history cannot be read, and every FULL_EVERY polls as a safety net for a change
no write event tells (an idle class of 30 read its labs whole every 2 s: most of its CPU).
A step that completes reloads the explorer's view, so the panes show what the lesson saw.
"""

from __future__ import annotations

import argparse
import sys
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from irsa_explorer.commands import Ask, ask_before
from irsa_explorer.lessons import Lesson, LessonError, LessonRun, all_checks, lesson_scenario_file, load_lesson, observe
from irsa_explorer.lessons.checks import LabView, split_name
from irsa_explorer.lessons.commands import CommandOutcome, run_command
from irsa_explorer.lessons.observe import last_writes
from irsa_explorer.messages import ChainsResolved, Connected, FactsReread, InventoryStaged, KubeChanged
from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import PANES, Location
from irsa_explorer.screens.view import ViewScreen
from irsa_explorer.sources.connect import Sources
from irsa_explorer.widgets.lesson_panel import LessonPanel, PanelState

POLL_SECONDS = 2.0  # how often the lesson asks the lab's event history whether AWS changed
FULL_EVERY = 10  # every this many polls the lab is read whole regardless (~20 s: a safety net)
HIGHLIGHT = "lesson-pointed"  # the class of the pane the current step talks about


@dataclass
class LessonObserved(Message):
    """What the lesson's worker read of the lab (or why it could not)."""

    view: LabView | None
    error: str | None = None
    run: object = None  # the LessonRun it was read for: another lesson's (picked meanwhile) is dropped
    why: str = "change"  # LessonExplorer.lesson_reads' key
    marks: tuple[str, ...] | None = None  # last_writes as of (just before) this read


@dataclass
class LessonCommandsRan(Message):
    step: str
    outcomes: list[CommandOutcome]


class LessonExplorer(App):
    """The lesson's part of the explorer: put first among the App's bases (learn_app_class)."""

    BINDINGS = [
        Binding("h", "lesson_hint", "Hint", id="learn.hint", tooltip="The lesson's next hint for this step"),
        Binding("o", "lesson_solution", "Solution", id="learn.solution", tooltip="The step's solution"),
        Binding("x", "lesson_run", "Run step", id="learn.run",
                tooltip="Run the step's aws / kubectl commands against the lab (output in the panel)"),
    ]
    # App-level CSS (not DEFAULT_CSS, which the stylesheet's `.pane` borders win over)
    CSS = f"""
    .{HIGHLIGHT} {{ border: double $warning !important; border-title-color: $text-warning !important; }}
    """

    def __init__(self, *args, lesson: Lesson | None, directory: Path | None, lab_start=None, **kwargs) -> None:
        """`lesson` None: plain `lab`, no panel until `:learn` starts one (screens/learn_picker.py);
        `lab_start`: how the lab was started (screens/scenario_switch.LabStart), for `:scenario`."""
        super().__init__(*args, **kwargs)
        self.lesson_run: LessonRun | None = LessonRun(lesson, directory) if lesson is not None else None
        self.lesson_state = PanelState(directory or Path())
        self.lab_start = lab_start
        self._lesson_checking = False
        self._lesson_dirty = True
        self._lesson_pointed: str | None = None  # the step whose pod and pane were shown
        # polls: the history asked first, the lab read whole only if a write came since `_lesson_marks`
        self._lesson_polled: str | None = None  # "poll", or "fallback" (read whole regardless)
        self._lesson_polls, self._lesson_marks = 0, None
        self.lesson_full_every: int | None = FULL_EVERY
        # how each look went: "history" (no write since: not read), "write", "unread" (no history),
        # "fallback" (the FULL_EVERY-th poll), "change" (data changed, commands ran, another lesson)
        self.lesson_reads: Counter[str] = Counter()
        self.lesson_advanced_by: str | None = None  # the `why` of the look that last completed a step

    # -- start ---------------------------------------------------------------------------------------

    def on_mount(self) -> None:  # runs before the explorer's own on_mount (Textual calls both)
        if getattr(self, "sources", None) is None:  # the lab starts in the explorer's connect worker
            self.lesson_state.note = "starting the lab…"
        else:
            self.lesson_state.lab_ready = True
        self.screen_change_signal.subscribe(self, self._lesson_screen_changed)
        self.set_interval(POLL_SECONDS, self._lesson_poll, name="lesson")

    def _lesson_screen_changed(self, screen: Screen) -> None:
        if self.lesson_run is None:
            return
        if isinstance(screen, ViewScreen) and not screen.query(LessonPanel):
            screen.call_after_refresh(self._lesson_mount_panel, screen)
        else:
            self._lesson_show()

    def _lesson_mount_panel(self, screen: ViewScreen) -> None:
        if not screen.query(LessonPanel):
            screen.mount(LessonPanel(self.lesson_run, self.lesson_state, id="lesson"))
        self._lesson_show()

    def lesson_panels(self) -> list[LessonPanel]:
        return [panel for screen in self.screen_stack for panel in screen.query(LessonPanel)]

    def _lesson_show(self) -> None:
        for panel in self.lesson_panels():
            panel.show()
        self._lesson_point()

    # -- keeping up with the lab ------------------------------------------------------------------------

    @on(Connected)
    def _lesson_connected(self, message: Connected) -> None:
        self.lesson_state.lab_ready, self.lesson_state.note = True, ""
        self._lesson_show()
        self._lesson_check()

    @on(Worker.StateChanged)
    def _lesson_worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "connect" and event.state == WorkerState.ERROR:  # the lab did not start
            self.lesson_state.note = f"The lab did not start: {event.worker.error}"
            self._lesson_show()

    @on(KubeChanged)
    @on(InventoryStaged)
    @on(FactsReread)
    @on(ChainsResolved)
    def _lesson_data_changed(self, message: Message) -> None:
        """The explorer's data changed: check again (now, or once the check under way ends)."""
        self._lesson_dirty = True
        self._lesson_check()

    def _lesson_poll(self) -> None:
        if self.lesson_run is None or self.lesson_run.complete:  # what the last step confirmed is still followed on data changes
            return
        self._lesson_polls += 1
        every = self.lesson_full_every
        whole = every and self._lesson_polls % every == 0 or not getattr(self, "_watch_enabled", True)  # unwatched: as before
        self._lesson_polled = "fallback" if whole else self._lesson_polled or "poll"
        self._lesson_check()

    def _lesson_check(self) -> None:
        sources = getattr(self, "sources", None)
        if sources is None or self.lesson_run is None or self._lesson_checking:
            return
        if not self._lesson_dirty and self._lesson_polled is None:
            return
        why = "change" if self._lesson_dirty else self._lesson_polled
        self._lesson_checking, self._lesson_dirty, self._lesson_polled = True, False, None
        checks = all_checks(self.lesson_run.lesson)
        run, known = self.lesson_run, self._lesson_marks
        self.run_worker(lambda: self._lesson_observe(sources, checks, run, why, known), name="lesson-check",
                        group="lesson", description="read the lab for the lesson's checks", thread=True,
                        exit_on_error=False)

    def _lesson_observe(self, sources: Sources, checks, run=None, why: str = "change", known=None) -> None:
        marks = last_writes(sources.aws)  # before the read: a write after this is the next poll's
        if why == "poll":
            if marks is not None and marks == known:  # nothing written since the last read
                self.post_message(LessonObserved(None, run=run, why="history", marks=marks))
                return
            why = "write" if marks is not None else "unread"
        try:
            view = observe(sources.kube, sources.aws, checks, sources.cluster_name)
        except Exception as error:  # one line in the panel; tried again at the next change or poll
            self.post_message(LessonObserved(None, f"could not read the lab: {type(error).__name__}: {error}", run, why))
            return
        self.post_message(LessonObserved(view, run=run, why=why, marks=marks))

    @on(LessonObserved)
    def _lesson_observed(self, message: LessonObserved) -> None:
        if message.run is not self.lesson_run:  # read for the lesson before `:learn` picked another
            return
        self._lesson_checking = False
        self.lesson_reads[message.why] += 1
        if message.why != "history":  # a read (or a failed one: the next poll reads again)
            self._lesson_marks = message.marks if message.view is not None else None
        if self.lesson_run is None:
            return
        if message.view is None and message.why == "history":
            self._lesson_check()  # something may have changed meanwhile
            return
        if message.view is None:
            self.lesson_state.note = message.error or ""
            self._lesson_show()
            return
        self.lesson_state.note = ""
        advance = self.lesson_run.observed(message.view)
        if advance.done:
            self.lesson_advanced_by = message.why
            titles = ", ".join(s.title for s in self.lesson_run.lesson.steps if s.id in advance.done)
            self.notify(f"Done: {titles}", title="Lesson", timeout=6)
            self.action_refresh()  # the explorer's panes show what the lesson just saw
        if advance.completed:
            challenge = self.lesson_run.lesson.kind == "challenge"
            self.notify("Fixed: challenge complete — the panel says what you learned." if challenge
                        else "Every step is done: lesson complete.", title="Lesson", timeout=10)
        if advance.wrong_way:
            self.notify(advance.wrong_way, title="Lesson", severity="warning", timeout=12)
        self._lesson_show()
        self._lesson_check()  # something changed while it was reading

    def _lesson_point(self) -> None:
        """Point at what the current step talks about: its pod selected with its pane open
        (once per step), and that pane highlighted."""
        if self.lesson_run is None:
            return
        # once complete: the last step's pod (eks-iam-test3 and the role it gets)
        step = self.lesson_run.current or self.lesson_run.lesson.steps[-1]
        screen = self.screens_by_view.get("pods") if hasattr(self, "screens_by_view") else None
        if screen is None or not screen.live:
            return
        pane = step.pane
        for widget in screen.query(f".{HIGHLIGHT}"):
            if widget.id != pane:
                widget.remove_class(HIGHLIGHT)
        if pane:
            for widget in screen.query(f"#{pane}"):
                widget.add_class(HIGHLIGHT)
        pointed = step.id + (":complete" if self.lesson_run.complete else "")
        if pointed == self._lesson_pointed or self.screen is not screen:
            return
        if step.pod:
            namespace, name = split_name(step.pod)
            if self.state.pod_by_ref(namespace, name) is None:
                return  # not there yet: pointed at once it is
            self._lesson_pointed = pointed
            self.go(Location("pods", ObjectRef("Pod", name, namespace), step.pane if step.pane in PANES else None))
        else:
            self._lesson_pointed = pointed

    # -- another lesson, another lab (screens/learn_picker.py, screens/scenario_switch.py) ---------------

    def use_lesson(self, lesson: Lesson, directory: Path) -> None:
        """Show `lesson` (its progress in `directory`) in the panel, on every view; its lab starts
        apart (scenario_switch.switch_lab), `lab_ready` says when it is up."""
        self.lesson_run = LessonRun(lesson, directory)
        self.lesson_state = PanelState(directory, note="starting the lab…")
        self._lesson_pointed, self._lesson_checking, self._lesson_dirty = None, False, True
        self._lesson_polled, self._lesson_marks = None, None  # another lab: its own history
        for panel in self.lesson_panels():
            panel.run, panel.state = self.lesson_run, self.lesson_state
        if isinstance(self.screen, ViewScreen):
            self._lesson_mount_panel(self.screen)

    def lab_ready(self) -> None:
        """A switched lab is up (scenario_switch): the lesson checks it."""
        self.lesson_state.lab_ready, self.lesson_state.note = True, ""
        self._lesson_dirty = True
        self._lesson_show()
        self._lesson_check()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action.startswith("lesson_") and self.lesson_run is None:
            return False  # plain `lab`: no lesson keys in the footer until `:learn` starts one
        return super().check_action(action, parameters)

    # -- keys -------------------------------------------------------------------------------------------

    def action_zoom(self) -> None:
        """`z` on the lesson panel: the lesson over the whole screen (at 80 columns its third is
        narrow), and back; elsewhere the explorer's own zoom."""
        screen, node = self.screen, self.focused
        if screen.maximized is None and isinstance(node, LessonPanel):
            screen.maximized = node
            return
        super().action_zoom()

    def action_lesson_hint(self) -> None:
        step = self.lesson_run.current if self.lesson_run is not None else None
        if step is None:
            return
        if self.lesson_run.hint() is None:
            self.notify("No more hints for this step: o shows the solution.", title="Lesson")
        self._lesson_show()

    def action_lesson_solution(self) -> None:
        step = self.lesson_run.current if self.lesson_run is not None else None
        if step is None:
            return
        if self.lesson_run.show_solution() is None:
            self.notify("This step has no written solution: its commands are it.", title="Lesson")
        self.lesson_state.solution_for.add(step.id)
        self._lesson_show()

    def action_lesson_run(self) -> None:
        step = self.lesson_run.current if self.lesson_run is not None else None
        if step is None or self.lesson_state.running:
            return
        if not self.lesson_state.lab_ready:
            self.notify("The lab is still starting.", title="Lesson")
            return
        directory = self.lesson_state.directory
        commands = "\n\n".join(c.run for c in step.commands) or "(this step has no commands)"
        ask = Ask("lesson-commands", "Run this step's commands against the lab?",
                  f"With bash in {directory}, KUBECONFIG={directory / 'kubeconfig'} and {directory / 'aws.env'} "
                  f"(the lab's cluster and account, nothing else):\n\n{commands}",
                  "Read-only: the lesson's commands are not run (they create objects in the lab); type them yourself.")
        ask_before(self, ask, lambda: self._lesson_run_commands(step, directory))  # asked once a session

    def _lesson_run_commands(self, step, directory: Path) -> None:
        self.lesson_state.running, self.lesson_state.outcomes, self.lesson_state.outcomes_step = True, [], step.id
        self._lesson_show()

        def work() -> None:
            outcomes: list[CommandOutcome] = []
            for command in step.commands:
                outcomes.append(outcome := run_command(command, directory))
                if outcome.exit_code != 0:
                    break  # as a trainee would stop at an error
            self.post_message(LessonCommandsRan(step.id, outcomes))

        self.run_worker(work, name="lesson-run", group="lesson-run", description="run the step's commands",
                        thread=True, exit_on_error=False)

    @on(LessonCommandsRan)
    def _lesson_commands_ran(self, message: LessonCommandsRan) -> None:
        self.lesson_state.running = False
        self.lesson_state.outcomes, self.lesson_state.outcomes_step = message.outcomes, message.step
        self._lesson_dirty = True
        self._lesson_show()
        self._lesson_check()


def learn_app_class(app_class: type) -> type:
    """The configured explorer class with the lesson's part first (Textual finds the CSS beside
    the module the class names: the App's)."""
    # BINDINGS in full on the class itself: help (`?`, screens/modals.key_help) reads `app.BINDINGS`,
    # which would otherwise be the lesson's three only
    bindings = [*app_class.BINDINGS, *LessonExplorer.BINDINGS]
    return type("IrsaExplorerLearn", (LessonExplorer, app_class), {"__module__": app_class.__module__, "BINDINGS": bindings})


def run_learn(args: argparse.Namespace) -> int:
    """`irsa-explorer learn`. Returns the exit code."""
    from irsa_explorer.lab.launcher import missing_lab_extra
    from irsa_explorer.launch import configured, run_app
    from irsa_explorer.screens.scenario_switch import LabStart
    from irsa_explorer.sources.connect import lab_in_background

    try:
        lesson = load_lesson(args.lesson)
    except LessonError as problem:
        print(f"irsa-explorer learn: {problem}", file=sys.stderr)
        return 2
    missing = missing_lab_extra()
    if missing:
        print(f"irsa-explorer learn: {missing}", file=sys.stderr)
        return 2
    chosen = configured(args)
    if chosen is None:
        return 2
    directory = Path(args.dir).expanduser().resolve() if args.dir else Path(tempfile.mkdtemp(prefix="irsa-learn-"))
    directory.mkdir(parents=True, exist_ok=True)
    scenario = lesson_scenario_file(lesson, directory)
    app_class, options = chosen
    connect, stop = lab_in_background(str(scenario), directory=str(directory))  # the files kept: progress.json is the trainee's
    app = learn_app_class(app_class)(
        lesson=lesson, directory=directory, connect=connect, lab_start=LabStart(str(scenario), (), directory),
        connect_label=f"starting the lab for lesson {lesson.name}…", **options,
    )
    try:
        status = run_app(app)  # 1 after a crash (CleanCrash), its one line on stderr
    finally:
        stop()
        if not args.dir:  # a folder of our own: the dead lab's keys and CA go with it
            shutil.rmtree(directory, ignore_errors=True)
    if status:
        return status
    run = app.lesson_run
    done = sum(1 for s in run.progress.steps if s.done)
    kept = f"progress in {directory / 'progress.json'}" if args.dir else "its folder removed (--dir D keeps the progress)"
    print(f"{run.lesson.kind} {run.lesson.name}: {done}/{len(run.progress.steps)} steps done"  # :learn may have picked another
          + (" — complete" if run.complete else "") + f"; {kept}")
    return 0
