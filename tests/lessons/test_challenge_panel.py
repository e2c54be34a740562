"""What the lesson panel says for a challenge, without a lab: the symptom as reported and the
goal first, a wrong way in place named as one, and once complete what was learned with the
engine's finding code (once, not twice)."""

from __future__ import annotations

from pathlib import Path

from irsa_explorer.lessons import LessonRun, load_lesson
from irsa_explorer.widgets.lesson_panel import LessonPanel, PanelState


def test_a_challenge_reads_symptom_goal_then_the_step_and_a_wrong_way_is_flagged(tmp_path: Path) -> None:
    run = LessonRun(load_lesson("sub-wrong-namespace"), None)
    panel = LessonPanel(run, PanelState(tmp_path, lab_ready=True))
    blocks = [str(b.content) for b in panel._blocks()]
    assert panel.border_title == "Challenge: checkout moved to payments"
    reported = next(i for i, b in enumerate(blocks) if b.startswith("Reported: \"checkout in namespace payments gets AccessDenied"))
    goal = next(i for i, b in enumerate(blocks) if b.startswith("Goal: payments/checkout gets checkout-s3-reader"))
    step = blocks.index("Step 1/1: Make checkout-s3-reader trust payments/my-sa")
    assert reported < goal < step and not any(b.startswith("⚠") for b in blocks)
    assert not any("TRUST_SUB_MISMATCH" in b for b in blocks)  # what was learned comes after, not before
    assert not any("system:serviceaccount:payments:my-sa\"]" in b for b in blocks)  # the solution only on request

    run.progress.wrong_way = run.lesson.wrong_ways[0].explain
    blocks = [str(b.content) for b in panel._blocks()]
    wrong = next(b for b in blocks if b.startswith("⚠ Wrong way: checkout-s3-reader's trust now accepts service accounts nobody named"))
    assert "This does not complete the challenge." in wrong and "\n" not in wrong


def test_a_complete_challenge_says_what_was_learned_with_the_finding_code_once(tmp_path: Path) -> None:
    run = LessonRun(load_lesson("sub-wrong-namespace"), None)
    state = run.step_progress("fixed")
    state.done, state.done_at = True, "2026-12-05T06:00:00Z"
    run.progress.current, run.progress.complete = None, True
    blocks = [str(b.content) for b in LessonPanel(run, PanelState(tmp_path, lab_ready=True))._blocks()]
    assert blocks.index("✓ Challenge complete") < blocks.index("What you learned:")
    learned = [b for b in blocks if "TRUST_SUB_MISMATCH: the engine found" in b]
    assert len(learned) == 1 and learned[0].startswith("✓ Make checkout-s3-reader trust payments/my-sa — TRUST_SUB_MISMATCH")
