"""`irsa-explorer classroom [LESSON] [--port P] [--host H] [--dir ROOT]` and `classroom status`.

The lesson is read and checked before anything listens (a bad one: its problems, exit 2), the
lab extra and textual-serve are there, ROOT exists; then the server runs until Ctrl-C or
SIGTERM, when every trainee's app (and so its lab) is stopped before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from pathlib import Path

STATUS = "status"  # `classroom status`: the roster of a running classroom, not a lesson
EXTRA_HINT = "pip install 'irsa-explorer[classroom]'"
DEFAULT_SPARE_LABS = 4  # labs the lab host starts ahead (--spare-labs: the class size for a class arriving at once)


def missing_classroom_extra() -> str | None:
    import importlib.util

    missing = [name for name in ("textual_serve", "aiohttp_jinja2") if importlib.util.find_spec(name) is None]
    if missing:
        return f"the classroom needs the [classroom] extra ({', '.join(missing)} not installed): {EXTRA_HINT}"
    return None


def run_classroom(args: argparse.Namespace) -> int:
    """`irsa-explorer classroom`. Returns the exit code."""
    if args.lesson == STATUS:
        if args.dir is not None or args.max_trainees is not None or args.spare_labs is not None:
            print("irsa-explorer classroom status: takes --port, --host and --json only", file=sys.stderr)
            return 2
        from .status import run_status

        return run_status(args.host, args.port, args.json)
    if args.json:
        print("irsa-explorer classroom: --json is for `classroom status`", file=sys.stderr)
        return 2
    from irsa_explorer.lab.launcher import missing_lab_extra
    from irsa_explorer.lessons import LessonError, load_lesson

    missing = missing_classroom_extra() or missing_lab_extra()
    if missing:
        print(f"irsa-explorer classroom: {missing}", file=sys.stderr)
        return 2
    lesson = args.lesson or "walkthrough"
    try:
        loaded = load_lesson(lesson)  # checked once here; every tab's app reads it again
    except LessonError as problem:
        print(f"irsa-explorer classroom: {problem}", file=sys.stderr)
        return 2
    if Path(lesson).expanduser().is_file():  # the apps run in the trainees' folders
        lesson = str(Path(lesson).expanduser().resolve())
    root = Path(args.dir).expanduser().resolve() if args.dir else Path(tempfile.mkdtemp(prefix="irsa-classroom-"))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        print(f"irsa-explorer classroom: cannot use {root} for the trainees' folders: {problem}", file=sys.stderr)
        return 2
    max_trainees = args.max_trainees if args.max_trainees is not None else 40
    _log_to_console()
    from .app_zygote import start_app_zygote
    from .lab_host import start_lab_host
    from .server import ClassroomServer, app_environment

    spares = args.spare_labs if args.spare_labs is not None else min(max_trainees, DEFAULT_SPARE_LABS)
    # an embedded scenario is written into each trainee's folder: no spare can match it
    scenario = str(loaded.scenario_path) if loaded.scenario_path is not None else None
    host = start_lab_host(root, spares, scenario)
    lab_host = str(host.socket) if host else None
    zygote = None if getattr(args, "no_app_zygote", False) else start_app_zygote(root, app_environment(lab_host))
    server = ClassroomServer(lesson, root, host=args.host, port=args.port, max_trainees=max_trainees,
                             lab_host=lab_host, zygote=str(zygote.socket) if zygote else None)
    try:
        asyncio.run(_serve(server))
    except OSError as problem:  # the port is taken, the address is not this machine's
        print(f"irsa-explorer classroom: cannot listen on {args.host}:{args.port}: {problem.strerror or problem}",
              file=sys.stderr)
        return 2
    finally:
        for started in (zygote, host):
            if started is not None:
                started.stop()
    print(f"classroom stopped; the trainees' folders (progress.json each) are kept in {root}", flush=True)
    return 0


def _log_to_console() -> None:
    """Who came and went, and textual-serve's errors, on the console (a server's log, no secret in it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("classroom: %(message)s"))
    for name, level in (("irsa_explorer.classroom", logging.INFO), ("textual-serve", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)


async def _serve(server) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    def started(url: str) -> None:
        exposed = server.host not in ("127.0.0.1", "localhost", "::1")
        print("\n".join([
            f"irsa-explorer classroom: lesson {server.lesson}, up to {server.max_trainees} trainees, "
            f"each with an app and a lab of their own",
            f"  trainees open     {url}/   (with a name: {url}/?name=Ada)",
            f"  instructor        {url}/status   or   irsa-explorer classroom status --port {server.port}",
            f"  trainees' folders {server.root}",
            f"  labs              {'from one lab host (' + server.lab_host + ')' if server.lab_host else 'one lab serve per tab'}",
            f"  apps              {'forked by one app zygote (' + server.zygote + ')' if server.zygote else 'one process per tab'}",
            (f"  listening on {server.host}: anyone who can reach this machine on port {server.port} can start an app "
             "and a lab here (docs/classroom.md)" if exposed else
             f"  listening on {server.host} only: this machine's browsers (--host 0.0.0.0 opens it to the network)"),
            "Ctrl-C stops the classroom and every trainee's app and lab.",
            "ready",
        ]), flush=True)

    await server.run(started, stop)
