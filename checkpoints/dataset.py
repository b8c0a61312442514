"""Raw tables as a partitioned Parquet dataset with a manifest, on a local folder or S3-compatible storage.

Layout under `<uri>/<state id>/` (each state file owns one dataset, so a full refresh builds a new one
beside the old and the swap of the state file switches both):

```
source=slack/table=slack_messages/channel_id=C01/month=2026-09/part-<uuid>.parquet
source=calendar/table=calendar_events/calendar_id_bucket=017/month=2026-09/part-<uuid>.parquet
_manifests/000000000007.json      the committed file list: one file per partition, rows, bytes, sha256
```

A write rewrites only the partitions it touches (copy on write) into new files, then writes manifest
generation N+1 as a new object: that write is the commit point. Until then readers and a restarted run see
generation N, whose files are never touched, so a SIGKILL at any instant leaves a valid dataset; files no
manifest names are removed the next time the dataset is opened. The state's DuckDB transaction (cursors,
file stamps, the queue of messages to detect) commits right after the manifest; a kill between the two
leaves the rows written and the cursor not yet moved, so the next run reads that chunk again and its
upsert by natural key changes nothing.

DuckDB reads the dataset through Arrow (its httpfs extension is not needed): each raw table is a
`pyarrow.dataset` over the manifest's files, registered on the connection as `_ds_<table>`, and the state
file holds a view `<table>` over it, so every query of the pipeline reads the dataset lazily.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

from checkpoints.ledger import STORAGE_META
from core.errors import ConfigurationError, DataError, RetriableError
from core.sql import ident, lit
from core.tables import RAW_TABLES

FORMAT = 1
MANIFESTS = "_manifests"
KEEP_MANIFESTS = 3  # older generations are removed once a newer one is committed
_MANIFEST_NAME = re.compile(r"^(\d{12})\.json$")
NO_MONTH = "none"  # the month partition of rows without a time (a cancelled stub without a start)
# Derived tables kept beside the raw ones as whole-table snapshots (for other tools and for audits): the
# meetings with their links and people, and the records meetings.json and people.json are written from.
SNAPSHOTS = frozenset(
    {
        "people",
        "identity_links",
        "meetings",
        "meeting_participants",
        "meeting_evidence",
        "meeting_documents",
        "meeting_records",
        "people_records",
    }
)
DERIVED = "derived"  # manifest key prefix and folder of the snapshots


@dataclass(frozen=True)
class Partitioning:
    """How a raw table is split: by a scope column (channel, calendar) and the month of a time column.

    `month_in_key`: the month follows from the natural key (a Slack ts fixes `posted_at`), so an upsert
    touches only the months of its rows; otherwise (an event can move to another month) it rewrites every
    month of the scopes it touches. `buckets`: scopes share a partition by a hash of their value (a
    calendar holds a few dozen events a month: one file each would make scans open thousands of files).
    """

    source: str
    scope: str
    time: str
    month_in_key: bool
    buckets: int | None = None


PARTITIONED: dict[str, Partitioning] = {
    "slack_messages": Partitioning("slack", "channel_id", "posted_at", month_in_key=True),
    "calendar_events": Partitioning("calendar", "calendar_id", "start", month_in_key=False, buckets=64),
}


@dataclass(frozen=True)
class DataFile:
    """One Parquet file of the dataset, as the manifest lists it."""

    path: str  # relative to the dataset root
    rows: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    """A committed generation: per table, per partition (its relative folder), the one file holding it."""

    generation: int = 0
    tables: dict[str, dict[str, DataFile]] = field(default_factory=dict)

    def files(self, table: str) -> list[DataFile]:
        return [self.tables.get(table, {})[p] for p in sorted(self.tables.get(table, {}))]

    def to_json(self) -> str:
        tables = {
            t: {p: f.__dict__ for p, f in sorted(parts.items())} for t, parts in sorted(self.tables.items())
        }
        return json.dumps(
            {"format": FORMAT, "generation": self.generation, "written_at": datetime.now(UTC).isoformat(),
             "tables": tables},
            indent=1,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        try:
            data = json.loads(text)
            tables = {t: {p: DataFile(**f) for p, f in parts.items()} for t, parts in data["tables"].items()}
            return cls(generation=int(data["generation"]), tables=tables)
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"the dataset manifest {where} is damaged ({exc})",
                "move it aside: the previous generation becomes current again",
            ) from exc


def open_storage(uri: str) -> tuple[pafs.FileSystem, str]:
    """Give the filesystem and root path of a storage URI: a local folder, `file://…` or `s3://bucket/prefix`.

    S3-compatible stores take pyarrow's query options, e.g.
    `s3://meetintel/org-a?endpoint_override=minio.local:9000&scheme=http&region=us-east-1`; credentials
    come from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment, never from the URI.
    """
    import pyarrow.fs as pafs

    if "://" not in uri:
        local = pafs.LocalFileSystem()
        root = pafs.LocalFileSystem().normalize_path(str(_absolute(uri)))
        return local, root
    try:
        fs, root = pafs.FileSystem.from_uri(uri)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConfigurationError(
            f"the storage URI {_shown(uri)} cannot be used: {exc}",
            "give a folder, file:///path or s3://bucket/prefix (MEETINTEL_STORAGE or --storage)",
        ) from exc
    return fs, root.rstrip("/")


def storage_uri(storage: str | None, s3_endpoint: str | None = None) -> str | None:
    """Give the storage URI with an S3-compatible endpoint (`host:port` or `http(s)://host:port`) added as
    pyarrow's `endpoint_override` and `scheme` options; a URI that names its endpoint already is kept."""
    if not storage or not s3_endpoint or not storage.startswith("s3://") or "endpoint_override=" in storage:
        return storage
    scheme, _, host = s3_endpoint.rpartition("://")
    options = f"endpoint_override={quote(host.rstrip('/'), safe=':')}"
    if scheme:
        options += f"&scheme={quote(scheme, safe='')}"
    return storage + ("&" if "?" in storage else "?") + options


def _absolute(path: str) -> str:
    from pathlib import Path

    return str(Path(path).expanduser().resolve())


def _shown(uri: str) -> str:
    """Give the URI without its query (which may name an endpoint's access details)."""
    return uri.split("?", 1)[0]


def partition_of(table: str, scope: str | None, month: str) -> str:
    """Give the relative folder of one partition (hive style; the scope value percent-encoded, or its
    bucket: CRC-32 of the value modulo the table's bucket count)."""
    part = PARTITIONED[table]
    value = scope if scope is not None else "__null__"
    if part.buckets:
        bucket = zlib.crc32(value.encode("utf-8")) % part.buckets
        return f"source={part.source}/table={table}/{part.scope}_bucket={bucket:03d}/month={month}"
    return f"source={part.source}/table={table}/{part.scope}={quote(value, safe='')}/month={month}"


def partition_labels(table: str, rows: pa.Table) -> tuple[pa.Array, set[str]]:
    """Give each row's partition (see `partition_of`) and the set of them, in bulk: the folder is built once
    per distinct (scope, month) pair and mapped to the rows by Arrow, never row by row in Python. The month
    is `YYYY-MM` of the UTC time column, or `none`."""
    import pyarrow.compute as pc

    part = PARTITIONED[table]
    naive = pc.cast(rows.column(part.time), pa.timestamp("us"))  # the same instants, read as UTC wall time
    month = pc.fill_null(pc.strftime(naive, format="%Y-%m"), NO_MONTH)
    scope = pc.cast(rows.column(part.scope), pa.string())
    # A row's pair as one text: a NUL byte cannot occur in a scope id, and a null scope stays apart.
    key = pc.binary_join_element_wise(pc.fill_null(scope, "\x00null"), month, "\x00")
    pairs = pa.table({"s": scope, "m": month, "k": key}).group_by(["k", "s", "m"]).aggregate([])
    folders = [
        partition_of(table, sc, mo)
        for sc, mo in zip(pairs.column("s").to_pylist(), pairs.column("m").to_pylist(), strict=True)
    ]
    labels = pc.take(pa.array(folders, pa.string()), pc.index_in(key, value_set=pairs.column("k")))
    return labels, set(folders)


class RawDataset:
    """The Parquet dataset of one state's partitioned raw tables, read and written on a DuckDB connection.

    Writes happen inside `begin()` … `commit()` / `rollback()`: each rewrites partitions into new files and
    re-registers the table so the rest of the transaction reads its own writes; `commit()` writes the new
    manifest.
    """

    tables = frozenset(PARTITIONED)

    def __init__(
        self, con: duckdb.DuckDBPyConnection, uri: str, state_id: str, *, read_only: bool = False
    ) -> None:
        """Open the dataset of state `state_id` under `uri` and register its tables on `con`; a writer
        (not `read_only`) also creates the root and removes files no manifest names."""
        self.con = con
        self.uri = uri
        self.fs, base = open_storage(uri)
        self.root = f"{base}/{state_id}"
        if not read_only:
            self._ensure_root()
        self.committed = self._load_manifest()
        self._staged: Manifest | None = None
        self._written: list[str] = []
        if not read_only:
            self.remove_orphans()
        self.register()

    # ---- reading -------------------------------------------------------------------------------

    def arrow(self, table: str, manifest: Manifest | None = None) -> pads.Dataset:
        """Give a lazy Arrow dataset over the files of `table` in `manifest` (by default the current one)."""
        files = (manifest or self.current).files(table)
        return self._over([f.path for f in files], table)

    def _over(self, paths: Iterable[str], table: str) -> pads.Dataset:
        import pyarrow.dataset as pads

        return pads.dataset(
            [f"{self.root}/{p}" for p in paths],
            schema=RAW_TABLES[table].schema,
            format="parquet",
            filesystem=self.fs,
        )

    @property
    def current(self) -> Manifest:
        """Give the manifest the connection reads: the staged one inside a transaction."""
        return self._staged or self.committed

    def register(self, table: str | None = None) -> None:
        """(Re-)define `_ds_<table>` on the connection over the current file list.

        Files on a local disk are read by DuckDB's own Parquet reader (a temp view over the file list: it
        spills and runs in parallel, 3x faster than an Arrow scan at L); remote ones through a
        `pyarrow.dataset` registered as a replacement scan (DuckDB's httpfs is not available offline).
        """
        for name in [table] if table else sorted(self.tables):
            files = [f"{self.root}/{f.path}" for f in self.current.files(name)]
            view = ident(f"_ds_{name}")
            if self.fs.type_name != "local":
                self.con.register(f"_ds_{name}", self.arrow(name))
            elif files:
                listed = ", ".join(lit(f) for f in files)
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {view} AS "  # folder names are not columns: no hive
                    f"SELECT * FROM read_parquet([{listed}], hive_partitioning = false)"
                )
            else:
                self.con.register(f"_ds_empty_{name}", RAW_TABLES[name].schema.empty_table())
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {ident('_ds_empty_' + name)}"
                )

    def create_views(self) -> None:
        """Create the state file's views `<table>` over the registered datasets (dropping empty tables of
        the same name that a plain state made); refuse a state whose raw tables hold rows in the file."""
        for name in sorted(self.tables):
            kind = self.con.execute(
                "SELECT 'table' FROM duckdb_tables() WHERE table_name = ? "
                "AND database_name = current_database() UNION ALL SELECT 'view' FROM duckdb_views() "
                "WHERE view_name = ? AND NOT temporary AND database_name = current_database()",
                [name, name],
            ).fetchall()
            if kind and kind[0][0] == "table":
                rows = self.con.execute(f"SELECT count(*) FROM {ident(name)}").fetchall()[0][0]
                if rows:
                    raise ConfigurationError(
                        f"the state keeps {rows} rows of {name} in its DuckDB file, so its raw tables cannot "
                        f"move to {_shown(self.uri)}",
                        "use a new --state for Parquet storage, or run without --storage",
                    )
                self.con.execute(f"DROP TABLE {ident(name)}")
            if not kind or kind[0][0] == "table":
                self.con.execute(f"CREATE VIEW {ident(name)} AS SELECT * FROM {ident('_ds_' + name)}")

    # ---- writing -------------------------------------------------------------------------------

    def begin(self) -> None:
        """Start a transaction: later writes go to a staged copy of the manifest."""
        self._staged = Manifest(
            self.committed.generation, {t: dict(p) for t, p in self.committed.tables.items()}
        )
        self._written = []

    def rewrite(self, table: str, touched: set[str], change: Callable[[str], object]) -> None:
        """Load the partitions `touched` of `table` into a temp table, let `change(temp name)` edit it with
        SQL, and stage the result as new files (a partition left empty is dropped)."""
        staged = self._require_staged(table)
        parts = staged.tables.setdefault(table, {})
        before = [parts[p].path for p in sorted(touched) if p in parts]
        self.con.register("_ds_touched", self._over(before, table))
        try:
            self.con.execute("CREATE OR REPLACE TEMP TABLE _ds_part AS SELECT * FROM _ds_touched")
        finally:
            self.con.unregister("_ds_touched")
        try:
            change("_ds_part")
            for p in touched:
                parts.pop(p, None)
            parts.update(self._write_partitions(table))
        finally:
            self.con.execute("DROP TABLE IF EXISTS temp.main._ds_part")
        self.register(table)

    def snapshot(self, name: str, table: pa.Table) -> None:
        """Stage a whole-table snapshot of derived table `name` (one of SNAPSHOTS; others are not kept)."""
        import pyarrow.parquet as pq

        if name not in SNAPSHOTS:
            return
        staged = self._require_staged(name)
        folder = f"{DERIVED}/table={name}"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        staged.tables[f"{DERIVED}:{name}"] = {folder: self._put(folder, sink.getvalue().to_pybytes(), table)}

    def upsert_partitions(self, table: str, batch: pa.Table) -> set[str]:
        """Give the partitions an upsert of `batch` into `table` must rewrite."""
        import pyarrow.compute as pc

        part = PARTITIONED[table]
        if part.month_in_key:
            return partition_labels(table, batch)[1]
        return self.scope_partitions(table, set(pc.unique(batch.column(part.scope)).to_pylist()))

    def scope_partitions(self, table: str, scopes: set[str | None] | None) -> set[str]:
        """Give the stored partitions of `scopes` of `table` (every partition when `scopes` is None)."""
        parts = self.current.tables.get(table, {})
        if scopes is None:
            return set(parts)
        prefixes = {partition_of(table, s, "").rsplit("month=", 1)[0] for s in scopes}
        return {p for p in parts if p.rsplit("month=", 1)[0] in prefixes}

    def delete_partitions(self, table: str, column: str | None, value: str | None) -> set[str]:
        """Give the partitions a delete of `table` rows whose `column` is `value` must rewrite."""
        if column is not None and column == PARTITIONED[table].scope:
            return self.scope_partitions(table, {value})
        return self.scope_partitions(table, None)

    def adopt(self, table: str, replaced: Iterable[str], files: Mapping[str, DataFile]) -> None:
        """Stage partition files written elsewhere (by `write_partitions` on a Dask worker, from this
        generation's files of `replaced`): they take the place of `replaced` in the staged manifest, and a
        rollback removes them like the transaction's own writes. Only the manifest commit makes them live."""
        staged = self._require_staged(table)
        parts = staged.tables.setdefault(table, {})
        for p in replaced:
            parts.pop(p, None)
        parts.update(files)
        self._written += [f.path for f in files.values()]
        self.register(table)

    def commit(self) -> None:
        """Write the staged manifest as the next generation (the commit point), then drop replaced files."""
        staged, self._staged = self._staged, None
        if staged is None:
            return
        if staged.tables == self.committed.tables:
            self._remove(self._written)
            return
        staged.generation = self.committed.generation + 1
        try:
            self._write_manifest(staged)
        except OSError as exc:
            self._staged = staged
            self.rollback()
            raise RetriableError(
                f"cannot write the dataset manifest under {_shown(self.uri)}: {exc}",
                "check the storage is reachable and writable, then run again (nothing was committed)",
            ) from exc
        old, self.committed = self.committed, staged
        live = self._paths(staged)
        self._remove([p for p in self._paths(old) | set(self._written) if p not in live])
        self._written = []
        self._prune_manifests()

    def rollback(self) -> None:
        """Forget the staged writes: their files are removed and the committed generation is read again."""
        self._staged = None
        self._remove(self._written)
        self._written = []
        self.register()

    # ---- upkeep --------------------------------------------------------------------------------

    def remove_orphans(self) -> list[str]:
        """Remove data files that no committed manifest names (left by a write killed before its commit)."""
        import pyarrow.fs as pafs

        live = self._paths(self.committed)
        found = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=True, allow_not_found=True))
        prefix = self.root + "/"
        orphans = [
            f.path.removeprefix(prefix)
            for f in found
            if f.type == pafs.FileType.File and f.path.endswith(".parquet")
        ]
        orphans = [p for p in orphans if p not in live]
        self._remove(orphans)
        return orphans

    def verify(self) -> list[str]:
        """Give the files of the committed manifest that are missing or whose checksum differs."""
        bad = []
        for parts in self.committed.tables.values():
            for f in parts.values():
                try:
                    with self.fs.open_input_stream(f"{self.root}/{f.path}") as stream:
                        data = stream.read()
                except (FileNotFoundError, OSError):
                    bad.append(f.path)
                    continue
                if hashlib.sha256(data).hexdigest() != f.sha256:
                    bad.append(f.path)
        return sorted(bad)

    def stats(self) -> dict[str, dict[str, int]]:
        """Give per table the number of partitions, rows and bytes of the committed generation."""
        return {
            t: {"partitions": len(p), "rows": sum(f.rows for f in p.values()),
                "bytes": sum(f.bytes for f in p.values())}
            for t, p in sorted(self.committed.tables.items())
        }  # fmt: skip

    # ---- internals -----------------------------------------------------------------------------

    def _require_staged(self, table: str) -> Manifest:
        if self._staged is None:
            raise DataError(
                f"a write of {table} outside a transaction of the state store",
                "report it as a bug: dataset writes go through StateStore.transaction()",
            )
        return self._staged

    def _write_partitions(self, table: str) -> dict[str, DataFile]:
        """Write the rows of the temp table `_ds_part` as one new file per partition; give them."""
        keys = ", ".join(ident(k) for k in RAW_TABLES[table].key)
        rows = self.con.sql(f"SELECT * FROM _ds_part ORDER BY {keys}").to_arrow_table()
        written = write_partitions(self.fs, self.root, table, rows)
        self._written += [f.path for f in written.values()]
        return written

    def _put(self, folder: str, data: bytes, rows: pa.Table) -> DataFile:
        """Write one new Parquet file into `folder` (never over an existing one); give its manifest entry."""
        written = put_file(self.fs, self.root, folder, data, rows.num_rows)
        self._written.append(written.path)
        return written

    def _ensure_root(self) -> None:
        try:
            self.fs.create_dir(f"{self.root}/{MANIFESTS}", recursive=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot use the storage {_shown(self.uri)}: {exc}",
                "check the bucket or folder exists and the credentials (AWS_* variables) may write to it",
            ) from exc

    def _manifest_names(self) -> list[str]:
        return _manifest_names(self.fs, self.root)

    def _load_manifest(self) -> Manifest:
        return _latest_manifest(self.fs, self.root)

    def _write_manifest(self, manifest: Manifest) -> None:
        """Write generation N as a new object: a local file through a temporary name and a rename, an S3
        object in one PUT (both appear whole or not at all)."""
        final = f"{self.root}/{MANIFESTS}/{manifest.generation:012d}.json"
        data = manifest.to_json().encode("utf-8")
        if self.fs.type_name == "local":
            tmp = f"{self.root}/{MANIFESTS}/.{manifest.generation:012d}.json.tmp"
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
            self.fs.move(tmp, final)
        else:
            with self.fs.open_output_stream(final) as out:
                out.write(data)

    def _prune_manifests(self) -> None:
        names = self._manifest_names()
        for name in names[:-KEEP_MANIFESTS]:
            self.fs.delete_file(f"{self.root}/{MANIFESTS}/{name}")

    @staticmethod
    def _paths(manifest: Manifest) -> set[str]:
        return {f.path for parts in manifest.tables.values() for f in parts.values()}

    def _remove(self, paths: Iterable[str]) -> None:
        for p in paths:
            try:
                self.fs.delete_file(f"{self.root}/{p}")
            except FileNotFoundError:
                continue


def write_partitions(fs: pafs.FileSystem, root: str, table: str, rows: pa.Table) -> dict[str, DataFile]:
    """Write `rows` of raw `table` (in key order) under `root` as one new file per partition; give the
    manifest entries by partition. Nothing names the files until a manifest does (`RawDataset.adopt`)."""
    import pyarrow.compute as pc

    if rows.num_rows == 0:
        return {}
    labels, _ = partition_labels(table, rows)
    order = pc.sort_indices(labels, sort_keys=[("", "ascending")])  # stable: key order kept
    rows, labels = rows.take(order), labels.take(order)
    written: dict[str, DataFile] = {}
    start = 0
    # Sorted, each partition's rows are one run; value_counts lists the runs in that order.
    for run in pc.value_counts(labels).to_pylist():
        written[run["values"]] = _write_file(fs, root, run["values"], rows.slice(start, run["counts"]))
        start += run["counts"]
    return written


def _write_file(fs: pafs.FileSystem, root: str, partition: str, rows: pa.Table) -> DataFile:
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(rows, sink, compression="zstd")
    return put_file(fs, root, partition, sink.getvalue().to_pybytes(), rows.num_rows)


def put_file(fs: pafs.FileSystem, root: str, folder: str, data: bytes, rows: int) -> DataFile:
    """Write one new Parquet file into `root/folder` (a fresh name, never over an existing file); give its
    manifest entry with its row count, size and checksum."""
    path = f"{folder}/part-{uuid.uuid4().hex}.parquet"
    fs.create_dir(f"{root}/{folder}", recursive=True)
    with fs.open_output_stream(f"{root}/{path}") as out:
        out.write(data)
    return DataFile(path, rows, len(data), hashlib.sha256(data).hexdigest())


def _manifest_names(fs: pafs.FileSystem, root: str) -> list[str]:
    import pyarrow.fs as pafs

    found = fs.get_file_info(pafs.FileSelector(f"{root}/{MANIFESTS}", allow_not_found=True))
    names = [f.base_name for f in found if f.type == pafs.FileType.File]
    return sorted(n for n in names if _MANIFEST_NAME.match(n))


def _latest_manifest(fs: pafs.FileSystem, root: str) -> Manifest:
    names = _manifest_names(fs, root)
    if not names:
        return Manifest()
    where = f"{root}/{MANIFESTS}/{names[-1]}"
    with fs.open_input_stream(where) as stream:
        return Manifest.from_json(stream.read().decode("utf-8"), where)


def committed_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Give the rows of each raw table a state keeps in its dataset, as the committed manifest records them
    (one listing and one small read: no data file is opened); {} for a single-file state."""
    rows = con.execute("SELECT key, value FROM state_meta WHERE key IN (?, 'state_id')", [STORAGE_META])
    meta = dict(rows.fetchall())
    if not meta.get(STORAGE_META):
        return {}
    fs, base = open_storage(str(meta[STORAGE_META]))
    manifest = _latest_manifest(fs, f"{base}/{meta['state_id']}")
    return {t: sum(f.rows for f in manifest.files(t)) for t in sorted(PARTITIONED)}


def read_dataset(con: duckdb.DuckDBPyConnection) -> RawDataset | None:
    """Register the raw dataset a state recorded on a (read-only) connection to it, writing nothing; give
    None for a single-file state (doctor and other readers use this)."""
    rows = con.execute("SELECT key, value FROM state_meta WHERE key IN (?, 'state_id')", [STORAGE_META])
    meta = dict(rows.fetchall())
    if not meta.get(STORAGE_META):
        return None
    return RawDataset(con, str(meta[STORAGE_META]), str(meta["state_id"]), read_only=True)


def attach_dataset(con: duckdb.DuckDBPyConnection, storage: str | None) -> RawDataset | None:
    """Open the raw dataset of the state on `con`, or give None for a single-file state.

    A storage URI given for a state that has none yet is recorded in its `state_meta`, so every later
    opener (status, doctor, the service, a full refresh) finds the dataset without being told; a different
    URI for a state that already has one is refused.
    """
    rows = con.execute("SELECT key, value FROM state_meta WHERE key IN (?, 'state_id')", [STORAGE_META])
    meta = dict(rows.fetchall())
    recorded = meta.get(STORAGE_META)
    if storage and recorded and storage != recorded:
        raise ConfigurationError(
            f"the state keeps its raw tables under {_shown(recorded)}, not {_shown(storage)}",
            "pass the same --storage (or none: the state remembers it), or use a new --state",
        )
    uri = recorded or storage
    if not uri:
        return None
    dataset = RawDataset(con, uri, str(meta["state_id"]))
    con.execute("BEGIN TRANSACTION")
    try:
        # Also on a state that recorded the URI without views yet (a full refresh's fresh state file).
        dataset.create_views()
        con.execute("INSERT OR REPLACE INTO state_meta VALUES (?, ?)", [STORAGE_META, uri])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return dataset
