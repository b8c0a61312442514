"""What a run leaves behind, in canonical form, and how two of them differ (for the kill harness).

A table's canonical hash is the SHA-256 of its rows rendered as text and sorted, so row order, which DuckDB
does not promise, never matters; floats are rounded to 9 significant digits because parallel sums may differ
in the last bits. Bookkeeping that legitimately differs between runs (run ids, times, version counters) is
left out: `runs` and `state_meta` entirely, and only the identifying columns of `file_stamps` and `cursors`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from collectors.models import RAW_TABLES
from exports import check_manifest, latest_run

# The ledger and meta differ run by run; file_fingerprints is a cache whose rows depend on when each file
# was stamped (a file changed within seconds of its stamp is not kept), never on what the run read.
SKIPPED = {"runs", "state_meta", "file_fingerprints"}
PROJECTIONS = {
    "file_stamps": "path, size, fingerprint, table_name",
    "cursors": "source, key, value",
}
DERIVED_KEYS = {"evidence": ("channel_id", "ts"), "meetings": ("meeting_id",), "people": ("person_id",)}
VERSIONS = ("correlated_version", "aggregated_version")


@dataclass
class Snapshot:
    """The canonical content of a state file and its published reports."""

    tables: dict[str, tuple[int, str]] = field(default_factory=dict)  # rows, canonical hash
    duplicates: dict[str, int] = field(default_factory=dict)  # rows beyond the first per natural key
    messages: frozenset[tuple[str, str]] = frozenset()
    pending: int = 0
    stale: list[str] = field(default_factory=list)  # derived versions behind the raw version
    reports: dict[str, str] = field(default_factory=dict)  # published file -> canonical hash
    export_problems: list[str] = field(default_factory=list)


def _canon(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in sorted(value.items())}
    return value


def canonical_hash(rows: list[object]) -> str:
    """Give the SHA-256 of rows rendered as canonical JSON text and sorted."""
    lines = sorted(json.dumps(_canon(r), sort_keys=True, default=str) for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").fetchall()
    return [r[0] for r in rows if r[0] not in SKIPPED]


def _duplicates(con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...]) -> int:
    cols = ", ".join(key)
    sql = f"SELECT count(*) - count(DISTINCT ({cols})) FROM {table}"
    return int(con.execute(sql).fetchall()[0][0])


def state_snapshot(state: Path) -> Snapshot:
    """Give the canonical content of the state file at `state` (opened read-only)."""
    snap = Snapshot()
    con = duckdb.connect(str(state), read_only=True)
    try:
        for table in _tables(con):
            rows = con.execute(f"SELECT {PROJECTIONS.get(table, '*')} FROM {table}").fetchall()
            snap.tables[table] = (len(rows), canonical_hash(list(rows)))
        keys = {name: tuple(t.key) for name, t in RAW_TABLES.items()} | DERIVED_KEYS
        snap.duplicates = {t: _duplicates(con, t, k) for t, k in keys.items() if t in snap.tables}
        messages = con.execute("SELECT channel_id, ts FROM slack_messages").fetchall()
        snap.messages = frozenset((str(c), str(t)) for c, t in messages)
        snap.pending = int(con.execute("SELECT count(*) FROM pending_detection").fetchall()[0][0])
        meta = dict(con.execute("SELECT key, value FROM state_meta").fetchall())
        raw = meta.get("raw_version", "0")
        snap.stale = [f"{k}={meta.get(k)} (raw {raw})" for k in VERSIONS if meta.get(k) != raw]
    finally:
        con.close()
    return snap


def _report_hash(path: Path) -> str:
    """Give a canonical hash of a report file: records for JSON, sorted rows for CSV, bytes otherwise."""
    if path.suffix == ".json":
        return canonical_hash(json.loads(path.read_text(encoding="utf-8")))
    if path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        return canonical_hash([rows[0], *sorted(rows[1:])] if rows else [])
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_problems(out: Path) -> list[str]:
    """Give what is wrong with the published export: a run whose files fail its manifest, or none at all.

    Nothing published is no problem here (a first run killed before publishing presents nothing); the
    comparison after the resumed run is what requires reports.
    """
    run_id = latest_run(out)
    if run_id is None:
        return []
    run = out / "runs" / run_id
    if not run.is_dir():
        return [f"latest names run {run_id}, which has no folder"]
    return check_manifest(run)


def out_snapshot(out: Path, snap: Snapshot, byte_exact: frozenset[str] = frozenset()) -> None:
    """Add the published reports of `out` to `snap` (canonical hashes; `byte_exact` suffixes by bytes)."""
    snap.export_problems = published_problems(out)
    run_id = latest_run(out)
    if run_id is None or snap.export_problems:
        return
    for path in sorted((out / "runs" / run_id).iterdir()):
        if path.name == "manifest.json":
            continue
        if path.suffix in (".json", ".csv") or path.suffix in byte_exact:
            snap.reports[path.name] = _report_hash(path)
        else:
            snap.reports[path.name] = "present"


def differences(expected: Snapshot, got: Snapshot) -> list[str]:
    """Give how `got` differs from the uninterrupted run's `expected` (empty: the same)."""
    problems: list[str] = []
    for table in sorted(set(expected.tables) | set(got.tables)):
        want, have = expected.tables.get(table), got.tables.get(table)
        if want is None or have is None:
            problems.append(f"table {table}: {'missing' if have is None else 'unexpected'}")
        elif want[0] != have[0]:
            problems.append(f"table {table}: {have[0]} rows, uninterrupted run has {want[0]}")
        elif want[1] != have[1]:
            problems.append(f"table {table}: same {have[0]} rows but different content")
    problems += [f"table {t}: {n} rows duplicate a natural key" for t, n in got.duplicates.items() if n]
    lost, extra = expected.messages - got.messages, got.messages - expected.messages
    if lost:
        problems.append(f"{len(lost)} messages lost, e.g. {sorted(lost)[0]}")
    if extra:
        problems.append(f"{len(extra)} messages not in the uninterrupted run, e.g. {sorted(extra)[0]}")
    if got.pending:
        problems.append(f"{got.pending} messages still pending detection")
    problems += [f"derived data stale: {s}" for s in got.stale]
    problems += [f"export: {p}" for p in got.export_problems]
    for name in sorted(set(expected.reports) | set(got.reports)):
        if expected.reports.get(name) != got.reports.get(name):
            problems.append(f"report {name}: differs from the uninterrupted run's")
    return problems
