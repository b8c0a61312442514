"""DuckDB helpers every layer shares: quoting, table checks, typed fetches, scratch tables, catalog swaps.

Values that vary (paths, salts, user text) reach SQL only through `lit` or as bound parameters; names of
tables and columns only through `ident`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import duckdb

from core.errors import ConfigurationError, DataError

if TYPE_CHECKING:
    import pyarrow as pa

_SERIALS = itertools.count(1)


def ident(name: str) -> str:
    """Give `name` as a quoted SQL identifier, so names from callers cannot inject SQL."""
    if not name or "\x00" in name:
        raise ConfigurationError(f"invalid table name {name!r}", "pass the name of a table or view on `con`")
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Give `text` as a SQL string literal (for statements that take no parameters: ATTACH, COPY)."""
    if "\x00" in text:
        raise ConfigurationError(f"a NUL character in {text!r}", "remove it from the path or setting")
    return "'" + text.replace("'", "''") + "'"


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Give whether a table or view `name` resolves on `con` (the way an unqualified query would)."""
    try:
        con.sql(f"SELECT * FROM {ident(name)} LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    """Give the (name, DuckDB type) of each column `sql` yields, without running it."""
    rel = con.sql(sql)
    return list(zip(rel.columns, [str(t) for t in rel.dtypes], strict=True))


def has_columns(con: duckdb.DuckDBPyConnection, table: str, wanted: tuple[str, ...]) -> bool:
    """Give whether `table` exists with every column in `wanted`."""
    if not has_table(con, table):
        return False
    have = {name for name, _ in columns(con, f"SELECT * FROM {ident(table)}")}
    return all(w in have for w in wanted)


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


def rows_hash(con: duckdb.DuckDBPyConnection, table: str, *, ordered: bool = False) -> str:
    """Give a digest of `table`'s rows, "count:xor:sum" of their hashes (the sum keeps a pair of equal rows
    from cancelling out): equal digests, equal rows. With `ordered`, each row is hashed with its rowid, so
    the stored order counts too (a view has no rowid: DuckDB's binder error)."""
    hashed = "hash(rowid, t)" if ordered else "hash(t)"
    row = con.execute(
        f"SELECT count(*), bit_xor(h), sum(h::HUGEINT) FROM (SELECT {hashed} AS h FROM {ident(table)} t)"
    ).fetchall()[0]
    return ":".join(str(v) for v in row)


def fetch(con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema) -> pa.Table:
    """Give the result of `sql` as an Arrow table with exactly `schema` (column order and types)."""
    table = con.sql(sql).to_arrow_table()
    return table.select(schema.names).cast(schema)


@contextmanager
def scratch(con: duckdb.DuckDBPyConnection) -> Iterator[ScratchSpace]:
    """Give a namespace for temp tables on `con` that are all dropped on exit, even on error."""
    space = ScratchSpace(con, next(_SERIALS))
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

    def drop(self, *names: str) -> None:
        """Drop scratch tables (quoted names `make` gave) that what follows no longer reads."""
        for quoted in names:
            self._con.execute(f"DROP TABLE IF EXISTS {quoted}")
            self._made.remove(quoted)

    def drop_all(self) -> None:
        """Drop every temp table made here."""
        self.drop(*reversed(self._made))


def current_catalog(con: duckdb.DuckDBPyConnection) -> str:
    """Give the quoted `"database"."schema"` that unqualified names resolve in on `con`."""
    db, schema = con.execute("SELECT current_database(), current_schema()").fetchall()[0]
    return f"{ident(db)}.{ident(schema)}"


@contextmanager
def swapped_catalog(
    con: duckdb.DuckDBPyConnection, prefix: str, copies: Callable[[str], dict[str, str]]
) -> Iterator[str]:
    """Make an in-memory catalog of derived copies the default on `con` inside the block; give its name.

    `copies(src)` gives, per table, the SELECT over `src` (the original catalog) that fills it. Every
    query inside the block that names a table unqualified reads the copy; on exit the original catalog is
    the default again and the copy is dropped, even on error.
    """
    src = current_catalog(con)
    name = f"{prefix}_{next(_SERIALS)}"
    quoted = ident(name)
    con.execute(f"ATTACH ':memory:' AS {quoted}")
    try:
        for table, select in copies(src).items():
            con.execute(f"CREATE TABLE {quoted}.main.{ident(table)} AS {select}")
        con.execute(f"USE {quoted}")
        yield name
    finally:
        con.execute(f"USE {src}")
        con.execute(f"DETACH {quoted}")


def time_bucket(column: str, seconds: int) -> str:
    """SQL numbering the `seconds`-long span of time `column` (a timestamp) falls in: time windows as
    equality keys. floor(), not `//`: on a DOUBLE `//` divides exactly and the cast would round up."""
    return f"floor(epoch({column}) / {int(seconds)})::BIGINT"
