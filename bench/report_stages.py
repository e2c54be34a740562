"""Where `report -A` spends its wall time, stage by stage, without a profiler's overhead.

Runs the same calls as `irsa-explorer report -A --format json` (report.run_report's body: the
cyclic GC paused, the issuer from DescribeCluster) with a clock between them, against the lab
in $KUBECONFIG and the AWS environment (e.g. `set -a; . DIR/aws.env; KUBECONFIG=DIR/kubeconfig
.venv/bin/python bench/report_stages.py`), and prints one JSON line with wall and CPU seconds
per stage: imports, sources (client construction), kubernetes (lists), aws (all cloud lookups),
resolve (analysis.identity.resolve_all), build (report document), render (JSON text).

`--together`: load and resolve with `inventory.load_and_resolve` (pages resolved as they
arrive) instead of load_inventory then resolve_all; the "resolve" stage is then only what was
left after the last page.

`critical_path` says which side of the load finished last, in seconds from its start: `pods`
(the paged pod list) and `roles` (the last AWS lookup, which waits for the others); the later
one is what load_inventory's wall time is made of.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any, Callable


def main() -> int:
    began = time.perf_counter()
    marks: dict[str, float] = {}
    cpu: dict[str, float] = {}
    last, last_cpu = began, time.process_time()

    def mark(name: str) -> None:
        # Wall time and the process's CPU time (all threads): on a busy machine the CPU figure
        # is what the stage would cost alone, the wall figure what it cost here and now.
        nonlocal last, last_cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        marks[name] = round(now - last, 3)
        cpu[name] = round(now_cpu - last_cpu, 3)
        last, last_cpu = now, now_cpu

    from irsa_explorer.sources import inventory as inventory_module
    from irsa_explorer.analysis.identity import resolve_all
    from irsa_explorer.sources.aws import AwsSource
    from irsa_explorer.sources.kube import KubeSource
    from irsa_explorer.report import build_report, render

    mark("imports")
    kube = KubeSource(kubeconfig=os.environ["KUBECONFIG"])
    aws = AwsSource.from_env(dict(os.environ))
    mark("sources")

    load_began = time.perf_counter()
    finished: dict[str, float] = {}

    def clocked(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            finally:
                finished[name] = round(time.perf_counter() - load_began, 3)

        return timed

    # Instance attributes only: the sources' own code runs unchanged.
    kube.list_pods = clocked("pods", kube.list_pods)  # type: ignore[method-assign]
    aws.get_roles = clocked("roles", aws.get_roles)  # type: ignore[method-assign]

    def on_stage(*args: object) -> None:
        stage = next((a for a in args if isinstance(a, str)), "stage")
        mark(stage)

    paused = getattr(inventory_module, "without_cycle_collection", contextlib.nullcontext)
    with paused():
        if "--together" in sys.argv[1:]:
            inventory, chains = inventory_module.load_and_resolve(kube, aws, None, on_stage=on_stage, discover_issuer=False)
        else:
            inventory = inventory_module.load_inventory(kube, aws, None, on_stage=on_stage, discover_issuer=False)
            chains = resolve_all(inventory)
        mark("resolve")
        document = build_report(inventory, chains)
        mark("build")
    try:  # what `report` writes when its output is not a terminal (the benchmark's case)
        text = render(document, "json", pretty=False)
    except TypeError:  # an older render without the choice
        text = render(document, "json")
    mark("render")
    marks["total"] = round(time.perf_counter() - began, 3)
    cpu["total"] = round(time.process_time(), 3)
    print(json.dumps({
        "wall": marks, "cpu": cpu, "critical_path": finished, "pods": len(inventory.pods),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "output_mb": round(len(text) / 1e6, 1), "output_bytes": len(text),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
