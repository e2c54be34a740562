"""The TUI's entry points, which cli.py calls: the explorer on a real cluster, or on a lab."""

from __future__ import annotations

import argparse
import sys

from irsa_explorer import config as settings
from irsa_explorer.app import IrsaExplorerApp


def configured(args: argparse.Namespace) -> tuple[type, dict] | None:
    """The App class with the user's config file applied (config.FollowsConfig), and the keyword
    arguments it takes; None (after one line on stderr) when --theme names no theme."""
    from textual.theme import BUILTIN_THEMES

    theme = getattr(args, "theme", None)
    if theme is not None and theme not in BUILTIN_THEMES:
        print(f"irsa-explorer: --theme: {settings.unknown_theme(theme, BUILTIN_THEMES)}", file=sys.stderr)
        return None
    config = settings.load()
    # the App's own module: Textual finds CSS_PATH beside the file that defines the class
    app_class = type("IrsaExplorer", (settings.FollowsConfig, IrsaExplorerApp), {"__module__": IrsaExplorerApp.__module__})
    readonly = bool(getattr(args, "readonly", False)) or config.readonly
    return app_class, {"config": config, "theme": theme, "readonly": readonly}


def run(args: argparse.Namespace) -> int:
    """`irsa-explorer` on a real cluster. Returns the exit code."""
    from irsa_explorer.sources.connect import Target, from_options
    from irsa_explorer.sources.kube import ClusterError

    chosen = configured(args)
    if chosen is None:
        return 2
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
    app_class, options = chosen
    app = app_class(sources, **options)
    app.run()
    return app.return_code or 0


def run_lab(args: argparse.Namespace) -> int:
    """`irsa-explorer lab`: the explorer on the embedded simulated EKS, stopped on exit.

    The lab starts in a worker so the screen is up at once and shows progress.
    """
    from irsa_explorer.sources.connect import lab_in_background

    chosen = configured(args)
    if chosen is None:
        return 2
    app_class, options = chosen
    extra: list[str] = []
    for option in ("scale", "latency", "throttle"):
        value = getattr(args, option, None)
        if value:
            extra += [f"--{option}", value]
    connect, stop = lab_in_background(args.scenario, extra)
    try:
        app_class(connect=connect, connect_label=f"starting the lab ({args.scenario})…", **options).run()
    finally:
        stop()
    return 0
