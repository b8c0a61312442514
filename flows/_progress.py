"""How far a run is: one line per stage, fed by the stages through plain callbacks, read by any display.

The stage functions (`flows.stages`) get a `StageProgress` and call it as their counts grow; the flow marks
each stage's start and end on the process's `ProgressBoard`. The CLI draws the board with rich (or prints
plain lines), and the flow feeds the same figures to the Prefect progress artifact. Nothing here imports
Prefect or rich, so the model and its arithmetic are tested on their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from checkpoints import StageStat

if TYPE_CHECKING:  # the live clients load only when a live run uses them
    from collectors import SourceProgress

log = logging.getLogger("meetintel.flows.progress")

STAGES = ("collect", "detect", "correlate", "aggregate", "export")
State = Literal["waiting", "running", "done", "skipped", "failed"]
Probe = Callable[[], "Sequence[SourceProgress]"]
Listener = Callable[["StageLine", "ProgressBoard"], None]

# What a source's units are called on screen.
UNIT_NAMES = {"slack": "channels", "calendar": "calendars"}


@dataclass
class StageLine:
    """One stage at an instant: its state, counts so far, units done of a known total, live sources."""

    stage: str
    state: State = "waiting"
    started: float | None = None  # time.monotonic() values
    ended: float | None = None
    counts: dict[str, int] = field(default_factory=dict)  # rows by table (or files, steps) so far
    done: int = 0
    total: int | None = None
    unit: str = ""
    sources: list[SourceProgress] = field(default_factory=list)
    note: str = ""
    rows_in: int = 0
    rows_out: int = 0

    def elapsed(self, now: float) -> float:
        """Give the seconds the stage has run (0 before it starts)."""
        if self.started is None:
            return 0.0
        return (self.ended or now) - self.started

    def eta(self, now: float) -> float | None:
        """Give the seconds left: from the live sources' rate limits, else from units done of the total."""
        if self.state != "running":
            return None
        if self.sources:
            return collection_eta(self.sources)
        return linear_eta(self.done, self.total, self.elapsed(now))

    def fraction(self, now: float) -> float:
        """Give how much of the stage is done, 0 to 1 (units done of the total, when a total is known)."""
        if self.state in ("done", "skipped", "failed"):
            return 1.0
        if self.sources:
            total = sum(s.units_total for s in self.sources)
            return min(1.0, sum(s.units_done for s in self.sources) / total) if total else 0.0
        return min(1.0, self.done / self.total) if self.total else 0.0


def linear_eta(done: int, total: int | None, elapsed: float) -> float | None:
    """Give the seconds left at the pace so far, or None when no total is known or nothing is done yet."""
    if not total or done <= 0:
        return None
    return max(0.0, elapsed * (total - done) / done)


def source_eta(p: SourceProgress) -> float | None:
    """Give the seconds a live source still needs under its rate limits: calls left ÷ allowed rate.

    Calls per unit come from the calls made under each rate bucket since the units began, counting a
    unit in progress as half done; calls left are that times the units not done. Buckets fill in parallel,
    so the slowest bucket sets the time. None until a unit has finished (no calls per unit known yet).
    """
    if p.finished:
        return 0.0
    if p.units_total == 0 or p.units_done == 0:
        return None
    active = max(0, p.units_started - p.units_done)
    units_seen = p.units_done + active / 2
    units_left = max(0.0, p.units_total - units_seen)
    waits = [
        units_left * (calls / units_seen) / p.rates[bucket]
        for bucket, calls in p.unit_calls.items()
        if calls > 0 and p.rates.get(bucket, 0) > 0
    ]
    return max(waits, default=0.0)


def collection_eta(sources: Sequence[SourceProgress]) -> float | None:
    """Give the seconds the live collection still needs: its slowest source (sources run at once).

    Sources without units (directory, Drive) have no known total and are left out; None while a source
    with units has no estimate yet (its time could be the longest).
    """
    etas = [source_eta(s) for s in sources if s.units_total > 0]
    if not etas or any(e is None for e in etas):
        return None
    return max(e for e in etas if e is not None)


def format_seconds(seconds: float) -> str:
    """Give a duration as H:MM:SS (hours grow past 24: a first Slack collection can take days)."""
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def source_summary(p: SourceProgress) -> str:
    """Give one source's figures in words: units done of total, rows so far, requests, 429s."""
    parts = []
    if p.units_total:
        parts.append(f"{UNIT_NAMES.get(p.source, 'units')} {p.units_done}/{p.units_total}")
    parts += [f"{table} {n:,}" for table, n in p.rows.items()]
    parts.append(f"{p.requests:,} requests")
    parts.append(f"{p.rate_limited:,} rate-limited (429)")
    return ", ".join(parts)


def line_summary(line: StageLine) -> str:
    """Give a stage's counts in words: rows by table, units done of total."""
    parts = [f"{label} {n:,}" for label, n in line.counts.items()]
    if line.total is not None:
        parts.append(f"{line.unit or 'steps'} {line.done:,}/{line.total:,}")
    elif line.done:
        parts.append(f"{line.unit or 'steps'} {line.done:,}")
    return ", ".join(parts)


def describe(lines: Sequence[StageLine], now: float) -> str:
    """Give the board in a few words, for the Prefect progress artifact's description."""
    running = [line for line in lines if line.state == "running"]
    if not running:
        done = [line.stage for line in lines if line.state in ("done", "skipped")]
        return f"stages finished: {', '.join(done)}" if done else "waiting to start"
    line = running[0]
    text = f"{line.stage}: {line_summary(line) or 'running'}"
    if line.sources:
        text += "; " + "; ".join(f"{s.source} {source_summary(s)}" for s in line.sources)
    eta = line.eta(now)
    return text + (f"; about {format_seconds(eta)} left" if eta is not None else "")


class StageProgress:
    """The callbacks a stage function reports through; every call is cheap and thread-safe.

    Calling it as `progress(label, rows)` adds rows to a count (the older callback form).
    """

    def __init__(self, board: ProgressBoard, stage: str) -> None:
        self._board, self.stage = board, stage

    def __call__(self, label: str, rows: int) -> None:
        self._board._update(self.stage, lambda line: _add(line.counts, label, rows))

    def total(self, total: int | None, unit: str) -> None:
        """Say how many units (files, steps) the stage will work through, when it is known."""
        self._board._update(self.stage, lambda line: _set(line, total=total, unit=unit))

    def advance(self, units: int = 1) -> None:
        """Say that `units` more units are done."""
        self._board._update(self.stage, lambda line: _set(line, done=line.done + units))

    def watch(self, probe: Probe | None) -> None:
        """Have displays read live sources' figures from `probe` whenever they draw (None: stop)."""
        self._board._watch(self.stage, probe)

    def sources(self, snapshot: Sequence[SourceProgress]) -> None:
        """Record the live sources' figures now (what listeners such as the artifact feed see)."""
        self._board._update(self.stage, lambda line: _set(line, sources=list(snapshot)))


def _add(counts: dict[str, int], label: str, rows: int) -> None:
    counts[label] = counts.get(label, 0) + rows


def _set(line: StageLine, **values: object) -> None:
    for name, value in values.items():
        setattr(line, name, value)


class NoProgress(StageProgress):
    """Progress that goes nowhere: the default of the stage functions when nobody watches."""

    def __init__(self) -> None:
        super().__init__(ProgressBoard(), "none")


class ProgressBoard:
    """The stage lines of one run, safe to update from the flow's threads and to read from a display's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.run_id: str | None = None
        self._lock = threading.Lock()
        self._lines = {s: StageLine(s) for s in STAGES}
        self._probes: dict[str, Probe] = {}
        self._listeners: list[Listener] = []

    @contextmanager
    def listening(self, listener: Listener) -> Iterator[None]:
        """Call `listener(line, board)` after every change during the block (from the changing thread)."""
        self._listeners.append(listener)
        try:
            yield
        finally:
            self._listeners.remove(listener)

    def begin(self, run_id: str) -> None:
        """Start a new run: every stage waiting."""
        with self._lock:
            self.run_id = run_id
            self._lines = {s: StageLine(s) for s in STAGES}
            self._probes.clear()

    def progress(self, stage: str) -> StageProgress:
        """Give the callbacks of `stage`, to hand to its stage function."""
        return StageProgress(self, stage)

    def start(self, stage: str) -> None:
        """Mark `stage` running (again, when Prefect retries it: its counts start over)."""
        self._update(stage, lambda line: _restart(line, self.clock()))

    def finish(self, stat: StageStat) -> None:
        """Mark the stage of `stat` done (or skipped) with its final figures."""
        with self._lock:
            probe = self._probes.pop(stat.stage, None)
        final = list(probe()) if probe else None  # the live sources as they ended
        self._update(stat.stage, lambda line: _close(line, stat, self.clock(), final))

    def fail(self, stage: str, reason: str) -> None:
        """Mark `stage` failed, saying why."""
        self._watch(stage, None)
        self._update(stage, lambda line: _set(line, state="failed", ended=self.clock(), note=reason))

    @contextmanager
    def stage(self, stage: str) -> Iterator[None]:
        """Mark `stage` running for the block, failed when the block raises (the block calls `finish`)."""
        self.start(stage)
        try:
            yield
        except BaseException as exc:
            self.fail(stage, str(exc) or type(exc).__name__)
            raise

    def lines(self) -> list[StageLine]:
        """Give a copy of every stage line, live sources read afresh from their probes."""
        with self._lock:
            probes = dict(self._probes)
            copies = [replace(line, counts=dict(line.counts)) for line in self._lines.values()]
        for line in copies:
            probe = probes.get(line.stage)
            if probe is not None:
                line.sources = list(probe())
        return copies

    def fraction(self) -> float:
        """Give how much of the run is done, 0 to 1: finished stages, plus the running one's share."""
        now = self.clock()
        return sum(line.fraction(now) for line in self.lines()) / len(STAGES)

    def _update(self, stage: str, change: Callable[[StageLine], None]) -> None:
        with self._lock:
            line = self._lines.setdefault(stage, StageLine(stage))
            change(line)
            copy = replace(line, counts=dict(line.counts))
        for listener in list(self._listeners):
            listener(copy, self)

    def _watch(self, stage: str, probe: Probe | None) -> None:
        with self._lock:
            if probe is None:
                self._probes.pop(stage, None)
            else:
                self._probes[stage] = probe


def _restart(line: StageLine, now: float) -> None:
    fresh = StageLine(line.stage, state="running", started=now)
    for name in ("state", "started", "ended", "counts", "done", "total", "unit", "sources", "note"):
        setattr(line, name, getattr(fresh, name))


def _close(line: StageLine, stat: StageStat, now: float, sources: list[SourceProgress] | None) -> None:
    line.state = "skipped" if stat.skipped else "done"
    if sources is not None:
        line.sources = sources
    line.ended = now
    line.note, line.rows_in, line.rows_out = stat.note, stat.rows_in, stat.rows_out
    if stat.by_table:
        line.counts = dict(stat.by_table)


def _not_updated(exc: Exception) -> None:
    log.warning("the progress artifact was not updated: %s: %s", type(exc).__name__, exc)


class ArtifactFeed:
    """A board listener handing the run's share done and its figures in words to `update` (the Prefect
    progress artifact): at every stage start and end, and at most every `every` seconds in between."""

    def __init__(self, update: Callable[[float, str], object], every: float = 2.0) -> None:
        self.update, self.every = update, every
        self._last: float | None = None
        self._states: dict[str, State] = {}

    def __call__(self, line: StageLine, board: ProgressBoard) -> None:
        now = board.clock()
        moved = self._states.get(line.stage) != line.state
        self._states[line.stage] = line.state
        if not moved and self._last is not None and now - self._last < self.every:
            return
        self._last = now
        try:
            self.update(round(100.0 * board.fraction(), 1), describe(board.lines(), now))
        except Exception as exc:  # noqa: BLE001 - a display must never fail the run it shows
            _not_updated(exc)


class LatestSender:
    """Hand `update(*args)` to a thread of its own, so the run never waits for it (each progress-artifact
    update is a round trip to the Prefect API, ~15 ms, ten or more per run). Only the latest arguments
    matter: those that arrive while an update is on its way replace each other. `close` sends what is
    still waiting and stops the thread. The thread runs in a copy of the caller's context (Prefect's
    settings and run context live in context variables)."""

    def __init__(self, update: Callable[..., object]) -> None:
        self.update = update
        self._cond = threading.Condition()
        self._waiting: tuple[object, ...] | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def __call__(self, *args: object) -> None:
        with self._cond:
            if self._closed:
                return
            self._waiting = args
            if self._thread is None:
                context = copy_context()
                self._thread = threading.Thread(
                    target=context.run, args=(self._send,), name="meetintel-progress", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _send(self) -> None:
        while True:
            with self._cond:
                while self._waiting is None and not self._closed:
                    self._cond.wait()
                if self._waiting is None:
                    return
                args, self._waiting = self._waiting, None
            try:
                self.update(*args)
            except Exception as exc:  # noqa: BLE001 - a display must never fail the run it shows
                _not_updated(exc)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is waiting, then stop the thread (waiting for it at most `timeout` seconds)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


_current = ProgressBoard()
# A board of one run among several in the process (a fleet's orgs at once, each in its own thread): set in
# the run's context, which Prefect copies into the run's task threads.
_own: ContextVar[ProgressBoard | None] = ContextVar("meetintel_progress_board", default=None)


def current() -> ProgressBoard:
    """Give the run's progress board: its own (`own_board`), else the process's, which a display installed
    with `using`, else a default."""
    return _own.get() or _current


@contextmanager
def own_board(board: ProgressBoard | None = None) -> Iterator[ProgressBoard]:
    """Give the run in this context (and the task threads it starts) a board of its own for the block, so
    runs at once in one process never mix their progress (each fleet org's progress artifact)."""
    token = _own.set(board or ProgressBoard())
    try:
        yield current()
    finally:
        _own.reset(token)


@contextmanager
def using(board: ProgressBoard) -> Iterator[ProgressBoard]:
    """Make `board` the process's board for the block (the CLI installs the one it draws)."""
    global _current
    previous, _current = _current, board
    try:
        yield board
    finally:
        _current = previous
