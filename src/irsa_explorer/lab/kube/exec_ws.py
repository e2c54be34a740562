"""`pods/exec` over a websocket with the channel.k8s.io protocols (v5 and v4).

Each binary frame starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 status
(a `Status` object), 4 resize, 255 close (v5). Clients may send TEXT frames; nothing they
send matters here since simulated commands read no stdin. After the status frame the
server closes the socket, which is how kubectl and the Python client know it is over.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDOUT, STDERR, STATUS = 1, 2, 3


def exit_status(exit_code: int, argv: list[str]) -> dict[str, Any]:
    """The channel-3 Status for an exit code, as kubelet reports it."""
    if exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (f"command terminated with non-zero exit code: error executing command "
                    f"{json.dumps(argv)}, exit code {exit_code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]},
    }


async def serve_exec(request: web.Request, produce: Callable[[], Awaitable[Any]], argv: list[str]) -> web.WebSocketResponse:
    """Upgrade, await `produce()` (→ ProcessResult), stream its output and exit status, close."""
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=0)
    await ws.prepare(request)

    async def drain() -> None:  # read (and ignore) stdin/resize/close frames so pings work
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break

    reader = asyncio.create_task(drain())
    try:
        result = await produce()
        want_stdout = request.query.get("stdout", "true").lower() in ("true", "1")
        want_stderr = request.query.get("stderr", "true").lower() in ("true", "1")
        tty = request.query.get("tty", "false").lower() in ("true", "1")
        if result.stdout and want_stdout:
            await ws.send_bytes(bytes([STDOUT]) + result.stdout.encode())
        if result.stderr:
            # With a TTY there is no separate stderr stream: it is folded into stdout.
            channel = STDOUT if tty else STDERR
            if want_stderr or tty:
                await ws.send_bytes(bytes([channel]) + result.stderr.encode())
        await ws.send_bytes(bytes([STATUS]) + json.dumps(exit_status(int(result.exit_code), argv)).encode())
    except Exception as exc:  # report as kubelet would instead of dropping the socket
        status = {"metadata": {}, "status": "Failure", "message": f"lab runtime error: {exc}",
                  "reason": "InternalError"}
        if not ws.closed:
            await ws.send_bytes(bytes([STATUS]) + json.dumps(status).encode())
    finally:
        if not ws.closed:
            await ws.close()
        reader.cancel()
    return ws
