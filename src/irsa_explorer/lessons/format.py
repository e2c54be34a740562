"""What a lesson file says, as values: its starting lab, its steps, their commands and checks.

The format is documented for trainers in docs/lessons.md; `parse` turns a file into these
values (checking all of it first), `checks` decides each check on what `observe` read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Where a step points the trainee: the pods view's panes (navigation.PANES), the identity
# chain and the pods table. tests/lessons checks this list against navigation.PANES.
PANES = ("service-account", "token", "role", "trust-policy", "live-identity", "cloudtrail", "chain", "pods")


@dataclass(frozen=True)
class Command:
    """One thing to type. `run` is what the lab can run (aws / kubectl, a shell snippet); `eksctl`
    is the walkthrough's eksctl command it stands for (eksctl is not in the lab: shown only)."""

    run: str
    eksctl: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Check:
    """One declarative predicate (`checks.CHECKS` names them) with its arguments, variables
    already substituted; `line` is where the file says it."""

    name: str
    args: dict[str, Any]
    line: int | None = None

    def describe(self) -> str:
        words = ", ".join(f"{k}: {v}" for k, v in self.args.items())
        return f"{self.name} ({words})" if words else self.name


@dataclass(frozen=True)
class WrongWay:
    """A fix that works the wrong way (e.g. S3 on the node role): recognised by its checks and
    explained. For challenges; a lesson may have none."""

    checks: tuple[Check, ...]
    explain: str


@dataclass(frozen=True)
class LessonStep:
    id: str
    title: str
    explanation: str
    checks: tuple[Check, ...]
    commands: tuple[Command, ...] = ()
    hints: tuple[str, ...] = ()
    solution: str = ""
    pane: str | None = None  # one of PANES: what the step talks about, highlighted
    pod: str | None = None  # namespace/name: the pod the step is about, selected when it starts
    learned: str = ""  # shown once the step is done ("what you learned")
    line: int | None = None


@dataclass(frozen=True)
class Lesson:
    name: str
    source: str
    title: str
    description: str
    steps: tuple[LessonStep, ...]
    # The starting lab: a scenario file (built-in, or a file) `lab serve --scenario` takes, or
    # the text of a scenario embedded in the lesson (written to the lesson's folder to start).
    scenario_path: Path | None = None
    scenario_text: str | None = None
    variables: dict[str, str] = field(default_factory=dict)  # the scenario's built-in ones
    kind: str = "lesson"  # "lesson" or "challenge"
    symptom: str = ""  # challenges: the problem as a user reports it
    goal: str = ""  # challenges: what "fixed" means
    wrong_ways: tuple[WrongWay, ...] = ()

    def step(self, step_id: str) -> LessonStep | None:
        return next((s for s in self.steps if s.id == step_id), None)
