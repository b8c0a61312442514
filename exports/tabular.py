"""JSON and CSV writers: the export contract of DESIGN.md §7, written by DuckDB in bulk."""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.errors import ConfigurationError
from core.files import atomic_target
from core.sql import ident, lit

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


def export_reports(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    json_tables: dict[str, str],
    csv_tables: dict[str, str],
) -> list[Path]:
    """Write JSON and CSV files (each `{file stem: table}`) into `out`; give the paths."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the output folder {out}: {exc}", "pass a writable --out"
        ) from exc
    written = [write_json(con, table, out / f"{stem}.json") for stem, table in json_tables.items()]
    written += [write_csv(con, table, out / f"{stem}.csv") for stem, table in csv_tables.items()]
    return written
