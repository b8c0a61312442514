"""What a run publishes for monitoring, and the operator's breaker overrides: two small JSON files beside the
state, so `meetintel serve` and the CLI read them without opening the DuckDB file a run is writing.

- `<state>.monitor.json` (`MonitorSnapshot`): the latest ledger rows, each source's breaker, quarantine counts
  and row counts. A run writes it when it starts and when it ends; readers fall back to a brief read-only
  open of the state when no snapshot is there (a state made before this file existed).
- `<state>.breakers.json` (`BreakerOverrides`): `force-open`, `force-closed` or `auto` per source, written by
  `meetintel breaker` and `PUT /api/breakers/{source}`; the next run reads it at collect start and says so.
Both are written atomically (a temporary name, then a rename).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, get_args

import duckdb
from pydantic import BaseModel, Field, ValidationError

from checkpoints import RunRecord
from checkpoints.ledger import run_records, stored_tables, table_counts
from core.chunks import SourceName
from core.errors import ConfigurationError, DataError
from core.files import write_atomic
from core.tables import MEETING_RECORDS

SOURCE_NAMES: tuple[str, ...] = get_args(SourceName)
OverrideMode = Literal["auto", "force-open", "force-closed"]
OVERRIDE_MODES: tuple[str, ...] = get_args(OverrideMode)
LEDGER_RUNS = 50  # ledger rows a snapshot keeps: enough for trends over the last runs
COUNTED = ("slack_messages", "calendar_events", "drive_files", "directory_users", MEETING_RECORDS)
# A full refresh works on `<state>.refresh`; its snapshot and overrides are still the state's.
REFRESH_SUFFIX = ".refresh"


class BreakerState(BaseModel):
    """A source's circuit breaker as the last run left it."""

    state: str = "closed"  # closed | open | half-open
    fail_counter: int = 0
    opened_at: datetime | None = None


class MonitorSnapshot(BaseModel):
    """The state's monitoring figures at one instant."""

    written_at: datetime
    state: str
    runs: list[RunRecord] = Field(default_factory=list)  # newest first
    runs_by_status: dict[str, int] = Field(default_factory=dict)  # over the whole ledger
    breakers: dict[str, BreakerState] = Field(default_factory=dict)
    quarantine: dict[str, int] = Field(default_factory=dict)  # records by rule
    quarantine_by_run: dict[str, int] = Field(default_factory=dict)
    quarantine_by_source: dict[str, dict[str, int]] = Field(default_factory=dict)  # source -> rule -> n
    counts: dict[str, int] = Field(default_factory=dict)  # rows per table


class Override(BaseModel):
    """One source's manual breaker override."""

    mode: OverrideMode = "auto"
    set_at: datetime | None = None
    set_by: str = ""


class BreakerOverrides(BaseModel):
    """The manual overrides of every source (a source not named is `auto`)."""

    sources: dict[str, Override] = Field(default_factory=dict)

    def mode(self, source: str) -> OverrideMode:
        return self.sources[source].mode if source in self.sources else "auto"


def _base(state: Path) -> Path:
    return state.with_name(state.name.removesuffix(REFRESH_SUFFIX))


def snapshot_path(state: Path) -> Path:
    """Give the monitoring snapshot file of `state` (beside it)."""
    base = _base(Path(state))
    return base.with_name(base.name + ".monitor.json")


def overrides_path(state: Path) -> Path:
    """Give the breaker-override file of `state` (beside it)."""
    base = _base(Path(state))
    return base.with_name(base.name + ".breakers.json")


# ---- the snapshot --------------------------------------------------------------------------------


def build_snapshot(con: duckdb.DuckDBPyConnection, state: Path, limit: int = LEDGER_RUNS) -> MonitorSnapshot:
    """Give the monitoring snapshot of the state open on `con` (read-only is enough)."""
    tables = stored_tables(con)
    snap = MonitorSnapshot(written_at=datetime.now(UTC), state=str(_base(Path(state))))
    if "runs" in tables:
        snap.runs = run_records(con, limit)
        rows = con.execute("SELECT status, count(*) FROM runs GROUP BY status ORDER BY status").fetchall()
        snap.runs_by_status = {s: int(n) for s, n in rows}
    if "state_meta" in tables:
        saved = con.execute("SELECT value FROM state_meta WHERE key = 'breakers'").fetchall()
        if saved and saved[0][0]:
            snap.breakers = {k: BreakerState.model_validate(v) for k, v in json.loads(saved[0][0]).items()}
    if "quarantine" in tables:
        rows = con.execute("SELECT source, rule, run_id, count(*) FROM quarantine GROUP BY ALL").fetchall()
        for source, rule, run_id, n in rows:
            snap.quarantine[rule] = snap.quarantine.get(rule, 0) + int(n)
            snap.quarantine_by_run[run_id] = snap.quarantine_by_run.get(run_id, 0) + int(n)
            by_rule = snap.quarantine_by_source.setdefault(source, {})
            by_rule[rule] = by_rule.get(rule, 0) + int(n)
    snap.counts = table_counts(con, COUNTED)  # a Parquet state's raw tables: from its manifest
    return snap


def publish_snapshot(con: duckdb.DuckDBPyConnection, state: Path) -> MonitorSnapshot:
    """Write the snapshot of the state open on `con` beside the state file; give it."""
    snap = build_snapshot(con, state)
    write_atomic(snapshot_path(state), snap.model_dump_json())
    return snap


def read_snapshot(state: Path) -> MonitorSnapshot | None:
    """Give the snapshot published beside `state`, or None when there is none (or it is unreadable)."""
    path = snapshot_path(state)
    try:
        return MonitorSnapshot.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def snapshot_from_state(state: Path) -> MonitorSnapshot:
    """Open `state` read-only for as long as it takes to read the snapshot's figures, and give them.

    Raises ConfigurationError when a run holds the file (DuckDB lets no other process open it then).
    """
    if not state.exists():
        raise ConfigurationError(f"no state file at {state}", "run `meetintel run` first")
    try:
        con = duckdb.connect(str(state), read_only=True)
    except duckdb.Error as exc:
        text = str(exc).splitlines()[0]
        if "lock" in text.lower():
            raise ConfigurationError(
                f"the state file {state} is in use by a run ({text})",
                "read the snapshot the run publishes beside it, or wait for the run to end",
            ) from exc
        raise DataError(
            f"the state file {state} cannot be opened ({text})", "run `meetintel doctor --repair`"
        ) from exc
    try:
        return build_snapshot(con, state)
    finally:
        con.close()


def current_snapshot(state: Path) -> MonitorSnapshot | None:
    """Give the freshest snapshot: the state's own figures when it can be opened now, else the published one.

    For the CLI: one quick read. The service keeps its own cache (service.data).
    """
    if state_in_use(state):  # a run holds it: DuckDB would refuse the open anyway
        return read_snapshot(state)
    try:
        return snapshot_from_state(state)
    except ConfigurationError:
        return read_snapshot(state)


# ---- is a run holding the state? ----------------------------------------------------------------

PROC_LOCKS = Path("/proc/locks")


def _held_inodes() -> set[tuple[int, int, int]] | None:
    """Give (major, minor, inode) of each file a process holds a lock on; None when the OS does not say."""
    try:
        lines = PROC_LOCKS.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    held = set()
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2335282 0 EOF" (a blocked waiter's line has "->" first)
        fields = [p for p in parts if p != "->"]
        if len(fields) >= 6 and fields[5].count(":") == 2:
            major, minor, inode = fields[5].split(":")
            held.add((int(major, 16), int(minor, 16), int(inode)))
    return held


def state_in_use(state: Path) -> bool | None:
    """Give whether a process holds `state`: the run's writer lock (`STATE.lock`) or DuckDB's own lock on the
    file. None when the OS does not tell (no /proc/locks); the caller then goes by the lock file's content."""
    held = _held_inodes()
    if held is None:
        return None
    for path in (_base(Path(state)).with_name(_base(Path(state)).name + ".lock"), _base(Path(state))):
        try:
            st = path.stat()
        except OSError:
            continue
        if (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in held:
            return True
    return False


# ---- breaker overrides ---------------------------------------------------------------------------


def read_overrides(state: Path) -> BreakerOverrides:
    """Give the breaker overrides set for `state` (none when the file does not exist)."""
    path = overrides_path(state)
    if not path.exists():
        return BreakerOverrides()
    try:
        return BreakerOverrides.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise DataError(
            f"the breaker override file {path} cannot be read ({type(exc).__name__})",
            "delete it and set the overrides again with `meetintel breaker open|close|auto SOURCE`",
        ) from exc


def set_override(state: Path, source: str, mode: str, by: str) -> BreakerOverrides:
    """Set `source`'s override to `mode` (auto, force-open, force-closed) for the next runs; give them all."""
    if source not in SOURCE_NAMES:
        raise ConfigurationError(f"unknown source {source!r}", "use one of: " + ", ".join(SOURCE_NAMES))
    if mode not in OVERRIDE_MODES:
        raise ConfigurationError(f"unknown breaker mode {mode!r}", "use one of: " + ", ".join(OVERRIDE_MODES))
    overrides = read_overrides(state)
    if mode == "auto":
        overrides.sources.pop(source, None)
    else:
        overrides.sources[source] = Override.model_validate(
            {"mode": mode, "set_at": datetime.now(UTC), "set_by": by}
        )
    write_atomic(overrides_path(state), overrides.model_dump_json(indent=1))
    return overrides


class Forceable(Protocol):
    """What a breaker override needs of a source's guard (collectors' `Guard.force`)."""

    def force(self, mode: str, reason: str = "") -> None: ...


def apply_overrides(guards: Mapping[SourceName, Forceable], state: Path) -> list[str]:
    """Put every guard in the mode its override asks for (auto when none); give what the run must say."""
    overrides = read_overrides(state)
    notes = override_notes(overrides, guards)
    for name, guard in guards.items():
        o = overrides.sources.get(name)
        reason = (
            f"forced open by an operator override set {o.set_at:%Y-%m-%d %H:%M UTC}" if o and o.set_at else ""
        )
        guard.force(overrides.mode(name), reason)
    return notes


def override_notes(overrides: BreakerOverrides, present: Collection[str]) -> list[str]:
    """Give one line per override that applies to the sources of this run, for its log and summary."""
    notes = []
    for source, o in sorted(overrides.sources.items()):
        if source not in present or o.mode == "auto":
            continue
        when = f" (set {o.set_at:%Y-%m-%d %H:%M UTC}" + (f" by {o.set_by}" if o.set_by else "") + ")"
        what = "skipped" if o.mode == "force-open" else "collected whatever its breaker says"
        notes.append(
            f"{source}: circuit breaker {o.mode} by an operator override{when}; the source is {what}"
        )
    return notes
