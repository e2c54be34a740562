"""The roster on its own: names as browsers send them, a trainee's progress.json as learn writes
it (lessons.progress), the terminal table and the status page."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from irsa_explorer.classroom.roster import NAME_LIMIT, Trainee, clean_name, status_table
from irsa_explorer.classroom.status_page import status_html
from irsa_explorer.lessons import LessonRun, load_lesson


def test_names_keep_what_reads_and_drop_what_rewrites_a_screen() -> None:
    assert clean_name("  Ada   Lovelace ") == "Ada Lovelace"
    assert clean_name("\x1b]0;pwned\x07Eve\u202egnp.exe\u200b") == "]0;pwnedEvegnp.exe"
    assert clean_name("Zoë 李\tNa") == "Zoë 李 Na"
    assert len(clean_name("x" * 10_000)) == NAME_LIMIT
    assert clean_name(None) == clean_name("") == clean_name("\x00\x1b") == ""


def test_a_trainee_reads_where_they_are_from_the_progress_learn_writes(tmp_path: Path) -> None:
    trainee = Trainee(3, "", tmp_path, opened=time.time() - 10)
    row = trainee.status()
    assert row["label"] == "trainee 3" and row["lab"] == "starting" and row["current_step"] is None
    assert row["steps_total"] == 0 and row["complete"] is False

    run = LessonRun(load_lesson("walkthrough"), tmp_path)  # writes progress.json as the app does
    run.hint()
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\n")
    os.utime(tmp_path / "kubeconfig", (trainee.opened + 2.5, trainee.opened + 2.5))
    row = trainee.status()
    assert row["lesson"] == "walkthrough" and row["current_step"] == "node-role"
    assert row["current_title"] == "A pod with no AWS identity of its own"
    assert row["steps_done"] == 0 and row["steps_total"] == len(run.lesson.steps) and row["hints_used"] == 1
    assert row["lab"] == "ready" and row["lab_ready_seconds"] == 2.5

    trainee.closed = time.time()
    left = trainee.status()
    assert left["connected"] is False and left["left_at"] and left["lab"] == "stopped" and left["lab_ready_seconds"] == 2.5


def test_a_garbled_progress_file_is_no_progress_not_a_crash(tmp_path: Path) -> None:
    trainee = Trainee(1, "Ada", tmp_path)
    for garbage in ("{", "[]", "[1]", "7", json.dumps({"steps": "many", "current": 7, "complete": "yes"}),
                    json.dumps({"steps": [1, None, {"id": "a", "done": "true"}], "current": "a"})):
        (tmp_path / "progress.json").write_text(garbage)
        row = trainee.status()
        assert row["steps_done"] == 0 and row["complete"] is False
    assert "Ada" in status_table([row]) and "Ada" in status_html([row], "walkthrough", str(tmp_path))


def test_table_and_page_show_untrusted_values_literally() -> None:
    row = {"number": 1, "label": "<b>x</b>\x1b[2J", "connected": True, "connected_since": "2026-12-05T06:00:00Z",
           "lesson": "walk<i>", "current_step": "s1", "current_title": "Step \u202e one", "steps_done": 1,
           "steps_total": 5, "complete": False, "lab": "ready", "lab_ready_seconds": 1.25, "hints_used": 2}
    table = status_table([row, {**row, "number": 2, "connected": False, "left_at": "2026-12-05T06:05:00Z",
                                "complete": True, "label": "Grace"}])
    assert "\x1b" not in table and "\\x1b[2J" in table and "\\u202e" in table
    lines = table.splitlines()
    assert lines[1].startswith("1 ") and "1/5" in lines[1] and lines[2].startswith("2 ") and "left 2026" in lines[2]
    assert "complete" in lines[2]
    # every cell: the rows come over HTTP from whatever answers on the port
    forged = status_table([{**row, "number": "\x1b]0;x\x07", "connected_since": "\x1b[31m", "steps_done": "\x1b[1m"}])
    assert "\x1b" not in forged and "\x07" not in forged and forged.count("\\x1b") == 4  # the three cells and the label
    page = status_html([row], "walkthrough", "/tmp/room")
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page and "walk&lt;i&gt;" in page
    assert "ready in 1.2 s" in page or "ready in 1.3 s" in page
