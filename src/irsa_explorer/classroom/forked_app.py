"""A tab's app forked by the app zygote (app_zygote.py), seen as asyncio sees a subprocess:
`stdin` (a StreamWriter), `stdout` and `stderr` (StreamReaders), `pid`, `wait()` — what
textual-serve's AppService and our TraineeSession use of an `asyncio.subprocess.Process`.

It is the zygote's child, not ours: its end is seen through a pidfd (Linux 5.3+), its exit
status is not known (None)."""

from __future__ import annotations

import asyncio
import contextlib
import os

from .app_zygote import ask_zygote


class ForkedApp:
    def __init__(self, pid: int, stdin: asyncio.StreamWriter, stdout: asyncio.StreamReader,
                 stderr: asyncio.StreamReader) -> None:
        self.pid, self.stdin, self.stdout, self.stderr = pid, stdin, stdout, stderr
        self.returncode: int | None = None
        self._ended = asyncio.get_running_loop().create_future()
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd = None
            self._ended.set_result(None)
            return
        asyncio.get_running_loop().add_reader(self._pidfd, self._on_end)

    def _on_end(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        if not self._ended.done():
            self._ended.set_result(None)

    async def wait(self) -> int | None:
        await asyncio.shield(self._ended)
        return self.returncode


async def fork_app(zygote: str, argv: list[str], env: dict[str, str], cwd: str) -> ForkedApp:
    """`irsa-explorer ARGV` forked by the zygote at `zygote`, on three new pipes."""
    loop = asyncio.get_running_loop()
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    try:
        pid = await asyncio.to_thread(ask_zygote, zygote, argv, env, cwd, [stdin_r, stdout_w, stderr_w])
    except BaseException:
        for fd in (stdin_w, stdout_r, stderr_r):
            os.close(fd)
        raise
    finally:
        for fd in (stdin_r, stdout_w, stderr_w):  # the app's ends: the zygote passed them on
            with contextlib.suppress(OSError):
                os.close(fd)
    readers = []
    for fd in (stdout_r, stderr_r):
        reader = asyncio.StreamReader(limit=2**20)
        await loop.connect_read_pipe(lambda r=reader: asyncio.StreamReaderProtocol(r), os.fdopen(fd, "rb", 0))
        readers.append(reader)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(stdin_w, "wb", 0))
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return ForkedApp(pid, writer, readers[0], readers[1])
