"""Where `report -A` spends its wall time, stage by stage, without a profiler's overhead.

Runs the same calls as `irsa-explorer report -A --format json` (report.run_report's body) with
a clock between them, against the lab in $KUBECONFIG and the AWS environment, and prints one
JSON line: imports, sources (client construction), kubernetes (lists + issuer), aws (all cloud
lookups), resolve (analysis.identity.resolve_all), build (report document), render (JSON text).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    began = time.perf_counter()
    marks: dict[str, float] = {}
    last = began

    def mark(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        marks[name] = round(now - last, 3)
        last = now

    from irsa_explorer.analysis.identity import resolve_all
    from irsa_explorer.cloud import AwsSource
    from irsa_explorer.cluster import KubeSource
    from irsa_explorer.inventory import load_inventory
    from irsa_explorer.report import build_report, render

    mark("imports")
    kube = KubeSource(kubeconfig=os.environ["KUBECONFIG"])
    aws = AwsSource.from_env(dict(os.environ))
    mark("sources")

    def on_stage(*args: object) -> None:
        stage = next((a for a in args if isinstance(a, str)), "stage")
        mark(stage)

    inventory = load_inventory(kube, aws, None, on_stage=on_stage)
    chains = resolve_all(inventory)
    mark("resolve")
    document = build_report(inventory, chains)
    mark("build")
    text = render(document, "json")
    mark("render")
    marks["total"] = round(time.perf_counter() - began, 3)
    marks["output_mb"] = round(len(text) / 1e6, 1)
    print(json.dumps(marks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
