"""`:learn [NAME]`: the lessons and challenges, with their descriptions and the trainee's progress;
picking one starts it on the explorer's lab.

Listed: the built-in lessons (`lessons.builtin_lessons()`: a challenge file added to
lessons/builtin/ is listed with no change here) and a trainer's own lesson files, the *.yaml of
the folder $IRSA_EXPLORER_LESSONS names. A file that does not parse is listed with its first
problem and cannot be picked. Progress is what progress.json in the lesson folder says
(`lessons.read_progress`): the lesson running now, and the lessons done before in that folder
(their progress.json kept as progress-NAME.json when another lesson starts there).

Picking one, inside `learn` or plain `lab`: the lab is replaced by a fresh one of the lesson's
starting scenario (scenario_switch.switch_lab, in the lesson's folder, so its kubeconfig and
aws.env stay where the panel's two lines say) and the panel shows the lesson (learn.py,
`use_lesson`). Against a real cluster it says lessons need the lab and touches nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from irsa_explorer.screens.scenario_switch import LabStart, lab_of, lab_starting, switch_lab
from irsa_explorer.widgets.format import literal
from irsa_explorer.widgets.lesson_panel import prose

LESSONS_ENV = "IRSA_EXPLORER_LESSONS"  # a folder of a trainer's lesson files
NEEDS_THE_LAB = ("lessons run on a lab of their own, and this explorer reads a real cluster ({context}), which a "
                 "lesson would change: run `irsa-explorer learn {name}`")


@dataclass(frozen=True)
class LessonEntry:
    """One line of the picker: a lesson file as the picker shows it."""

    name: str  # the lesson's name (progress.json's `lesson`)
    source: str  # what load_lesson takes: a built-in name or a file
    title: str
    description: str
    kind: str  # "lesson", "challenge"; "" when the file cannot be used
    problem: str | None = None


@cache
def _entry(source: str, path: str, mtime: float) -> LessonEntry:
    from irsa_explorer.lessons import LessonError, load_lesson

    try:
        lesson = load_lesson(source)
    except LessonError as error:
        first = error.problems[0] if error.problems else error
        return LessonEntry(Path(path).stem, source, Path(path).stem, "", "", f"cannot be used: {first}")
    return LessonEntry(lesson.name, source, lesson.title, " ".join(lesson.description.split()), lesson.kind)


_read: list[list[LessonEntry]] = []  # the last catalogue read: the palette lists lessons once there is one


def lesson_catalogue() -> list[LessonEntry]:
    """Every lesson and challenge there is: built in (lessons first), then the trainer's folder.
    Each file is read and checked whole (a second or two for all, the first time; then only a
    file that changed is read again): call it from a thread."""
    from irsa_explorer.lessons import builtin_lessons, lesson_path

    entries = []
    for name in builtin_lessons():
        path = lesson_path(name)
        entries.append(_entry(name, str(path), path.stat().st_mtime))
    entries.sort(key=lambda e: (e.kind != "lesson", e.name))
    if folder := os.environ.get(LESSONS_ENV):
        for path in sorted(Path(folder).expanduser().glob("*.yaml")):
            entries.append(_entry(str(path.resolve()), str(path), path.stat().st_mtime))
    _read[:] = [entries]
    return entries


def catalogue_if_read() -> list[LessonEntry] | None:
    """The lessons for the palette, without reading a file on the event loop: None (and a read
    begun in a thread) until they have been read once."""
    if not _read:
        import threading

        threading.Thread(target=lesson_catalogue, name="lesson-files", daemon=True).start()
        return None
    return lesson_catalogue()


def _archived(directory: Path, name: str) -> Path:
    return directory / f"progress-{name}.json"


def progress_words(entry: LessonEntry, directory: Path | None) -> str:
    """What the lesson folder says of this lesson: not started, step k of n, complete."""
    from irsa_explorer.lessons import read_progress

    if directory is None:
        return "not started"
    said = read_progress(directory)
    if not said or said.get("lesson") != entry.name:
        try:
            said = json.loads(_archived(directory, entry.name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "not started"
    steps = said.get("steps") or []
    done = sum(1 for step in steps if isinstance(step, dict) and step.get("done"))
    if said.get("complete"):
        return f"complete ({done}/{len(steps)} steps)"
    return f"{done}/{len(steps)} steps done" + (f", {said.get('hints_used')} hints" if said.get("hints_used") else "")


def lesson_folder(app) -> Path | None:
    """The folder of the lesson running now (its progress.json), if any."""
    return app.lesson_state.directory if getattr(app, "lesson_run", None) is not None else None


class LearnPickerScreen(ModalScreen[str | None]):
    """The lessons and challenges; enter starts the highlighted one, esc keeps what runs."""

    BINDINGS = [Binding("escape,q", "dismiss(None)", "Cancel", id="learn_picker.cancel", tooltip="Keep this lab")]
    DEFAULT_CSS = """
    LearnPickerScreen { align: center middle; }
    LearnPickerScreen #learn-list { width: 90%; height: 90%; border: round $accent; background: $surface; }
    """

    def __init__(self, entries: list[LessonEntry], directory: Path | None, current: str | None, title: str) -> None:
        super().__init__(classes="picker")
        self.entries, self.directory, self.current, self.title_text = entries, directory, current, title

    def lines(self, entry: LessonEntry) -> Content:
        if entry.problem:
            return Content("\n").join([literal(entry.name, "b"), literal(f"  {entry.problem}", "$text-error")])
        now = " · running now" if entry.name == self.current else ""
        return Content("\n").join([
            literal(f"{entry.kind}  {entry.name}: {entry.title}", "b"),
            prose(entry.description, "  ", "$text-muted"),
            literal(f"  {progress_words(entry, self.directory)}{now}", "$text-accent"),
        ])

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(self.lines(e), id=e.source, disabled=bool(e.problem)) for e in self.entries),
                             id="learn-list")
        options.border_title = self.title_text
        yield options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [e.name for e in self.entries]
        options.highlighted = names.index(self.current) if self.current in names else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @property
    def text(self) -> str:
        return "\n".join(self.lines(e).plain for e in self.entries)


def pick_lesson(app, name: str | None = None) -> None:
    """`:learn NAME`: that lesson now; alone: the picker (on a real cluster too: it says why not).
    The lesson files are read in a worker."""

    def read() -> None:
        try:
            entries = lesson_catalogue()
        except Exception as error:  # a folder that cannot be listed: one line, the view kept
            app.call_from_thread(app.notify, f"Cannot read the lessons: {error}", severity="error", markup=False)
            return
        app.call_from_thread(_offer, app, entries, name)

    app.run_worker(read, name="lessons", group="lessons", description="read the lesson files", thread=True,
                   exit_on_error=False)


def _offer(app, entries: list[LessonEntry], name: str | None) -> None:
    if name is not None:
        entry = next((e for e in entries if name in (e.name, e.source)), None)
        if entry is None:
            app.notify(f"No lesson {name}. There are: {', '.join(e.name for e in entries)}", severity="warning", markup=False)
        else:
            start_lesson(app, entry)
        return
    current = app.lesson_run.lesson.name if getattr(app, "lesson_run", None) is not None else None
    title = ("Learn: a lesson or challenge on a fresh lab (enter starts · esc keeps this one)" if lab_of(app) is not None
             else "Learn: lessons need the lab (irsa-explorer learn NAME) · esc closes")

    def picked(source: str | None) -> None:
        if source:
            start_lesson(app, next(e for e in entries if e.source == source))

    app.push_screen(LearnPickerScreen(entries, lesson_folder(app), current, title), picked)


def start_lesson(app, entry: LessonEntry) -> None:
    """The lesson in the panel, its starting lab in place of the explorer's (scenario_switch)."""
    from irsa_explorer.lessons import LessonError, lesson_scenario_file, load_lesson

    lab = lab_of(app)
    if lab is None:
        app.notify(NEEDS_THE_LAB.format(context=app.context_name, name=entry.name), title="Lessons need the lab",
                   severity="warning", timeout=12, markup=False)
        return
    if entry.problem:
        app.notify(f"{entry.name}: {entry.problem}", severity="error", markup=False)
        return
    if lab_starting(app):
        app.notify("A lab is starting: pick a lesson once it is up.", severity="warning")
        return
    try:
        lesson = load_lesson(entry.source)
    except LessonError as error:  # changed since it was listed
        app.notify(str(error), severity="error", markup=False)
        return
    directory = lesson_folder(app) or lab.directory
    if directory is None:  # plain `lab`: a folder of its own, removed when lab exits (launch.run_lab)
        directory = app.lesson_temp_folder = Path(tempfile.mkdtemp(prefix="irsa-learn-"))
    running = app.lesson_run.lesson.name if getattr(app, "lesson_run", None) is not None else None
    if running is not None and (directory / "progress.json").is_file():  # the lesson left: its progress kept
        shutil.copyfile(directory / "progress.json", _archived(directory, running))
    scenario = lesson_scenario_file(lesson, directory)
    app.use_lesson(lesson, directory)
    app.notify(f"Starting {lesson.kind} {lesson.name}: {lesson.title}", title="Learn", timeout=8, markup=False)
    switch_lab(app, LabStart(str(scenario), lab.extra_args, directory), f"starting the lab for {lesson.kind} {lesson.name}…")
