"""A trainee's way through a lesson: which steps are done, hints asked for, progress.json.

`LessonRun.observed(view)` decides every step's checks on what was read of the lab
(lessons/checks.py) and moves on by itself: a step is done once all its checks hold (and no
wrong way of a challenge is in place), and stays done; the current step is the first not done; the lesson is complete when every step is done.
Each change is written to DIR/progress.json at once (progress.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .checks import CheckResult, LabView, evaluate
from .format import Lesson, LessonStep
from .progress import CheckState, Progress, StepProgress, now_iso


@dataclass(frozen=True)
class Advance:
    """What one observation changed: steps newly done, the lesson newly complete."""

    done: tuple[str, ...] = ()
    completed: bool = False
    wrong_way: str | None = None  # a challenge's wrong fix, newly recognised

    def __bool__(self) -> bool:
        return bool(self.done or self.completed or self.wrong_way)


@dataclass
class LessonRun:
    lesson: Lesson
    directory: Path | None = None  # where progress.json goes (None: nowhere, e.g. a test)
    progress: Progress = field(init=False)
    results: dict[str, list[CheckResult]] = field(default_factory=dict)  # by step id, as last observed
    observations: int = 0
    _saved: dict | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.progress = Progress(
            self.lesson.name, self.lesson.title,
            [StepProgress(s.id, s.title, checks=[CheckState(c.describe(), None, "not checked yet") for c in s.checks])
             for s in self.lesson.steps],
            current=self.lesson.steps[0].id if self.lesson.steps else None,
            lab_dir=str(self.directory or ""),
        )
        self.save()

    # -- what the panel shows -------------------------------------------------------------------

    @property
    def current(self) -> LessonStep | None:
        return self.lesson.step(self.progress.current) if self.progress.current else None

    def step_progress(self, step_id: str) -> StepProgress:
        return next(s for s in self.progress.steps if s.id == step_id)

    @property
    def complete(self) -> bool:
        return self.progress.complete

    # -- what the trainee does --------------------------------------------------------------------

    def hint(self) -> str | None:
        """The next hint of the current step (counted), or None when there is no more."""
        step = self.current
        if step is None:
            return None
        state = self.step_progress(step.id)
        if state.hints_used >= len(step.hints):
            return None
        state.hints_used += 1
        self.progress.hints_used += 1
        self.save()
        return step.hints[state.hints_used - 1]

    def hints_shown(self, step: LessonStep) -> tuple[str, ...]:
        return step.hints[: self.step_progress(step.id).hints_used]

    def show_solution(self) -> str | None:
        step = self.current
        if step is None:
            return None
        self.step_progress(step.id).solution_shown = True
        self.save()
        return step.solution or None

    # -- what the lab shows -------------------------------------------------------------------------

    def observed(self, view: LabView) -> Advance:
        """Decide every step's checks on `view`; mark steps done; save. What changed."""
        self.observations += 1
        newly: list[str] = []
        at = now_iso()
        wrong = None
        for way in self.lesson.wrong_ways:
            if way.checks and all(evaluate(c, view).passed is True for c in way.checks):
                wrong = way.explain
                break
        for step in self.lesson.steps:
            results = [evaluate(check, view) for check in step.checks]
            self.results[step.id] = results
            state = self.step_progress(step.id)
            state.checks = [CheckState(c.describe(), r.passed, r.why) for c, r in zip(step.checks, results)]
            # a wrong way that makes the checks hold (a trust open to every service account makes
            # the pod work too) completes nothing while it is in place
            if not state.done and results and all(r.passed is True for r in results) and wrong is None:
                state.done, state.done_at = True, at
                newly.append(step.id)
        newly_wrong = wrong if wrong != self.progress.wrong_way else None
        self.progress.wrong_way = wrong
        remaining = [s.id for s in self.progress.steps if not s.done]
        self.progress.current = remaining[0] if remaining else None
        completed = not remaining and not self.progress.complete
        if completed:
            self.progress.complete, self.progress.completed_at = True, at
        self.save()
        return Advance(tuple(newly), completed, newly_wrong)

    def save(self) -> None:
        """Write progress.json when it says something new (a look that changed nothing leaves
        the file, and its `updated`, alone)."""
        if self.directory is None:
            return
        said = {k: v for k, v in self.progress.to_json().items() if k != "updated"}
        if said != self._saved:
            self.progress.write(self.directory)
            self._saved = said
