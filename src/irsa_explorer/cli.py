"""Command line: `irsa-explorer` (TUI), `irsa-explorer lab [serve]`, `irsa-explorer report`.

Only argument parsing lives here; each command's work is in its own module, imported lazily so
`--help` and `report` never pay for Textual or moto.
"""

from __future__ import annotations

import argparse
import re
import sys

DEFAULT_REQUEST_TIMEOUT = "10s"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def request_timeout(text: str) -> float:
    """kubectl's --request-timeout: `10s`, `500ms`, `1m`, `0` (no timeout); a bare number is seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: write a duration like 10s, 500ms or 1m (0: no timeout)")
    scale = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[match.group(2)]
    return float(match.group(1)) * scale


def version() -> str:
    """The installed distribution's version (the package's own when run from a bare checkout)."""
    from importlib import metadata

    try:
        return metadata.version("irsa-explorer")
    except metadata.PackageNotFoundError:
        from irsa_explorer import __version__

        return __version__


def _add_debug_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="write a log (tokens masked) to $IRSA_EXPLORER_LOG or ./irsa-explorer-debug.log",
    )


def _add_readonly_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    parser.add_argument(
        "--readonly",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="the TUI only reads: no exec into pods (w, reading a token), no TokenRequest (T); "
        "each says so instead of asking",
    )


def account_profile(text: str) -> str:
    """`--account-profile 222233334444=prod-readonly`, checked as it is parsed."""
    from irsa_explorer.sources.aws_accounts import parse_account_profiles

    try:
        parse_account_profiles(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem).removeprefix(f"--account-profile {text!r}: ")) from None
    return text


def _add_target_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """The options that pick a cluster and an account, as kubectl and the aws CLI spell them.
    Taken before or after `report` alike: a subcommand's copy has no default of its own, so
    `irsa-explorer --kubeconfig F report` keeps F (argparse lets a subparser's defaults win)."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", default=default(None), help="only this namespace")
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", default=default(False),
        help="all namespaces (the default)",
    )
    parser.add_argument("--context", default=default(None), help="kubeconfig context (default: the current one)")
    parser.add_argument(
        "--kubeconfig", default=default(None), help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument(
        "--profile", default=default(None), help="AWS profile (default: $AWS_PROFILE or the default chain)"
    )
    parser.add_argument(
        "--region", default=default(None), help="AWS region (default: the profile's, or the cluster's)"
    )
    parser.add_argument(
        "--account-profile", action="append", default=default([]), metavar="ACCOUNT=PROFILE", type=account_profile,
        help="read IRSA roles of another AWS account through this profile of your AWS config (repeatable; "
        "default: $IRSA_EXPLORER_ACCOUNT_PROFILES, e.g. 222233334444=prod-readonly)",
    )
    parser.add_argument(
        "--cluster", default=default(None), help="EKS cluster name (default: read from the kubeconfig context)"
    )
    parser.add_argument(
        "--request-timeout",
        type=request_timeout,
        default=default(request_timeout(DEFAULT_REQUEST_TIMEOUT)),
        metavar="DURATION",
        help=f"how long one Kubernetes or AWS request may wait for an answer, as kubectl's "
        f"(e.g. 3s, 1m; 0: no limit; default {DEFAULT_REQUEST_TIMEOUT})",
    )


def _add_lab_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default="walkthrough",
        help="built-in scenario name or a scenario file (default: walkthrough)",
    )
    parser.add_argument(
        "--scale",
        help="generate a large cluster: pods=N,namespaces=N,serviceaccounts=N,roles=N,nodes=N",
    )
    parser.add_argument(
        "--latency", help="added latency per service, e.g. kube=40ms,iam=120ms,sts=60ms"
    )
    parser.add_argument("--throttle", help="throttle a service beyond a rate, e.g. iam=20 (per second)")


def _add_theme_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    parser.add_argument(
        "--theme",
        metavar="NAME",
        default=None if top else argparse.SUPPRESS,
        help="a Textual theme for this run (e.g. textual-light), over the config file's "
        "(docs/config.md)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="irsa-explorer",
        description="Which AWS identity does each pod of an EKS cluster really get, and why?",
    )
    parser.add_argument("--version", action="version", version=f"irsa-explorer {version()}")
    _add_debug_option(parser, top=True)
    _add_readonly_option(parser, top=True)
    _add_theme_option(parser, top=True)
    _add_target_options(parser, top=True)
    sub = parser.add_subparsers(dest="command")

    lab = sub.add_parser("lab", help="the explorer on an embedded simulated EKS (no cloud account)")
    _add_lab_options(lab)
    _add_debug_option(lab)
    _add_readonly_option(lab)
    _add_theme_option(lab)
    lab_sub = lab.add_subparsers(dest="lab_command")
    serve = lab_sub.add_parser(
        "serve", help="run only the simulated EKS, for real kubectl and aws CLI"
    )
    _add_lab_options(serve)
    _add_debug_option(serve)
    serve.add_argument(
        "--dir", help="where to write kubeconfig and aws.env (default: a new temporary folder)"
    )
    serve.add_argument("--seed", type=int, help="the same ids (instances, keys, associations) on every run, for tests")
    host = lab_sub.add_parser("host", help="start labs cheaply by fork, for a classroom (docs/classroom.md)")
    host.add_argument("--socket", required=True, help="the Unix socket to listen on (IRSA_EXPLORER_LAB_HOST)")
    host.add_argument("--spares", type=int, default=0, metavar="N",
                      help="keep N labs started ahead, handed out as they are asked for (default 0)")
    host.add_argument("--spare-scenario", metavar="SCENARIO",
                      help="the spares' scenario (default: that of the first lab asked for)")

    learn = sub.add_parser("learn", help="a lesson: the explorer on a fresh lab with the lesson beside it")
    learn.add_argument("lesson", nargs="?", default="walkthrough",
                       help="built-in lesson name or a lesson file (default: walkthrough; docs/lessons.md)")
    learn.add_argument("--dir", help="where to write kubeconfig, aws.env and progress.json (default: a new temporary folder)")
    _add_debug_option(learn)
    _add_readonly_option(learn)
    _add_theme_option(learn)

    _add_classroom_parser(sub)

    report = sub.add_parser("report", help="the diagnosis without the TUI (table, JSON, Markdown)")
    _add_target_options(report)
    _add_debug_option(report)
    report.add_argument(
        "--lab",
        nargs="?",
        const="walkthrough",
        metavar="SCENARIO",
        help="run on the embedded lab (default scenario: walkthrough)",
    )
    report.add_argument(
        "--format",
        choices=("table", "json", "markdown"),
        help="output format (default: table on a terminal, json otherwise)",
    )
    report.add_argument(
        "--fail-on",
        choices=("broken", "warning"),
        default="broken",
        help="exit 1 when a pod is broken or unknown (default), or also on warnings",
    )
    _add_triage_options(report)
    return parser


def _add_classroom_parser(sub) -> None:
    """`classroom [LESSON]` serves `learn` in the browser; `classroom status` lists its trainees (docs/classroom.md)."""
    room = sub.add_parser("classroom", help="a lesson in the browser: one app and one lab per tab (`classroom status`: "
                          "who is connected and their step)")
    room.add_argument("lesson", nargs="?", default=None,
                      help="built-in lesson name or a lesson file (default: walkthrough); `status`: list the trainees")
    room.add_argument("--port", type=int, default=8000, help="port to listen on / to ask (default 8000; 0: a free one)")
    room.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: the network)")
    room.add_argument("--dir", help="where the trainees' folders go (default: a new temporary folder, printed)")
    room.add_argument("--max-trainees", type=int, metavar="N", help="tabs served at once (default 40)")
    room.add_argument("--json", action="store_true", help="`classroom status`: the roster as JSON")
    room.add_argument("--no-app-zygote", action="store_true", help="start every tab's app from scratch, not forked")
    room.add_argument("--spare-labs", type=int, metavar="N",
                      help="labs the lab host starts ahead for tabs that open at once (default 4; the class size "
                      "for a class arriving together)")


def _add_triage_options(report: argparse.ArgumentParser) -> None:
    """One pod's or one role's triage to share (triage.py; docs/report.md)."""
    which = report.add_mutually_exclusive_group()
    which.add_argument("--pod", metavar="NS/NAME", help="only this pod's triage: chain, findings and fixes, trust "
                       "evaluation (Markdown or JSON, redacted)")
    which.add_argument("--role", metavar="ARN_OR_NAME", help="only this role's triage: the pods that use it, "
                       "their trust decisions and findings, who can assume it")
    report.add_argument("--output", "-o", metavar="FILE", help="write to FILE (readable by you only) instead of stdout")
    report.add_argument("--redact-accounts", action="store_true",
                        help="--pod/--role: replace AWS account IDs too (tokens, access keys and secrets always are)")


def _tune_garbage_collector() -> None:
    """Collect cyclic garbage far less often than Python's default (every 700 allocations).

    A large cluster loads millions of small, long-lived objects (frozen dataclasses, dicts,
    tuples) and creates almost no reference cycles; with the default thresholds the collector
    walks them over and over, ~40% of `report -A`'s CPU at 10,000 pods. Memory freed by
    reference counting is unaffected; only cycle detection runs less often.
    """
    import gc

    gc.set_threshold(50_000, 20, 100)


def _lab_cannot_start(args: argparse.Namespace) -> str | None:
    """Why `lab` / `lab serve` cannot start, in one line (the extra, the scenario), or None."""
    from irsa_explorer.lab.launcher import missing_lab_extra

    missing = missing_lab_extra()
    if missing:
        return missing
    from irsa_explorer.lab.scenario.builtin import scenario_path
    from irsa_explorer.lab.scenario.errors import ScenarioError

    try:
        scenario_path(args.scenario or "walkthrough")
    except ScenarioError as problem:
        return str(problem)  # "invalid scenario: …", with the built-in names, as `lab serve` says it
    from irsa_explorer.lab.serve import OptionError, check_options

    try:  # --latency, --throttle, --scale: said here, not by a lab failing to start behind the TUI
        check_options(args)
    except OptionError as problem:
        return str(problem)
    return None


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the command. Every failure ends as one line on stderr and exit
    code 2, never a traceback; logs go to a file only when asked (see logfile.py)."""
    _tune_garbage_collector()
    args = build_parser().parse_args(argv)
    from irsa_explorer import logfile

    log = logfile.configure(debug=getattr(args, "debug", False))
    name = "irsa-explorer" + (f" {args.command}" if args.command else "")
    if args.command == "lab" and args.lab_command == "serve":
        name += " serve"
    if getattr(args, "account_profile", None):
        # The option wins over $IRSA_EXPLORER_ACCOUNT_PROFILES, for this process and the TUI's loader.
        import os

        os.environ["IRSA_EXPLORER_ACCOUNT_PROFILES"] = ",".join(args.account_profile)
    try:
        if args.command == "lab" and args.lab_command == "host":
            from irsa_explorer.lab.host import main as host_main

            return host_main(args.socket, parse=lambda options: build_parser().parse_args(["lab", "serve", *options]),
                             spares=max(0, args.spares),
                             spare_options=["--scenario", args.spare_scenario] if args.spare_scenario else None)
        if args.command == "lab":
            why = _lab_cannot_start(args)
            if why:
                print(f"{name}: {why}", file=sys.stderr)
                return 2
        if args.command == "lab" and args.lab_command == "serve":
            from irsa_explorer.lab.serve import main as serve_main

            return serve_main(args)
        if args.command == "lab":
            from irsa_explorer.launch import run_lab

            return run_lab(args)
        if args.command == "learn":
            from irsa_explorer.learn import run_learn

            return run_learn(args)
        if args.command == "classroom":
            from irsa_explorer.classroom.command import run_classroom

            return run_classroom(args)
        if args.command == "report":
            from irsa_explorer.report import main as report_main

            return report_main(args)
        from irsa_explorer.launch import run

        return run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: one line here, the traceback in the log (when asked)
        import logging

        logging.getLogger("irsa_explorer").exception("unexpected error")
        where = f" (traceback in {log})" if log else " (run with --debug for a log)"
        print(f"{name}: unexpected error: {logfile.mask(f'{type(error).__name__}: {error}')}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
