"""SQL fragments the intelligence stage shares (the general DuckDB helpers live in `core.sql`)."""

from __future__ import annotations


def duration_sql(minutes: str) -> str:
    """SQL rendering a number of minutes as '12 min', '5 h' or '2 days'."""
    return f"""CASE WHEN {minutes} < 90 THEN CAST(round({minutes}) AS BIGINT) || ' min'
                    WHEN {minutes} < 2880 THEN CAST(round({minutes} / 60) AS BIGINT) || ' h'
                    ELSE CAST(round({minutes} / 1440) AS BIGINT) || ' days' END"""
