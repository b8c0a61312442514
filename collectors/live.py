"""Live collection: every configured source read from its API, chunk by chunk, with per-source outcomes.

`collect_live` runs the four sources (directory, Slack, Calendar, Drive) at once, each on a thread of its
own, since their rate limits are separate; one consumer commits their chunks. Slack channels and calendars
are read by a few worker threads at once; they share the source's token buckets, so concurrency never
outruns the rate limits. A source whose circuit breaker is open is
skipped; a source that fails stops, says why in its outcome, and the others still run. Chunks already
yielded stay good: each carries the cursors it covers, so the next run resumes where this one stopped.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from collectors._live_models import (
    SOURCES,
    GoogleConfig,
    GoogleOptions,
    LiveConfig,
    OutcomeStatus,
    SlackConfig,
    SlackOptions,
    SourceOutcome,
)
from collectors._normalise import Normaliser
from collectors._resilience import (
    AuthError,
    BreakerOpenError,
    BreakerSnapshot,
    Guard,
    GuardedApi,
    RateLimiter,
    StatsSnapshot,
    TokenBucket,
    Unreadable,
)
from collectors.client import ApiClient
from collectors.google_api import (
    SERVICES,
    GoogleDiscoveryApi,
    collect_calendar,
    collect_directory,
    collect_drive,
    google_credentials,
    list_calendars,
)
from collectors.models import Cursor, InputBounds
from collectors.slack_api import (
    SlackWebApi,
    collect_channel_messages,
    collect_channel_rows,
    collect_users,
    is_readable,
    list_conversations,
    slack_limiter,
)
from core.chunks import LiveChunk, SourceName
from core.errors import MeetintelError

log = logging.getLogger("meetintel.collectors.live")

Cursors = Mapping[tuple[str, str], Cursor]


@dataclass
class SlackSource:
    """The Slack source: its guarded client, its guard and what to collect."""

    api: ApiClient
    guard: Guard
    options: SlackOptions


@dataclass
class GoogleSource:
    """One Google source (calendar, drive or directory): guarded client, guard, options."""

    api: ApiClient
    guard: Guard
    options: GoogleOptions


@dataclass
class LiveSources:
    """The live sources to collect; keep one for the life of the process so breakers remember failures."""

    slack: SlackSource | None = None
    calendar: GoogleSource | None = None
    drive: GoogleSource | None = None
    directory: GoogleSource | None = None

    def guards(self) -> dict[SourceName, Guard]:
        """Give the guard of each configured source."""
        found = {name: getattr(self, name) for name in SOURCES}
        return {name: src.guard for name, src in found.items() if src is not None}

    def stats(self) -> dict[SourceName, StatsSnapshot]:
        """Give the counters (requests, retries, rate limits...) of each source since it was built."""
        return {name: guard.stats.snapshot() for name, guard in self.guards().items()}

    def breakers(self) -> dict[SourceName, BreakerSnapshot]:
        """Give each source's breaker state, to persist and hand to `restore_breakers` in the next process."""
        return {name: guard.breaker_snapshot() for name, guard in self.guards().items()}

    def restore_breakers(self, snapshots: Mapping[str, BreakerSnapshot]) -> None:
        """Put the breakers of the named sources into saved states (unknown names are ignored)."""
        guards = self.guards()
        for name, snap in snapshots.items():
            if name in guards:
                guards[name].restore_breaker(snap)  # type: ignore[index]


def build_live_sources(config: LiveConfig) -> LiveSources:
    """Give live sources with real clients (slack_sdk, googleapiclient) for the configured services."""
    sources = LiveSources()
    if config.slack is not None:
        sources.slack = _slack_source(config.slack)
    if config.google is not None:
        google = config.google
        wanted = {
            "calendar": google.options.calendar,
            "drive": google.options.drive,
            "directory": google.options.directory,
        }
        for name, on in wanted.items():
            if on:
                setattr(sources, name, _google_source(name, google))
    return sources


def _slack_source(cfg: SlackConfig) -> SlackSource:
    limiter, bucket_of = slack_limiter(cfg.rates)
    guard = Guard("slack", limiter, cfg.retry, cfg.breaker)
    client = SlackWebApi(cfg.token, cfg.base_url, cfg.timeout)
    return SlackSource(GuardedApi(client, guard, bucket_of), guard, cfg.options)


def _google_source(name: str, cfg: GoogleConfig) -> GoogleSource:
    scope = SERVICES[name][2]
    secrets = [s.get_secret_value() for s in (cfg.auth.token,) if s is not None]
    client = GoogleDiscoveryApi(
        name, google_credentials(cfg.auth, [scope]), cfg.api_endpoint, cfg.timeout, secrets
    )
    limiter = RateLimiter({name: TokenBucket(cfg.requests_per_minute, cfg.burst)})
    guard = Guard(name, limiter, cfg.retry, cfg.breaker)
    return GoogleSource(GuardedApi(client, guard, lambda _method: name), guard, cfg.options)


# ---- the run ------------------------------------------------------------------------------------------


def collect_live(
    sources: LiveSources, cursors: Cursors, *, full_refresh: bool, bounds: InputBounds | None = None
) -> LiveCollection:
    """Give the chunks of every configured source, read from its API from `cursors` (ignored on a full
    refresh); iterate the result, then ask it for `outcomes()`. Texts are cut to `bounds` (the
    MEETINTEL_* input bounds), as the offline readers cut them."""
    return LiveCollection(sources, cursors, full_refresh, bounds or InputBounds())


@dataclass
class _Report:
    """What one source's run collected and which of its units failed or were skipped."""

    rows: dict[str, int] = field(default_factory=dict)
    units: int = 0
    failed: list[tuple[str, MeetintelError]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    started: int = 0  # units a worker has begun
    done: int = 0  # units finished (read, failed or skipped)
    calls_before_units: dict[str, int] | None = None  # each bucket's calls when the units began
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, chunk: LiveChunk) -> None:
        self.rows[chunk.table] = self.rows.get(chunk.table, 0) + chunk.batch.num_rows

    def begin_units(self, guard: Guard) -> None:
        """Note each bucket's calls now, so the calls per unit leave out the listing calls before."""
        self.calls_before_units = guard.limiter.taken()

    def unit_started(self) -> None:
        with self.lock:
            self.started += 1


@dataclass(frozen=True)
class SourceProgress:
    """How far one source of a live collection is, at an instant: what a progress display shows.

    `unit_calls` are the calls made under each rate bucket since the source's units (channels, calendars)
    began, `rates` each bucket's allowed calls per second: together they give the time left.
    """

    source: str
    finished: bool
    units_total: int
    units_started: int
    units_done: int
    rows: dict[str, int]
    requests: int
    rate_limited: int
    unit_calls: dict[str, int]
    rates: dict[str, float]


class LiveCollection:
    """The chunks of one live collection (iterate it) and, once iterated, each source's outcome."""

    def __init__(
        self, sources: LiveSources, cursors: Cursors, full_refresh: bool, bounds: InputBounds | None = None
    ) -> None:
        self.sources = sources
        self.bounds = bounds or InputBounds()
        self.cursors: Cursors = {} if full_refresh else dict(cursors)
        self.full_refresh = full_refresh
        self._outcomes: dict[SourceName, SourceOutcome] = {}
        self._running: dict[SourceName, tuple[Guard, StatsSnapshot, _Report]] = {}
        self._chunks = self._run()

    def __iter__(self) -> LiveCollection:
        return self

    def __next__(self) -> LiveChunk:
        return next(self._chunks)

    def close(self) -> None:
        """Stop collecting (workers finish their current call); sources not finished report `failed`."""
        self._chunks.close()

    def outcomes(self) -> list[SourceOutcome]:
        """Give the outcome of every source run so far, in run order."""
        return [self._outcomes[name] for name in SOURCES if name in self._outcomes]

    def progress(self) -> list[SourceProgress]:
        """Give how far each source that has begun is (safe to call from any thread, at any time)."""
        return [self._progress(name, *self._running[name]) for name in SOURCES if name in self._running]

    def _progress(
        self, name: SourceName, guard: Guard, before: StatsSnapshot, report: _Report
    ) -> SourceProgress:
        stats = guard.stats.snapshot().minus(before)
        base = report.calls_before_units
        taken = guard.limiter.taken()
        calls = {b: n - base.get(b, 0) for b, n in taken.items()} if base is not None else {}
        return SourceProgress(
            source=name,
            finished=name in self._outcomes,
            units_total=report.units,
            units_started=report.started,
            units_done=report.done,
            rows=report.rows.copy(),  # dict.copy is atomic: the source's thread may be counting
            requests=stats.requests,
            rate_limited=stats.rate_limited,
            unit_calls=calls,
            rates=guard.limiter.rates(),
        )

    def _run(self) -> Generator[LiveChunk, None, None]:
        producers: dict[SourceName, Callable[[Normaliser, _Report], Iterator[LiveChunk]]] = {
            "directory": self._directory,
            "slack": self._slack,
            "calendar": self._calendar,
            "drive": self._drive,
        }

        def unit(name: SourceName) -> Unit:
            return lambda norm: self._source(name, functools.partial(producers[name], norm))

        # Every source on a thread of its own: their rate limits are separate, so their calls overlap and
        # the run takes as long as its slowest source rather than the sum of all four.
        units = [(name, unit(name)) for name in SOURCES if getattr(self.sources, name) is not None]
        if units:
            yield from _run_units(units, len(units), _Report(), self.bounds)

    def _source(
        self, name: SourceName, produce: Callable[[_Report], Iterator[LiveChunk]]
    ) -> Iterator[LiveChunk]:
        """Yield one source's chunks and record its outcome (skipped, failed with a reason, or ok)."""
        guard: Guard = getattr(self.sources, name).guard
        before, report = guard.stats.snapshot(), _Report()
        self._running[name] = (guard, before, report)
        if guard.is_open():
            log.warning("%s skipped: %s", name, guard.open_reason())
            self._finish(name, guard, before, report, "skipped_breaker_open", guard.open_reason())
            return
        status: OutcomeStatus = "failed"
        reason: str | None = "collection was stopped before the source finished"
        try:
            for chunk in produce(report):
                report.count(chunk)
                yield chunk
            status, reason = _partial(report)
        except MeetintelError as exc:
            reason = str(exc)
            log.error("%s failed: %s", name, reason)
        except Exception as exc:  # a bug: recorded, then raised so it is seen
            reason = f"unexpected {type(exc).__name__}: {exc}"
            raise
        finally:
            self._finish(name, guard, before, report, status, reason)

    def _finish(
        self,
        name: SourceName,
        guard: Guard,
        before: StatsSnapshot,
        report: _Report,
        status: OutcomeStatus,
        reason: str | None,
    ) -> None:
        outcome = SourceOutcome(
            source=name,
            status=status,
            reason=reason,
            rows=dict(report.rows),
            stats=guard.stats.snapshot().minus(before),
            breaker=guard.breaker_snapshot(),
            failed_units=tuple(u for u, _ in report.failed),
            skipped_units=tuple(report.skipped),
        )
        self._outcomes[name] = outcome
        log.info(
            "%s: %s%s; %d requests, %d retries, breaker %s",
            name,
            status,
            f" ({reason})" if reason else "",
            outcome.stats.requests,
            outcome.stats.retries,
            outcome.breaker.state,
        )

    # ---- the sources ----

    def _directory(self, norm: Normaliser, report: _Report) -> Iterator[LiveChunk]:
        src = self.sources.directory
        assert src is not None
        yield from collect_directory(src.api, norm, src.options)

    def _drive(self, norm: Normaliser, report: _Report) -> Iterator[LiveChunk]:
        src = self.sources.drive
        assert src is not None
        cursor = self.cursors.get(("drive", "changes"))
        yield from collect_drive(src.api, norm, cursor.value if cursor else None, src.options)

    def _calendar(self, norm: Normaliser, report: _Report) -> Iterator[LiveChunk]:
        src = self.sources.calendar
        assert src is not None
        ids = list_calendars(src.api, src.options)

        def unit(calendar_id: str) -> Unit:
            cursor = self.cursors.get(("calendar", calendar_id))
            token = cursor.value if cursor else None
            return lambda worker_norm: collect_calendar(src.api, worker_norm, calendar_id, token, src.options)

        report.begin_units(src.guard)
        yield from _run_units([(c, unit(c)) for c in ids], src.options.calendar_workers, report, self.bounds)

    def _slack(self, norm: Normaliser, report: _Report) -> Iterator[LiveChunk]:
        src = self.sources.slack
        assert src is not None
        yield from collect_users(src.api, norm, src.options)
        conversations = list_conversations(src.api, src.options)
        readable = [c for c in conversations if is_readable(c, src.options)]
        report.skipped.extend(c["id"] for c in conversations if not is_readable(c, src.options))
        if not src.options.fetch_members:
            yield collect_channel_rows(src.api, norm, conversations, src.options)
        now = time.time()

        def unit(conv: dict[str, Any]) -> Unit:
            def run(worker_norm: Normaliser) -> Iterator[LiveChunk]:
                if src.options.fetch_members:
                    yield collect_channel_rows(src.api, worker_norm, [conv], src.options)
                if is_readable(conv, src.options):
                    yield from collect_channel_messages(
                        src.api, worker_norm, conv["id"], self.cursors, src.options, now
                    )

            return run

        units = [(c["id"], unit(c)) for c in (conversations if src.options.fetch_members else readable)]
        channel_rows: list[LiveChunk] = []
        report.begin_units(src.guard)
        for chunk in _run_units(units, src.options.workers, report, self.bounds):
            if chunk.table == "slack_channels":
                channel_rows.append(chunk)  # one chunk for all channels, not one per channel
            else:
                yield chunk
        if channel_rows:
            yield LiveChunk(
                "slack_channels",
                pa.concat_tables([c.batch for c in channel_rows]),
                source="slack",
                quarantined=[q for c in channel_rows for q in c.quarantined],
            )


def _partial(report: _Report) -> tuple[OutcomeStatus, str | None]:
    """Give a finished source's status: ok, or failed naming the units that failed."""
    if not report.failed:
        return "ok", None
    shown = "; ".join(f"{unit}: {exc.message}" for unit, exc in report.failed[:5])
    more = f" (and {len(report.failed) - 5} more)" if len(report.failed) > 5 else ""
    return "failed", f"{len(report.failed)} of {report.units} units failed: {shown}{more}"


# ---- units on worker threads --------------------------------------------------------------------------

_DONE = object()
Unit = Callable[[Normaliser], Iterator[LiveChunk]]


class _Stop(Exception):
    """Raised inside a worker when the consumer stopped listening."""


class _UnitPool:
    """Worker threads running units (a channel, a calendar) and handing their chunks to one consumer.

    Each worker thread has its own Normaliser (DuckDB connections are not shared between threads). The
    queue is bounded, so workers wait while the consumer commits: memory stays flat however fast the API.
    """

    def __init__(self, workers: int, bounds: InputBounds) -> None:
        self.bounds = bounds
        self.results: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=workers * 2)
        self.stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="meetintel-live")
        self._local = threading.local()
        self._norms: list[Normaliser] = []
        self._lock = threading.Lock()

    def submit(self, name: str, unit: Unit) -> None:
        """Start `unit` on a worker; its chunks, then _DONE or its exception, arrive in `results`."""
        self._pool.submit(self._work, name, unit)

    def close(self) -> None:
        """Stop the workers (each finishes its current call) and close their normalisers."""
        self.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for norm in self._norms:
            norm.close()

    def _normaliser(self) -> Normaliser:
        norm = getattr(self._local, "norm", None)
        if norm is None:
            norm = self._local.norm = Normaliser(self.bounds)
            with self._lock:
                self._norms.append(norm)
        return norm

    def _put(self, item: tuple[str, object]) -> None:
        while not self.stop.is_set():
            try:
                self.results.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stop

    def _work(self, name: str, unit: Unit) -> None:
        try:
            # closing: a unit stopped mid-way runs its own clean-up (a source's outcome, its inner pool) now
            with contextlib.closing(_generate(unit, self._normaliser())) as chunks:
                for chunk in chunks:
                    self._put((name, chunk))
            self._put((name, _DONE))
        except _Stop:
            return
        except BaseException as exc:  # handed to the consumer thread, which decides what it means
            if not self.stop.is_set():
                self._put((name, exc))


def _counted(unit: Unit, report: _Report) -> Unit:
    """Give `unit` noting in `report` when a worker begins it."""

    def run(norm: Normaliser) -> Iterator[LiveChunk]:
        report.unit_started()
        yield from unit(norm)

    return run


def _generate(unit: Unit, norm: Normaliser) -> Generator[LiveChunk, None, None]:
    """Give `unit`'s chunks as a generator, so closing it closes the unit's own generator too."""
    yield from unit(norm)


def _run_units(
    units: Sequence[tuple[str, Unit]], workers: int, report: _Report, bounds: InputBounds
) -> Iterator[LiveChunk]:
    """Yield the chunks of units run on `workers` threads; a unit's own failure is recorded in `report`,
    a failure that concerns the whole source (auth, open breaker, a bug) stops the others and is raised."""
    report.units += len(units)
    pool = _UnitPool(workers, bounds)
    try:
        for name, unit in units:
            pool.submit(name, _counted(unit, report))
        pending = len(units)
        while pending:
            name, item = pool.results.get()
            if isinstance(item, LiveChunk):
                yield item
                continue
            pending -= 1
            report.done += 1
            if isinstance(item, BaseException):
                _unit_failed(name, item, report)
    finally:
        pool.close()


def _unit_failed(name: str, exc: BaseException, report: _Report) -> None:
    """Record a unit's failure, or raise it when it means the whole source cannot go on."""
    if isinstance(exc, AuthError | BreakerOpenError) or not isinstance(exc, MeetintelError):
        raise exc
    if isinstance(exc, Unreadable):
        log.info("%s skipped: %s", name, exc.message)
        if name not in report.skipped:
            report.skipped.append(name)
        return
    log.warning("%s failed: %s", name, exc)
    report.failed.append((name, exc))
