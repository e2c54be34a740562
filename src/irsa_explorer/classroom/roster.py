"""Who is in the classroom: one `Trainee` per browser tab, and where each one is in the lesson.

The server keeps the roster in memory (who connected, when, the folder their app and lab use);
where a trainee is in the lesson is read from that folder's progress.json, which `learn` rewrites
as they advance (lessons/progress.py) — the classroom never decides a step itself.

A trainee's name comes from the browser (`?name=`): untrusted. It is cleaned once here (control
and format characters dropped, whitespace folded, at most NAME_LIMIT characters), never used in
a path, escaped when it reaches HTML (status_page.py) and shown literally in the terminal table.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from irsa_explorer.lessons.progress import read_progress

NAME_LIMIT = 40  # characters of a trainee's name kept


def clean_name(raw: str | None) -> str:
    """A trainee's name as given in the browser, made safe to keep and show: no control or
    format characters (escape sequences, bidi overrides), one space between words, bounded."""
    if not raw:
        return ""
    kept = "".join(" " if ch.isspace() else ch for ch in raw[: NAME_LIMIT * 4]
                   if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:NAME_LIMIT].strip()


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Trainee:
    """One browser tab: its own `learn` app, its own lab, its own folder."""

    number: int
    name: str  # cleaned (clean_name); "" when none was given
    directory: Path
    opened: float = field(default_factory=time.time)  # when the tab's session opened (epoch seconds)
    closed: float | None = None  # when the tab went away and its app was stopped
    pid: int | None = None  # the app's process

    @property
    def label(self) -> str:
        return self.name or f"trainee {self.number}"

    @property
    def connected(self) -> bool:
        return self.closed is None

    def lab_ready_seconds(self) -> float | None:
        """Seconds from the tab opening to its lab being ready (`lab serve` writes the kubeconfig
        into the folder once its servers answer), or None while it starts."""
        try:
            written = (self.directory / "kubeconfig").stat().st_mtime
        except OSError:
            return None
        return max(0.0, written - self.opened)

    def status(self) -> dict[str, Any]:
        """What `classroom status` and the status page show of this trainee (JSON-ready)."""
        progress = read_progress(self.directory)
        progress = progress if isinstance(progress, dict) else {}  # written by the app, read as untrusted
        steps = progress.get("steps") if isinstance(progress.get("steps"), list) else []
        steps = [s for s in steps if isinstance(s, dict)]
        current = progress.get("current")
        titles = {s.get("id"): s.get("title") for s in steps}
        ready = self.lab_ready_seconds()
        return {
            "number": self.number,
            "name": self.name,
            "label": self.label,
            "connected": self.connected,
            "connected_since": iso(self.opened),
            "left_at": iso(self.closed) if self.closed is not None else None,
            "directory": str(self.directory),
            "pid": self.pid,
            "lab": "stopped" if not self.connected else "ready" if ready is not None else "starting",
            "lab_ready_seconds": round(ready, 2) if ready is not None else None,
            "lesson": progress.get("lesson"),
            "lesson_title": progress.get("title"),
            "current_step": current,
            "current_title": titles.get(current) if current else None,
            "steps_done": sum(1 for s in steps if s.get("done") is True),
            "steps_total": len(steps),
            "hints_used": progress.get("hints_used"),
            "complete": progress.get("complete") is True,
            "updated": progress.get("updated"),
        }


def step_words(row: dict[str, Any]) -> str:
    """The step a trainee is on, in words: 'complete', the step's title, or why not known."""
    if row.get("complete"):
        return "complete"
    if row.get("current_step"):
        return str(row.get("current_title") or row["current_step"])
    if row.get("lab") == "starting":
        return "(lab starting)"
    return "(no progress yet)"


def status_table(rows: list[dict[str, Any]]) -> str:
    """The roster for a terminal: one line per trainee, connected ones first."""
    if not rows:
        return "no trainees yet"
    from irsa_explorer.markdown_safe import visible  # control characters shown escaped: every value is untrusted

    header = ("#", "TRAINEE", "CONNECTED SINCE", "LESSON", "STEP", "DONE", "COMPLETE")
    lines = [header]
    for row in sorted(rows, key=lambda r: (not r.get("connected"), r.get("number", 0))):
        since = str(row.get("connected_since") or "")
        if not row.get("connected"):
            since = f"left {row.get('left_at') or ''}"
        lines.append((  # the rows come over HTTP from whatever answers on that port: every cell untrusted
            visible(row.get("number", ""), limit=8), visible(row.get("label") or "", limit=NAME_LIMIT),
            visible(since, limit=40), visible(row.get("lesson") or "-", limit=40), visible(step_words(row), limit=48),
            visible(f"{row.get('steps_done', 0)}/{row.get('steps_total', 0)}", limit=16),
            "yes" if row.get("complete") else "no",
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)
