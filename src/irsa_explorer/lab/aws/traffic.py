"""Counters, latency and throttling per AWS service: what makes the lab behave like a real,
slow and rate-limited account, and what the benchmark reads to count API calls."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Callable


class Traffic:
    """Thread-safe request bookkeeping for one lab.

    `latency` maps a service ("iam", "sts", "eks", "ec2", "s3", "imds", ...) to seconds added
    to each of its requests. `throttle` maps a service to the requests per second it accepts;
    beyond that, requests get AWS's `Throttling: Rate exceeded`. Like AWS, each service has a
    token bucket: it holds `rate` requests (the burst), refilled at `rate` per second of
    `clock`. The clock is injectable so that a test decides when time passes, instead of
    counting on requests landing inside one real second.
    """

    def __init__(
        self,
        latency: dict[str, float] | None = None,
        throttle: dict[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.latency = dict(latency or {})
        self.throttle = dict(throttle or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._throttled: Counter[str] = Counter()
        self._delayed: Counter[str] = Counter()
        self._buckets: dict[str, tuple[float, float]] = {}  # service → (tokens, at)

    def admit(self, service: str, kind: str) -> bool:
        """Count one request; False when the service's rate is exceeded (answer Throttling)."""
        with self._lock:
            self._counts[kind] += 1
            rate = self.throttle.get(service)
            if rate is None:
                return True
            if rate <= 0:  # a service that refuses everything
                self._throttled[kind] += 1
                return False
            now = self._clock()
            capacity = max(1.0, rate)
            tokens, at = self._buckets.get(service, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - at) * rate)
            if tokens < 1.0:
                self._buckets[service] = (tokens, now)
                self._throttled[kind] += 1
                return False
            self._buckets[service] = (tokens - 1.0, now)
            return True

    def delay(self, service: str) -> None:
        """Sleep the service's configured latency (blocking: each request has its own thread)."""
        seconds = self.latency.get(service, 0.0)
        if seconds > 0:
            with self._lock:
                self._delayed[service] += seconds
            time.sleep(seconds)

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def throttled(self) -> dict[str, int]:
        with self._lock:
            return dict(self._throttled)

    def delayed(self) -> dict[str, float]:
        """Seconds of latency added so far, by service."""
        with self._lock:
            return {service: round(seconds, 6) for service, seconds in self._delayed.items()}

    def reset(self) -> None:
        """Forget the counters and refill every bucket (an empty window, as after a quiet spell)."""
        with self._lock:
            self._counts.clear()
            self._throttled.clear()
            self._delayed.clear()
            self._buckets.clear()
