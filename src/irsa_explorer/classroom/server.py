"""The classroom's web server: textual-serve's, with one `irsa-explorer learn` per browser tab.

textual-serve (the Textual authors' own server: xterm.js in the page, the app in a subprocess
speaking Textual's web driver over a pipe) runs one shell command for every websocket. We keep
its page, its static files and its protocol (`AppService`), and change what a classroom needs:

- each session runs `learn LESSON --dir ROOT/trainee-NN` of its own (argv, no shell), in its
  own process group, so a tab gets its own app, its own lab (the app starts it, or the lab host
  forks it; either stops with the app) and its own progress.json in its folder; the apps work in
  ROOT, as the lab host does, so its spare labs match their requests;
- the trainee's environment has none of the instructor's AWS_* or KUBECONFIG, so nothing a
  trainee runs can reach the instructor's cloud account or cluster;
- closing the tab stops the app (textual-serve's quit), and a process that does not end in
  STOP_GRACE_S is terminated with its group, so no app or lab outlives its tab;
- the page's websocket address is built from the request (textual-serve builds it from the bind
  address, which a browser cannot reach when bound to 0.0.0.0) and carries the trainee's name;
- `/status` (HTML) and `/status.json` list the roster, answered to this machine only (loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from .forked_app import fork_app
from .roster import Trainee, clean_name
from .status_page import status_html

log = logging.getLogger("irsa_explorer.classroom")

STOP_GRACE_S = 20.0  # an app asked to quit that is still running then is terminated (a hang guard)
KILL_GRACE_S = 5.0  # after SIGTERM, before SIGKILL
LAB_HOST_ENV = "IRSA_EXPLORER_LAB_HOST"  # lab.launcher asks the lab host at this socket (helper C's fork server)
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
TEXTUAL_SERVE = Path(textual_serve.__file__).parent  # its page template and static files (xterm.js)


def app_environment(lab_host: str | None) -> dict[str, str]:
    """The environment textual-serve gives an app (its Textual settings), as a trainee's."""
    service = AppService("", write_bytes=None, write_str=None, close=None, download_manager=None)  # type: ignore[arg-type]
    return trainee_environment(service._build_environment(), lab_host)


def trainee_environment(base: dict[str, str], lab_host: str | None) -> dict[str, str]:
    """The environment a trainee's app runs with: the server's, less the instructor's AWS
    settings and kubeconfig (the lab's come from the trainee's own folder)."""
    env = {k: v for k, v in base.items() if not k.startswith("AWS_") and k != "KUBECONFIG"}
    env.pop(LAB_HOST_ENV, None)
    if lab_host:
        env[LAB_HOST_ENV] = lab_host
    env["PYTHONUNBUFFERED"] = "1"
    return env


class TraineeSession(AppService):
    """One tab's app: textual-serve's AppService, started from an argv in the trainee's folder,
    in a process group of its own, stopped for sure."""

    def __init__(self, argv: list[str], trainee: Trainee, lab_host: str | None, zygote: str | None = None,
                 **kwargs) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.trainee = trainee
        self.lab_host = lab_host
        self.zygote = zygote  # the app zygote's socket: the app forked there (app_zygote.py)
        # the classroom's folder, as the lab host's: a spare lab matches a request by its options
        # and working folder (the trainee's own files go to --dir: its folder)
        self.workdir = trainee.directory.parent

    async def _open_app_process(self, width: int = 80, height: int = 24):
        env = trainee_environment(self._build_environment(width=width, height=height), self.lab_host)
        if self.zygote:
            try:
                process = await fork_app(self.zygote, self.argv[3:], env, str(self.workdir))
            except OSError as problem:
                log.warning("trainee %s: %s; its app starts as a process of its own", self.trainee.number, problem)
            else:
                self._process, self._stdin, self.trainee.pid = process, process.stdin, process.pid
                return process
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, cwd=self.workdir, start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        self.trainee.pid = process.pid
        return process

    async def run(self) -> None:
        """textual-serve's relay of the app's screen; then the tab is closed, also when the app
        died without saying so (killed, crashed hard): the page says the session ended."""
        try:
            await super().run()
        finally:
            with contextlib.suppress(Exception):
                await self.remote_close()

    async def stop(self) -> None:
        """Ask the app to quit (it stops its lab), and make sure it did."""
        task, process = self._task, self._process
        if task is None or process is None:
            return
        self._task = None
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        with contextlib.suppress(Exception):
            await self.send_meta({"type": "quit"})
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except TimeoutError:
            log.warning("trainee %s: the app did not quit in %g s: terminated", self.trainee.number, STOP_GRACE_S)
            self._signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), KILL_GRACE_S)
            except TimeoutError:
                self._signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        self._signal_group(process.pid, signal.SIGKILL)  # whatever it left in its group (the loader, a command)
        await task

    @staticmethod
    def _signal_group(pid: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)


class ClassroomServer:
    """`irsa-explorer classroom`: serves the lesson, one app and lab per tab, and the roster."""

    def __init__(self, lesson: str, root: Path, *, host: str = "127.0.0.1", port: int = 8000,
                 max_trainees: int = 40, lab_host: str | None = None, zygote: str | None = None) -> None:
        self.lesson = lesson
        self.root = root
        self.host, self.port = host, port
        self.max_trainees = max_trainees
        self.lab_host = lab_host
        self.zygote = zygote
        self.trainees: list[Trainee] = []
        self.sessions: dict[int, tuple[TraineeSession, web.WebSocketResponse]] = {}
        self.download_manager = DownloadManager()
        self.url = ""

    # -- the roster --------------------------------------------------------------------------------

    def connected(self) -> list[Trainee]:
        return [t for t in self.trainees if t.connected]

    def _new_trainee(self, name: str) -> Trainee:
        number = len(self.trainees) + 1
        while (self.root / f"trainee-{number:02d}").exists():  # a folder of an earlier class is left alone
            number += 1
        directory = self.root / f"trainee-{number:02d}"
        directory.mkdir(parents=True, mode=0o700)
        trainee = Trainee(number, name, directory)
        self.trainees.append(trainee)
        return trainee

    def app_argv(self, trainee: Trainee) -> list[str]:
        return [sys.executable, "-m", "irsa_explorer", "learn", self.lesson, "--dir", str(trainee.directory)]

    # -- the web app -------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEXTUAL_SERVE / "templates"), autoescape=True)
        app.add_routes([
            web.get("/", self.handle_index, name="index"),
            web.get("/ws", self.handle_websocket, name="websocket"),
            web.get("/ws/{name}", self.handle_websocket, name="websocket-named"),
            web.get("/status", self.handle_status_page, name="status"),
            web.get("/status.json", self.handle_status_json, name="status-json"),
            web.static("/static", TEXTUAL_SERVE / "static", name="static"),
        ])
        app.on_shutdown.append(self._stop_all)
        return app

    def _full(self) -> bool:
        return len(self.connected()) >= self.max_trainees

    async def handle_index(self, request: web.Request) -> web.Response:
        """textual-serve's page, its websocket pointed back at the address the browser used."""
        if self._full():
            raise web.HTTPServiceUnavailable(text=f"The classroom is full ({self.max_trainees} trainees); ask your instructor.")
        name = clean_name(request.query.get("name"))
        origin = request.url.origin()
        scheme = "wss" if origin.scheme == "https" else "ws"
        websocket = f"{scheme}://{origin.raw_authority}/ws" + (f"/{quote(name, safe='')}" if name else "")
        context = {
            "font_size": _font_size(request.query.get("fontsize")),
            "app_websocket_url": websocket,
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": f"irsa-explorer: lesson {self.lesson}"},
            "ping_url": None,
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: a trainee, their app and lab, until the tab goes away."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if self._full():
            await websocket.close(message=b"the classroom is full")
            return websocket
        trainee = self._new_trainee(clean_name(request.match_info.get("name")))
        session = TraineeSession(self.app_argv(trainee), trainee, self.lab_host, self.zygote,
                                 write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                 close=websocket.close, download_manager=self.download_manager)
        self.sessions[trainee.number] = (session, websocket)
        log.info("trainee %s connected (%s)", trainee.number, trainee.directory)
        try:
            await session.start(_int(request.query.get("width"), 80), _int(request.query.get("height"), 24))
            await self._relay(websocket, session)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("trainee %s: session failed", trainee.number)
        finally:
            await session.stop()
            trainee.closed = trainee.closed or time.time()
            self.sessions.pop(trainee.number, None)
            with contextlib.suppress(Exception):
                await websocket.close()
            log.info("trainee %s left; app stopped", trainee.number)
        return websocket

    @staticmethod
    async def _relay(websocket: web.WebSocketResponse, session: TraineeSession) -> None:
        """The browser's messages to the app (textual-serve's protocol: stdin, resize, ping, focus)."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
                kind, data = (envelope[0], envelope[1] if len(envelope) > 1 else None)
            except (ValueError, TypeError, IndexError, KeyError):
                continue  # not the page's: ignored
            if kind == "stdin" and isinstance(data, str):
                await session.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await session.set_terminal_size(_int(data.get("width"), 80), _int(data.get("height"), 24))
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await session.blur()
            elif kind == "focus":
                await session.focus()

    def _instructor_only(self, request: web.Request) -> None:
        if request.remote not in LOOPBACK:
            raise web.HTTPForbidden(text="The classroom's status is shown on the machine that serves it only.")

    def roster(self) -> list[dict]:
        return [t.status() for t in self.trainees]

    async def handle_status_json(self, request: web.Request) -> web.Response:
        self._instructor_only(request)
        rows = await asyncio.to_thread(self.roster)
        return web.json_response({"lesson": self.lesson, "root": str(self.root), "url": self.url,
                                  "max_trainees": self.max_trainees, "lab_host": self.lab_host, "app_zygote": self.zygote, "trainees": rows})

    async def handle_status_page(self, request: web.Request) -> web.Response:
        self._instructor_only(request)
        rows = await asyncio.to_thread(self.roster)
        return web.Response(text=status_html(rows, self.lesson, str(self.root)), content_type="text/html")

    async def _stop_all(self, app: web.Application | None = None) -> None:
        """Every app stopped (and with them their labs) before the server goes."""
        sessions = list(self.sessions.values())
        await asyncio.gather(*(session.stop() for session, _ in sessions), return_exceptions=True)
        for _, websocket in sessions:
            with contextlib.suppress(Exception):
                await websocket.close()

    # -- running -----------------------------------------------------------------------------------

    async def run(self, started: Callable[[str], None], stop: asyncio.Event) -> None:
        """Serve until `stop` is set; `started(url)` once listening."""
        runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None, shutdown_timeout=5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            port = runner.addresses[0][1]
            shown = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
            self.url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{port}"
            self.port = port
            started(self.url)
            await stop.wait()
            await self._stop_all()
        finally:
            await runner.cleanup()


def _int(value: object, default: int) -> int:
    try:
        return max(1, min(int(str(value)), 1000))
    except (TypeError, ValueError):
        return default


def _font_size(value: str | None) -> int:
    return max(6, min(_int(value, 16), 48))
