"""Sliding-window rate limits per method, as Slack applies its tiers (per method, per workspace)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping


class RateLimiter:
    """Admit at most `limits[method]` calls in any window of `window_s` seconds; other methods are free."""

    def __init__(
        self, limits: Mapping[str, int], window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = dict(limits)
        self._window = window_s
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, method: str) -> float:
        """Give 0.0 when the call is admitted (and count it), else the seconds until a slot frees."""
        limit = self._limits.get(method)
        if limit is None:
            return 0.0
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(method, deque())
            while calls and calls[0] <= now - self._window:
                calls.popleft()
            if len(calls) < limit:
                calls.append(now)
                return 0.0
            # Refused calls are not counted: a client that waits `Retry-After` gets in.
            return max(calls[0] + self._window - now, 1e-6)


def retry_after_header(wait_s: float) -> str:
    """Give the `Retry-After` value for a wait: whole seconds rounded up, at least 1.

    Slack sends whole seconds and slack_sdk's RateLimitErrorRetryHandler parses the header with `int()`,
    so a fractional value would crash it; the exact wait travels in `X-Sandbox-Retry-After` instead.
    """
    return str(max(1, math.ceil(wait_s)))
