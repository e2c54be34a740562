"""bench/ pieces that need no lab: measuring a process, comparing mappings, checking targets."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from baseline import BaselineResult, Step, compare_mappings  # noqa: E402
from measure import run_measured, summarize_requests  # noqa: E402
from targets import check, kube_list_pages_needed  # noqa: E402


def test_run_measured_reports_the_childs_own_peak_memory_and_exit_code():
    small = run_measured([sys.executable, "-c", "pass"], {})
    big = run_measured([sys.executable, "-c", "b = bytearray(150 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"], {})
    assert small.exit_code == 0 and big.exit_code == 0
    assert big.peak_rss_mb > 140 > small.peak_rss_mb
    assert big.wall_s > 0 and big.cpu_s > 0
    failed = run_measured([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], {})
    assert failed.exit_code == 3 and failed.stdout.strip() == "out"


def test_run_measured_counts_the_memory_of_the_processes_it_starts():
    # the TUI loads in a child process: its memory is the explorer's too
    grow = "b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(0.3)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grow!r}])"
    measured = run_measured([sys.executable, "-c", parent], {})
    assert measured.exit_code == 0 and measured.peak_rss_mb > 120


def test_compare_mappings_finds_every_disagreement():
    baseline = BaselineResult(
        seconds=1.0,
        steps=[Step("x", 10, 2, 5.0)],
        mapping={("a", "p1"): "arn:r1", ("a", "p2"): None, ("b", "p3"): "arn:r3"},
        unresolved={("b", "p4")},
    )
    report = [
        {"namespace": "a", "name": "p1", "intended_role_arn": "arn:r1"},
        {"namespace": "a", "name": "p2", "intended_role_arn": None},
        {"namespace": "b", "name": "p3", "intended_role_arn": "arn:other"},
        {"namespace": "b", "name": "p4", "intended_role_arn": "arn:r4"},  # not compared: unsampled
        {"namespace": "c", "name": "p5", "intended_role_arn": None},  # kubectl never listed it
    ]
    agreed, disagreements = compare_mappings(report, baseline)
    assert agreed == 2
    assert any("b/p3" in d and "arn:other" in d for d in disagreements)
    assert any("c/p5" in d for d in disagreements)
    assert not any("b/p4" in d for d in disagreements)
    assert baseline.extrapolated and baseline.steps[0].extrapolated


def test_targets_are_judged_only_when_measured():
    results = {
        "report_s": 4.2,
        "requests": {"report": {"kube:list pods": 20, "kube:list serviceaccounts": 5, "kube:list nodes": 1,
                                "iam:GetRole": 40, "iam:ListRoles": 3}},
        "kube_list_pages_needed": kube_list_pages_needed({"pods": 10000, "serviceaccounts": 2200, "nodes": 100}),
        "distinct_roles": 38,
        "speedup": 12.0,
    }
    by_name = {t.name: t for t in check(results)}
    assert by_name["report -A wall time"].met is True
    assert by_name["report Kubernetes requests"].met is True  # 26 requests, 20 + 5 + 1 pages
    assert by_name["report IAM requests"].met is True  # 43 <= 38 + 5
    assert by_name["speedup over the manual way"].met is False
    assert by_name["TUI first rows"].met is None and by_name["TUI first rows"].verdict == "not measured"
    # a key press timed only once the view had loaded does not count for "while loading"
    loaded_first = check({"keypress_ms": 12.0, "tui": {"keypress_while_loading": False}})
    assert {t.name: t for t in loaded_first}["key press while loading"].met is None
    assert {t.name: t for t in check({"keypress_ms": 120.0, "tui": {"keypress_while_loading": True}})}[
        "key press while loading"].met is False
    assert summarize_requests(results["requests"]["report"]) == {"kube": 26, "iam": 43}


def test_several_tui_runs_are_judged_on_the_worst():
    from bench import worst_tui_run

    runs = [{"keypress_ms": 40.0, "tui_first_rows_s": 0.7}, {"keypress_ms": 130.0, "tui_first_rows_s": 0.6},
            {"keypress_ms": 60.0, "tui_first_rows_s": 0.9}]
    assert worst_tui_run(runs)["keypress_ms"] == 130.0
    # a run that failed is the one to show, whatever the others measured
    assert "error" in worst_tui_run(runs + [{"error": "not every verdict within 120 s"}])
