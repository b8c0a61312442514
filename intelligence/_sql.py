"""Small DuckDB helpers shared by the intelligence and aggregation stages."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from core.errors import ConfigurationError, DataError

_SCRATCH_IDS = itertools.count()


def ident(name: str) -> str:
    """Give `name` as a quoted SQL identifier, so table names from callers cannot inject SQL."""
    if not name or "\x00" in name:
        raise ConfigurationError(f"invalid table name {name!r}", "pass the name of a table or view on `con`")
    return '"' + name.replace('"', '""') + '"'


def duration_sql(minutes: str) -> str:
    """SQL rendering a number of minutes as '12 min', '5 h' or '2 days'."""
    return f"""CASE WHEN {minutes} < 90 THEN CAST(round({minutes}) AS BIGINT) || ' min'
                    WHEN {minutes} < 2880 THEN CAST(round({minutes} / 60) AS BIGINT) || ' h'
                    ELSE CAST(round({minutes} / 1440) AS BIGINT) || ' days' END"""


def require_columns(con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema) -> None:
    """Check that `table` exists on `con` with every column of `schema`; raise a classified error if not."""
    try:
        have = set(con.sql(f"SELECT * FROM {ident(table)} LIMIT 0").columns)
    except duckdb.CatalogException as exc:
        raise ConfigurationError(
            f"table {table!r} is missing from the state database",
            "collect the sources first (meetintel run) or pass the right table name",
        ) from exc
    missing = [n for n in schema.names if n not in have]
    if missing:
        raise DataError(
            f"table {table!r} lacks columns {', '.join(missing)}",
            "rebuild it with the current schema (meetintel run --full-refresh)",
        )


def fetch(con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema) -> pa.Table:
    """Give the result of `sql` as an Arrow table with exactly `schema` (column order and types)."""
    table = con.sql(sql).to_arrow_table()
    return table.select(schema.names).cast(schema)


@contextmanager
def scratch(con: duckdb.DuckDBPyConnection) -> Iterator[ScratchSpace]:
    """Give a namespace for temp tables on `con` that are all dropped on exit, even on error."""
    space = ScratchSpace(con, next(_SCRATCH_IDS))
    try:
        yield space
    finally:
        space.drop_all()


class ScratchSpace:
    """Temp tables with unique names; `name("x")` gives the quoted name of scratch table x."""

    def __init__(self, con: duckdb.DuckDBPyConnection, serial: int) -> None:
        self._con = con
        self._prefix = f"_mi{serial}_"
        self._made: list[str] = []

    def name(self, short: str) -> str:
        """Give the quoted temp-table name for `short`."""
        return ident(self._prefix + short)

    def make(self, short: str, sql: str) -> str:
        """Materialise `sql` as temp table `short` and give its quoted name."""
        quoted = self.name(short)
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE {quoted} AS {sql}")
        self._made.append(quoted)
        return quoted

    def register(self, short: str, table: pa.Table) -> str:
        """Copy a small Arrow table into temp table `short` and give its quoted name."""
        view = self._prefix + short + "_arrow"
        self._con.register(view, table)
        try:
            return self.make(short, f"SELECT * FROM {ident(view)}")
        finally:
            self._con.unregister(view)

    def drop_all(self) -> None:
        """Drop every temp table made here."""
        for quoted in reversed(self._made):
            self._con.execute(f"DROP TABLE IF EXISTS {quoted}")
        self._made.clear()
