"""The resilience layer: token buckets, tenacity retries (Retry-After, backoff, never on fatal errors),
the circuit breaker per source, its persistence between processes, and secret redaction."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

import pytest

from collectors._resilience import (
    AuthError,
    BreakerOpenError,
    BreakerPolicy,
    BreakerSnapshot,
    Guard,
    RateLimiter,
    RedactingFilter,
    ResyncRequired,
    RetryPolicy,
    TokenBucket,
    TransientError,
    redact,
)
from core.errors import FatalError


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class Script:
    """A callable that raises the scripted errors in order, then returns "done"; counts its calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def guard(
    sleeps: list[float], retry: RetryPolicy | None = None, breaker: BreakerPolicy | None = None
) -> Guard:
    """Give a guard without rate limits whose retry waits are recorded instead of slept."""
    return Guard(
        "slack",
        RateLimiter({}),
        retry or RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=2.0),
        breaker or BreakerPolicy(fail_max=3, reset_timeout=60),
        sleep=sleeps.append,
    )


def transient(status: int = 503, retry_after: float | None = None) -> TransientError:
    return TransientError(
        f"HTTP {status}", retry_after=retry_after, status=status, rate_limited=status == 429
    )


def test_token_bucket_spaces_calls_at_its_rate_after_the_burst() -> None:
    """60/min with a burst of 2: two calls pass at once, then one per second."""
    clock = FakeClock()
    bucket = TokenBucket(60, burst=2, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert clock.now == 103.0


def test_token_bucket_refills_while_idle_but_never_beyond_the_burst() -> None:
    """After 10 idle seconds a bucket of burst 3 holds 3 tokens, not 10."""
    clock = FakeClock()
    bucket = TokenBucket(60, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        bucket.acquire()
    clock.now += 10
    assert [bucket.acquire() for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


def test_token_bucket_pause_holds_the_next_caller_for_the_retry_after() -> None:
    """pause(2.5) makes the next acquire wait 2.5 s (a 429's Retry-After seen by another worker)."""
    clock = FakeClock()
    bucket = TokenBucket(60, burst=5, clock=clock, sleep=clock.sleep)
    bucket.pause(2.5)
    assert bucket.acquire() == 2.5
    assert bucket.acquire() == 0.0


def test_rate_limiter_limits_only_named_buckets() -> None:
    """A bucket name without a bucket is not limited."""
    clock = FakeClock()
    limiter = RateLimiter({"tier2": TokenBucket(20, 1, clock=clock, sleep=clock.sleep)})
    assert [limiter.acquire("tier2"), limiter.acquire("tier2"), limiter.acquire("other")] == [0.0, 3.0, 0.0]


def test_guard_retries_transient_faults_with_backoff_and_counts_them() -> None:
    """Two 503s then success: 3 attempts, 2 retries, waits within the exponential backoff caps."""
    sleeps: list[float] = []
    g, fn = guard(sleeps), Script(transient(), transient())
    assert g.call("conversations.history", fn, "tier3") == "done"
    snap = g.stats.snapshot()
    assert (fn.calls, snap.requests, snap.retries, snap.transient_faults, snap.failures) == (3, 3, 2, 2, 0)
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0  # full jitter under base * 2^n
    assert snap.waited_seconds == round(sum(sleeps), 3)


def test_guard_waits_exactly_the_retry_after_of_a_rate_limit() -> None:
    """A 429 with Retry-After 7 is retried after exactly 7 s, and counted as rate limited."""
    sleeps: list[float] = []
    g, fn = guard(sleeps), Script(transient(429, retry_after=7))
    assert g.call("users.list", fn, "tier2") == "done"
    assert sleeps == [7]
    assert g.stats.snapshot().rate_limited == 1


def test_guard_gives_up_after_max_attempts_and_raises_the_last_fault() -> None:
    """Four 500s with max_attempts=4: four attempts, three retries, then the TransientError."""
    sleeps: list[float] = []
    g, fn = guard(sleeps), Script(*(transient(500) for _ in range(4)))
    with pytest.raises(TransientError, match="HTTP 500"):
        g.call("conversations.list", fn, "tier2")
    snap = g.stats.snapshot()
    assert (fn.calls, snap.requests, snap.retries, snap.failures) == (4, 4, 3, 1)


def test_guard_does_not_wait_for_a_retry_after_beyond_its_limit() -> None:
    """Retry-After 900 s with max_retry_after 300: one attempt, no sleep, the fault is raised."""
    sleeps: list[float] = []
    g, fn = guard(sleeps), Script(transient(429, retry_after=900))
    with pytest.raises(TransientError):
        g.call("conversations.history", fn, "tier3")
    assert (fn.calls, sleeps) == (1, [])


@pytest.mark.parametrize("error", [AuthError("invalid_auth"), FatalError("bad request")])
def test_guard_never_retries_auth_or_bad_request_errors(error: Exception) -> None:
    """Fatal errors are raised after the first attempt."""
    sleeps: list[float] = []
    g, fn = guard(sleeps), Script(error)
    with pytest.raises(type(error)):
        g.call("users.list", fn, "tier2")
    assert (fn.calls, sleeps, g.stats.snapshot().retries) == (1, [], 0)


def test_breaker_opens_after_fail_max_failed_calls_and_then_refuses_without_calling() -> None:
    """fail_max=3: three calls failing after their retries open the breaker; the fourth is not attempted."""
    sleeps: list[float] = []
    g = guard(sleeps, RetryPolicy(max_attempts=1), BreakerPolicy(fail_max=3, reset_timeout=60))
    for _ in range(3):
        with pytest.raises(TransientError):
            g.call("conversations.history", Script(transient(500)), "tier3")
    assert g.breaker_snapshot().state == "open"
    fn = Script()
    with pytest.raises(BreakerOpenError, match="slack circuit breaker is open after 3 consecutive failures"):
        g.call("conversations.history", fn, "tier3")
    assert fn.calls == 0
    assert g.stats.snapshot().short_circuited == 1
    assert g.is_open()


def test_breaker_ignores_errors_that_say_nothing_about_the_service() -> None:
    """Auth, bad-request and resync answers never open the breaker (fail_max=2, five such errors)."""
    g = guard([], RetryPolicy(max_attempts=1), BreakerPolicy(fail_max=2, reset_timeout=60))
    for error in (AuthError("a"), FatalError("b"), ResyncRequired("c"), FatalError("d"), AuthError("e")):
        with pytest.raises(type(error)):
            g.call("events.list", Script(error), "calendar")
    snap = g.breaker_snapshot()
    assert (snap.state, snap.fail_counter) == ("closed", 0)
    assert g.stats.snapshot().resyncs == 1


def test_a_success_resets_the_consecutive_failure_count() -> None:
    """fail, fail, success, fail with fail_max=3 leaves the breaker closed with one failure counted."""
    g = guard([], RetryPolicy(max_attempts=1), BreakerPolicy(fail_max=3, reset_timeout=60))
    for fn in (Script(transient()), Script(transient()), Script(), Script(transient())):
        with contextlib.suppress(TransientError):
            g.call("users.list", fn, "tier2")
    snap = g.breaker_snapshot()
    assert (snap.state, snap.fail_counter) == ("closed", 1)


def test_breaker_state_survives_a_new_process_through_its_snapshot() -> None:
    """An open breaker restored into a fresh guard keeps refusing calls until its reset timeout."""
    opened = datetime.now(UTC)
    fresh = guard([], breaker=BreakerPolicy(fail_max=3, reset_timeout=600))
    fresh.restore_breaker(BreakerSnapshot("open", 3, opened))
    assert fresh.breaker_snapshot() == BreakerSnapshot("open", 3, opened)
    with pytest.raises(BreakerOpenError):
        fresh.call("users.list", Script(), "tier2")


def test_breaker_lets_a_trial_call_through_after_the_reset_timeout_and_closes_on_success() -> None:
    """Opened 61 s ago with a 60 s reset timeout: the call runs and the breaker closes."""
    g = guard([], breaker=BreakerPolicy(fail_max=3, reset_timeout=60))
    g.restore_breaker(BreakerSnapshot("open", 3, datetime.now(UTC) - timedelta(seconds=61)))
    assert not g.is_open()
    fn = Script()
    assert g.call("users.list", fn, "tier2") == "done"
    assert fn.calls == 1
    assert g.breaker_snapshot().state == "closed"


def test_failed_trial_call_reopens_the_breaker() -> None:
    """A half-open trial that still fails opens the breaker again with a fresh opening time."""
    g = guard([], RetryPolicy(max_attempts=1), BreakerPolicy(fail_max=3, reset_timeout=60))
    old = datetime.now(UTC) - timedelta(seconds=61)
    g.restore_breaker(BreakerSnapshot("open", 3, old))
    with pytest.raises(TransientError):
        g.call("users.list", Script(transient()), "tier2")
    snap = g.breaker_snapshot()
    assert snap.state == "open" and snap.opened_at is not None and snap.opened_at > old


def test_breaker_state_changes_are_logged_with_the_last_error(caplog: pytest.LogCaptureFixture) -> None:
    """Opening the breaker logs one WARNING naming the source, the transition and the last error."""
    g = guard([], RetryPolicy(max_attempts=1), BreakerPolicy(fail_max=1, reset_timeout=60))
    with (
        caplog.at_level(logging.WARNING, logger="meetintel.collectors.resilience"),
        pytest.raises(TransientError),
    ):
        g.call("users.list", Script(transient(502)), "tier2")
    changes = [r.getMessage() for r in caplog.records if "circuit breaker" in r.getMessage()]
    assert changes == ["slack: circuit breaker closed -> open (last error: HTTP 502)"]


def test_redact_replaces_every_occurrence_of_each_secret() -> None:
    """Secrets vanish from text; short strings are not treated as secrets."""
    text = "token xoxb-123-abc sent; again xoxb-123-abc; ya29.zz"
    assert (
        redact(text, ["xoxb-123-abc", "ya29.zz", "ab"])
        == "token [redacted] sent; again [redacted]; [redacted]"
    )


def test_redacting_filter_scrubs_rendered_log_messages(caplog: pytest.LogCaptureFixture) -> None:
    """A record whose arguments contain the secret reaches handlers without it."""
    logger = logging.getLogger("meetintel.test.redact")
    logger.addFilter(RedactingFilter(["xoxb-secret-1"]))
    with caplog.at_level(logging.INFO, logger="meetintel.test.redact"):
        logger.info("headers: %s", {"Authorization": "Bearer xoxb-secret-1"})
    assert [r.getMessage() for r in caplog.records] == ["headers: {'Authorization': 'Bearer [redacted]'}"]
