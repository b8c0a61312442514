"""The state store: one DuckDB file with raw tables, cursors, derived tables and the runs ledger."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from checkpoints._ddl import BOOKKEEPING, create_table_sql
from checkpoints.models import RunRecord
from core.chunks import Chunk, Cursor, FileStamp, LiveChunk
from core.errors import ConfigurationError, DataError
from core.sql import lit
from core.tables import RAW_TABLES

SCHEMA_VERSION = "1"


def _open_error(path: Path, exc: duckdb.Error) -> ConfigurationError | DataError:
    """Classify why the state file would not open, with what to do about it."""
    text = str(exc)
    if "not a valid DuckDB database" in text or "Corrupt" in text or "checksum" in text.lower():
        return DataError(
            f"the state file {path} is damaged or not a DuckDB database ({text})",
            "move it aside and run `meetintel run --full-refresh` to rebuild it from the sources",
        )
    return ConfigurationError(
        f"cannot open the state file {path}: {text}",
        "check the path and permissions, or stop the other meetintel process that holds it",
    )


def _now() -> datetime:
    return datetime.now(UTC)


class StateStore:
    """A DuckDB state database. Every write method commits atomically or not at all."""

    def __init__(self, path: Path, *, memory_limit: str = "200MB", threads: int = 2) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise _open_error(self.path, exc) from exc
        self.con.execute(f"SET memory_limit = '{memory_limit}'; SET threads = {int(threads)}")
        self.con.execute("SET preserve_insertion_order = false")
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        with self.transaction():
            for table in RAW_TABLES.values():
                self.con.execute(create_table_sql(table.name, table.schema))
            self.con.execute(BOOKKEEPING)
            self.con.execute(
                "INSERT INTO state_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [SCHEMA_VERSION],
            )
            # Names this state file, so an export marker never matches a different (e.g. rebuilt) state.
            self.con.execute(
                "INSERT INTO state_meta VALUES ('state_id', ?) ON CONFLICT DO NOTHING", [uuid.uuid4().hex]
            )

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> _Transaction:
        """Give a context manager that commits on success and rolls back on any error."""
        return _Transaction(self.con)

    # ---- raw data and its cursors -------------------------------------------------------------

    def file_stamps(self) -> dict[str, FileStamp]:
        """Give the stamps of every source file already stored, by path."""
        rows = self.con.execute("SELECT path, size, fingerprint FROM file_stamps").fetchall()
        return {p: FileStamp(p, s, f) for p, s, f in rows}

    def commit_chunk(self, chunk: Chunk, run_id: str) -> int:
        """Upsert a chunk's rows and record the stamps of the files it covers, in one transaction."""
        table = RAW_TABLES[chunk.table]
        with self.transaction():
            self._upsert(table.name, chunk.batch, table.key, table.stub)
            self._mark_pending(table.name, chunk.batch)
            self._record_stamps(chunk.files, table.name, chunk.batch.num_rows, run_id)
            if chunk.batch.num_rows:
                self._bump("raw_version")
        return chunk.batch.num_rows

    def cursors(self) -> dict[tuple[str, str], Cursor]:
        """Give every saved live-collection cursor by (source, key)."""
        rows = self.con.execute("SELECT source, key, value FROM cursors").fetchall()
        return {(s, k): Cursor(s, k, v) for s, k, v in rows}

    def commit_live(self, chunk: LiveChunk, run_id: str) -> int:
        """Apply a live chunk in one transaction: clear its replace scope, upsert rows, save cursors."""
        table = RAW_TABLES[chunk.table]
        with self.transaction():
            if chunk.replace_scope is not None:
                scope = chunk.replace_scope
                if scope.table not in RAW_TABLES or scope.column not in RAW_TABLES[scope.table].schema.names:
                    raise DataError(f"replace scope {scope} names no raw table column", "report it as a bug")
                self.con.execute(f'DELETE FROM {scope.table} WHERE "{scope.column}" = ?', [scope.value])
            self._upsert(table.name, chunk.batch, table.key, table.stub)
            self._mark_pending(table.name, chunk.batch)
            now = _now()
            if chunk.cursors:
                self.con.executemany(
                    "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?, ?)",
                    [(c.source, c.key, c.value, run_id, now) for c in chunk.cursors],
                )
            if chunk.batch.num_rows or chunk.replace_scope is not None:
                self._bump("raw_version")
        return chunk.batch.num_rows

    def _mark_pending(self, table: str, batch: pa.Table) -> None:
        """Queue upserted messages for detection (in the caller's transaction)."""
        if table != "slack_messages" or batch.num_rows == 0:
            return
        self.con.register("_chunk", batch)
        self.con.execute("INSERT INTO pending_detection SELECT channel_id, ts FROM _chunk")
        self.con.unregister("_chunk")

    def _upsert(self, name: str, batch: pa.Table, key: Iterable[str], stub: str | None = None) -> None:
        """Replace rows of `name` sharing a key with `batch`, then insert it (the last row per key wins).

        Rows matching `stub` (see `RawTable.stub`) take their missing fields from the row they replace.
        """
        if batch.num_rows == 0:
            return
        keys = list(key)
        cols = ", ".join(f'"{c}"' for c in batch.schema.names)
        match = " AND ".join(f"t.{k} = b.{k}" for k in keys)
        numbered = "_batch"
        # Row numbers from Arrow, not row_number() OVER (): the same on every read of the batch.
        self.con.register("_batch", batch.append_column("_i", pa.array(range(batch.num_rows), pa.int64())))
        try:
            if stub:
                # Only stubs that replace a stored row are rebuilt; the other rows go in as they came.
                merged = ", ".join(_stub_column(f, keys) for f in batch.schema)
                self.con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _merged AS SELECT {merged}, b._i "
                    f"FROM {numbered} b JOIN {name} t ON {match} WHERE {stub}"
                )
                if self._scalar("SELECT count(*) FROM _merged"):
                    numbered = (
                        f"(SELECT * FROM {numbered} b ANTI JOIN _merged m ON b._i = m._i "
                        f"UNION ALL BY NAME SELECT * FROM _merged)"
                    )
            self.con.execute(f"DELETE FROM {name} t USING _batch b WHERE {match}")
            self.con.execute(
                f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {numbered} "
                f"QUALIFY _i = max(_i) OVER (PARTITION BY {', '.join(keys)})"
            )
        finally:
            self.con.unregister("_batch")
            if stub:
                self.con.execute("DROP TABLE IF EXISTS _merged")

    def _record_stamps(self, files: list[FileStamp], table: str, rows: int, run_id: str) -> None:
        if not files:
            return
        # A chunk's rows are attributed to its first file; the count is for the ledger only. One bulk
        # statement: executemany runs a statement per file, seconds per thousand files.
        stamps = pa.table(
            {
                "path": [f.path for f in files],
                "size": pa.array([f.size for f in files], pa.int64()),
                "fingerprint": [f.fingerprint for f in files],
                "table_name": [table] * len(files),
                "rows": pa.array([rows] + [0] * (len(files) - 1), pa.int64()),
                "run_id": [run_id] * len(files),
                "recorded_at": pa.array([_now()] * len(files), pa.timestamp("us", tz="UTC")),
            }
        )
        self.con.register("_stamps", stamps)
        self.con.execute("INSERT OR REPLACE INTO file_stamps SELECT * FROM _stamps")
        self.con.unregister("_stamps")

    def upsert(self, name: str, batch: pa.Table, key: Iterable[str]) -> None:
        """Upsert `batch` into table `name` by `key`, creating the table from the batch's schema if needed."""
        with self.transaction():
            self.con.execute(create_table_sql(name, batch.schema))
            self._upsert(name, batch, key)

    def count(self, table: str) -> int:
        """Give the number of rows in `table` (0 when it does not exist)."""
        if not self.has_table(table):
            return 0
        return int(self._scalar(f"SELECT count(*) FROM {table}") or 0)

    def has_table(self, table: str) -> bool:
        sql = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary"
        return bool(self._scalar(sql, [table]))

    def _scalar(self, sql: str, params: list[object] | None = None) -> Any:
        """Give the first column of the first row, fetching the whole result so the connection is free."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    # ---- incremental detection ----------------------------------------------------------------

    def pending_view(self, name: str = "new_slack_messages") -> int:
        """Create a temp view of messages awaiting detection; give how many there are."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT m.* FROM slack_messages m "
            "SEMI JOIN (SELECT DISTINCT channel_id, ts FROM pending_detection) p "
            "ON m.channel_id = p.channel_id AND m.ts = p.ts"
        )
        return int(self._scalar(f"SELECT count(*) FROM {name}") or 0)

    def commit_detection(self, evidence: pa.Table, view: str = "new_slack_messages") -> None:
        """Replace evidence of the pending messages with `evidence` and clear them, in one transaction."""
        with self.transaction():
            self.con.execute(create_table_sql("evidence", evidence.schema))
            self.con.execute(
                f"DELETE FROM evidence e USING {view} m WHERE e.channel_id = m.channel_id AND e.ts = m.ts"
            )
            if evidence.num_rows:
                self.con.register("_evidence", evidence)
                self.con.execute("INSERT INTO evidence BY NAME SELECT * FROM _evidence")
                self.con.unregister("_evidence")
            self.con.execute("DELETE FROM pending_detection")
            self._bump("raw_version")

    # ---- derived tables -----------------------------------------------------------------------

    def replace_tables(self, tables: Mapping[str, pa.Table], version: str) -> None:
        """Swap in a set of derived tables at once and mark them as built from raw `version`."""
        with self.transaction():
            for name, table in tables.items():
                self.con.register("_derived", table)
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _derived")
                self.con.unregister("_derived")
            self.set_meta("derived_version", version)

    # ---- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        value = self._scalar("SELECT value FROM state_meta WHERE key = ?", [key])
        return default if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO state_meta VALUES (?, ?)", [key, value])

    def data_version(self) -> str:
        """Give `<state id>:<raw version>`: what the stored data is, whatever path the file has."""
        return f"{self.get_meta('state_id')}:{self.get_meta('raw_version', '0')}"

    def _bump(self, key: str) -> None:
        self.set_meta(key, str(int(self.get_meta(key, "0")) + 1))

    # ---- runs ledger --------------------------------------------------------------------------

    def start_run(self, mode: str) -> str:
        """Open a ledger entry for a run and give its id."""
        run_id = f"{_now():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, NULL, 'running', '{}', '{}', '[]', '[]', '[]')",
            [run_id, mode, _now()],
        )
        return run_id

    def finish_run(self, record: RunRecord) -> None:
        """Close a run's ledger entry with its status and figures."""
        self.con.execute(
            "UPDATE runs SET ended_at = ?, status = ?, rows_read = ?, rows_written = ?, stages = ?, "
            "errors = ?, sources = ? WHERE run_id = ?",
            [
                _now(),
                record.status,
                json.dumps(record.rows_read),
                json.dumps(record.rows_written),
                json.dumps([s.model_dump() for s in record.stages]),
                json.dumps(record.errors),
                json.dumps([src.model_dump() for src in record.sources]),
                record.run_id,
            ],
        )

    def runs(self, limit: int = 10) -> list[RunRecord]:
        """Give the latest runs, newest first."""
        rows = self.con.execute(
            "SELECT run_id, mode, status, started_at, ended_at, rows_read, rows_written, stages, errors, "
            "sources "
            "FROM runs ORDER BY started_at DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [
            RunRecord(
                run_id=r[0],
                mode=r[1],
                status=r[2],
                started_at=r[3],
                ended_at=r[4],
                rows_read=json.loads(r[5]),
                rows_written=json.loads(r[6]),
                stages=json.loads(r[7]),
                errors=json.loads(r[8]),
                sources=json.loads(r[9] or "[]"),
            )
            for r in rows
        ]


def prepare_refresh(state: Path) -> Path:
    """Give a fresh state file beside `state` for a full refresh, carrying over the runs ledger and meta.

    The refresh collects into it; `swap_in` replaces `state` only once the refresh succeeded, so a failed or
    killed full refresh leaves the old state whole.
    """
    work = state.with_name(state.name + ".refresh")
    discard(work)
    with StateStore(work) as fresh:
        if state.exists():
            fresh.con.execute(f"ATTACH {lit(state.as_posix())} AS old (READ_ONLY)")
            fresh.con.execute("INSERT INTO runs SELECT * FROM old.runs")
            fresh.con.execute(
                "INSERT OR REPLACE INTO state_meta SELECT * FROM old.state_meta WHERE key IN ('breakers')"
            )
            fresh.con.execute("DETACH old")
    return work


def swap_in(work: Path, state: Path) -> None:
    """Atomically make the refreshed state file the state (all connections to both must be closed)."""
    os.replace(work, state)
    Path(f"{state}.wal").unlink(missing_ok=True)


def discard(work: Path) -> None:
    """Remove a refresh state file and its write-ahead log."""
    work.unlink(missing_ok=True)
    Path(f"{work}.wal").unlink(missing_ok=True)


class _Transaction:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")


def _stub_column(f: pa.Field, keys: list[str]) -> str:
    """Give the SELECT item of column `f` for a stub row `b` replacing the stored row `t`: the stub's value
    where it has one, else the stored one."""
    c = f'"{f.name}"'
    if f.name in keys:
        return f"b.{c}"
    missing = f"b.{c} IS NULL" + (f" OR len(b.{c}) = 0" if pa.types.is_list(f.type) else "")
    return f"CASE WHEN {missing} THEN t.{c} ELSE b.{c} END AS {c}"
