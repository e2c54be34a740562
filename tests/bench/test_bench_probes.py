"""bench/'s two probes (the headless TUI and the report's stages) run against the walkthrough lab.

Not timings: that they drive the real explorer to the end and say what they saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        env=env, capture_output=True, text=True, timeout=180,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    return json.loads(lines[-1])


def test_tui_probe_sees_rows_then_every_verdict_and_a_key_press(lab, lab_env):
    result = _run("tui_probe.py", lab_env(lab), "90")
    assert "error" not in result, result
    assert result["pods"] >= 3 and result["rows"] == result["pods"] == result["chains"]
    assert 0 < result["tui_first_rows_s"] <= result["tui_all_verdicts_s"]
    assert result["keypress_ms"] > 0 and isinstance(result["keypress_while_loading"], bool)
    assert sum(result["verdicts"].values()) == result["pods"]
    assert result["stages"][-1][1] == ""  # the final stage was reached
    assert result["spans"]["load"]


def test_report_stages_cover_the_whole_report(lab, lab_env):
    result = _run("report_stages.py", lab_env(lab))
    for stage in ("imports", "sources", "kubernetes", "aws", "resolve", "build", "render"):
        assert result["wall"][stage] >= 0 and result["cpu"][stage] >= 0
    assert result["wall"]["total"] >= sum(v for k, v in result["wall"].items() if k != "total") - 0.01
    assert result["output_bytes"] > 1000
