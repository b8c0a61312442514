"""Shared plumbing for the offline readers: JSON files, the DuckDB connection, DuckDB errors as DataErrors."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.errors import DataError

# DuckDB's default cap on one JSON object (it sizes its read buffers from the cap, per thread).
DEFAULT_JSON_OBJECT_BYTES = 16 << 20

_DUCKDB_FILE = re.compile(r'file "([^"]+)"')


_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}  # fmt: skip


def refuse_link(root: Path, path: Path) -> None:
    """Refuse `path` when it, or a folder between `root` and it, is a symbolic link: a link could make the
    run read any file on the machine and echo it into errors and the state."""
    try:
        depth = max(len(path.relative_to(root).parts) - 1, 0)  # the folders strictly between root and path
    except ValueError:
        depth = 0
    for part in [path, *path.parents[:depth]]:  # the file first, then its folders from the nearest up
        if part.is_symlink():
            raise DataError(
                f"{part}: is a symbolic link (to {os.readlink(part)}); refusing to read it",
                "a workspace holds plain files only; replace the link with the file or remove it from "
                f"{root}",
            )


def refuse_special(root: Path, path: Path) -> None:
    """Refuse to read `path` when it is a link (see `refuse_link`) or not a regular file: a named pipe
    would block the run, a device would read forever. Checked before the file is opened."""
    refuse_link(root, path)
    kind = stat.S_IFMT(path.lstat().st_mode)
    if kind != stat.S_IFREG:
        raise DataError(
            f"{path}: is {_KINDS.get(kind, 'a special file')}, not a regular file; refusing to read it",
            f"a workspace holds plain files only; remove it from {root}",
        )


def content_fingerprint(path: str | os.PathLike[str], status: os.stat_result | None = None) -> str:
    """Give the CRC32 of a file's bytes as hex, the same fingerprint ZIP entries carry.

    Content, not mtime: a copy that keeps the old mtime, or a rewrite with the same bytes, is judged by
    what it holds, so incremental runs neither miss an edit nor re-read an unchanged file. Inside
    `reuse_fingerprints`, a file whose status says it is untouched since the last run keeps that run's CRC;
    a caller that has the file's status (taken before the read) passes it as `status`.
    """
    cache = _REUSE.get()
    return _crc_of(path) if cache is None else cache.fingerprint(path, status)


class FingerprintCache:
    """The CRC32 of each file stamped, kept from one run to the next with the file's status signature.

    A file whose device, inode, size, mtime and ctime are all unchanged holds the bytes it held: any write,
    rename or `touch` moves its ctime, which no tool can set back (`cp -p` and `touch -d` set the mtime
    only). A file changed less than `RACY_NS` before it was stamped is not kept, since a write in the same
    clock tick as the stamp would leave its times unchanged (coarse file systems tick in seconds).
    `known` maps paths to (signature, CRC), as `kept` gives them for the next run.
    """

    RACY_NS = 3_000_000_000

    def __init__(self, known: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.known = dict(known or {})
        self.kept: dict[str, tuple[str, str]] = {}
        self.reused = 0

    @property
    def changed(self) -> bool:
        """Whether `kept` differs from `known` (else there is nothing to store for the next run)."""
        return self.kept != self.known

    def fingerprint(self, path: str | os.PathLike[str], status: os.stat_result | None = None) -> str:
        """Give the CRC32 of `path`: the known one when its signature is unchanged, else read from it.
        `status` is the file's status if the caller has it, taken before the file is read."""
        key = os.fspath(path)  # as the run names it: another file under the same name has another inode
        # Before reading: a write during the read moves the ctime the next run sees.
        st = status if status is not None else os.stat(key)
        signature = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
        known = self.known.get(key)
        if known is not None and known[0] == signature:
            self.reused += 1
            crc = known[1]
        else:
            crc = _crc_of(path)
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) >= self.RACY_NS:
            self.kept[key] = (signature, crc)
        return crc


_REUSE: ContextVar[FingerprintCache | None] = ContextVar("meetintel_fingerprint_cache", default=None)


@contextmanager
def reuse_fingerprints(cache: FingerprintCache) -> Iterator[FingerprintCache]:
    """Let `content_fingerprint` go through `cache` in this block (this thread and context only)."""
    token = _REUSE.set(cache)
    try:
        yield cache
    finally:
        _REUSE.reset(token)


def _crc_of(path: str | os.PathLike[str]) -> str:
    """Give the CRC32 of the bytes of `path`, read through this thread's buffer."""
    crc = 0
    # One reused buffer: `read(1 MB)` would allocate (and map) a fresh megabyte per call, for every file
    # of every run (26 GB allocated over L's 13,000 files, memray); most day files fit the buffer in one read.
    buffer = _crc_buffer()
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            crc = zlib.crc32(view[:n], crc)
    return f"{crc:08x}"


_CRC_BLOCK = 1 << 20
_crc_local = threading.local()


def _crc_buffer() -> bytearray:
    """Give this thread's read buffer for `content_fingerprint` (threads may stamp files at once)."""
    buffer: bytearray | None = getattr(_crc_local, "buffer", None)
    if buffer is None:
        buffer = _crc_local.buffer = bytearray(_CRC_BLOCK)
    return buffer


def connect() -> duckdb.DuckDBPyConnection:
    """Give an in-memory DuckDB connection that reads and writes timestamps in UTC."""
    con = duckdb.connect()
    # Session time zone UTC: TIMESTAMPTZ values come out as UTC instants, never shifted to the host's zone.
    con.execute("SET TimeZone = 'UTC'")
    # A library must not draw DuckDB's progress bar into the caller's terminal.
    con.execute("SET enable_progress_bar = false")
    # Parsing is streaming work: a small buffer pool keeps the pipeline's peak memory bounded.
    con.execute("SET memory_limit = '200MB'")
    return con


def json_object_limit(files: Sequence[tuple[Path, str, str]]) -> int:
    """Give a `maximum_object_size` that fits the largest of `files` (local path first) as one object.

    A whole events.list dump is a single JSON object, so the cap must exceed the biggest file; it stays
    as small as that allows because DuckDB allocates buffers of twice the cap for every reading thread.
    """
    largest = max((path.stat().st_size for path, *_ in files), default=0)
    return max(DEFAULT_JSON_OBJECT_BYTES, 1 << largest.bit_length())


def load_json(path: Path, shown: str, hint: str) -> Any:
    """Give the parsed content of a small JSON file (metadata, dumps), or a DataError naming it."""
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{shown} is not valid JSON ({exc})", hint) from exc


def expect_list(value: Any, shown: str, what: str, hint: str) -> list[Any]:
    """Give `value` when it is a JSON array of objects, else a DataError saying what was expected."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DataError(f"{shown}: expected {what} (a JSON array of objects)", hint)
    return value


def duckdb_data_error(exc: Exception, shown_by_local: dict[str, str], what: str, hint: str) -> DataError:
    """Give a DataError for a DuckDB read failure, naming the source file DuckDB complained about.

    `exc` is a duckdb.Error, or the UnicodeDecodeError the binding raises when DuckDB's own message quotes
    bytes that are not UTF-8; a failure that names no file is pinned on the only file when there is one.
    """
    message = str(exc).strip()
    match = _DUCKDB_FILE.search(message)
    local = match.group(1) if match else (next(iter(shown_by_local)) if len(shown_by_local) == 1 else None)
    shown = shown_by_local.get(local, local) if local else f"one of {len(shown_by_local)} {what}"
    # DuckDB's own message carries the byte offset and the parser's complaint; keep it after the file name.
    detail = message.split("Error: ", 1)[-1]
    if local:
        detail = detail.replace(local, shown)
    return DataError(f"{shown}: cannot read {what} ({detail})", hint)


def blank_to_none(value: Any) -> Any:
    """Give None for empty strings, the value otherwise (exports write "" where the API omits a field)."""
    return None if value == "" else value


# What a row builder raises when a record's fields have unexpected JSON types (a list where a string
# belongs, `true` where an object belongs, ...): all of them mean "malformed record".
_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError, pa.ArrowException)


def table_of(
    records: Iterable[Any],
    row: Callable[[Any], dict[str, Any]],
    schema: pa.Schema,
    shown: str,
    hint: str,
) -> pa.Table:
    """Give `schema`'s table of `row(record)` for each record; a record of the wrong shape is a DataError
    naming the file and the record's position (DataErrors from `row` pass through unchanged)."""
    rows = []
    for i, record in enumerate(records):
        try:
            rows.append(row(record))
        except DataError:
            raise
        except _SHAPE_ERRORS as exc:
            raise DataError(
                f"{shown}: record {i} has an unexpected shape ({type(exc).__name__}: {exc})", hint
            ) from exc
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except _SHAPE_ERRORS as exc:
        raise DataError(
            f"{shown}: record {_first_bad(rows, schema)} has a field of the wrong type ({exc})", hint
        ) from exc


def _first_bad(rows: list[dict[str, Any]], schema: pa.Schema) -> int:
    """Give the position of the first row Arrow cannot convert to `schema` (only called after a failure)."""
    for i, row in enumerate(rows):
        try:
            pa.Table.from_pylist([row], schema=schema)
        except _SHAPE_ERRORS:
            return i
    return -1
