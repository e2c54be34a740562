"""Lessons: the walkthrough (and a trainer's own) as steps a trainee does on a lab, each with the
concept, the commands to type, hints, the solution, and checks that advance it by themselves.

    from irsa_explorer.lessons import load_lesson, LessonRun, observe
    lesson = load_lesson("walkthrough")          # or a file; LessonError before anything starts
    run = LessonRun(lesson, directory)           # writes directory/progress.json
    run.observed(observe(kube, aws, all_checks(lesson)))   # steps done now, the lesson complete

Modules: format (a lesson as values), parse (reading and checking a whole file; the starting
lab is a scenario: lab/scenario/), checks (the declarative checks, decided on the engine's
chains and the sources' facts), observe (reading the lab for them), run (a trainee's way
through: steps done, hints, progress), progress (progress.json, written atomically), commands
(running a step's commands against the lab). The files are package data in builtin/. The
format is documented in docs/lessons.md; `irsa-explorer learn` (learn.py) is the TUI.
"""

from .checks import CHECKS, CheckResult, LabView, evaluate
from .format import Check, Command, Lesson, LessonStep, WrongWay
from .observe import observe
from .parse import DEFAULT_LESSON, LessonError, builtin_lessons, lesson_path, lesson_scenario_file, load_lesson, parse_lesson
from .progress import PROGRESS_FILE, Progress, read_progress
from .run import Advance, LessonRun


def all_checks(lesson: Lesson) -> list[Check]:
    """Every check of a lesson (its steps' and its wrong ways'): what `observe` reads for."""
    return [c for s in lesson.steps for c in s.checks] + [c for w in lesson.wrong_ways for c in w.checks]


__all__ = [
    "CHECKS", "DEFAULT_LESSON", "PROGRESS_FILE", "Advance", "Check", "CheckResult", "Command", "LabView", "Lesson",
    "LessonError", "LessonRun", "LessonStep", "Progress", "WrongWay", "all_checks", "builtin_lessons", "evaluate",
    "lesson_path", "lesson_scenario_file", "load_lesson", "observe", "parse_lesson", "read_progress",
]
