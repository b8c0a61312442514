"""What the service reads, and how it reads it without ever blocking a run.

- Runs, breakers, quarantine and row counts come from the snapshot a run publishes beside the state
  (`flows.monitor`). Only when there is no snapshot, or the state changed after it and no run holds the
  state's writer lock, is the state opened read-only, for the few milliseconds the figures take.
- Meetings and people come from the published reports: the CSV tables of the run `OUT/latest` points at,
  loaded into an in-memory DuckDB whenever a new run is published. They are never read from the state.
- Everything a request answers from is one immutable `View`, rebuilt every `refresh_seconds` by a background
  thread: a request never waits on a file, a lock or the network.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psutil
import pyarrow as pa

from aggregation import MeetingFilter, filter_meetings
from core.errors import MeetintelError
from core.sql import ident, lit
from core.tables import FLAT_TABLES, REPORT_PEOPLE, report_table
from exports import FORMULA_LEADS, latest_run
from exports.privacy import pseudonymise
from flows.monitor import (
    BreakerOverrides,
    MonitorSnapshot,
    read_overrides,
    read_snapshot,
    snapshot_from_state,
    snapshot_path,
    state_in_use,
)
from flows.ops import Alert, Color, Health, Readings, alerts, disk_free, health, prefect_status
from service.config import ServiceConfig

log = logging.getLogger("meetintel.service")

STABLE_SECONDS = 2.0  # the state must have been left alone this long before the service opens it
PREFECT_EVERY = 15.0  # seconds between checks of the Prefect API


@dataclass(frozen=True)
class View:
    """Everything the routes answer from, as of `at`."""

    at: datetime
    snapshot: MonitorSnapshot | None
    overrides: BreakerOverrides
    readings: Readings
    health: Health
    alerts: list[Alert]
    reports_run: str | None
    history: dict[str, list[float]] = field(default_factory=dict)


_ARROW_TO_DUCK = {
    pa.string(): "VARCHAR",
    pa.float64(): "DOUBLE",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.bool_(): "BOOLEAN",
}


def _duck(t: pa.DataType) -> str:
    return "TIMESTAMPTZ" if pa.types.is_timestamp(t) else _ARROW_TO_DUCK[t]


def _unneutralised(col: str) -> str:
    """SQL undoing the CSV writer's formula guard (a quote before a leading =, +, -, @, tab or CR).

    A text that itself began with a quote and one of those loses its quote: the CSV cannot tell them apart.
    """
    leads = ", ".join(lit(c) for c in FORMULA_LEADS)
    guarded = f"left({col}, 1) = '''' AND substr({col}, 2, 1) IN ({leads})"
    return f"CASE WHEN {guarded} THEN substr({col}, 2) ELSE {col} END"


class Reports:
    """The flat report tables of the published run, in memory: as published, and pseudonymised."""

    def __init__(self, out: Path, salt: str) -> None:
        self.out, self._salt = out, salt
        self.run_id: str | None = None
        self._plain: duckdb.DuckDBPyConnection | None = None
        self._private: duckdb.DuckDBPyConnection | None = None

    def reload(self) -> bool:
        """Load the published run's tables when another run was published; give True when it did."""
        run_id = latest_run(self.out)
        if run_id is None or run_id == self.run_id:
            return False
        folder = self.out / "runs" / run_id
        plain = duckdb.connect()
        plain.execute("SET TimeZone = 'UTC'")
        for short, schema in FLAT_TABLES.items():
            columns = "{" + ", ".join(f"{lit(f.name)}: {lit(_duck(f.type))}" for f in schema) + "}"
            select = ", ".join(
                f"{_unneutralised(ident(f.name))} AS {ident(f.name)}"
                if f.type == pa.string()
                else ident(f.name)
                for f in schema
            )
            # The dialect the CSV writer uses, given outright: sniffing the first rows can miss the quotes.
            dialect = "header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
            dialect += "allow_quoted_nulls = false"  # "" is an empty text, an empty field a NULL
            source = f"read_csv({lit((folder / f'{short}.csv').as_posix())}, {dialect}, columns = {columns})"
            plain.execute(f"CREATE TABLE {report_table(short)} AS SELECT {select} FROM {source}")
        private = duckdb.connect()
        private.execute("SET TimeZone = 'UTC'")
        with pseudonymise(plain, self._salt):
            for short in FLAT_TABLES:
                table = plain.sql(f"SELECT * FROM {report_table(short)}").to_arrow_table()
                private.register("_t", table)
                private.execute(f"CREATE TABLE {report_table(short)} AS SELECT * FROM _t")
                private.unregister("_t")
        self._plain, self._private, self.run_id = plain, private, run_id
        return True

    def _con(self, names: bool) -> duckdb.DuckDBPyConnection | None:
        con = self._plain if names else self._private
        return con.cursor() if con is not None else None

    def meetings(self, f: MeetingFilter, offset: int, limit: int, names: bool) -> tuple[int, list[dict]]:
        """Give how many meetings match `f` and the page [offset, offset + limit) of them."""
        con = self._con(names)
        if con is None:
            return 0, []
        try:
            found = filter_meetings(con, f)
            return found.num_rows, found.slice(offset, limit).to_pylist()
        finally:
            con.close()

    def people(self, text: str | None, offset: int, limit: int, names: bool) -> tuple[int, list[dict]]:
        """Give how many people match `text` (in email, name or department) and one page of them."""
        con = self._con(names)
        if con is None:
            return 0, []
        try:
            where, params = "true", []
            if text:
                where = (
                    "contains(lower(coalesce(email, '') || ' ' || coalesce(name, '') || ' ' || "
                    "coalesce(department, '')), ?)"
                )
                params = [text.lower()]
            total = con.execute(f"SELECT count(*) FROM {REPORT_PEOPLE} WHERE {where}", params).fetchall()[0][
                0
            ]
            rows = con.sql(
                f"SELECT * FROM {REPORT_PEOPLE} WHERE {where} ORDER BY email NULLS LAST, person_id "
                f"LIMIT {int(limit)} OFFSET {int(offset)}",
                params=params,
            ).to_arrow_table()
            return int(total), rows.to_pylist()
        finally:
            con.close()


def _writer_holds(state: Path) -> bool:
    """Give whether a run holds `state` (the OS's lock table; else the lock file naming its holder)."""
    in_use = state_in_use(state)
    if in_use is not None:
        return in_use
    lock = state.with_name(state.name + ".lock")
    try:
        return lock.stat().st_size > 0
    except OSError:
        return False


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


class ServiceData:
    """Reads the figures, keeps the current `View`, and raises alerts when they change."""

    def __init__(self, config: ServiceConfig, notify: Callable[[list[Alert]], None] | None = None) -> None:
        self.config = config
        salt = config.pseudonym_salt.get_secret_value() if config.pseudonym_salt else secrets.token_hex(16)
        self.reports = Reports(config.out, salt)
        self._notify = notify
        self._lock = threading.Lock()
        self._snap: MonitorSnapshot | None = None
        self._snap_mtime: float | None = None
        self._read_state_mtime: float | None = None
        self._state_note: tuple[Color, str] | None = None
        self._writer: bool | None = None  # whether a run holds the state, at the last refresh
        self._prefect: tuple[Color, str] = ("green", "not checked yet")
        self._prefect_at = 0.0
        self._raised: set[str] = set()
        self._history: dict[str, list[float]] = {}
        self._view: View | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the view ----

    def view(self) -> View:
        """Give the current view. A request never waits for a refresh in progress: it gets the last view;
        it refreshes itself only when there is none yet, or when no thread has made one lately."""
        current = self._view
        if current is None:
            return self.refresh()
        stale = time.time() - current.at.timestamp() > 3 * self.config.refresh_seconds
        if stale and self._lock.acquire(blocking=False):
            self._lock.release()
            return self.refresh()
        return current

    def refresh(self) -> View:
        """Read what changed and give the new view; alerts raised since the last view are sent."""
        with self._lock:
            now = datetime.now(UTC)
            snap = self._snapshot()
            overrides = self._overrides()
            readings = self._readings(now)
            view = View(
                at=now,
                snapshot=snap,
                overrides=overrides,
                readings=readings,
                health=health(snap, overrides, readings, self.config.policy, now),
                alerts=alerts(snap, overrides, readings, self.config.policy, now),
                reports_run=self._reports(),
                history=self._sample(readings, now),
            )
            new = [a for a in view.alerts if a.key not in self._raised]
            self._raised = {a.key for a in view.alerts}
            self._view = view
        if new and self._notify is not None:
            self._notify(new)
        return view

    def _overrides(self) -> BreakerOverrides:
        try:
            return read_overrides(self.config.state)
        except MeetintelError as exc:
            log.warning("%s", exc)
            return BreakerOverrides()

    def _reports(self) -> str | None:
        try:
            if self.reports.reload():
                log.info("loaded the reports of run %s", self.reports.run_id)
        except (MeetintelError, duckdb.Error, OSError) as exc:
            # A run published meanwhile (and compressed the folder being read): the next refresh reads it.
            log.warning("could not load the published reports: %s", exc)
        return self.reports.run_id

    def _snapshot(self) -> MonitorSnapshot | None:
        """Give the freshest figures: the published snapshot, or a brief read of the idle state."""
        state = self.config.state
        mtime = _mtime(snapshot_path(state))
        if mtime is not None and mtime != self._snap_mtime:
            published = read_snapshot(state)
            if published is not None and (
                self._snap is None or published.written_at >= self._snap.written_at
            ):
                self._snap, self._snap_mtime = published, mtime
                self._state_note = None
        state_mtime = _mtime(state)
        if state_mtime is None:
            self._state_note = ("red", f"no state file at {state}: run `meetintel run` first")
            return self._snap
        # DuckDB writes go to the write-ahead log first: the state changed when either file did.
        state_mtime = max(state_mtime, _mtime(Path(f"{state}.wal")) or 0.0)
        self._writer = _writer_holds(state)
        if self._writer:
            self._state_note = ("green" if self._snap else "yellow", self._writing_note())
            return self._snap
        self._state_note = None
        newer = self._snap is None or state_mtime > self._snap.written_at.timestamp() + 1.0
        settled = time.time() - state_mtime >= STABLE_SECONDS
        if newer and state_mtime != self._read_state_mtime and settled:
            self._read_state(state, state_mtime)
        return self._snap

    def _writing_note(self) -> str:
        if self._snap is None:
            return "a run is writing the state and has published no snapshot yet"
        return (
            f"a run is writing the state; figures from its snapshot of {self._snap.written_at:%H:%M:%S UTC}"
        )

    def _read_state(self, state: Path, state_mtime: float) -> None:
        try:
            self._snap = snapshot_from_state(state)
            self._read_state_mtime = state_mtime
            self._state_note = None
        except MeetintelError as exc:
            busy = "in use" in exc.message
            self._state_note = ("green" if busy and self._snap else "yellow" if busy else "red", exc.message)

    def _readings(self, now: datetime) -> Readings:
        if time.monotonic() - self._prefect_at > PREFECT_EVERY:
            self._prefect = prefect_status(self.config.prefect_api_url)
            self._prefect_at = time.monotonic()
        disks = {"out": disk_free(self.config.out), "state": disk_free(self.config.state.parent)}
        return Readings(
            disk_free_bytes=disks,
            memory_percent=psutil.virtual_memory().percent,
            prefect=self._prefect,
            state_note=self._state_note,
            writer_active=self._writer,
        )

    def _sample(self, readings: Readings, now: datetime) -> dict[str, list[float]]:
        """Keep the last 60 samples of memory and free disk, for the status page's sparklines."""
        points = {"memory_percent": readings.memory_percent}
        points |= {f"disk_free_mib:{k}": v / (1024 * 1024) for k, v in readings.disk_free_bytes.items()}
        for key, value in points.items():
            self._history[key] = (self._history.get(key, []) + [round(value, 2)])[-60:]
        return {k: list(v) for k, v in self._history.items()}

    # ---- the background thread ----

    def start(self) -> None:
        """Refresh every `refresh_seconds` on a daemon thread until `stop`."""
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="meetintel-refresh", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.config.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the thread must outlive one bad read; the log has it
                log.exception("refreshing the service's figures failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def process_tree_usage() -> tuple[float, int]:
    """Give this process's CPU seconds and resident bytes (for /metrics)."""
    me = psutil.Process(os.getpid())
    times = me.cpu_times()
    return times.user + times.system, int(me.memory_info().rss)
