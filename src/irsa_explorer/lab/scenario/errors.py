"""What can go wrong with a scenario: a file that cannot be used (found before anything is
applied), or a step the lab refused while applying."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irsa_explorer.lab.scenario.format import Step


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario file, with where it is."""

    source: str  # the file (or "<text>")
    where: str  # e.g. "steps[3].params.RoleName"
    message: str
    line: int | None = None

    def __str__(self) -> str:
        line = f", line {self.line}" if self.line else ""
        return f"{self.source}{line}: {self.where}: {self.message}"


class ScenarioError(Exception):
    """A scenario file that cannot be used. Raised before anything is applied."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = "invalid scenario" if len(problems) == 1 else f"invalid scenario ({len(problems)} problems)"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in problems))


class ScenarioApplyError(Exception):
    """A step the lab refused while applying (the file itself was valid)."""

    def __init__(self, step: Step, cause: BaseException, what: str | None = None):
        self.step = step
        self.cause = cause
        super().__init__(f"{step.place}: {what or step.describe()} failed: {_cause_text(cause)}")


def _cause_text(cause: BaseException) -> str:
    """The API's own words: a Kubernetes Status message, an AWS error code and message."""
    body = getattr(cause, "body", None)
    if body:
        try:
            status = json.loads(body)
            return f"{status.get('reason') or getattr(cause, 'status', '')}: {status.get('message')}"
        except (ValueError, AttributeError):
            pass
    return model_error(cause) if hasattr(cause, "errors") else str(cause)


def model_error(exc: BaseException) -> str:
    """One line from the kubernetes client's model error (pydantic in recent clients, ValueError before)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        title = getattr(exc, "title", "")
        return "; ".join(
            f"{title} {'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg')}".strip()
            for error in errors()
        )
    return str(exc).splitlines()[0]
