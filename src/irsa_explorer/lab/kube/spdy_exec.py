"""`pods/exec` over SPDY/3.1, the stream protocol kubectl up to 1.29 uses (and 1.30+ falls back to).

kubectl POSTs with `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version: v4.channel.k8s.io`; after
the 101 it opens one SPDY stream per channel, in a fixed order (error, stdin when -i, stdout,
stderr unless -t, resize when -t), each waiting for our SYN_REPLY. Output goes back as DATA
frames on the stdout/stderr streams; the v4 error stream carries the `Status` with the exit
code. Every stream is closed with FIN, then kubectl hangs up.

The client compresses its header blocks with zlib and the SPDY dictionary. Because kubectl
creates streams in that fixed order, the stream types follow from the request's query
(stdin/stdout/stderr/tty) and the headers need not be decoded. Our own SYN_REPLY header
blocks are plain zlib (no dictionary), which a SPDY zlib reader accepts.
"""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .exec_ws import exit_status

SPDY_VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY = 1, 2, 3, 4, 6, 7
FLAG_FIN = 0x01
PROTOCOLS = ("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io")


def _flag(query: Any, name: str, default: bool) -> bool:
    value = query.get(name)
    return default if value is None else value.lower() in ("true", "1")


def expected_streams(query: Any) -> list[str]:
    """Stream types in the order kubectl creates them for these exec options."""
    tty = _flag(query, "tty", False)
    order = ["error"]
    if _flag(query, "stdin", False):
        order.append("stdin")
    if _flag(query, "stdout", True):
        order.append("stdout")
    if _flag(query, "stderr", True) and not tty:
        order.append("stderr")
    if tty:
        order.append("resize")
    return order


def control_frame(frame_type: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | SPDY_VERSION, frame_type, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(payload)) + payload


class _SpdyParser:
    """Fed by aiohttp with the raw bytes after the upgrade; turns them into frames."""

    def __init__(self, on_frame: Callable[[bool, int, int, bytes], None], on_eof: Callable[[], None]) -> None:
        self._buffer = b""
        self._on_frame = on_frame
        self._on_eof = on_eof

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._buffer += data
        while len(self._buffer) >= 8:
            word, flags_length = struct.unpack(">II", self._buffer[:8])
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            payload = self._buffer[8:8 + length]
            self._buffer = self._buffer[8 + length:]
            control = bool(word & 0x80000000)
            # control: (type, flags); data: (stream id, flags)
            ident = word & 0xFFFF if control else word & 0x7FFFFFFF
            self._on_frame(control, ident, flags_length >> 24, payload)
        return False, b""

    def feed_eof(self) -> None:
        self._on_eof()


def is_spdy_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower().startswith("spdy/")


async def serve_exec_spdy(request: web.Request, produce: Callable[[], Awaitable[Any]], argv: list[str]) -> web.StreamResponse:
    """Upgrade to SPDY, await `produce()` once kubectl's streams exist, stream the result back."""
    offered = request.headers.getall("X-Stream-Protocol-Version", [])
    offered = [p.strip() for value in offered for p in value.split(",")]
    protocol = next((p for p in PROTOCOLS if p in offered), None)
    if protocol is None:
        raise web.HTTPForbidden(text=f"no supported stream protocol in {offered}")
    response = web.StreamResponse(status=101, headers={
        "Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": protocol})
    response.force_close()
    await response.prepare(request)
    transport = request.protocol.transport
    assert transport is not None
    wanted = expected_streams(request.query)
    streams: dict[str, int] = {}
    all_open = asyncio.Event()
    closed = asyncio.Event()
    compressor = zlib.compressobj()

    def header_block(pairs: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(pairs))
        for name, value in pairs.items():
            raw += struct.pack(">I", len(name)) + name.encode() + struct.pack(">I", len(value)) + value.encode()
        return compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)

    def on_frame(control: bool, ident: int, flags: int, payload: bytes) -> None:
        if not control:
            return  # stdin / resize data: simulated commands read no input
        if ident == SYN_STREAM:
            stream_id = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            if len(streams) < len(wanted):
                streams[wanted[len(streams)]] = stream_id
            transport.write(control_frame(SYN_REPLY, 0, struct.pack(">I", stream_id) + header_block({})))
            if len(streams) == len(wanted):
                all_open.set()
        elif ident == PING:
            transport.write(control_frame(PING, 0, payload))
        elif ident == GOAWAY:
            closed.set()

    request.protocol.set_parser(_SpdyParser(on_frame, closed.set))  # type: ignore[arg-type]
    request.protocol.keep_alive(False)
    try:
        await asyncio.wait_for(all_open.wait(), 30)
        result = await produce()
        tty = _flag(request.query, "tty", False)
        out_id, err_id = streams.get("stdout"), streams.get("stderr")
        if out_id is not None and result.stdout:
            transport.write(data_frame(out_id, 0, result.stdout.encode()))
        if result.stderr:
            target = out_id if tty else err_id
            if target is not None:
                transport.write(data_frame(target, 0, result.stderr.encode()))
        status = exit_status(int(result.exit_code), argv)
        transport.write(data_frame(streams["error"], FLAG_FIN, json.dumps(status).encode()))
        for name, stream_id in streams.items():
            if name in ("stdout", "stderr"):
                transport.write(data_frame(stream_id, FLAG_FIN, b""))
        # kubectl hangs up once it has read everything; do not wait forever if it does not.
        await asyncio.wait_for(closed.wait(), 10)
    except (asyncio.TimeoutError, ConnectionResetError):
        pass
    finally:
        transport.close()
    return response
