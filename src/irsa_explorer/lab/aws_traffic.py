"""Counters, latency and throttling per AWS service: what makes the lab behave like a real,
slow and rate-limited account, and what the benchmark reads to count API calls."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque


class Traffic:
    """Thread-safe request bookkeeping for one lab.

    `latency` maps a service ("iam", "sts", "eks", "ec2", "s3", "imds", ...) to seconds added
    to each of its requests. `throttle` maps a service to the requests per second it accepts;
    beyond that, requests get AWS's `Throttling: Rate exceeded` (sliding one-second window,
    so a burst is refused as soon as it passes the rate, as AWS's token buckets do).
    """

    def __init__(
        self,
        latency: dict[str, float] | None = None,
        throttle: dict[str, float] | None = None,
    ) -> None:
        self.latency = dict(latency or {})
        self.throttle = dict(throttle or {})
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._throttled: Counter[str] = Counter()
        self._recent: dict[str, deque[float]] = {}

    def admit(self, service: str, kind: str) -> bool:
        """Count one request; False when the service's rate is exceeded (answer Throttling)."""
        now = time.monotonic()
        with self._lock:
            self._counts[kind] += 1
            rate = self.throttle.get(service)
            if rate is None:
                return True
            window = self._recent.setdefault(service, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= rate:
                self._throttled[kind] += 1
                return False
            window.append(now)
            return True

    def delay(self, service: str) -> None:
        """Sleep the service's configured latency (blocking: each request has its own thread)."""
        seconds = self.latency.get(service, 0.0)
        if seconds > 0:
            time.sleep(seconds)

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def throttled(self) -> dict[str, int]:
        with self._lock:
            return dict(self._throttled)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._throttled.clear()
            self._recent.clear()
