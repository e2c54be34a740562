"""progress.json: where a trainee is in a lesson, for them and for a classroom's status page.

Rewritten whole at each change, atomically (a temporary file renamed over it): a reader never
sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PROGRESS_FILE = "progress.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class CheckState:
    check: str  # the check as written, in words
    passed: bool | None
    why: str


@dataclass
class StepProgress:
    id: str
    title: str
    done: bool = False
    done_at: str | None = None  # when its checks first all held (UTC, ISO 8601)
    hints_used: int = 0
    solution_shown: bool = False
    checks: list[CheckState] = field(default_factory=list)


@dataclass
class Progress:
    lesson: str
    title: str
    steps: list[StepProgress]
    current: str | None  # the first step not done; None once complete
    started: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)
    hints_used: int = 0
    complete: bool = False
    completed_at: str | None = None
    lab_dir: str = ""
    wrong_way: str | None = None  # a challenge's wrong fix, recognised

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, directory: Path) -> Path:
        """Write DIRECTORY/progress.json atomically; returns its path."""
        self.updated = now_iso()
        path = Path(directory) / PROGRESS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".progress-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self.to_json(), out, indent=2)
                out.write("\n")
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return path


def read_progress(directory: Path) -> dict[str, Any] | None:
    """What a progress.json says, or None when there is none (or it cannot be read)."""
    try:
        return json.loads((Path(directory) / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
