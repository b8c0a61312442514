"""JSON and CSV writers: the export contract of DESIGN.md §7, written by DuckDB in bulk."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.errors import ConfigurationError
from core.files import atomic_target
from core.sql import ident, lit, rows_hash

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {ident(table)}").fetchall()]


def _json_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Give a SELECT that renders top-level timestamps as ISO-8601 UTC strings."""
    parts = []
    for name, dtype in _columns(con, table):
        if dtype.startswith("TIMESTAMP"):
            parts.append(f"{utc_text_sql(ident(name), dtype)} AS {ident(name)}")
        else:
            parts.append(ident(name))
    return f"SELECT {', '.join(parts)} FROM {ident(table)}"


def utc_text_sql(expr: str, dtype: str) -> str:
    """SQL giving a timestamp as ISO-8601 UTC text, whatever the session's time zone (naive means UTC)."""
    # A cast of TIMESTAMPTZ to TIMESTAMP gives wall time in the session's zone; timezone('UTC', ...) does not.
    utc = f"timezone('UTC', {expr})" if "TIME ZONE" in dtype else expr
    return f"strftime({utc}, {lit(ISO_UTC)})"


def neutralise_sql(expr: str) -> str:
    """Give a SQL expression that prefixes a quote to text a spreadsheet would run as a formula."""
    leads = ", ".join(lit(c) for c in FORMULA_LEADS)
    return f"CASE WHEN left({expr}, 1) IN ({leads}) THEN '''' || {expr} ELSE {expr} END"


def _csv_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Give a SELECT that flattens lists and structs to text and neutralises formulas."""
    parts = []
    for name, dtype in _columns(con, table):
        col = ident(name)
        if dtype.startswith("TIMESTAMP"):
            expr = utc_text_sql(col, dtype)
        elif dtype.endswith("[]") and dtype.count("STRUCT") == 0:
            expr = neutralise_sql(f"array_to_string({col}, '; ')")
        elif dtype.startswith(("STRUCT", "MAP")) or dtype.endswith("[]"):
            expr = neutralise_sql(f"to_json({col})::VARCHAR")
        elif dtype in ("VARCHAR", "JSON"):
            expr = neutralise_sql(f"{col}::VARCHAR")
        else:
            expr = col
        parts.append(f"{expr} AS {col}")
    return f"SELECT {', '.join(parts)} FROM {ident(table)}"


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path, options: str) -> Path:
    """Write a query to `target` through a temporary name, so readers never see half a file."""
    with atomic_target(target) as tmp:
        con.execute(f"COPY ({select}) TO {lit(tmp.as_posix())} ({options})")
    return target


def write_json(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> Path:
    """Write `table` as a JSON array of records."""
    return _copy(con, _json_select(con, table), target, "FORMAT json, ARRAY true")


def write_csv(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> Path:
    """Write `table` as UTF-8 CSV with a header, ISO dates and formula-safe cells."""
    return _copy(con, _csv_select(con, table), target, "FORMAT csv, HEADER true")


@dataclass
class Reuse:
    """The previous run's folder and, per file, the digest of the rows it was written from (`before`);
    `export_reports` fills in this run's digests (`after`) and which files it linked instead of writing."""

    folder: Path | None
    before: dict[str, str]
    after: dict[str, str] = field(default_factory=dict)
    linked: list[str] = field(default_factory=list)


def rows_digest(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """Give a digest of `table`'s rows and their order (count, xor and sum of hash(rowid, row)); None
    for a view, which has no stored order to go by."""
    try:
        rows = rows_hash(con, table, ordered=True)
    except duckdb.BinderException:
        return None
    # The columns' names and types shape the file too (header, rendering).
    columns = ",".join(f"{name} {dtype}" for name, dtype in _columns(con, table))
    return rows + ":" + hashlib.sha256(columns.encode()).hexdigest()[:16]


def _write_or_link(con: duckdb.DuckDBPyConnection, table: str, target: Path, reuse: Reuse | None) -> Path:
    """Write `table` to `target` in the format its suffix names, or hard-link the previous run's file
    when it was written from the same rows (same digest): a report whose input did not change."""
    write = write_json if target.suffix == ".json" else write_csv
    digest = rows_digest(con, table) if reuse is not None else None
    if reuse is None or digest is None:
        return write(con, table, target)
    reuse.after[target.name] = f"{table}:{digest}"
    old = reuse.folder / target.name if reuse.folder is not None else None
    if old is not None and reuse.before.get(target.name) == reuse.after[target.name] and old.is_file():
        try:
            os.link(old, target)
        except OSError:  # another file system, or a file left at the target: write it instead
            return write(con, table, target)
        reuse.linked.append(target.name)
        return target
    return write(con, table, target)


def export_reports(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    json_tables: dict[str, str],
    csv_tables: dict[str, str],
    reuse: Reuse | None = None,
) -> list[Path]:
    """Write JSON and CSV files (each `{file stem: table}`) into `out`; give the paths.

    With `reuse`, a file whose table holds the rows (in the order) it held for the previous run is a
    hard link to that run's file instead of a new copy.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the output folder {out}: {exc}", "pass a writable --out"
        ) from exc
    written = [_write_or_link(con, table, out / f"{stem}.json", reuse) for stem, table in json_tables.items()]
    written += [_write_or_link(con, table, out / f"{stem}.csv", reuse) for stem, table in csv_tables.items()]
    return written
