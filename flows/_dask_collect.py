"""Collection fanned out on Dask: a Slack export's day files read in batches of channel folders.

With `--executor dask` and a Parquet `--storage`, the coordinator commits the small files itself (users,
conversation lists, calendars, Drive, the directory), then cuts the conversation folders with new day files
into a few batches of about equal bytes (`collect_batches()`, never one task per channel). Each batch runs
as one Prefect task on a Dask worker: it reads its folders (`collectors.files.collect_day_folders`, the same
chunks the local reader yields), merges them into the stored partitions of its channels and writes new
partition files into the dataset. It never writes a manifest: it hands back the files, the file stamps and
row counts of its chunks, its quarantined records and the keys of the messages read. The coordinator, which
holds the state file, commits each batch in one transaction: the batch's files take the place of the
partitions they rewrote in a new manifest generation (the commit point), and the stamps (the cursors of file
collection), the quarantine and the detection queue commit with it in the state. A kill before a manifest
swap leaves the previous generation valid; the batch's files are orphans, removed when the dataset is next
opened for writing.

Batches never share a partition: a channel's folders (its name, or its id) go to one batch, and messages
are partitioned by channel. Live collection stays on the coordinator: Slack's rate limits are per
workspace, so workers would only share one budget (docs/scale-out.md).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from checkpoints import StageStat, StateStore
from checkpoints.dataset import DataFile, open_storage, partition_labels, partition_of, write_partitions
from collectors import CHUNK_FILES, FileStamp, InputBounds, collect_workspace, workspace_paths
from collectors.files import (
    calendar_file_sizes,
    collect_calendar_files,
    collect_day_folders,
    day_folder_of,
    day_folder_sizes,
)
from core.chunks import Quarantined
from core.errors import ConfigurationError, DataError
from core.sql import ident
from core.tables import RAW_TABLES
from flows._dask import on_dask, worker_threads
from flows._progress import StageProgress, current
from flows.settings import Settings
from flows.stages import quarantine_note

TABLE = "slack_messages"
CALENDAR = "calendar_events"
BATCHES_ENV = "MEETINTEL_COLLECT_BATCHES"  # at most this many batches per run (default: 2 per worker)
BATCHES_PER_WORKER = 2
MAX_BATCHES = 32


def fans_out_collection(state: str) -> bool:
    """Give whether file collection of `state` runs in batches: on Dask, with its raw tables in a dataset
    (the workers write partition files there; a single-file state has nowhere for them to go)."""
    if not on_dask():
        return False
    with StateStore(Path(state)) as store:
        return store.dataset is not None


def collect_batches() -> int:
    """Give the most batches one run cuts its day files into: MEETINTEL_COLLECT_BATCHES, else two per
    worker thread of the cluster (at most 32)."""
    given = os.environ.get(BATCHES_ENV)
    if given is None:
        return min(MAX_BATCHES, worker_threads() * BATCHES_PER_WORKER)
    if not given.isdigit() or int(given) < 1:
        raise ConfigurationError(
            f"{BATCHES_ENV}={given!r} is not a positive whole number", f"set {BATCHES_ENV} to 1 or more"
        )
    return int(given)


@dataclass(frozen=True)
class CollectBatch:
    """What one worker needs to collect a batch of conversation folders into the dataset."""

    workspace: str
    folders: frozenset[str]
    seen: dict[str, FileStamp]  # the stored stamps of the batch's folders' day files
    bounds: InputBounds
    storage: str  # the dataset's URI,
    root: str  # its root for this state,
    stored: dict[str, str]  # and the batch's channels' stored partitions: partition -> file (relative)
    run_id: str = ""
    calendars: CalendarPart | None = None


@dataclass(frozen=True)
class CalendarPart:
    """The calendar files of a batch: whole 64-way buckets of calendars, so no other batch shares their
    partitions. A calendar's events are replaced when its file changed and cancelled stubs keep stored
    fields, so the worker applies each chunk with the store's own code to a scratch state seeded with the
    buckets' stored events and the calendars' stored stamps and quarantine rows."""

    names: frozenset[str]  # files of google/calendar/
    seen: dict[str, FileStamp]
    stamps: pa.Table  # stored file_stamps rows of the batch's calendars
    quarantine: pa.Table  # stored quarantine rows of those files
    stored: dict[str, str]  # the buckets' stored partitions: partition -> file (relative)
    as_of: datetime


@dataclass(frozen=True)
class ReadChunk:
    """What the coordinator records of one chunk a worker read: its files' stamps, rows and bad records."""

    files: list[FileStamp]
    rows: int
    quarantined: list[Quarantined]


@dataclass(frozen=True)
class BatchResult:
    """A batch as written by its worker, for the coordinator to commit."""

    replaced: frozenset[str]  # stored partitions the batch rewrote
    files: dict[str, DataFile]  # their new files (and those of new partitions), by partition
    chunks: list[ReadChunk]
    keys: pa.Table  # (channel_id, ts) of every message read: the detection queue
    worker: str  # the Dask worker's address ("coordinator" outside a worker)
    calendar: CalendarWritten | None = None

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.chunks) + (self.calendar.rows if self.calendar else 0)

    @property
    def files_read(self) -> int:
        return sum(len(c.files) for c in self.chunks) + (self.calendar.files_read if self.calendar else 0)

    @property
    def by_table(self) -> dict[str, int]:
        counts = {TABLE: sum(c.rows for c in self.chunks)} if self.chunks else {}
        return counts | ({CALENDAR: self.calendar.rows} if self.calendar else {})


@dataclass(frozen=True)
class CalendarWritten:
    """A batch's calendar buckets as written by its worker: the new files, and the ledger rows of its
    calendars' files (stamps, quarantine) that replace the stored ones of `paths`."""

    replaced: frozenset[str]
    files: dict[str, DataFile]
    stamps: pa.Table
    quarantine: pa.Table
    paths: list[str]  # stamp paths seeded or read: their ledger rows are the worker's now
    rows: int
    files_read: int
    changed: bool  # rows read or replaced: the raw version moves


def collect_batch(batch: CollectBatch) -> BatchResult:
    """Read a batch's day files and write its channels' partitions as new files (on a worker)."""
    where, folders = Path(batch.workspace), set(batch.folders)
    reader = collect_day_folders(where, batch.seen, folders, chunk_files=CHUNK_FILES, bounds=batch.bounds)
    chunks = list(reader)
    schema = RAW_TABLES[TABLE].schema
    read = pa.concat_tables([schema.empty_table(), *(c.batch.cast(schema) for c in chunks)])
    touched = partition_labels(TABLE, read)[1] if read.num_rows else set()
    replaced = frozenset(p for p in touched if p in batch.stored)
    fs, _ = open_storage(batch.storage)
    merged = _merge(fs, batch.root, [batch.stored[p] for p in sorted(replaced)], read)
    return BatchResult(
        replaced=replaced,
        files=write_partitions(fs, batch.root, TABLE, merged),
        chunks=[ReadChunk(c.files, c.batch.num_rows, c.quarantined) for c in chunks],
        keys=read.select(["channel_id", "ts"]),
        worker=_worker(),
        calendar=_collect_calendars(batch, batch.calendars, fs) if batch.calendars else None,
    )


def _collect_calendars(batch: CollectBatch, part: CalendarPart, fs: Any) -> CalendarWritten:
    """Apply a batch's calendar chunks with `StateStore.commit_chunk` to a scratch state holding the
    buckets' stored events and the calendars' ledger rows; write the buckets' events as new files."""
    import pyarrow.dataset as pads

    schema = RAW_TABLES[CALENDAR].schema
    paths = [f"{batch.root}/{part.stored[p]}" for p in sorted(part.stored)]
    stored = pads.dataset(paths, schema=schema, format="parquet", filesystem=fs).to_table()
    scratch = StateStore(Path(":memory:"))
    try:
        for table, rows in (
            (CALENDAR, stored),
            ("file_stamps", part.stamps),
            ("quarantine", part.quarantine),
        ):
            scratch.con.register("_seed", rows)
            scratch.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _seed")
            scratch.con.unregister("_seed")
        read, files_read, stamped = 0, 0, set(part.stamps.column("path").to_pylist())
        for chunk in collect_calendar_files(
            Path(batch.workspace), part.seen, set(part.names), chunk_files=CHUNK_FILES, bounds=batch.bounds,
            as_of=part.as_of,
        ):  # fmt: skip
            read += scratch.commit_chunk(chunk, batch.run_id)
            files_read += len(chunk.files)
            stamped |= {f.path for f in chunk.files}
        keys = ", ".join(ident(k) for k in RAW_TABLES[CALENDAR].key)
        events = scratch.con.sql(f"SELECT * FROM {CALENDAR} ORDER BY {keys}").to_arrow_table()
        return CalendarWritten(
            replaced=frozenset(part.stored),
            files=write_partitions(fs, batch.root, CALENDAR, events.select(schema.names).cast(schema)),
            stamps=scratch.con.sql("SELECT * FROM file_stamps").to_arrow_table(),
            quarantine=scratch.con.sql("SELECT * FROM quarantine").to_arrow_table(),
            paths=sorted(stamped),
            rows=read,
            files_read=files_read,
            changed=scratch.get_meta("raw_version", "0") != "0",
        )
    finally:
        scratch.close()


def _merge(fs: Any, root: str, paths: list[str], read: pa.Table) -> pa.Table:
    """Give the stored rows of `paths` upserted with `read` by key, the last row read per key winning (what
    the store's upsert of each chunk in turn gives), in key order."""
    import pyarrow.dataset as pads

    schema = RAW_TABLES[TABLE].schema
    files = [f"{root}/{p}" for p in paths]
    stored = (
        pads.dataset(files, schema=schema, format="parquet", filesystem=fs).to_table()
        if files
        else schema.empty_table()
    )
    keys = ", ".join(ident(k) for k in RAW_TABLES[TABLE].key)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.register("_stored", stored)
        con.register("_read", read.append_column("_i", pa.array(range(read.num_rows), pa.int64())))
        merged = con.sql(
            "SELECT * EXCLUDE (_i) FROM (SELECT *, -1::BIGINT AS _i FROM _stored "
            "UNION ALL BY NAME SELECT * FROM _read) "
            f"QUALIFY _i = max(_i) OVER (PARTITION BY {keys}) ORDER BY {keys}"
        ).to_arrow_table()
    finally:
        con.close()
    return merged.select(schema.names).cast(schema)


def _worker() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "coordinator"


def _worth_retrying(_task: object, _run: object, state: State) -> bool:
    """Retry a batch for infrastructure faults only; a data or configuration error is final."""
    try:
        state.result(raise_on_failure=True)
    except (DataError, ConfigurationError):
        return False
    except Exception:  # noqa: BLE001 - a lost connection, a full disk: worth another attempt
        return True
    return False


@task(
    name="collect-batch",
    task_run_name="collect {org}: {label}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_condition_fn=_worth_retrying,
)
def collect_batch_task(batch: CollectBatch, label: str, org: str = "default") -> BatchResult:
    """Collect one batch of conversation folders into the dataset (runs on a Dask worker)."""
    return collect_batch(batch)


def plan_collection(
    store: StateStore,
    workspace: Path,
    seen: dict[str, FileStamp],
    limit: int,
    bounds: InputBounds,
    run_id: str = "",
    as_of: datetime | None = None,
) -> list[CollectBatch]:
    """Cut the new day files and calendar files into at most `limit` batches of about equal bytes
    (largest first onto the lightest batch). A channel's folders stay together, as do the calendars of one
    bucket, so no two batches write the same partition."""
    assert store.dataset is not None
    sizes = day_folder_sizes(workspace, seen)
    rows = store.con.execute("SELECT channel_id, name FROM slack_channels").fetchall()
    channel_of = {cid: cid for cid, _ in rows} | {name: cid for cid, name in rows if name}
    members: dict[tuple[str, str], list[str]] = {}  # (kind, channel or bucket) -> folders or file names
    for folder in sorted(sizes):
        members.setdefault(("slack", channel_of.get(folder, folder)), []).append(folder)
    calendars = calendar_file_sizes(workspace, seen)
    for name in sorted(calendars):
        members.setdefault(("calendar", _bucket(Path(name).stem)), []).append(name)
    sizes |= calendars
    weight = {item: sum(sizes[m] for m in names) for item, names in members.items()}
    groups: list[list[tuple[str, str]]] = [[] for _ in range(max(1, min(limit, len(members))))]
    loads = [0] * len(groups)
    for item in sorted(members, key=lambda i: (-weight[i], i)):
        lightest = loads.index(min(loads))
        groups[lightest].append(item)
        loads[lightest] += weight[item]
    when = as_of or datetime.now(UTC)
    return [_batch(store, workspace, seen, bounds, g, members, run_id, when) for g in groups if g]


def _bucket(calendar_id: str) -> str:
    """Give the partition folder prefix of a calendar's bucket (every month of it)."""
    return partition_of(CALENDAR, calendar_id, "").rsplit("month=", 1)[0]


def _batch(
    store: StateStore,
    workspace: Path,
    seen: dict[str, FileStamp],
    bounds: InputBounds,
    group: list[tuple[str, str]],
    members: dict[tuple[str, str], list[str]],
    run_id: str,
    as_of: datetime,
) -> CollectBatch:
    assert store.dataset is not None
    channels = [key for kind, key in group if kind == "slack"]
    folders = frozenset(f for c in channels for f in members[("slack", c)])
    parts = store.dataset.current.tables.get(TABLE, {})
    stored = {p: parts[p].path for p in store.dataset.scope_partitions(TABLE, set[str | None](channels))}
    names = frozenset(n for kind, key in group if kind == "calendar" for n in members[(kind, key)])
    return CollectBatch(
        workspace=str(workspace),
        folders=folders,
        seen={p: s for p, s in seen.items() if "/" in p and day_folder_of(p) in folders},
        bounds=bounds,
        storage=store.dataset.uri,
        root=store.dataset.root,
        stored=stored,
        run_id=run_id,
        calendars=_calendar_part(store, seen, names, as_of) if names else None,
    )


def _calendar_part(
    store: StateStore, seen: dict[str, FileStamp], names: frozenset[str], as_of: datetime
) -> CalendarPart:
    """Give a batch's calendar files with what the worker seeds its scratch state with."""
    assert store.dataset is not None
    ids = {Path(n).stem for n in names}
    stamps = store.con.sql("SELECT * FROM file_stamps WHERE table_name = 'calendar_events'").to_arrow_table()
    mine = pa.array([PurePosixPath(p).stem in ids for p in stamps.column("path").to_pylist()], pa.bool_())
    stamps = stamps.filter(mine)
    quarantine = store.con.sql(
        "SELECT * FROM quarantine WHERE list_contains(?, file)", params=[stamps.column("path").to_pylist()]
    ).to_arrow_table()
    parts = store.dataset.current.tables.get(CALENDAR, {})
    in_buckets = store.dataset.scope_partitions(CALENDAR, set[str | None](ids))
    return CalendarPart(
        names=names,
        seen={p: s for p, s in seen.items() if PurePosixPath(p).name in names and "calendar" in p},
        stamps=stamps,
        quarantine=quarantine,
        stored={p: parts[p].path for p in in_buckets},
        as_of=as_of,
    )


def commit_batch(store: StateStore, result: BatchResult, run_id: str) -> None:
    """Commit a worker's batch: its files replace the partitions it rewrote in a new manifest, and its
    stamps, quarantined records and detection queue go into the state, all in one transaction."""
    assert store.dataset is not None
    with store.transaction():
        store.dataset.adopt(TABLE, result.replaced, result.files)
        # The ledger steps `StateStore.commit_chunk` takes per chunk (the worker did the upsert).
        for chunk in result.chunks:
            store.record_read(TABLE, chunk.files, chunk.rows, chunk.quarantined, run_id)
        store.queue_detection(TABLE, result.keys)
        calendar = result.calendar
        if calendar is not None:
            store.dataset.adopt(CALENDAR, calendar.replaced, calendar.files)
            # The calendars' ledger rows as the worker's scratch state left them.
            store.replace_file_ledger(calendar.paths, calendar.stamps, calendar.quarantine)
        if sum(c.rows for c in result.chunks) or (calendar is not None and calendar.changed):
            store.mark_raw_changed()


@dataclass
class _Tally:
    """What a fanned-out collect read: rows by table, files, and the workers its batches ran on."""

    read: dict[str, int] = field(default_factory=dict)
    files: int = 0
    workers: set[str] = field(default_factory=set)

    def add(self, table: str, rows: int, progress: StageProgress) -> None:
        self.read[table] = self.read.get(table, 0) + rows
        progress(table, rows)


def collect_fanned(state: str, workspace: str, run_id: str, org: str = "default") -> StageStat:
    """Collect a workspace with its day and calendar files read in batches on the flow's Dask workers;
    give the stage's figures. The state stays open throughout: opening it for writing would remove the
    files the workers are writing as orphans."""
    root = Path(workspace)
    if not root.exists():
        raise ConfigurationError(
            f"workspace {root} does not exist",
            "pass --workspace pointing at a folder with slack/ and google/ (see README)",
        )
    started = time.perf_counter()
    bounds = Settings.from_cli().input_bounds()  # MEETINTEL_* bounds, read at the edge
    progress = current().progress("collect")
    tally = _Tally()
    with StateStore(Path(state)) as store:
        present = workspace_paths(root)
        removed = store.forget_files(present)
        seen = store.file_stamps()
        progress.total(len(present) if not seen else None, "files")
        # Each batch commits with its stamps; the state file is checkpointed once, at the end.
        with store.bulk_load():
            as_of = datetime.now(UTC)
            for chunk in collect_workspace(
                root,
                seen,
                chunk_files=CHUNK_FILES,
                bounds=bounds,
                as_of=as_of,
                day_folders=set(),
                calendar_files=set(),
            ):  # the small files, here; the day and calendar files in batches below
                tally.add(chunk.table, store.commit_chunk(chunk, run_id), progress)
                tally.files += len(chunk.files)
                progress.advance(len(chunk.files))
            plan = plan_collection(store, root, seen, collect_batches(), bounds, run_id, as_of)
            _run_batches(store, plan, run_id, org, progress, tally)
        note = f"{tally.files} files changed" + (f", {len(removed)} removed" if removed else "")
        if plan:
            where = f"on {len(tally.workers)} Dask workers" if tally.workers else "in threads"
            note += f"; {len(plan)} batches {where}"
        note += quarantine_note(store.quarantine_counts(run_id))
    rows = sum(tally.read.values())
    return StageStat(
        stage="collect",
        seconds=time.perf_counter() - started,
        rows_in=rows,
        rows_out=rows,
        note=note,
        by_table=tally.read,
    )


def _run_batches(
    store: StateStore, plan: list[CollectBatch], run_id: str, org: str, progress: StageProgress, tally: _Tally
) -> None:
    """Run the batches as tasks on the flow's task runner and commit each, in order, as it is done."""
    labels = [f"batch {i + 1}/{len(plan)} ({_contents(b)})" for i, b in enumerate(plan)]
    futures = collect_batch_task.map(plan, labels, org) if plan else []
    try:
        for future in futures:
            result = future.result()
            commit_batch(store, result, run_id)
            if result.worker != "coordinator":
                tally.workers.add(result.worker)
            for table, rows in result.by_table.items():
                tally.add(table, rows, progress)
            tally.files += result.files_read
            progress.advance(result.files_read)
    finally:
        for future in futures:
            future.wait()  # no batch still writes when the state closes (its files are orphans then)


def _contents(batch: CollectBatch) -> str:
    """Give what a batch holds in a few words, for its task run's name."""
    counts = {"folder": len(batch.folders), "calendar": len(batch.calendars.names) if batch.calendars else 0}
    return ", ".join(f"{n} {what}{'s' if n > 1 else ''}" for what, n in counts.items() if n)


__all__ = [
    "BatchResult",
    "CollectBatch",
    "collect_batch",
    "collect_batches",
    "collect_fanned",
    "commit_batch",
    "fans_out_collection",
    "plan_collection",
]
