"""The runs ledger and the state's row counts, read without the store.

`meetintel status` opens the state read-only: it never writes the file (not even the schema upgrades the
store makes when it opens one) and imports neither Arrow nor the store's writers. The store reads its
ledger through the same `run_records`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import duckdb

from checkpoints.models import RunRecord
from core.errors import ConfigurationError, DataError, MeetintelError, RetriableError
from core.sql import ident

# What `meetintel doctor` says about a state file that cannot be opened; the run says the same.
DAMAGED_HINT = (
    "run `meetintel doctor --repair`: it moves the file aside (kept, never deleted) and starts a fresh "
    "state, and the next run re-collects everything from the sources"
)
STORAGE_META = "raw_storage"  # state_meta key: the URI the state keeps its raw tables under
# The ledger's columns in RunRecord's order; a state written before a column was added reads it as empty.
RUN_COLUMNS = (
    "run_id",
    "mode",
    "status",
    "started_at",
    "ended_at",
    "rows_read",
    "rows_written",
    "stages",
    "errors",
    "sources",
    "resources",
    "error_classes",
)
_JSON_EMPTY = {"rows_read": "{}", "rows_written": "{}", "resources": "{}"}  # the others are lists


def open_error(path: Path, exc: duckdb.Error) -> MeetintelError:
    """Classify why the state file would not open, with what to do about it."""
    text = str(exc).splitlines()[0]
    if "lock" in text.lower():
        # Another process has the file open (a reader, or a run outside the concurrency limit): transient,
        # so a Prefect task retries it rather than failing the run for good.
        return RetriableError(
            f"the state file {path} is in use by another process ({text})",
            "wait for the other meetintel process to finish, or stop it",
        )
    if "permission denied" in text.lower():
        return ConfigurationError(
            f"cannot open the state file {path}: {text}",
            "make the file and its folder writable, or pass --state",
        )
    # Truncated, overwritten or not DuckDB at all: the file itself is damaged.
    return DataError(
        f"the state file {path} is damaged: it cannot be opened as a DuckDB database ({text})", DAMAGED_HINT
    )


def run_records(con: duckdb.DuckDBPyConnection, limit: int) -> list[RunRecord]:
    """Give the latest `limit` runs of the ledger on `con`, newest first ([] when the state has none)."""
    present = {
        column
        for (column,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs' "
            "AND database_name = current_database()"
        ).fetchall()
    }
    if not present:
        return []
    select = ", ".join(c if c in present else f"NULL AS {c}" for c in RUN_COLUMNS)
    rows = con.execute(f"SELECT {select} FROM runs ORDER BY started_at DESC LIMIT ?", [limit]).fetchall()
    records = []
    for row in rows:
        fields = dict(zip(RUN_COLUMNS, row, strict=True))
        for column in RUN_COLUMNS[5:]:  # the JSON columns
            fields[column] = json.loads(fields[column] or _JSON_EMPTY.get(column, "[]"))
        records.append(RunRecord(**fields))
    return records


def read_ledger(path: Path, limit: int, tables: Sequence[str]) -> tuple[list[RunRecord], dict[str, int]]:
    """Open the state file at `path` read-only; give its latest `limit` runs and the rows of each of
    `tables` (0 for one it does not have). Raises RetriableError while a run holds the file, DataError for
    a damaged one."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise open_error(path, exc) from exc
    try:
        counts = table_counts(con, tables)
        return run_records(con, limit), {t: counts.get(t, 0) for t in tables}
    finally:
        con.close()


def table_counts(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> dict[str, int]:
    """Give the rows of each of `tables` the state on `con` has (a table it lacks is left out).

    A raw table kept in a Parquet dataset counts the rows its committed manifest records; only such a state
    imports the dataset's reader, and when its storage cannot be read now its raw tables are left out
    (`meetintel doctor` names what is wrong).
    """
    stored = stored_tables(con)
    kept: dict[str, int] = {}
    if any(t not in stored for t in tables) and _keeps_dataset(con, stored):
        from checkpoints.dataset import committed_rows  # Arrow's filesystems: only for such a state

        try:
            kept = committed_rows(con)
        except (OSError, MeetintelError):
            kept = {}
    counts = {t: _count(con, t) for t in tables if t in stored}
    return counts | {t: kept[t] for t in tables if t not in stored and t in kept}


def stored_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Give the names of the tables the database on `con` stores (not its views, not temporary ones)."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database()"
    ).fetchall()
    return {name for (name,) in rows}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()[0][0])


def _keeps_dataset(con: duckdb.DuckDBPyConnection, stored: set[str]) -> bool:
    """Whether the state records a Parquet dataset for its raw tables."""
    if "state_meta" not in stored:
        return False
    return bool(con.execute("SELECT count(*) FROM state_meta WHERE key = ?", [STORAGE_META]).fetchall()[0][0])
