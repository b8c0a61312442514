"""Health of a state file, and repairs that lose nothing.

`state_findings` opens the state read-only and checks, in order: that it opens and every table reads whole
(DuckDB checks each block's checksum as it reads), its schema version, that checkpoints agree with the data
(file stamps and cursors whose rows are missing, queued messages that are not stored, evidence missing), that
derived tables are current, and the runs ledger.

`repair_state` never deletes data: a damaged state file is moved aside and a fresh one started (the next run
re-collects everything); stamps and cursors of missing data are dropped (the next run re-reads it); derived
versions are cleared (the next run rebuilds). `meetintel doctor` (flows) runs these beside the report checks
of `exports.health`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from checkpoints import _health_checks as checks
from checkpoints.dataset import read_dataset
from checkpoints.ledger import DAMAGED_HINT
from checkpoints.store import SCHEMA_VERSION, StateStore
from core.errors import MeetintelError
from core.health import ERROR, INFO, WARNING, Finding

INTERRUPTED = '["interrupted; marked failed by meetintel doctor"]'
_REQUIRED = ("file_stamps", "cursors", "pending_detection", "state_meta", "runs")

__all__ = ["repair_state", "state_findings"]

DATASET_HINT = (
    "restore the files from the bucket's versioning or a backup, or run `meetintel run --full-refresh`: "
    "it collects into a new dataset and keeps this one until it succeeds"
)


@dataclass(frozen=True)
class _Dataset:
    """The raw tables a state keeps in its Parquet dataset, and the files of it that fail their checksum."""

    tables: frozenset[str]
    damaged: list[str]
    where: str

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection) -> _Dataset:
        """Register the state's dataset on `con` (read-only) and check its files; empty for one file."""
        try:
            found = read_dataset(con)
        except OSError as exc:
            raise MeetintelError(f"the state's Parquet dataset cannot be read: {exc}", DATASET_HINT) from exc
        if found is None:
            return cls(frozenset(), [], "")
        return cls(found.tables, found.verify(), found.uri.split("?", 1)[0])


def state_findings(state: Path) -> list[Finding]:
    """Give the findings about the state file `state` (read-only; a missing file is a warning)."""
    if not state.exists():
        todo = "check --state, or run `meetintel run` to collect into a new state"
        return [Finding(WARNING, "state-missing", f"no state file at {state}", todo)]
    refresh = state.with_name(state.name + ".refresh")
    found = []
    if refresh.exists():
        todo = "nothing needed: the old state is whole and the next --full-refresh starts the refresh afresh"
        found.append(
            Finding(INFO, "refresh-leftover", f"{refresh} is left from an interrupted full refresh", todo)
        )
    try:
        con = duckdb.connect(str(state), read_only=True)
    except duckdb.Error as exc:
        return [*found, _open_finding(state, exc)]
    try:
        return found + _database_findings(state, con)
    finally:
        con.close()


def _open_finding(state: Path, exc: duckdb.Error) -> Finding:
    text = str(exc).splitlines()[0]
    if "lock" in text.lower():
        todo = "wait for the other meetintel process to finish, or stop it, then run doctor again"
        return Finding(ERROR, "state-busy", f"{state} is in use by another process ({text})", todo)
    return _damaged(state, f"{state} cannot be opened as a DuckDB database ({text})")


def _damaged(state: Path, what: str) -> Finding:
    return Finding(ERROR, "state-damaged", what, DAMAGED_HINT)


def _database_findings(state: Path, con: duckdb.DuckDBPyConnection) -> list[Finding]:
    unreadable = checks.unreadable_tables(con)
    if unreadable:
        detail = "; ".join(f"{t}: {e}" for t, e in unreadable[: checks.EXAMPLES])
        what = f"{state} has {len(unreadable)} tables that cannot be read whole ({detail})"
        names = tuple(t for t, _ in unreadable)
        if any(t in checks.RAW_TABLES or t in _REQUIRED for t in names):
            return [_damaged(state, what)]
        # Only derived tables are hit: the collected data is whole, so rebuilding them loses nothing.
        todo = "run `meetintel doctor --repair`: it drops those tables and the next run rebuilds them"
        return [Finding(ERROR, "derived-damaged", what, todo, names)]
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    try:
        dataset = _Dataset.of(con) if "state_meta" in tables else _Dataset(frozenset(), [], "")
    except MeetintelError as exc:
        return [Finding(ERROR, "dataset-unreachable", exc.message, exc.hint or DATASET_HINT)]
    missing = [t for t in (*checks.RAW_TABLES, *_REQUIRED) if t not in tables | set(dataset.tables)]
    if missing:
        return [_damaged(state, f"{state} is not a meetintel state: tables missing: {', '.join(missing)}")]
    if dataset.damaged:
        what = f"{len(dataset.damaged)} Parquet files of {dataset.where} are missing or fail their checksum"
        return [Finding(ERROR, "dataset-damaged", what, DATASET_HINT, tuple(dataset.damaged))]
    version = dict(con.execute("SELECT key, value FROM state_meta").fetchall()).get("schema_version")
    if version != SCHEMA_VERSION:
        what = f"{state} has schema version {version}, this meetintel writes version {SCHEMA_VERSION}"
        older = version is not None and version.isdigit() and int(version) < int(SCHEMA_VERSION)
        todo = (
            "run `meetintel run --full-refresh` once: it rebuilds the state with this version's schema"
            if older
            else "use the meetintel version that wrote it"
        )
        return [Finding(ERROR, "schema-version", what, todo)]
    return [
        *checks.stamp_findings(con),
        *checks.cursor_findings(con),
        *checks.pending_findings(con),
        *checks.derived_findings(con),
        *checks.ledger_findings(con),
    ]


# ---- repair ----------------------------------------------------------------------------------------------


def repair_state(state: Path, findings: list[Finding]) -> list[str]:
    """Fix what `state_findings` found, losing nothing; give the repairs made, one line each."""
    codes = {f.code for f in findings}
    if "state-damaged" in codes:
        return _replace_state(state)
    done: list[str] = []
    if codes & _STATE_FIXES.keys():
        with StateStore(state) as store:
            for finding in findings:
                fix = _STATE_FIXES.get(finding.code)
                if fix is not None:
                    done.append(fix(store, finding))
    return done


def _replace_state(state: Path) -> list[str]:
    """Move a damaged state (and its write-ahead log) aside and start a fresh state in its place."""
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    moved = []
    for path in (state, Path(f"{state}.wal")):
        if path.exists():
            target = path.with_name(f"{path.name}.damaged-{stamp}")
            path.rename(target)
            moved.append(str(target))
    StateStore(state).close()
    return [f"moved the damaged state aside to {', '.join(moved)} and started a fresh state at {state}"]


def _drop_stamps(store: StateStore, finding: Finding) -> str:
    tables = [k.removeprefix("table:") for k in finding.keys if k.startswith("table:")]
    paths = [k for k in finding.keys if not k.startswith("table:")]
    with store.transaction():
        for table in tables:
            store.con.execute("DELETE FROM file_stamps WHERE table_name = ?", [table])
        if paths:
            store.con.executemany("DELETE FROM file_stamps WHERE path = ?", [[p] for p in paths])
    what = f"the stamps of {', '.join(tables)}" if tables else f"{len(paths)} file stamps"
    return f"dropped {what}; the next run reads those files again"


def _drop_cursors(store: StateStore, finding: Finding) -> str:
    keys = [k.split(":", 1) for k in finding.keys]
    with store.transaction():
        store.con.executemany("DELETE FROM cursors WHERE source = ? AND key = ?", keys)
    return f"dropped {len(keys)} cursors; the next live run fetches their data again"


def _drop_orphans(store: StateStore, _finding: Finding) -> str:
    with store.transaction():
        store.con.execute(
            "DELETE FROM pending_detection p WHERE NOT EXISTS (SELECT 1 FROM slack_messages m "
            "WHERE m.channel_id = p.channel_id AND m.ts = p.ts)"
        )
    return "removed queued messages that are not stored"


def _requeue(store: StateStore, _finding: Finding) -> str:
    with store.transaction():
        store.con.execute("INSERT INTO pending_detection SELECT channel_id, ts FROM slack_messages")
        _clear_versions(store)
    return "queued every stored message for detection; the next run rebuilds the evidence"


def _clear_versions(store: StateStore) -> None:
    placeholders = ", ".join("?" for _ in checks.VERSIONS)
    store.con.execute(f"DELETE FROM state_meta WHERE key IN ({placeholders})", list(checks.VERSIONS))


def _drop_damaged(store: StateStore, finding: Finding) -> str:
    with store.transaction():
        for table in finding.keys:
            store.con.execute(f'DROP TABLE IF EXISTS "{table}"')
        if "evidence" in finding.keys:
            store.con.execute("DELETE FROM pending_detection")
            store.con.execute("INSERT INTO pending_detection SELECT channel_id, ts FROM slack_messages")
        _clear_versions(store)
    return f"dropped the damaged derived tables {', '.join(finding.keys)}; the next run rebuilds them"


def _clear_derived(store: StateStore, _finding: Finding) -> str:
    with store.transaction():
        _clear_versions(store)
    return "cleared the derived versions; the next run rebuilds people, meetings and reports"


def _close_runs(store: StateStore, finding: Finding) -> str:
    with store.transaction():
        store.con.executemany(
            "UPDATE runs SET status = 'failed', errors = ? WHERE run_id = ? AND status = 'running'",
            [[INTERRUPTED, run_id] for run_id in finding.keys],
        )
    return f"marked {len(finding.keys)} interrupted runs failed in the ledger"


_STATE_FIXES = {
    "stamps-without-rows": _drop_stamps,
    "cursor-without-rows": _drop_cursors,
    "pending-without-message": _drop_orphans,
    "evidence-missing": _requeue,
    "derived-damaged": _drop_damaged,
    "derived-stale": _clear_derived,
    "derived-missing": _clear_derived,
    "run-interrupted": _close_runs,
}
