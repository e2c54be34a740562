"""The TUI's entry points, which cli.py calls: the explorer on a real cluster, or on a lab.

A crash ends the way every other failure does: one line on stderr, secrets masked, exit status
1 — never Textual's crash screen, whose traceback prints every frame's local variables (a
pod's env with its `AWS_SECRET_ACCESS_KEY`, a token being decoded). The traceback, without
locals and masked (logfile.mask), goes to the log file when one is asked for (`--debug`).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
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
    app_class = type("IrsaExplorer", (CleanCrash, settings.FollowsConfig, IrsaExplorerApp), {"__module__": IrsaExplorerApp.__module__})
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
    return run_app(app_class(sources, **options))


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
    # the lesson's part too, with no lesson: `:learn` starts one and `:scenario` switches the lab in place
    from irsa_explorer.learn import learn_app_class
    from irsa_explorer.screens.scenario_switch import LabStart, without_scale

    lab = LabStart(args.scenario, without_scale(tuple(extra)))
    app = learn_app_class(app_class)(lesson=None, directory=None, lab_start=lab, connect=connect,
                                     connect_label=f"starting the lab ({args.scenario})…", **options)
    try:
        return run_app(app)
    finally:
        stop()
        made = getattr(app, "lesson_temp_folder", None)  # `:learn`'s folder: the lab's keys and CA in it
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def run_app(app, **run_options) -> int:
    """Run the TUI; its exit status: the app's return code (1 after a crash, CleanCrash)."""
    app.run(**run_options)
    if line := getattr(app, "crash_line", None):
        print(line, file=sys.stderr)  # after the terminal is given back: one line, never wrapped
    return app.return_code or 0


def crash_line(error: BaseException, log: str | None) -> str:
    """What a crash says on stderr: one line, what failed in words, secrets masked (tokens,
    keys, session tokens, signatures, Authorization headers: logfile.mask), control characters
    visible, bounded; where the details are (the log file), or how to get them."""
    from irsa_explorer import logfile
    from irsa_explorer.widgets.format import shown

    what = shown(logfile.mask(f"{type(error).__name__}: {error}"), limit=300)
    where = f"the traceback is in {log}" if log else "run with --debug for the traceback in a log file"
    return f"irsa-explorer: the explorer stopped on an unexpected error: {what} ({where})"


class CleanCrash:
    """Mixed in before the App: an exception the App does not handle ends it with `crash_line`
    and exit status 1, instead of Textual's crash screen (a Rich traceback with `show_locals`)."""

    def _handle_exception(self, error: Exception) -> None:  # Textual's hook (App._handle_exception), pinned
        from irsa_explorer import logfile

        self._return_code = 1
        if self._exception is None:  # what run_test re-raises, as Textual does
            self._exception = error
            self._exception_event.set()
        # the log's formatter masks; logging prints no locals
        logging.getLogger("irsa_explorer").error("the explorer crashed", exc_info=error)
        self.crash_line = crash_line(error, os.environ.get(logfile.LOG_ENV))  # run_app prints it
        self._close_messages_no_wait()
