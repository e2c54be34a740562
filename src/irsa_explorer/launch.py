"""The TUI's entry points, which cli.py calls: the explorer on a real cluster, or on a lab."""

from __future__ import annotations

import argparse
import sys

from irsa_explorer.app import IrsaExplorerApp


def run(args: argparse.Namespace) -> int:
    """`irsa-explorer` on a real cluster. Returns the exit code."""
    from irsa_explorer.sources.connect import Target, from_options
    from irsa_explorer.sources.kube import ClusterError

    target = Target(
        args.context, args.kubeconfig, args.profile, args.region, args.namespace, args.cluster,
        request_timeout=getattr(args, "request_timeout", 10.0),
    )
    try:
        # Reads the kubeconfig only (a bad one is one line here, before the screen is taken);
        # the exec plugin, AWS credentials and every request run later, in the workers.
        sources = from_options(target)
    except ClusterError as error:
        print(f"irsa-explorer: {error}", file=sys.stderr)
        return 2
    app = IrsaExplorerApp(sources, readonly=getattr(args, "readonly", False))
    app.run()
    return app.return_code or 0


def run_lab(args: argparse.Namespace) -> int:
    """`irsa-explorer lab`: the explorer on the embedded simulated EKS, stopped on exit.

    The lab starts in a worker so the screen is up at once and shows progress.
    """
    from irsa_explorer.sources.connect import lab_in_background

    extra: list[str] = []
    for option in ("scale", "latency", "throttle"):
        value = getattr(args, option, None)
        if value:
            extra += [f"--{option}", value]
    connect, stop = lab_in_background(args.scenario, extra)
    try:
        IrsaExplorerApp(connect=connect, connect_label=f"starting the lab ({args.scenario})…",
                        readonly=getattr(args, "readonly", False)).run()
    finally:
        stop()
    return 0
