"""Resilience around every external call: token-bucket rate limits, tenacity retries, a circuit breaker.

One `Guard` per source wraps each call once, in the order DESIGN.md §5 gives: every attempt takes a token
from the method's bucket; transient faults (429 honouring `Retry-After`, 5xx, timeouts, resets, broken JSON)
are retried by tenacity; what is still failing after the retries counts against the source's pybreaker
`CircuitBreaker`. Vendor clients translate their exceptions into the classes below before the guard sees
them, so the guard never needs to know which vendor it protects. Counters live in `SourceStats`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pybreaker
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from collectors.client import ApiClient
from core.errors import FatalError, MeetintelError, RetriableError

T = TypeVar("T")
log = logging.getLogger("meetintel.collectors.resilience")

REDACTED = "[redacted]"


# ---- error classes the vendor clients raise -----------------------------------------------------------


class TransientError(RetriableError):
    """A fault worth retrying now: rate limit, 5xx, timeout, reset connection, truncated or invalid body."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        retry_after: float | None = None,
        status: int | None = None,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after  # seconds the service asked us to wait (Retry-After), if any
        self.status = status  # HTTP status, when there was a response
        self.rate_limited = rate_limited


class AuthError(FatalError):
    """The credentials were refused (invalid, revoked, missing scope): nothing of this source can be read."""


class ResyncRequired(MeetintelError):
    """The service no longer accepts a sync token (HTTP 410): drop it and list everything again."""


class Unreadable(FatalError):
    """One unit (a channel, a thread, a calendar) cannot be read with these credentials: skip it."""


class BreakerOpenError(RetriableError):
    """The source's circuit breaker is open: calls are skipped until its reset timeout has passed."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """Give `text` with every secret value replaced by a marker (secrets shorter than 4 chars are ignored)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that removes secret values from a record's message before any handler sees it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Give True (keep the record) after replacing secrets in its rendered message."""
        message = record.getMessage()
        clean = redact(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


# ---- policies -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long transient faults are retried."""

    max_attempts: int = 5  # attempts per call, the first included
    base_delay: float = 1.0  # exponential backoff multiplier (seconds) when the service gives no Retry-After
    max_delay: float = 60.0  # cap of one backoff wait
    max_retry_after: float = 300.0  # a longer Retry-After ends the call (the next run continues instead)


@dataclass(frozen=True)
class BreakerPolicy:
    """When a source's circuit opens and how long it stays open."""

    fail_max: int = 5  # consecutive calls that still failed after their retries
    reset_timeout: float = 300.0  # seconds before one trial call is let through


# ---- token buckets ------------------------------------------------------------------------------------


class TokenBucket:
    """A thread-safe token bucket: `per_minute` tokens a minute, at most `burst` saved up."""

    def __init__(
        self,
        per_minute: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a token bucket needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self._tokens = float(burst)
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.taken = 0  # tokens handed out so far: the calls made under this bucket

    def acquire(self) -> float:
        """Take one token, sleeping until it is due; give the seconds slept."""
        slept = 0.0
        while True:
            with self._lock:
                now = self._clock()
                reserved = now >= self._paused_until
                if reserved:
                    self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                    self._last = now
                    # Reserve the token even when it is not there yet: callers queue up in arrival order.
                    self._tokens -= 1.0
                    self.taken += 1
                    wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
                else:
                    wait = self._paused_until - now
            if wait > 0:
                self._sleep(wait)
                slept += wait
            if reserved:
                return slept

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (the service said Retry-After), so other workers back off too."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


class RateLimiter:
    """Token buckets by name (a Slack tier, a Google service); names without a bucket are not limited."""

    def __init__(self, buckets: Mapping[str, TokenBucket]) -> None:
        self._buckets = dict(buckets)

    def acquire(self, name: str) -> float:
        """Take a token from bucket `name`; give the seconds waited."""
        bucket = self._buckets.get(name)
        return bucket.acquire() if bucket else 0.0

    def pause(self, name: str, seconds: float) -> None:
        """Hold bucket `name` for `seconds`."""
        bucket = self._buckets.get(name)
        if bucket:
            bucket.pause(seconds)

    def taken(self) -> dict[str, int]:
        """Give the calls made so far under each bucket."""
        return {name: bucket.taken for name, bucket in self._buckets.items()}

    def rates(self) -> dict[str, float]:
        """Give each bucket's allowed calls per second."""
        return {name: bucket.rate for name, bucket in self._buckets.items()}


# ---- observable counters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakerSnapshot:
    """A circuit breaker's state, to persist between runs and restore (`Guard.restore_breaker`)."""

    state: str  # closed | open | half-open
    fail_counter: int
    opened_at: datetime | None


@dataclass(frozen=True)
class StatsSnapshot:
    """Counters of one source at an instant; subtract two to get what one run did."""

    requests: int = 0  # HTTP attempts made (retries included)
    retries: int = 0  # attempts that were retries
    rate_limited: int = 0  # answers that were rate limits (429, `ratelimited`, 403 rateLimitExceeded)
    transient_faults: int = 0  # transient faults seen, rate limits included
    failures: int = 0  # calls that failed for good (after retries, or not retriable)
    short_circuited: int = 0  # calls refused because the breaker was open
    resyncs: int = 0  # sync tokens the service refused (HTTP 410), each followed by a full listing
    waited_seconds: float = 0.0  # time spent in retry backoff and rate-limit waits

    def minus(self, earlier: StatsSnapshot) -> StatsSnapshot:
        """Give the counts accumulated since `earlier`."""
        return StatsSnapshot(
            requests=self.requests - earlier.requests,
            retries=self.retries - earlier.retries,
            rate_limited=self.rate_limited - earlier.rate_limited,
            transient_faults=self.transient_faults - earlier.transient_faults,
            failures=self.failures - earlier.failures,
            short_circuited=self.short_circuited - earlier.short_circuited,
            resyncs=self.resyncs - earlier.resyncs,
            waited_seconds=round(self.waited_seconds - earlier.waited_seconds, 3),
        )


class SourceStats:
    """Thread-safe counters of one source's calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, float] = {}
        self.last_error: str | None = None

    def add(self, name: str, amount: float = 1) -> None:
        """Add `amount` to counter `name` (a StatsSnapshot field)."""
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount

    def snapshot(self) -> StatsSnapshot:
        """Give the counters now."""
        with self._lock:
            counts = dict(self._counts)
        ints = {k: int(v) for k, v in counts.items() if k != "waited_seconds"}
        return StatsSnapshot(**ints, waited_seconds=round(counts.get("waited_seconds", 0.0), 3))


class _BreakerLog(pybreaker.CircuitBreakerListener):
    """Log every breaker state change at WARNING, so operators see it in the flow's logs."""

    def __init__(self, source: str, stats: SourceStats, notify: Callable[[BreakerChange], None]) -> None:
        self.source, self.stats, self.notify = source, stats, notify

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = getattr(old_state, "name", old_state)
        log.warning(
            "%s: circuit breaker %s -> %s (last error: %s)",
            self.source,
            old,
            new_state.name,
            self.stats.last_error,
        )
        self.notify(BreakerChange(self.source, str(old), str(new_state.name), self.stats.last_error))


@dataclass(frozen=True)
class BreakerChange:
    """A breaker's state change (`closed`, `open`, `half-open`), told to `Guard.on_change` callbacks."""

    source: str
    old: str
    new: str
    last_error: str | None


def _not_counted(exc: BaseException) -> bool:
    """Give True for errors that say nothing about the service's health (the breaker ignores them)."""
    return not isinstance(exc, RetriableError)


class _StopOnLongRetryAfter(stop_base):
    """Stop retrying when the service asks for a longer wait than this run is willing to spend."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = getattr(exc, "retry_after", None)
        return wait is not None and wait > self.limit


def _raise(exc: BaseException) -> None:
    raise exc


def _noop() -> None:
    return None


# ---- the guard ----------------------------------------------------------------------------------------


class Guard:
    """Rate limit, retry and circuit breaker for one source; `call` runs one API call through all three."""

    def __init__(
        self,
        source: str,
        limiter: RateLimiter,
        retry: RetryPolicy,
        breaker: BreakerPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.limiter = limiter
        self.retry = retry
        self.stats = SourceStats()
        self._sleep = sleep
        self._policy = breaker
        self._storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        # Told of every breaker state change (the flow turns them into events; collectors stay Prefect-free).
        self.on_change: list[Callable[[BreakerChange], None]] = []
        self.forced: str | None = None  # an operator's override: "force-open" or "force-closed"
        self._forced_reason = ""
        self.breaker = self._new_breaker()

    def _notify(self, change: BreakerChange) -> None:
        for callback in list(self.on_change):
            callback(change)

    def _new_breaker(self) -> pybreaker.CircuitBreaker:
        return pybreaker.CircuitBreaker(
            fail_max=self._policy.fail_max,
            reset_timeout=self._policy.reset_timeout,
            exclude=[_not_counted],
            listeners=[_BreakerLog(self.source, self.stats, self._notify)],
            state_storage=self._storage,
            name=self.source,
        )

    # The breaker is consulted before and told after each call, never wrapped around it: pybreaker holds
    # its lock for the whole of `CircuitBreaker.call`, which would serialise the concurrent channel workers.

    def call(self, op: str, fn: Callable[[], T], bucket: str) -> T:
        """Give `fn()` run under `bucket`'s rate limit, retried on transient faults, breaker permitting."""
        self._refuse_if_open(op)
        try:
            result = self._retrying(op, fn, bucket)
        except BaseException as exc:
            self._record_failure(exc)
            raise
        # A success closes a half-open breaker and resets the consecutive-failure count. If another worker
        # opened the breaker meanwhile, this call's result is still good.
        with contextlib.suppress(pybreaker.CircuitBreakerError):
            self.breaker.call(_noop)
        return result

    def is_open(self) -> bool:
        """Give True while the breaker is open and its reset timeout has not passed."""
        if self.forced is not None:
            return self.forced == "force-open"
        if self.breaker.current_state != pybreaker.STATE_OPEN:
            return False
        opened_at = self._storage.opened_at
        return opened_at is not None and datetime.now(UTC) < opened_at + timedelta(
            seconds=self.breaker.reset_timeout
        )

    def open_reason(self) -> str:
        """Give why the breaker is open and when it lets a trial call through."""
        if self.forced == "force-open":
            why = self._forced_reason or "forced open by an operator override"
            return f"{self.source} circuit breaker is {why}; `meetintel breaker auto {self.source}` lifts it"
        opened_at = self._storage.opened_at
        until = (opened_at + timedelta(seconds=self.breaker.reset_timeout)) if opened_at else None
        when = until.strftime("%Y-%m-%d %H:%M:%S UTC") if until else "its reset timeout"
        last = f"; last error: {self.stats.last_error}" if self.stats.last_error else ""
        failures = f"{self.breaker.fail_max} consecutive failures"
        return f"{self.source} circuit breaker is open after {failures}{last}; calls resume after {when}"

    def force(self, mode: str, reason: str = "") -> None:
        """Hold the breaker open ("force-open") or closed ("force-closed") whatever the calls do, or give it
        back to its own counting ("auto"): the manual override of an operator."""
        if mode not in ("auto", "force-open", "force-closed"):
            raise ValueError(f"unknown breaker override {mode!r}")
        self.forced = None if mode == "auto" else mode
        self._forced_reason = reason

    def breaker_snapshot(self) -> BreakerSnapshot:
        """Give the breaker's state, failure count and opening time."""
        return BreakerSnapshot(self.breaker.current_state, self.breaker.fail_counter, self._storage.opened_at)

    def restore_breaker(self, snap: BreakerSnapshot) -> None:
        """Put the breaker back into a state saved by an earlier process (`breaker_snapshot`)."""
        storage = pybreaker.CircuitMemoryStorage(snap.state)
        if snap.opened_at is not None:
            storage.opened_at = snap.opened_at
        for _ in range(snap.fail_counter):
            storage.increment_counter()
        self._storage = storage
        self.breaker = self._new_breaker()

    # ---- internals ----

    def _refuse_if_open(self, op: str) -> None:
        if self.is_open():
            self.stats.add("short_circuited")
            raise BreakerOpenError(f"{op} skipped: {self.open_reason()}", "the next run retries the source")

    def _record_failure(self, exc: BaseException) -> None:
        """Count a call that failed for good; a RetriableError also counts against the breaker."""
        self.stats.add("resyncs" if isinstance(exc, ResyncRequired) else "failures")
        if isinstance(exc, RetriableError):  # what the breaker counts, so what its reason names
            self.stats.last_error = exc.message
        # `_raise` re-raises exc through the breaker (or the breaker raises its trip error): both expected.
        with contextlib.suppress(BaseException):
            self.breaker.call(_raise, exc)

    def _retrying(self, op: str, fn: Callable[[], T], bucket: str) -> T:
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.retry.max_attempts)
            | _StopOnLongRetryAfter(self.retry.max_retry_after),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=lambda state: self._before_sleep(op, state),
            reraise=True,
        )
        return retrying(self._attempt, op, fn, bucket)

    def _attempt(self, op: str, fn: Callable[[], T], bucket: str) -> T:
        waited = self.limiter.acquire(bucket)
        if waited:
            self.stats.add("waited_seconds", waited)
        self.stats.add("requests")
        try:
            return fn()
        except TransientError as exc:
            self.stats.add("transient_faults")
            if exc.rate_limited:
                self.stats.add("rate_limited")
            if exc.retry_after:
                self.limiter.pause(bucket, exc.retry_after)
            raise

    def _wait(self, state: RetryCallState) -> float:
        """Give the wait before the next attempt: Retry-After when the service gave one, else backoff."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return exc.retry_after
        backoff = wait_random_exponential(multiplier=self.retry.base_delay, max=self.retry.max_delay)
        return float(backoff(state))

    def _before_sleep(self, op: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.stats.add("retries")
        self.stats.add("waited_seconds", wait)
        # The vendor clients' messages name the method already ("Slack users.list: HTTP 503").
        message = exc.message if isinstance(exc, MeetintelError) else f"{op}: {exc}"
        log.warning(
            "%s: %s (attempt %d of %d); retrying in %.2f s",
            self.source,
            message,
            state.attempt_number,
            self.retry.max_attempts,
            wait,
        )


class GuardedApi:
    """A client whose every call goes through a source's Guard (rate limit, retries, breaker)."""

    def __init__(self, inner: ApiClient, guard: Guard, bucket_of: Callable[[str], str]) -> None:
        self.inner, self.guard, self._bucket_of = inner, guard, bucket_of

    def __repr__(self) -> str:
        return f"GuardedApi({self.inner!r}, source={self.guard.source!r})"

    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Give the body of `method`, rate limited and retried by the guard."""
        return self.guard.call(method, lambda: self.inner.call(method, params), self._bucket_of(method))


def retry_after_seconds(value: str | None) -> float | None:
    """Give a Retry-After header's seconds (delta-seconds form), or None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
