"""DuckDB DDL for the state database, derived from Arrow schemas so the two never drift."""

from __future__ import annotations

import pyarrow as pa

_SCALARS: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.timestamp("us"): "TIMESTAMP",
}


def duck_type(t: pa.DataType) -> str:
    """Give the DuckDB type for an Arrow type (scalars, lists and structs)."""
    if t in _SCALARS:
        return _SCALARS[t]
    if pa.types.is_list(t):
        return f"{duck_type(t.value_type)}[]"
    if pa.types.is_struct(t):
        fields = ", ".join(f'"{f.name}" {duck_type(f.type)}' for f in t)
        return f"STRUCT({fields})"
    raise TypeError(f"no DuckDB type for Arrow type {t}")


def create_table_sql(name: str, schema: pa.Schema) -> str:
    """Give a CREATE TABLE IF NOT EXISTS statement for `schema`."""
    cols = ", ".join(f'"{f.name}" {duck_type(f.type)}' for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {name} ({cols})"


BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS file_stamps (
    path VARCHAR PRIMARY KEY, size BIGINT, fingerprint VARCHAR, table_name VARCHAR,
    rows BIGINT, run_id VARCHAR, recorded_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS file_fingerprints (
    path VARCHAR PRIMARY KEY, signature VARCHAR, fingerprint VARCHAR);
CREATE TABLE IF NOT EXISTS cursors (
    source VARCHAR, key VARCHAR, value VARCHAR, run_id VARCHAR, recorded_at TIMESTAMPTZ,
    PRIMARY KEY (source, key));
CREATE TABLE IF NOT EXISTS pending_detection (channel_id VARCHAR, ts VARCHAR);
CREATE TABLE IF NOT EXISTS state_meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR, source VARCHAR, file VARCHAR, record_key VARCHAR, rule VARCHAR, raw_value VARCHAR,
    "at" TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, mode VARCHAR, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ,
    status VARCHAR, rows_read JSON, rows_written JSON, stages JSON, errors JSON, sources JSON,
    resources JSON, error_classes JSON);
"""
# Ledger columns added after the first release: a state made before them gains them when it is opened.
RUNS_ADDED = ("resources", "error_classes")
