"""`bench/run [--quick]`: the explorer against the manual way, on one large lab with latency.

One run, one lab (started through `lab.launcher.start_lab` with `--scale` and `--latency`):
1. `irsa-explorer report -A --format json`, timed, its requests counted and memory measured;
2. the manual baseline (kubectl + jq, then the aws CLI per role), timed (sampled and
   extrapolated at full scale), and its pod → role mapping compared with the report's;
3. the TUI headless under Pilot: first rows, every verdict, a key press while loading;
4. optionally (`--profile`) the report under cProfile, to see where the time goes.
Prints a table and writes bench/results.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import compare_mappings, run_baseline  # noqa: E402
from measure import LabStats, run_measured, summarize_requests  # noqa: E402
from targets import check, kube_list_pages_needed  # noqa: E402

from irsa_explorer.lab.scale import FULL, QUICK, parse_scale  # noqa: E402

DEFAULT_LATENCY = "kube=40ms,iam=120ms,sts=60ms"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"a small lab ({QUICK}); under two minutes")
    parser.add_argument("--scale", help=f"lab size (default: {FULL}, or the quick one with --quick)")
    parser.add_argument("--latency", default=DEFAULT_LATENCY, help=f"per-service latency (default: {DEFAULT_LATENCY})")
    parser.add_argument("--throttle", help="IAM throttling for the lab, e.g. iam=20 (default: none)")
    parser.add_argument(
        "--baseline-sample", type=int, default=None,
        help="time at most N per-object CLI calls of each kind and extrapolate (default: 12 with --quick, 25 otherwise)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the manual baseline")
    parser.add_argument("--skip-tui", action="store_true", help="do not run the headless TUI measurement")
    parser.add_argument(
        "--tui-runs", type=int, default=1,
        help="run the TUI measurement N times on the same lab; the targets are judged on the worst run "
        "(the slowest key press varies from run to run)",
    )
    parser.add_argument("--profile", action="store_true", help="also profile the report (cProfile) → bench/profile.txt")
    parser.add_argument(
        "--attach", metavar="DIR",
        help="measure a lab already served with `lab serve --dir DIR …` instead of starting one "
             "(its --scale/--latency are then whatever it was started with)",
    )
    parser.add_argument("--output", default=str(HERE / "results.json"), help="where to write the results")
    return parser.parse_args(argv)


class AttachedLab:
    """A lab someone else serves (`--attach DIR`): the same fields as launcher.LabProcess."""

    def __init__(self, directory: str) -> None:
        from irsa_explorer.lab.launcher import read_aws_env

        self.directory = Path(directory)
        self.kubeconfig = self.directory / "kubeconfig"
        self.aws_env = read_aws_env(self.directory / "aws.env")
        self.aws_endpoint = self.aws_env.get("AWS_ENDPOINT_URL", "")

    def stop(self) -> None:
        pass  # not ours to stop


def lab_env(lab: Any, cache_dir: str) -> dict[str, str]:
    """The environment a user has after `export KUBECONFIG=…; source aws.env`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # no user profile leaks in
    env.update(lab.aws_env)
    env["KUBECONFIG"] = str(lab.kubeconfig)
    env["KUBECACHEDIR"] = cache_dir  # a fresh kubectl discovery cache per lab (wire-notes.md)
    return env


def lab_facts(lab: Any, env: dict[str, str], cluster: str) -> dict[str, int]:
    """Object counts and distinct roles, read before the measured phases (and not counted in
    them): what the request targets are judged against. Doubles as the lab's warm-up."""
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.kubeconfig)))
    counts = {}
    roles: set[str] = set()
    for kind, call in (
        ("pods", api.list_pod_for_all_namespaces),
        ("serviceaccounts", api.list_service_account_for_all_namespaces),
        ("nodes", api.list_node),
    ):
        total, token = 0, None
        while True:
            kwargs = {"limit": 500, "_preload_content": False, **({"_continue": token} if token else {})}
            page = json.loads(call(**kwargs).data)
            total += len(page["items"])
            if kind == "serviceaccounts":
                roles |= {
                    arn for i in page["items"]
                    if (arn := (i["metadata"].get("annotations") or {}).get("eks.amazonaws.com/role-arn"))
                }
            token = page["metadata"].get("continue")
            if not token:
                break
        counts[kind] = total
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
    )
    endpoint = env.get("AWS_ENDPOINT_URL")
    eks = session.client("eks", endpoint_url=endpoint)
    counts["associations"] = 0
    try:
        token = None
        while True:
            kwargs = {"clusterName": cluster, **({"nextToken": token} if token else {})}
            page = eks.list_pod_identity_associations(**kwargs)
            for assoc in page.get("associations", []):
                counts["associations"] += 1
                described = eks.describe_pod_identity_association(
                    clusterName=cluster, associationId=assoc["associationId"]
                )
                roles.add(described["association"]["roleArn"])
            token = page.get("nextToken")
            if not token:
                break
    except Exception:
        pass  # no Pod Identity in this lab
    ec2 = session.client("ec2", endpoint_url=endpoint)
    profiles = set()
    for reservation in ec2.describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            if instance.get("IamInstanceProfile"):
                profiles.add(instance["IamInstanceProfile"]["Arn"])
    counts["node_instance_profiles"] = len(profiles)
    counts["distinct_roles"] = len(roles) + len(profiles)  # one node role per instance profile
    return counts


def compile_bytecode() -> int:
    """Compile the explorer's modules to bytecode before anything is timed, as `pip install`
    does: in a checkout with PYTHONDONTWRITEBYTECODE set (or after edits), every process would
    otherwise compile each edited module again at start-up — 0.1-0.2 s in the TUI, its loader
    process and the report each, a cost of the checkout, not of the explorer. Returns how many
    modules were out of date."""
    import compileall
    import importlib.util

    import irsa_explorer

    package = Path(irsa_explorer.__file__).resolve().parent
    stale = sum(
        1 for source in package.rglob("*.py")
        if not Path(importlib.util.cache_from_source(str(source))).exists()
        or Path(importlib.util.cache_from_source(str(source))).stat().st_mtime < source.stat().st_mtime
    )
    compileall.compile_dir(str(package), quiet=1)
    return stale


def measure_report(python: str, env: dict[str, str], stats: LabStats) -> tuple[dict, Any]:
    before = stats.snapshot()
    measured = run_measured([python, "-m", "irsa_explorer", "report", "-A", "--format", "json"], env)
    requests = stats.delta(before)
    if measured.exit_code not in (0, 1):
        raise RuntimeError(f"report failed (exit {measured.exit_code}):\n{measured.stderr[-3000:]}")
    return {"wall_s": measured.wall_s, "cpu_s": measured.cpu_s, "peak_rss_mb": measured.peak_rss_mb, "requests": requests,
            "exit_code": measured.exit_code}, json.loads(measured.stdout)


def report_pods(document: Any) -> list[dict]:
    """The per-pod entries of the report's JSON (docs/report.md)."""
    if isinstance(document, list):
        return document
    return list(document.get("pods", []))


def profile_report(python: str, env: dict[str, str], out_dir: Path) -> list[str]:
    """The report under cProfile; the top of the cumulative profile as lines of text."""
    prof = out_dir / "profile.prof"
    measured = run_measured(
        [python, "-m", "cProfile", "-o", str(prof), "-m", "irsa_explorer", "report", "-A", "--format", "json"], env
    )
    if not prof.exists():
        return [f"profiling failed: {measured.stderr[-500:]}"]
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(str(prof), stream=text)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    (out_dir / "profile.txt").write_text(text.getvalue())
    return text.getvalue().splitlines()


def report_stages(python: str, env: dict[str, str]) -> dict[str, Any]:
    """The report's wall time split by stage (bench/report_stages.py), without profiler overhead."""
    measured = run_measured([python, str(HERE / "report_stages.py")], env)
    lines = [line for line in measured.stdout.splitlines() if line.startswith("{")]
    if measured.exit_code != 0 or not lines:
        return {"error": measured.stderr[-2000:]}
    return json.loads(lines[-1])


def measure_tui(python: str, env: dict[str, str], stats: LabStats) -> dict[str, Any]:
    before = stats.snapshot()
    measured = run_measured([python, str(HERE / "tui_probe.py")], env, timeout=300)
    requests = stats.delta(before)
    lines = [line for line in measured.stdout.splitlines() if line.startswith("{")]
    if measured.exit_code != 0 or not lines:
        return {"error": (measured.stderr or measured.stdout)[-3000:], "requests": requests,
                "peak_rss_mb": measured.peak_rss_mb}
    result = json.loads(lines[-1])
    result.update({"requests": requests, "peak_rss_mb": measured.peak_rss_mb, "wall_s": measured.wall_s,
                   "cpu_s": round(measured.cpu_s, 2)})
    return result


def worst_tui_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run to show in full: a failed one, else the one with the slowest key press."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return failed[0]
    return max(runs, key=lambda run: run.get("keypress_ms") or 0.0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = parse_scale(args.scale or (QUICK if args.quick else FULL))
    # Every aws CLI start costs about a second: sampling keeps --quick under two minutes.
    sample = args.baseline_sample if args.baseline_sample is not None else (12 if args.quick else 25)
    python = sys.executable
    results: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # The load average says how much else ran on the machine while measuring.
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "quick": args.quick,
        "scale": {"pods": spec.pods, "namespaces": spec.namespaces, "serviceaccounts": spec.serviceaccounts,
                  "roles": spec.roles, "nodes": spec.nodes, "seed": spec.seed, "text": spec.as_text()},
        "latency": args.latency,
        "throttle": args.throttle,
        "requests": {},
        "notes": [],
    }
    from irsa_explorer.lab.launcher import start_lab

    results["bytecode_compiled"] = compile_bytecode()  # modules that were out of date

    extra = ["--scale", spec.as_text(), "--latency", args.latency]
    if args.throttle:
        extra += ["--throttle", args.throttle]
    print(f"bench: starting the lab ({spec.as_text()}; latency {args.latency}) …", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="irsa-bench-") as tmp:
        if args.attach:
            lab = AttachedLab(args.attach)
            results["notes"].append(f"attached to the lab served in {args.attach}; scale/latency as it was started")
        else:
            lab = start_lab("walkthrough", directory=Path(tmp) / "lab", extra_args=tuple(extra), timeout=600)
        try:
            results["lab_start_s"] = round(time.perf_counter() - started, 2)
            env = lab_env(lab, str(Path(tmp) / "kube-cache"))
            stats = LabStats(str(lab.kubeconfig), lab.aws_endpoint)
            cluster = _cluster_name(lab)

            # One unmeasured pass over the lists first: a real API server's watch cache is warm,
            # while the lab encodes each object's JSON on its first list after seeding.
            print("bench: reading the lab's objects once (warm-up, not measured) …", flush=True)
            warm = time.perf_counter()
            facts = lab_facts(lab, env, cluster)
            results["warmup_s"] = round(time.perf_counter() - warm, 2)
            results["lab_objects"] = facts
            results["distinct_roles"] = facts["distinct_roles"]
            listed = {k: facts[k] for k in ("pods", "serviceaccounts", "nodes")}
            if facts["associations"]:  # Pod Identity: the agents' pods (one a node) are listed too
                listed["pod-identity agents"] = facts["nodes"]
            results["kube_list_pages_needed"] = kube_list_pages_needed(listed)

            print("bench: report -A …", flush=True)
            report, document = measure_report(python, env, stats)
            pods = report_pods(document)
            results["report_s"] = round(report["wall_s"], 3)
            results["report_cpu_s"] = round(report["cpu_s"], 2)
            results["report_peak_rss_mb"] = round(report["peak_rss_mb"], 1)
            results["requests"]["report"] = report["requests"]
            results["report_pods"] = len(pods)

            if not args.skip_baseline:
                print(f"bench: the manual way (kubectl + jq + aws CLI{', sampled' if sample else ''}) …", flush=True)
                baseline = run_baseline(env, cluster, sample=sample)
                results["baseline_s"] = round(baseline.seconds, 2)
                results["baseline_extrapolated"] = baseline.extrapolated
                results["baseline_steps"] = [
                    {"what": s.what, "calls": s.calls, "timed": s.timed, "seconds": round(s.seconds, 2)}
                    for s in baseline.steps
                ]
                agreed, disagreements = compare_mappings(pods, baseline)
                results["mapping"] = {
                    "compared": len(baseline.mapping),
                    "agreed": agreed,
                    "not_compared": len(baseline.unresolved),
                    "disagreements": disagreements[:50],
                    "same": not disagreements,
                }
                results["speedup"] = round(baseline.seconds / report["wall_s"], 1)

            if not args.skip_tui:
                runs = []
                for number in range(max(1, args.tui_runs)):
                    print(f"bench: the explorer headless (Pilot) {number + 1}/{max(1, args.tui_runs)} …", flush=True)
                    runs.append(measure_tui(python, env, stats))
                tui = worst_tui_run(runs)
                results["requests"]["tui"] = tui.pop("requests")
                for run in runs:
                    run.pop("requests", None)
                results["tui"] = tui
                if len(runs) > 1:
                    results["tui_runs"] = [
                        {key: run.get(key) for key in ("tui_first_rows_s", "tui_all_verdicts_s", "keypress_ms",
                                                       "keypress_median_ms", "peak_rss_mb", "error")}
                        for run in runs
                    ]
                for key in ("tui_first_rows_s", "tui_all_verdicts_s", "keypress_ms"):
                    values = [run[key] for run in runs if run.get(key) is not None]
                    if values:
                        results[key] = max(values)  # the worst run: what the targets are judged on
                results["tui_peak_rss_mb"] = round(max(run.get("peak_rss_mb", 0.0) for run in runs), 1)

            if args.profile:
                print("bench: the report's stages, then the report under cProfile …", flush=True)
                results["report_stages_s"] = report_stages(python, env)
                results["profile_top"] = profile_report(python, env, HERE)[:80]

            results["lab_requests_total"] = summarize_requests(stats.snapshot())
        finally:
            lab.stop()

    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    rss = [results.get("report_peak_rss_mb"), results.get("tui_peak_rss_mb")]
    results["peak_rss_mb"] = max((r for r in rss if r), default=None)
    results["targets"] = [t.__dict__ | {"verdict": t.verdict} for t in check(results)]
    Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"\nbench: results written to {args.output}")
    return 0


def _cluster_name(lab: Any) -> str:
    import yaml

    config = yaml.safe_load(Path(lab.kubeconfig).read_text())
    context = config.get("current-context", "")
    # eksctl's form: user@NAME.REGION.eksctl.io
    tail = context.split("@", 1)[-1]
    return tail.split(".", 1)[0] if tail.endswith(".eksctl.io") else tail


def print_table(results: dict[str, Any]) -> None:
    scale = results["scale"]["text"]
    print(f"\nirsa-explorer bench — {scale}; latency {results['latency']}"
          f"{'; throttle ' + results['throttle'] if results.get('throttle') else ''}")
    load = results["machine"]
    print(f"  machine: {load['cpus']} cores, load average {load['loadavg_start'][0]} at start, "
          f"{load.get('loadavg_end', ['?'])[0]} at end")
    rows = [
        ("lab start (seeding included)", _fmt(results.get("lab_start_s"), "{:.1f} s")),
        ("warm-up read of the lab (not measured)", _fmt(results.get("warmup_s"), "{:.1f} s")),
        ("report -A --format json", _fmt(results.get("report_s"), "{:.2f} s")
         + _fmt(results.get("report_cpu_s"), " (CPU {:.1f} s)")),
        ("manual baseline" + (" (extrapolated)" if results.get("baseline_extrapolated") else ""),
         _fmt(results.get("baseline_s"), "{:.1f} s")),
        ("speedup", _fmt(results.get("speedup"), "{:.0f}×")),
        ("TUI first rows" + (" (worst run)" if results.get("tui_runs") else ""),
         _fmt(results.get("tui_first_rows_s"), "{:.2f} s")),
        ("TUI every verdict", _fmt(results.get("tui_all_verdicts_s"), "{:.2f} s")),
        ("key press while loading", _fmt(results.get("keypress_ms"), "{:.0f} ms")),
        ("peak RSS report / TUI", f"{_fmt(results.get('report_peak_rss_mb'), '{:.0f} MB')} / "
                                  f"{_fmt(results.get('tui_peak_rss_mb'), '{:.0f} MB')}"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for number, run in enumerate(results.get("tui_runs", []), 1):
        print(f"  {'TUI run ' + str(number):<{width}}  first rows {_fmt(run.get('tui_first_rows_s'), '{:.2f} s')}, "
              f"every verdict {_fmt(run.get('tui_all_verdicts_s'), '{:.2f} s')}, "
              f"slowest key {_fmt(run.get('keypress_ms'), '{:.0f} ms')} (median {_fmt(run.get('keypress_median_ms'), '{:.0f} ms')})")
    mapping = results.get("mapping")
    if mapping:
        print(f"  {'pod → role mapping':<{width}}  {'same' if mapping['same'] else 'DIFFERENT'} "
              f"({mapping['agreed']}/{mapping['compared']} pods agree"
              f"{', ' + str(mapping['not_compared']) + ' not compared (unsampled associations)' if mapping['not_compared'] else ''})")
    stages = results.get("report_stages_s")
    if stages and "error" not in stages:
        print("  report stages, wall s: " + ", ".join(f"{k} {v}" for k, v in stages["wall"].items()))
        print("  report stages, CPU s:  " + ", ".join(f"{k} {v}" for k, v in stages["cpu"].items()))
    for phase, requests in results.get("requests", {}).items():
        print(f"\n  requests during {phase}: " + (", ".join(f"{k} {v}" for k, v in requests.items()) or "none"))
    print("\n  targets" + (" (set for the full scale: --quick checks the harness, not them)" if results.get("quick") else "") + ":")
    for target in results.get("targets", []):
        print(f"    {target['verdict']:<13} {target['name']}: {target['value']} (goal {target['goal']})")
    for step in results.get("baseline_steps", []):
        extra = f" (timed {step['timed']} of {step['calls']}, extrapolated)" if step["timed"] < step["calls"] else ""
        print(f"  baseline step: {step['what']}: {step['seconds']:.1f} s{extra}")


def _fmt(value: Any, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


if __name__ == "__main__":
    sys.exit(main())
