"""Counters the sandbox server keeps per endpoint, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServerStats:
    """A snapshot of the counters: requests, rate-limit refusals, injected faults and auth failures.

    `requests` counts every request that named a known endpoint (refused or not); `faults` maps an
    endpoint to counts per fault kind (`drop`, `error`, `truncate`).
    """

    requests: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    faults: dict[str, dict[str, int]] = field(default_factory=dict)
    auth_failures: dict[str, int] = field(default_factory=dict)

    @property
    def total_requests(self) -> int:
        """Give the number of requests over all endpoints."""
        return sum(self.requests.values())


class StatsRecorder:
    """Thread-safe counters behind `SandboxServer.stats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._limited: Counter[str] = Counter()
            self._faults: dict[str, Counter[str]] = {}
            self._auth: Counter[str] = Counter()

    def request(self, endpoint: str) -> None:
        """Count one request to `endpoint`."""
        with self._lock:
            self._requests[endpoint] += 1

    def rate_limited(self, endpoint: str) -> None:
        """Count one request refused with a rate-limit answer."""
        with self._lock:
            self._limited[endpoint] += 1

    def fault(self, endpoint: str, kind: str) -> None:
        """Count one injected fault of `kind`."""
        with self._lock:
            self._faults.setdefault(endpoint, Counter())[kind] += 1

    def auth_failure(self, endpoint: str) -> None:
        """Count one request refused for a missing or wrong token."""
        with self._lock:
            self._auth[endpoint] += 1

    def snapshot(self) -> ServerStats:
        """Give a copy of the counters that later requests do not change."""
        with self._lock:
            return ServerStats(
                requests=dict(self._requests),
                rate_limited=dict(self._limited),
                faults={k: dict(v) for k, v in self._faults.items()},
                auth_failures=dict(self._auth),
            )
