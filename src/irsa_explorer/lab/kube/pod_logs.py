"""What the lab's kubelet keeps of each container's output, and `GET pods/NAME/log` as the
kubelet answers it: which container instance (`previous`), then `sinceSeconds`, `tailLines`,
`timestamps` and `limitBytes`, in that order, with the kubelet's own refusals.

A simulated command prints everything when it ends, so each run is one block of lines, all
stamped with the time it ended. Runs are kept in order: run i is the container's instance i
(its `restartCount` when it ran), so `previous=true` finds the run before the current one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from .errors import ApiError


@dataclass(frozen=True)
class LogRun:
    """One run of a container: what it printed (stdout then stderr), and when."""

    text: str
    at: float  # epoch seconds: when the lines were written


class ContainerLogs:
    """pod uid → container → its runs, oldest first (thread-safe: pods run on worker threads)."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, list[LogRun]]] = {}
        self._lock = threading.Lock()

    def record(self, pod_uid: str, container: str, text: str, at: float | None = None) -> None:
        run = LogRun(text, time.time() if at is None else at)
        with self._lock:
            self._runs.setdefault(pod_uid, {}).setdefault(container, []).append(run)

    def runs(self, pod_uid: str, container: str) -> list[LogRun]:
        with self._lock:
            return list(self._runs.get(pod_uid, {}).get(container, ()))

    def latest(self, pod_uid: str, container: str) -> str:
        """The last run's output ('' before any): what attach and a finished follow send."""
        runs = self.runs(pod_uid, container)
        return runs[-1].text if runs else ""

    def forget(self, pod_uid: str) -> None:
        with self._lock:
            self._runs.pop(pod_uid, None)


def container_status(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            return cs
    return None


def chosen_run(pod: dict[str, Any], container: str, runs: list[LogRun], previous: bool) -> LogRun | None:
    """The run the kubelet reads (its validateContainerLogStatus): with `previous`, the last
    terminated instance, refused when there is none; else the current instance, or the last
    terminated one while the next waits to start. Refusals are the kubelet's 400s."""
    pod_name = pod["metadata"]["name"]
    cs = container_status(pod, container)
    if cs is None:
        raise ApiError(400, "BadRequest", f'container "{container}" in pod "{pod_name}" is waiting to start: '
                       "ContainerCreating")
    state = cs.get("state") or {}
    last = (cs.get("lastState") or {}).get("terminated")
    restarts = int(cs.get("restartCount") or 0)
    if previous:
        if not last:
            raise ApiError(400, "BadRequest",
                           f'previous terminated container "{container}" in pod "{pod_name}" not found')
        index = restarts - 1
    elif "running" in state or "terminated" in state:
        index = restarts
    elif last:
        index = restarts - 1
    else:
        reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
        raise ApiError(400, "BadRequest", f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')
    return runs[index] if 0 <= index < len(runs) else None


def _positive_int(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "BadRequest", f'invalid value "{value}" for {name}') from None
    if number < (0 if name == "tailLines" else 1):
        raise ApiError(422, "Invalid", f"PodLogOptions \"\" is invalid: {name}: Invalid value: {number}: "
                       "must be greater than " + ("or equal to 0" if name == "tailLines" else "0"))
    return number


def log_options(query: Mapping[str, str]) -> dict[str, Any]:
    """The PodLogOptions of a query, checked as the API server checks them."""
    options = {name: _positive_int(query, name) for name in ("tailLines", "limitBytes", "sinceSeconds")}
    options["timestamps"] = (query.get("timestamps") or "").lower() in ("true", "1")
    if options["sinceSeconds"] is not None and query.get("sinceTime"):
        raise ApiError(422, "Invalid", 'PodLogOptions "" is invalid: sinceTime: Forbidden: '
                       "at most one of `sinceTime` or `sinceSeconds` may be specified")
    since_time = query.get("sinceTime")
    options["since"] = None
    if since_time:
        try:
            options["since"] = datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise ApiError(400, "BadRequest", f'invalid value "{since_time}" for sinceTime') from None
    return options


def stamp(at: float) -> str:
    """The kubelet's timestamp: RFC 3339 with nanoseconds, always nine digits, in UTC."""
    moment = datetime.fromtimestamp(at, timezone.utc)
    nanos = int(round((at - int(at)) * 1e9)) % 1_000_000_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def render(run: LogRun | None, options: Mapping[str, Any], now: float | None = None) -> bytes:
    """The body the kubelet sends for one run: since, tail, timestamps, then limitBytes."""
    if run is None:
        return b""
    now = time.time() if now is None else now
    since = options.get("since")
    if options.get("sinceSeconds") is not None:
        since = now - options["sinceSeconds"]
    if since is not None and run.at < since:
        return b""
    lines = run.text.splitlines(keepends=True)
    tail = options.get("tailLines")
    if tail is not None:
        lines = lines[-tail:] if tail else []
    if options.get("timestamps"):
        prefix = stamp(run.at) + " "
        lines = [prefix + line for line in lines]
    body = "".join(lines).encode()
    limit = options.get("limitBytes")
    return body[:limit] if limit is not None else body
