"""The issue's targets, checked against one run's results (issue 5, "Targets")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Target:
    name: str
    goal: str
    value: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]


def kube_list_pages_needed(objects: dict[str, int], page_size: int = 500) -> int:
    """List pages for each list the explorer makes (pods, service accounts, nodes, and the Pod
    Identity agents' pods when associations exist) at `page_size`: what a paginated client needs."""
    return sum(max(1, -(-count // page_size)) for count in objects.values())


def check(results: dict[str, Any]) -> list[Target]:
    """Each target with the measured value; `met` is None where the run did not measure it."""
    targets: list[Target] = []

    def add(name: str, goal: str, value: Any, met: bool | None, fmt: str = "{}") -> None:
        shown = "—" if value is None else fmt.format(value)
        targets.append(Target(name, goal, shown, None if value is None else met))

    report_s = results.get("report_s")
    add("report -A wall time", "≤ 5 s", report_s, report_s is not None and report_s <= 5, "{:.2f} s")

    report_requests = results.get("requests", {}).get("report", {})
    kube = sum(v for k, v in report_requests.items() if k.startswith("kube:"))
    lists = sum(v for k, v in report_requests.items() if k.startswith("kube:list"))
    pages = results.get("kube_list_pages_needed")
    add(
        "report Kubernetes requests",
        f"≤ list pages needed ({pages})" if pages is not None else "≤ list pages needed",
        f"{kube} ({lists} list pages + {kube - lists} other)" if report_requests else None,
        pages is not None and kube <= pages,
    )
    iam = sum(v for k, v in report_requests.items() if k.startswith("iam:"))
    distinct = results.get("distinct_roles")
    add(
        "report IAM requests",
        f"≤ distinct roles + 5 ({distinct} + 5)" if distinct is not None else "≤ distinct roles + 5",
        iam if report_requests else None,
        distinct is not None and iam <= distinct + 5,
    )
    first = results.get("tui_first_rows_s")
    add("TUI first rows", "≤ 1.5 s", first, first is not None and first <= 1.5, "{:.2f} s")
    verdicts = results.get("tui_all_verdicts_s")
    add("TUI every verdict", "≤ 5 s", verdicts, verdicts is not None and verdicts <= 5, "{:.2f} s")
    key = results.get("keypress_ms")
    if (results.get("tui") or {}).get("keypress_while_loading") is False:
        # the lab loaded before a press was due: the press timed was on the loaded view
        targets.append(Target("key press while loading", "≤ 100 ms", f"none while loading ({key} ms after)", None))
    else:
        add("key press while loading", "≤ 100 ms", key, key is not None and key <= 100, "{:.0f} ms")
    rss = results.get("peak_rss_mb")
    add("peak memory", "< 400 MB", rss, rss is not None and rss < 400, "{:.0f} MB")
    speedup = results.get("speedup")
    add("speedup over the manual way", "≥ 30×", speedup, speedup is not None and speedup >= 30, "{:.0f}×")
    return targets
