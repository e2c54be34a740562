"""The lesson panel (`irsa-explorer learn`): the current step's concept, the commands to type,
its checks as the lab shows them, hints and the solution when asked, and how to reach the lab
from a second terminal. It renders a `LessonRun` (lessons/run.py) and decides nothing: the
checks were decided on the engine's results.

Every string is shown literally (Content, no markup): a lesson file is a trainer's, command
output is whatever the lab and the CLIs printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from irsa_explorer.lessons import LessonRun
from irsa_explorer.lessons.commands import CommandOutcome
from irsa_explorer.navigation import PANE_TITLES
from irsa_explorer.widgets import live
from irsa_explorer.widgets.format import literal

# The keys the panel offers (learn.py binds them, with these ids, so a keymap can move them).
KEYS = (("h", "hint"), ("o", "solution"), ("x", "run the step's commands"), ("tab then z", "the lesson full screen"),
        ("tab then y", "copy the two lines for the second terminal"))
PANE_WORDS = {**{p: f"the {t} pane" for p, t in PANE_TITLES.items()}, "chain": "the identity chain", "pods": "the pods table"}
PANE_KEYS = {"service-account": "1", "token": "2", "role": "3", "trust-policy": "4", "live-identity": "5", "chain": "i"}


@dataclass
class PanelState:
    """What the panel shows beside the run: where the lab is, what the trainee asked for."""

    directory: Path
    lab_ready: bool = False
    note: str = ""  # one line: the lab is starting, a check could not be made …
    running: bool = False  # `x` is running the step's commands
    outcomes: list[CommandOutcome] = field(default_factory=list)  # of the last `x`, for its step
    outcomes_step: str | None = None
    solution_for: set[str] = field(default_factory=set)  # steps whose solution was asked for


def paste_lines(directory: Path) -> str:
    """The two lines a trainee pastes into a second terminal to reach the lab."""
    return f"export KUBECONFIG={directory / 'kubeconfig'}\nsource {directory / 'aws.env'}"


def paste_content(directory: Path) -> Content:
    """The two lines as drawn: literally (a folder's name may hold anything), escapes and all."""
    return literal(paste_lines(directory), lines=True)


class PasteStrip(Static):
    """The two lines to paste, across the whole screen above the explorer, when the panel is too
    narrow for them (80 columns): each whole on a row of its own — a wrapped line pastes as two
    broken commands, a row shared with the explorer copies the explorer's text with it. A `split`
    takes its own rows (the explorer and the panel are laid out below it): it covers nothing."""

    DEFAULT_CSS = """
    PasteStrip {
        split: top; width: 1fr; height: auto; display: none;
        text-wrap: nowrap; text-overflow: clip; padding: 0 1; background: $boost;
    }
    """


def prose(text: str, before: str = "", style: str = "") -> Content:
    """A paragraph as one line per paragraph: a `|` block in the file is wrapped at the file's
    width, the panel wraps at its own (blank lines still part paragraphs). What the file puts
    in backticks (a field, a command) is drawn as code, without them; all of it literally."""
    paragraphs = [" ".join(line.strip() for line in block.splitlines()) for block in text.strip().split("\n\n")]
    parts = (before + "\n\n".join(paragraphs)).split("`")
    if len(parts) % 2 == 0:  # a backtick left open: shown as it is
        parts = [*parts[:-2], parts[-2] + "`" + parts[-1]]
    return Content("").join(literal(part, CODE if index % 2 else style, lines=True) for index, part in enumerate(parts))


CODE = "bold $text-accent"  # what a lesson file puts in backticks


class LessonPanel(VerticalScroll, can_focus=True):
    """Beside the explorer, on every view (learn.py mounts one per screen); it mounts its
    `PasteStrip` beside itself and shows the paste lines there or in itself, as they fit."""

    BINDINGS = [
        Binding("y", "copy_paste_lines", "Copy the lines", id="learn.copy",
                tooltip="Copy the two lines for the second terminal (export KUBECONFIG, source aws.env)"),
    ]

    DEFAULT_CSS = """
    LessonPanel {
        dock: right;
        width: 42%;
        min-width: 34;
        max-width: 72;
        height: 1fr;
        border: round $warning 60%;
        border-title-color: $text-warning;
        padding: 0 1;
        background: $surface;
        scrollbar-size-vertical: 1;  /* a column more for the paste lines: at 160 columns they fit */
    }
    LessonPanel:focus { border: round $warning; }
    LessonPanel.-maximized { width: 100%; max-width: 100%; }
    LessonPanel > Static { width: 1fr; height: auto; margin-bottom: 1; }
    LessonPanel > .lesson-heading { text-style: bold; color: $text-warning; margin-bottom: 0; }
    LessonPanel > .lesson-command { background: $boost; padding: 0 1; }
    LessonPanel > .lesson-eksctl { color: $text-muted; margin-bottom: 0; }
    LessonPanel > .lesson-done { color: $text-success; }
    LessonPanel > .lesson-output { color: $text-muted; }
    /* the two lines to paste into a second terminal: never wrapped (a wrapped line pastes as two
       commands); wider than the panel (80 columns), they are in the PasteStrip instead */
    LessonPanel > .lesson-paste { text-wrap: nowrap; text-overflow: clip; padding: 0; }
    LessonPanel > .lesson-paste-where { display: none; color: $text-muted; }
    LessonPanel.-paste-outside > .lesson-paste { display: none; }
    LessonPanel.-paste-outside > .lesson-paste-where { display: block; }
    LessonPanel > .lesson-wrong { color: $text-error; text-style: bold; }
    """

    def __init__(self, run: LessonRun, state: PanelState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run, self.state = run, state
        self.border_title = "Lesson"
        self._said: list[tuple[str, str]] = []
        self.strip = PasteStrip(paste_content(state.directory), markup=False)

    def compose(self) -> ComposeResult:
        blocks = self._blocks()
        self._said = [(str(b.content), " ".join(sorted(b.classes))) for b in blocks]
        yield from blocks

    def on_mount(self) -> None:
        if self.parent is not None:
            self.parent.mount(self.strip)

    def on_unmount(self) -> None:
        if self.strip.is_attached:
            self.strip.remove()

    def on_resize(self) -> None:
        self._place_paste_lines()

    def _place_paste_lines(self) -> None:
        """In the panel when they fit on its rows whole, else in the strip. The scrollbar's column
        is counted whether it shows or not, so the lines do not move as the panel's text grows."""
        room = self.content_region.width - self.styles.scrollbar_size_vertical
        shown = str(paste_content(self.state.directory))  # as drawn: escapes and all
        outside = max(cell_len(line) for line in shown.splitlines()) > room
        self.set_class(outside, "-paste-outside")
        self.strip.display = outside

    def action_copy_paste_lines(self) -> None:
        """`y` on the panel: both lines to the clipboard (the terminal's, through OSC 52)."""
        self.app.copy_to_clipboard(paste_lines(self.state.directory))
        self.app.notify("Copied the two lines for the second terminal: paste them there.", markup=False)

    def show(self) -> None:
        """Draw the run as it is now (the app calls it whenever the run or the state may have
        changed); nothing is redrawn when it would say the same (the scroll position stays)."""
        if not live(self):
            return
        blocks = self._blocks()
        said = [(str(b.content), " ".join(sorted(b.classes))) for b in blocks]
        if str(self.strip.content) != str(lines := paste_content(self.state.directory)):
            self.strip.update(lines)  # a :learn to another folder
            self._place_paste_lines()
        if said == self._said:
            return
        self._said = said
        where = self.scroll_y  # a trainee reading the commands keeps their place as a check turns ✓
        with self.app.batch_update():
            self.remove_children()
            self.mount_all(blocks)
        self.call_after_refresh(self.scroll_to, y=where, animate=False)

    @property
    def text(self) -> str:
        """Everything the panel says, as plain text (tests, and a screen reader's copy)."""
        return "\n".join(str(w.content) for w in self.query(Static))

    # -- what it says ------------------------------------------------------------------------------

    def _blocks(self) -> list[Static]:
        run, state, lesson = self.run, self.state, self.run.lesson
        progress = run.progress
        done = sum(1 for s in progress.steps if s.done)
        blocks: list[Static] = []

        def add(text: str | Content, classes: str = "") -> None:
            # literal: control characters and escapes visible, a JWT's signature hidden (the output
            # of a trainee's `kubectl exec … cat token`), never markup
            blocks.append(Static(text if isinstance(text, Content) else literal(text, lines=True), classes=classes, markup=False))

        word = "Challenge" if lesson.kind == "challenge" else "Lesson"
        self.border_title = f"{word}: {lesson.title}"
        self.border_subtitle = f"{done}/{len(lesson.steps)} done"
        add("In a second terminal:" + ("" if state.lab_ready else " (the lab is starting: the files appear once it is ready)"),
            "lesson-heading")
        add(paste_lines(state.directory), "lesson-command lesson-paste")
        add("↑ at the top of the screen, whole (y here copies them)", "lesson-paste-where")
        if lesson.symptom:
            add(prose(lesson.symptom, "Reported: "))
        if lesson.goal:
            add(prose(lesson.goal, "Goal: "))
        if progress.wrong_way:  # a challenge's wrong fix, in place now: it completes nothing
            add(prose(progress.wrong_way, "⚠ "), "lesson-wrong")
        if not any(s.done for s in progress.steps) and lesson.description:
            add(prose(lesson.description))
        previous = self._just_done()
        if previous is not None and previous.learned and run.current is not None:  # once complete: in the list below
            add(prose(previous.learned, f"✓ {previous.title}: "), "lesson-done")
        step = run.current
        if step is None:
            add(f"✓ {word} complete", "lesson-heading")
            last = lesson.steps[-1]
            for result in run.step_progress(last.id).checks:  # what the last step confirmed, as the lab shows it now
                add(f"{'✓' if result.passed else '✗'} {result.why}", "lesson-done" if result.passed else "")
            add("What you learned:" if lesson.kind == "challenge" else "What each step showed:", "lesson-heading")
            for s in lesson.steps:
                add(prose(s.learned, f"✓ {s.title} — ") if s.learned else literal(f"✓ {s.title}"), "lesson-done")
        else:
            number = [s.id for s in lesson.steps].index(step.id) + 1
            add(f"Step {number}/{len(lesson.steps)}: {step.title}", "lesson-heading")
            if step.pane:
                key = PANE_KEYS.get(step.pane)
                add(f"Look at {PANE_WORDS.get(step.pane, step.pane)}" + (f" (key {key})" if key else "")
                    + (f", pod {step.pod}" if step.pod else ""))
            if step.explanation:
                add(prose(step.explanation))
            if step.commands:
                add("Type (in the second terminal):", "lesson-heading")
            for command in step.commands:
                if command.eksctl:
                    add(f"With eksctl (not in the lab): {command.eksctl}\nHere, the same with aws / kubectl:", "lesson-eksctl")
                if command.note:
                    add(f"# {command.note}", "lesson-eksctl")
                add(command.run, "lesson-command")
            add("The lab shows:", "lesson-heading")
            for check, result in zip(step.checks, run.step_progress(step.id).checks):
                mark = "✓" if result.passed else ("?" if result.passed is None else "✗")
                add(f"{mark} {result.why}")
            for index, hint in enumerate(run.hints_shown(step), 1):
                add(prose(hint, f"Hint {index}: "))
            if step.id in state.solution_for and step.solution:
                add("Solution:", "lesson-heading")
                add(step.solution, "lesson-command")
        if state.running:
            add("running the step's commands…", "lesson-output")
        if state.outcomes and state.outcomes_step:  # kept when the step they did is done
            ids = [s.id for s in lesson.steps]
            number = ids.index(state.outcomes_step) + 1 if state.outcomes_step in ids else "?"
            add(f"Output of step {number}'s commands:", "lesson-heading")
            for outcome in state.outcomes:
                code = "not run" if outcome.exit_code is None else f"exit {outcome.exit_code}"
                add(f"$ {outcome.command.run.splitlines()[0]}  ({code})\n{outcome.output.rstrip()}", "lesson-output")
        if state.note:
            add(state.note, "lesson-output")
        add("Keys: " + " · ".join(f"{key} {what}" for key, what in KEYS) + f"\nProgress: {state.directory / 'progress.json'}",
            "lesson-output")
        return blocks

    def _just_done(self):
        """The step done last, while the next one is current (its 'what you learned')."""
        steps, progress = self.run.lesson.steps, self.run.progress
        done = [s for s in progress.steps if s.done and s.done_at]
        if not done:
            return None
        last = max(done, key=lambda s: (s.done_at or "", [x.id for x in steps].index(s.id)))
        return self.run.lesson.step(last.id)
