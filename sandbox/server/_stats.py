"""What the sandbox server saw, for tests and benchmarks: counters per endpoint and a request log."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

REDACTED = "[redacted]"
# Parameters that carry credentials (Slack's `token`, Google's `access_token`, OAuth grants' secrets).
_SECRET_PARAMS = frozenset({"token", "access_token", "client_secret", "refresh_token", "code", "password"})


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


@dataclass(frozen=True)
class LoggedRequest:
    """A request as the server received it, before auth, rate limits or faults.

    `params` are the query and body parameters with credentials replaced by "[redacted]" (a JWT grant's
    `assertion` keeps its header and claims, loses its signature); `at` is `time.monotonic()` on arrival;
    `authorization` is the Authorization header as sent, None without one.
    """

    endpoint: str
    params: dict[str, str]
    at: float
    authorization: str | None


def without_secrets(params: Mapping[str, str]) -> dict[str, str]:
    """Give `params` with the values of credential parameters replaced by "[redacted]"."""
    out = dict(params)
    for name in _SECRET_PARAMS & out.keys():
        out[name] = REDACTED
    if "assertion" in out:
        parts = out["assertion"].split(".")
        # The claims say who asked for what scope, which tests check; the signature is the credential.
        out["assertion"] = f"{parts[0]}.{parts[1]}.{REDACTED}" if len(parts) == 3 else REDACTED
    return out


class RequestLog:
    """The newest `size` requests the server received, in arrival order (thread-safe)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=size)

    def add(self, entry: LoggedRequest) -> None:
        """Append one request, forgetting the oldest when the log is full."""
        with self._lock:
            self._entries.append(entry)

    def entries(self, endpoint: str | None = None) -> list[LoggedRequest]:
        """Give the logged requests (to `endpoint` only, when given), oldest first."""
        with self._lock:
            return [e for e in self._entries if endpoint is None or e.endpoint == endpoint]

    def clear(self) -> None:
        """Forget every logged request."""
        with self._lock:
            self._entries.clear()
