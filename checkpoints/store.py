"""The state store: one DuckDB file with raw tables, cursors, derived tables and the runs ledger."""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Set
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa

from checkpoints._ddl import BOOKKEEPING, RUNS_ADDED, create_table_sql
from checkpoints.dataset import RawDataset, attach_dataset
from checkpoints.ledger import open_error, run_records
from checkpoints.models import RunRecord
from core.chunks import Chunk, Cursor, FileStamp, LiveChunk, Quarantined
from core.errors import DataError, RetriableError
from core.sql import ident, lit, rows_hash
from core.tables import RAW_TABLES

# 2: directory_users gained other_emails; an older state is rebuilt by `meetintel run --full-refresh`.
SCHEMA_VERSION = "2"
# How far the write-ahead log may grow inside `StateStore.bulk_load` before DuckDB checkpoints on its own.
# Data committed since the last checkpoint stays in the store's memory, so the log is not left to grow
# unbounded: at L's first collect, 128 MB gave a few checkpoints instead of 45, the same CPU as one
# (13.5 vs 13.9 s) and a lower peak (430 vs 453 MB).
BULK_CHECKPOINT_THRESHOLD = "128MiB"
# The store's DuckDB memory limit inside `StateStore.bulk_load` (the other stages keep the store's own).
BULK_MEMORY_LIMIT = "100MB"
# Inside `StateStore.working_memory` (correlation's joins over the whole state), DuckDB may use one MB per
# MESSAGES_PER_WORKING_MB stored messages when that is more than the store's own limit, up to
# MAX_WORKING_MB: L (1 M messages) keeps its 200 MB; XL (9.6 M) gets 597 MB, where 200 MB ran out in
# correlate in two runs of five.
MESSAGES_PER_WORKING_MB = 16_000
MAX_WORKING_MB = 600


def _now() -> datetime:
    return datetime.now(UTC)


class StateStore:
    """A DuckDB state database. Every write method commits atomically or not at all."""

    def __init__(
        self, path: Path, *, memory_limit: str = "200MB", threads: int = 2, storage: str | None = None
    ) -> None:
        """Open (or create) the state file; with `storage` (or one the state recorded) its partitioned raw
        tables live in that Parquet dataset (`checkpoints.dataset`)."""
        self.path = Path(path)
        self.dataset: RawDataset | None = None
        # Inside `bulk_load`: per raw table that was empty when it began, the values of its key's first
        # column written since (see `_upsert`); None outside a bulk load.
        self._fresh: dict[str, set[object]] | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise open_error(self.path, exc) from exc
        self.memory_limit = memory_limit
        self.con.execute(f"SET memory_limit = {lit(memory_limit)}; SET threads = {int(threads)}")
        self.con.execute("SET preserve_insertion_order = false")
        self._ensure_schema()
        try:
            self.dataset = attach_dataset(self.con, storage)
        except BaseException:
            self.con.close()  # a storage that cannot be used leaves no open connection behind
            raise

    def _ensure_schema(self) -> None:
        with self.transaction():
            for table in RAW_TABLES.values():
                self.con.execute(create_table_sql(table.name, table.schema))
            self.con.execute(BOOKKEEPING)
            for column in RUNS_ADDED:
                self.con.execute(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {column} JSON")
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
        return _Transaction(self.con, self.dataset)

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Checkpoint the state file rarely during the block (a bulk load's commits), and once at its end.

        Each transaction still commits to the write-ahead log, so a chunk and its stamps or cursors stay
        one atomic commit and a killed run replays the log on the next open. What changes is how often the
        database file is rewritten: by default DuckDB checkpoints whenever the log passes 16 MB, which on a
        first collect is after nearly every chunk (45 checkpoints at L, 4.7 s of its commits); here it waits
        for `BULK_CHECKPOINT_THRESHOLD`, and the block ends with a `CHECKPOINT`, inside the caller's stage
        so its time counts there (not at the store's close).
        """
        self.con.execute(f"SET checkpoint_threshold = '{BULK_CHECKPOINT_THRESHOLD}'")
        # A chunk's upsert needs little of DuckDB's memory; what it would otherwise keep is the blocks of
        # the table as it grows (at L collect peaked 50 MB lower at 100 MB, for 4 % more CPU). A Parquet
        # dataset rewrites whole partitions, sorted, in DuckDB: it keeps the store's own limit.
        self._fresh = {}
        if self.dataset is None:
            self.con.execute(f"SET memory_limit = '{BULK_MEMORY_LIMIT}'")
            self._fresh = {t: set() for t in RAW_TABLES if not self.count(t)}
        try:
            yield
        finally:
            self._fresh = None
            self.con.execute("RESET checkpoint_threshold")
            self.con.execute(f"SET memory_limit = {lit(self.memory_limit)}")
        self.con.execute("CHECKPOINT")

    @contextlib.contextmanager
    def working_memory(self) -> Iterator[None]:
        """Let DuckDB use memory in proportion to the stored messages during the block (see
        MESSAGES_PER_WORKING_MB), when that is more than the store's own limit; the limit is back after."""
        wanted = min(MAX_WORKING_MB, self.count("slack_messages") // MESSAGES_PER_WORKING_MB)
        if wanted <= _megabytes(self.memory_limit):
            yield
            return
        self.con.execute(f"SET memory_limit = '{wanted}MB'")
        try:
            yield
        finally:
            self.con.execute(f"SET memory_limit = {lit(self.memory_limit)}")

    # ---- raw data and its cursors -------------------------------------------------------------

    def file_stamps(self) -> dict[str, FileStamp]:
        """Give the stamps of every source file already stored, by path."""
        rows = self.con.execute("SELECT path, size, fingerprint FROM file_stamps").fetchall()
        return {p: FileStamp(p, s, f) for p, s, f in rows}

    def file_fingerprints(self) -> dict[str, tuple[str, str]]:
        """Give the CRC32 the last collect read of each file, with the file's status signature then, by
        path (`collectors.FingerprintCache`: a cache, never the stamps themselves)."""
        rows = self.con.execute("SELECT path, signature, fingerprint FROM file_fingerprints").fetchall()
        return {path: (signature, crc) for path, signature, crc in rows}

    def keep_fingerprints(self, kept: Mapping[str, tuple[str, str]]) -> None:
        """Replace the kept fingerprints with `kept` (path -> (signature, CRC32)), in one commit."""
        rows = pa.table(
            {
                "path": list(kept),
                "signature": [signature for signature, _ in kept.values()],
                "fingerprint": [crc for _, crc in kept.values()],
            },
            schema=pa.schema([(name, pa.string()) for name in ("path", "signature", "fingerprint")]),
        )
        with self.transaction():
            self.con.execute("DELETE FROM file_fingerprints")
            self.con.register("_fingerprints", rows)
            try:
                self.con.execute("INSERT INTO file_fingerprints BY NAME SELECT * FROM _fingerprints")
            finally:
                self.con.unregister("_fingerprints")

    def commit_chunk(self, chunk: Chunk, run_id: str) -> int:
        """Upsert a chunk's rows and record the stamps of the files it covers, in one transaction."""
        table = RAW_TABLES[chunk.table]
        with self.transaction():
            replaced = self._replace_changed(table.name, chunk.files)
            self._upsert(table.name, chunk.batch, table.key, table.stub)
            self.queue_detection(table.name, chunk.batch)
            self.record_read(table.name, chunk.files, chunk.batch.num_rows, chunk.quarantined, run_id)
            if chunk.batch.num_rows or replaced:
                self.mark_raw_changed()
        return chunk.batch.num_rows

    # Ledger steps of a chunk, public for rows written elsewhere (a Dask worker's partition files): each
    # runs in the caller's `transaction()`, beside the dataset's `adopt`.

    def record_read(
        self, table: str, files: list[FileStamp], rows: int, quarantined: list[Quarantined], run_id: str
    ) -> None:
        """Record that a chunk of `rows` rows of `table` was read from `files`: their stamps (the cursors of
        file collection) and the chunk's quarantined records, which replace those files' earlier ones."""
        self._record_stamps(files, table, rows, run_id)
        self._record_quarantine(quarantined, run_id, [f.path for f in files])

    def replace_file_ledger(self, paths: list[str], stamps: pa.Table, quarantine: pa.Table) -> None:
        """Replace the stamps and quarantine rows of the files `paths` with `stamps` and `quarantine`
        (rows in the tables' own columns, as another store holding those files left them)."""
        self.con.execute("DELETE FROM file_stamps WHERE list_contains(?, path)", [paths])
        self.con.execute("DELETE FROM quarantine WHERE list_contains(?, file)", [paths])
        for table, rows in (("file_stamps", stamps), ("quarantine", quarantine)):
            self.con.register("_ledger", rows)
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _ledger")
            self.con.unregister("_ledger")

    def mark_raw_changed(self) -> None:
        """Move the raw data's version on, so the stages after collect run again."""
        self._bump("raw_version")

    def forget_files(self, present: Set[str]) -> list[str]:
        """Delete the rows of stored files whose path is not in `present`; give those paths.

        The workspace is the truth for file sources. Rows are tied to their files by scope (`_file_scope`);
        the other files of a scope lose their stamps too, so the same run reads them again (a removed day
        file takes its channel's messages, and the channel's remaining day files bring theirs back).
        Evidence of deleted messages goes with them, and the raw version changes so every derived table
        and the reports are rebuilt.
        """
        stamps = self.con.execute("SELECT path, table_name FROM file_stamps").fetchall()
        gone = sorted(p for p, _ in stamps if p not in present)
        if not gone:
            return []
        with self.transaction():
            files = _files_by_scope(stamps, self._folder_channels())
            for scope, paths in files.items():
                if any(p not in present for p in paths):
                    self._drop_scope(scope, paths)
            self._drop_orphan_evidence()
            self.mark_raw_changed()
        return gone

    def _replace_changed(self, table: str, files: list[FileStamp]) -> bool:
        """Delete the rows that changed files of a chunk gave before (in the caller's transaction).

        A changed calendar, Drive, directory or Slack metadata file replaces its rows, so an event removed
        from a file (or a whole series of a fixed .ics) goes. A changed Slack day file upserts: its
        channel's other day files share its scope and are not re-read.
        """
        if table == "slack_messages" or not files:
            return False
        stamps = self.con.execute("SELECT path, table_name FROM file_stamps WHERE table_name = ?", [table])
        chunk = {f.path for f in files}
        changed = {s: p for s, p in _files_by_scope(stamps.fetchall(), {}).items() if chunk.intersection(p)}
        for scope, paths in changed.items():
            # Another file of the scope (X.json beside X.ics) loses its stamp: the next run reads it again.
            self._drop_scope(scope, [p for p in paths if p not in chunk])
        return bool(changed)

    def _drop_scope(self, scope: _Scope, paths: list[str]) -> None:
        """Delete the rows of `scope`, and the stamps and quarantine rows of `paths` (a file read again
        lists its bad records anew; a file gone leaves none behind)."""
        table, column, value = scope
        # A stamp naming no raw table (a damaged ledger) has no rows to delete.
        if table in RAW_TABLES:
            self._delete_rows(table, column, value)
        self.con.execute("DELETE FROM file_stamps WHERE list_contains(?, path)", [paths])
        self.con.execute("DELETE FROM quarantine WHERE list_contains(?, file)", [paths])

    def _folder_channels(self) -> dict[str, str]:
        """Give the channel id of each Slack export folder name (a channel's name, or its id for DMs)."""
        rows = self.con.execute("SELECT channel_id, name FROM slack_channels").fetchall()
        return {cid: cid for cid, _ in rows} | {name: cid for cid, name in rows if name}

    def _drop_orphan_evidence(self) -> None:
        if self.has_table("evidence"):
            self.con.execute(
                "DELETE FROM evidence e WHERE NOT EXISTS (SELECT 1 FROM slack_messages m "
                "WHERE m.channel_id = e.channel_id AND m.ts = e.ts)"
            )

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
                self._delete_rows(scope.table, scope.column, scope.value)
            self._upsert(table.name, chunk.batch, table.key, table.stub)
            self.queue_detection(table.name, chunk.batch)
            now = _now()
            if chunk.cursors:
                self.con.executemany(
                    "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?, ?)",
                    [(c.source, c.key, c.value, run_id, now) for c in chunk.cursors],
                )
            self._record_quarantine(chunk.quarantined, run_id, [])
            if chunk.batch.num_rows or chunk.replace_scope is not None:
                self.mark_raw_changed()
        return chunk.batch.num_rows

    def _delete_rows(self, table: str, column: str | None, value: str | None) -> None:
        """Delete the rows of raw `table` whose `column` is `value` (all of them for None), in the
        caller's transaction: in the file, or by rewriting the dataset partitions that hold them."""
        where = "" if column is None else f" WHERE {ident(column)} = ?"
        params = [] if column is None else [value]
        if self.dataset is not None and table in self.dataset.tables:
            touched = self.dataset.delete_partitions(table, column, value)
            self.dataset.rewrite(
                table, touched, lambda part: self.con.execute(f"DELETE FROM {part}{where}", params)
            )
            return
        self.con.execute(f"DELETE FROM {ident(table)}{where}", params)

    def queue_detection(self, table: str, batch: pa.Table) -> None:
        """Queue upserted messages (`batch`'s channel_id and ts) for detection (in the caller's transaction);
        rows of other tables are not queued."""
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
        if self.dataset is not None and name in self.dataset.tables:
            # The same upsert on a temp table of the partitions the batch touches, written back as files.
            touched = self.dataset.upsert_partitions(name, batch)
            self.dataset.rewrite(name, touched, lambda part: self._upsert(part, batch, key, stub))
            return
        keys = list(key)
        cols = ", ".join(f'"{c}"' for c in batch.schema.names)
        match = " AND ".join(f"t.{k} = b.{k}" for k in keys)
        numbered = "_batch"
        # A table that a bulk load began empty holds only the rows written since: when none of them shares
        # the batch's values of the key's first column (a first collect's channels and calendars arrive a
        # few per chunk), nothing can be replaced, and the DELETE's scan of the growing table is skipped
        # (1.2 of 20 CPU-s in L's first collect).
        written = self._fresh.get(name) if self._fresh is not None else None
        new_scope = False
        if written is not None:
            scope = set(batch.column(keys[0]).unique().to_pylist())
            new_scope = written.isdisjoint(scope)
            written |= scope
        # Row numbers from Arrow, not row_number() OVER (): the same on every read of the batch.
        self.con.register("_batch", batch.append_column("_i", pa.array(range(batch.num_rows), pa.int64())))
        try:
            if stub and not new_scope:
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
            if not new_scope:
                self.con.execute(f"DELETE FROM {name} t USING _batch b WHERE {match}")
            # The window that keeps the last row per key costs twice the insert; a batch without repeated
            # keys (every Slack chunk: one row per message) skips it. Counting distinct keys is cheap.
            last = f" QUALIFY _i = max(_i) OVER (PARTITION BY {', '.join(keys)})"
            if numbered == "_batch" and not self._repeats_keys(keys):
                last = ""
            self.con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {numbered}{last}")
        finally:
            self.con.unregister("_batch")
            if stub:
                self.con.execute("DROP TABLE IF EXISTS _merged")

    def _repeats_keys(self, keys: list[str]) -> bool:
        """Give whether the registered `_batch` holds a key more than once."""
        distinct = f"count(DISTINCT ({', '.join(keys)}))" if len(keys) > 1 else f"count(DISTINCT {keys[0]})"
        return bool(self._scalar(f"SELECT count(*) <> {distinct} FROM _batch"))

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

    def _record_quarantine(self, records: list[Quarantined], run_id: str, reread: list[str]) -> None:
        """Replace the quarantine rows of the files read again (`reread`) with `records` (in the caller's
        transaction): a fixed file's records leave the table, a still-broken one's are listed once.

        A live record has no file to re-read; the same record (source, file, key, rule) met again replaces
        its earlier row, so a calendar listed in full each run lists its bad event once.
        """
        if reread:
            self.con.execute("DELETE FROM quarantine WHERE list_contains(?, file)", [reread])
        if not records:
            return
        rows = pa.Table.from_pylist(
            [
                {"run_id": run_id, "source": q.source, "file": q.file, "record_key": q.record_key,
                 "rule": q.rule, "raw_value": q.raw_value}
                for q in records
            ]
        )  # fmt: skip
        self.con.register("_quarantined", rows)
        self.con.execute(
            "DELETE FROM quarantine q USING _quarantined n WHERE q.source = n.source AND q.file = n.file "
            "AND q.record_key = n.record_key AND q.rule = n.rule"
        )
        self.con.execute("INSERT INTO quarantine SELECT *, ? FROM _quarantined", [_now()])
        self.con.unregister("_quarantined")

    def quarantine_counts(self, run_id: str | None = None) -> dict[str, int]:
        """Give how many records are quarantined, by rule (those of `run_id` only, when given)."""
        rows = self.con.execute(
            "SELECT rule, count(*) FROM quarantine WHERE ? IS NULL OR run_id = ? GROUP BY rule ORDER BY rule",
            [run_id, run_id],
        ).fetchall()
        return {rule: int(n) for rule, n in rows}

    def quarantine(self, limit: int = 100) -> pa.Table:
        """Give the newest quarantined records (run, source, file, key, rule, raw value, time)."""
        return self.con.sql(
            'SELECT run_id, source, file, record_key, rule, raw_value, "at" FROM quarantine '
            f'ORDER BY "at" DESC, file, record_key LIMIT {int(limit)}'
        ).to_arrow_table()

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
        if self._scalar(sql, [table]):
            return True
        # A raw table kept in the Parquet dataset is a view of the state file.
        return self.dataset is not None and table in self.dataset.tables

    def fingerprint(self, *tables: str) -> str:
        """Give a digest of the rows of `tables` ("-" for a missing one): equal digests, equal contents.

        Row order does not count; each table's row count, xor and sum of row hashes go in (the sum keeps
        a pair of equal rows from cancelling out). About 0.06 s for the 149k calendar rows of an L org.
        """
        return "/".join(rows_hash(self.con, t) if self.has_table(t) else "-" for t in tables)

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
            self.mark_raw_changed()

    # ---- derived tables -----------------------------------------------------------------------

    def replace_tables(self, tables: Mapping[str, pa.Table], version: str) -> None:
        """Swap in a set of derived tables at once and mark them as built from raw `version`."""
        with self.transaction():
            for name, table in tables.items():
                self.con.register("_derived", table)
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _derived")
                self.con.unregister("_derived")
                if self.dataset is not None:  # a Parquet copy beside the raw tables, same commit
                    self.dataset.snapshot(name, table)
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
            "INSERT INTO runs (run_id, mode, started_at, ended_at, status, rows_read, rows_written, stages, "
            "errors, sources, resources, error_classes) "
            "VALUES (?, ?, ?, NULL, 'running', '{}', '{}', '[]', '[]', '[]', '{}', '[]')",
            [run_id, mode, _now()],
        )
        return run_id

    def finish_run(self, record: RunRecord) -> None:
        """Close a run's ledger entry with its status and figures."""
        self.con.execute(
            "UPDATE runs SET ended_at = ?, status = ?, rows_read = ?, rows_written = ?, stages = ?, "
            "errors = ?, sources = ?, resources = ?, error_classes = ? WHERE run_id = ?",
            [
                _now(),
                record.status,
                json.dumps(record.rows_read),
                json.dumps(record.rows_written),
                json.dumps([s.model_dump() for s in record.stages]),
                json.dumps(record.errors),
                json.dumps([src.model_dump() for src in record.sources]),
                json.dumps({stage: r.model_dump() for stage, r in record.resources.items()}),
                json.dumps(record.error_classes),
                record.run_id,
            ],
        )

    def runs(self, limit: int = 10) -> list[RunRecord]:
        """Give the latest runs, newest first."""
        return run_records(self.con, limit)


def writer_lock_path(state: Path) -> Path:
    """Give the lock file beside `state` that the run writing it holds (`hold_state`)."""
    return state.with_name(state.name + ".lock")


@contextlib.contextmanager
def hold_state(state: Path, owner: str) -> Iterator[None]:
    """Hold the state file for one writer (a run) until the block ends; refuse a second writer.

    Runs on one state queue on Prefect's concurrency limit; this lock is the last line of defence (two
    `meetintel run` commands, or a run outside Prefect). The OS releases it when the holder dies, so a
    killed run never leaves the state locked. The refusal is retriable: the other run will finish.
    """
    path = writer_lock_path(Path(state))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RetriableError(
                f"the state file {state} is being written by {holder}; a second run may not write it at "
                "the same time",
                "wait for that run to finish (`meetintel status` lists it) and run again; deployments on "
                "one state queue on the Prefect concurrency limit named after the state",
            ) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{owner} (pid {os.getpid()}, since {_now():%Y-%m-%d %H:%M:%S} UTC)")
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


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
            fresh.con.execute("INSERT INTO runs BY NAME SELECT * FROM old.runs")
            fresh.con.execute(
                "INSERT OR REPLACE INTO state_meta SELECT * FROM old.state_meta "
                "WHERE key IN ('breakers', 'raw_storage')"
            )
            fresh.con.execute("DETACH old")
    return work


def swap_in(work: Path, state: Path) -> None:
    """Atomically make the refreshed state file the state (all connections to both must be closed).

    Ledger rows written to `state` while the refresh ran (other runs, or the refresh's own entry) are
    carried over first, so swapping the file in loses none of them.
    """
    if state.exists():
        with StateStore(work) as fresh:
            fresh.con.execute(f"ATTACH {lit(state.as_posix())} AS old (READ_ONLY)")
            with fresh.transaction():
                fresh.con.execute("DELETE FROM runs WHERE run_id IN (SELECT run_id FROM old.runs)")
                fresh.con.execute("INSERT INTO runs BY NAME SELECT * FROM old.runs")
            fresh.con.execute("DETACH old")
    os.replace(work, state)
    Path(f"{state}.wal").unlink(missing_ok=True)


def discard(work: Path) -> None:
    """Remove a refresh state file and its write-ahead log."""
    work.unlink(missing_ok=True)
    Path(f"{work}.wal").unlink(missing_ok=True)


# Rows tied to a set of source files: (raw table, column, value), or (raw table, None, None) for all of it.
_Scope = tuple[str, str | None, str | None]


def _file_scope(path: str, table: str, channels: Mapping[str, str]) -> _Scope:
    """Give the rows a source file's stamp stands for.

    A calendar file gives its calendar's events (`<calendarId>.json|.ics`); a Slack day file its
    channel's messages (the folder names the channel, `channels` maps it to an id); every other file
    (users, conversation lists, Drive files, the directory) its whole table.
    """
    if table == "calendar_events":
        return (table, "calendar_id", PurePosixPath(path).stem)
    if table == "slack_messages":
        folder = PurePosixPath(path.rsplit("!", 1)[-1]).parent.name
        return (table, "channel_id", channels.get(folder, folder))
    return (table, None, None)


def _files_by_scope(
    stamps: Iterable[tuple[str, str]], channels: Mapping[str, str]
) -> dict[_Scope, list[str]]:
    """Give the stamped paths of each scope, from (path, table) rows of `file_stamps`."""
    files: dict[_Scope, list[str]] = {}
    for path, table in stamps:
        files.setdefault(_file_scope(path, table, channels), []).append(path)
    return files


class _Transaction:
    """BEGIN … COMMIT on the state file; with a dataset, its manifest is written just before the COMMIT
    (the commit point: a kill after it re-reads the chunk, whose upsert by key changes nothing)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, dataset: RawDataset | None = None) -> None:
        self.con = con
        self.dataset = dataset

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")
        if self.dataset is not None:
            self.dataset.begin()

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type:
            # ROLLBACK first: after a failed statement DuckDB refuses everything else in the transaction,
            # the dataset's own rollback (re-registering its views) included.
            self.con.execute("ROLLBACK")
            if self.dataset is not None:
                self.dataset.rollback()
            return
        if self.dataset is not None:
            try:
                self.dataset.commit()
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
        self.con.execute("COMMIT")


def _megabytes(limit: str) -> float:
    """Give a DuckDB memory size such as '200MB', '1.5GB' or '512MiB' in MB (infinite when not one)."""
    found = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i?B)\s*", limit, re.IGNORECASE)
    if not found:
        return math.inf
    scale = {"K": 2**-10, "M": 1, "G": 2**10, "T": 2**20}[found[2][0].upper()]
    return float(found[1]) * scale


def _stub_column(f: pa.Field, keys: list[str]) -> str:
    """Give the SELECT item of column `f` for a stub row `b` replacing the stored row `t`: the stub's value
    where it has one, else the stored one."""
    c = f'"{f.name}"'
    if f.name in keys:
        return f"b.{c}"
    missing = f"b.{c} IS NULL" + (f" OR len(b.{c}) = 0" if pa.types.is_list(f.type) else "")
    return f"CASE WHEN {missing} THEN t.{c} ELSE b.{c} END AS {c}"
