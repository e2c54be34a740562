"""Containers' logs, as `kubectl logs` reads them: `GET pods/NAME/log` through the KubeSource's
own client (its credentials, its timeouts, its one-line failures).

A pod that has ended still has its logs — the one place its last words are once `w` (exec)
cannot run in it. What is read is bounded: the last `tail_lines` lines, at most `limit_bytes`
bytes, each line cut at `MAX_LINE_CHARS`; bytes that are not UTF-8 are replaced, nothing else
is interpreted (a log line is untrusted text: the screen shows it literally).

`read_log` reads once (a container that ended, or the previous instance of a restarted one);
`LogFollow` keeps a running container's log open (`follow=true`), line batches as they come,
until the container stops or `close()` — from any thread — cuts it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from irsa_explorer.model import Pod, Unavailable

if TYPE_CHECKING:
    from irsa_explorer.sources.kube import KubeSource

TAIL_LINES = 500  # per container instance: the last lines are where a failure is
LIMIT_BYTES = 256 * 1024  # what one read may bring, whatever the lines' length
MAX_LINE_CHARS = 2000  # a longer line is cut (and says so)
PERMISSION = "get pods/log"
# A followed log may stay quiet for hours: the read timeout is a day (the client takes no "none"),
# and `LogFollow.close()` is what ends it.
FOLLOW_READ_TIMEOUT = 86400.0


@dataclass(frozen=True)
class LogTarget:
    """One container instance whose log can be read."""

    container: str
    previous: bool = False  # the instance before the current one (restarted containers)
    init: bool = False

    @property
    def label(self) -> str:
        kind = "init container" if self.init else "container"
        return f"{kind} {self.container}{' (previous instance)' if self.previous else ''}"


@dataclass(frozen=True)
class ContainerLog:
    """What one read brought: the lines (or why there are none), and whether older ones were left out."""

    target: LogTarget
    lines: tuple[str, ...] | Unavailable
    cut: bool = False  # the tail or the byte limit left older lines out


def log_targets(pod: Pod) -> list[LogTarget]:
    """Every container instance of the pod with a log to read: init containers first, then the
    containers, and each container's previous instance when the pod has restarted (the API server
    says so itself when one has none)."""
    inits = [LogTarget(c.name, init=True) for c in pod.containers if c.init]
    mains = [LogTarget(c.name) for c in pod.containers if not c.init]
    previous = [LogTarget(t.container, previous=True) for t in mains] if pod.restarts else []
    return inits + mains + previous


def follows(pod: Pod, target: LogTarget) -> bool:
    """Whether this target's log is kept open: the current instance of a pod that may still run."""
    return not target.previous and pod.phase in ("Running", "Pending", "Unknown")


def split_lines(data: str) -> list[str]:
    """Lines without their line ends, each cut at MAX_LINE_CHARS."""
    return [_bounded(line) for line in data.splitlines()]


def _bounded(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return line[:MAX_LINE_CHARS] + f"… ({len(line) - MAX_LINE_CHARS} more characters)"


def _unavailable(kube: KubeSource, what: str, error: BaseException) -> Unavailable:
    from kubernetes.client.rest import ApiException

    if isinstance(error, ApiException) and error.status == 403:
        return Unavailable(f"reading {what} is forbidden", PERMISSION, "forbidden")
    if isinstance(error, ApiException) and error.status in (400, 404):
        # the API server's (or kubelet's) own words: "previous terminated container … not found",
        # "… is waiting to start: ContainerCreating", pods "x" not found
        try:
            message = json.loads(error.body).get("message") or error.reason
        except Exception:
            message = error.reason
        return Unavailable(str(message)[:300], None, "not-found" if error.status == 404 else None)
    return Unavailable(str(kube.failure(f"read {what}", error)))


def _request(target: LogTarget, tail_lines: int | None, limit_bytes: int | None, follow: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"container": target.container, "_preload_content": False}
    if target.previous:
        kwargs["previous"] = True
    if tail_lines is not None:
        kwargs["tail_lines"] = tail_lines
    if limit_bytes is not None:
        kwargs["limit_bytes"] = limit_bytes
    if follow:
        kwargs["follow"] = True
    return kwargs


def read_log(kube: KubeSource, namespace: str, pod: str, target: LogTarget,
             tail_lines: int = TAIL_LINES, limit_bytes: int = LIMIT_BYTES) -> ContainerLog:
    """The last `tail_lines` lines of one container instance (at most `limit_bytes` bytes);
    never raises: a refusal is the log's `Unavailable` ("needs get pods/log" when forbidden)."""
    what = f"the log of {target.label} of pod {namespace}/{pod}"
    try:
        # one line more than shown: whether older lines were left out is then known, not guessed
        response = kube.core.read_namespaced_pod_log(pod, namespace, **_request(target, tail_lines + 1, limit_bytes, False))
        data = response.data
    except Exception as error:
        return ContainerLog(target, _unavailable(kube, what, error))
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
    lines = split_lines(text)
    cut = len(lines) > tail_lines or len(data) >= limit_bytes
    return ContainerLog(target, tuple(lines[-tail_lines:] if tail_lines else ()), cut)


class LogFollow:
    """`kubectl logs -f` of one container: its last lines, then new ones as it writes them.

    Made on any thread; `batches()` blocks (a worker's thread), `close()` may come from another:
    it shuts the response down, which ends a read that waits for bytes. No read timeout (a day)
    while following (a quiet container is not a dead server); connecting keeps the source's timeout.
    """

    def __init__(self, kube: KubeSource, namespace: str, pod: str, target: LogTarget,
                 tail_lines: int = TAIL_LINES) -> None:
        self.kube, self.namespace, self.pod, self.target = kube, namespace, pod, target
        self.tail_lines = tail_lines
        self._response: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self.ended: Unavailable | None = None  # why the stream ended, when it was not closed or the container's end
        self.opened = threading.Event()  # the API server answered: lines come from now on

    def batches(self) -> Iterator[list[str]]:
        """Batches of lines as they arrive; ends when the container stops, the stream is lost
        (`ended` then says why) or `close()` is called."""
        what = f"the log of {self.target.label} of pod {self.namespace}/{self.pod}"
        timeout = self.kube.request_timeout
        try:
            response = self.kube.core.read_namespaced_pod_log(
                self.pod, self.namespace, **_request(self.target, self.tail_lines, None, True),
                _request_timeout=(timeout, FOLLOW_READ_TIMEOUT) if timeout else None)
        except Exception as error:
            self.ended = _unavailable(self.kube, what, error)
            return
        with self._lock:
            if self._closed:
                response.release_conn()
                return
            self._response = response
        self.opened.set()
        pending = b""
        try:
            for chunk in response.stream(8192, decode_content=True):
                pending += chunk
                if b"\n" not in pending and len(pending) < 4 * MAX_LINE_CHARS:
                    continue
                complete, _, pending = pending.rpartition(b"\n")
                if not complete and pending:  # one line longer than a line may be: cut it here
                    complete, pending = pending, b""
                yield split_lines(complete.decode("utf-8", errors="replace") + "\n")
            if pending:
                yield split_lines(pending.decode("utf-8", errors="replace"))
        except Exception as error:  # the stream was cut: by close(), or by the network
            if not self._closed:
                self.ended = Unavailable(f"the log stream was lost: {self.kube.failure(f'follow {what}', error)}")
        finally:
            self.close()

    def close(self) -> None:
        """Stop following (any thread); idempotent."""
        with self._lock:
            self._closed = True
            response, self._response = self._response, None
        if response is not None:
            try:
                response.shutdown()
            except Exception:
                pass
            response.release_conn()

    @property
    def closed(self) -> bool:
        return self._closed
