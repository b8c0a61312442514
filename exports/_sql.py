"""SQL the Excel and HTML writers share: report checks, time zones, safe links (general: `core.sql`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from core.errors import ConfigurationError
from core.sql import has_columns, has_table, lit
from core.tables import REPORT_TABLES, ROLLUP_PREFIX

# A link is followed only when it is a plain http(s) URL a spreadsheet and a browser accept (Excel refuses
# addresses over 2,079 characters); anything else (javascript:, file:, data:) stays text.
SAFE_URL_RE = r"https?://[^\s\"<>\\^`{|}]+"
MAX_URL = 2000
# Where a Slack workspace URL may be stored (state_meta key), e.g. https://acme.slack.com.
WORKSPACE_URL_KEY = "slack_workspace_url"
_WORKSPACE_RE = re.compile(r"https://[A-Za-z0-9.-]+\.slack\.com")


def require_reports(con: duckdb.DuckDBPyConnection) -> None:
    """Check the flat report tables exist; raise ConfigurationError naming the first one missing."""
    for name in REPORT_TABLES:
        if not has_table(con, name):
            raise ConfigurationError(
                f"report table {name!r} is missing from the state database",
                "run `meetintel run` first: its aggregate stage writes the report tables",
            )


def rollup_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Give the names of the `report_rollup_*` tables in the current database, sorted."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND starts_with(table_name, ?) ORDER BY table_name",
        [ROLLUP_PREFIX],
    ).fetchall()
    return [r[0] for r in rows]


def check_tz(tz: str) -> str:
    """Give `tz` back if it is an IANA time zone name; raise ConfigurationError if not."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"unknown time zone {tz!r}", "pass an IANA name such as UTC or Europe/Berlin"
        ) from exc
    return tz


def local_sql(expr: str, dtype: str, tz: str) -> str:
    """SQL giving a timestamp column as naive wall-clock time in `tz` (naive input is read as UTC)."""
    utc = expr if "TIME ZONE" in dtype else f"timezone('UTC', {expr})"
    return f"timezone({lit(tz)}, {utc})"


def safe_url_sql(expr: str) -> str:
    """SQL giving `expr` when it is a followable http(s) URL, else NULL."""
    fits = f"length({expr}) <= {MAX_URL} AND regexp_full_match({expr}, {lit(SAFE_URL_RE)})"
    return f"CASE WHEN {fits} THEN {expr} END"


def workspace_url(con: duckdb.DuckDBPyConnection) -> str | None:
    """Give the Slack workspace URL stored in state_meta, if it is a plain https://<name>.slack.com URL."""
    if not has_columns(con, "state_meta", ("key", "value")):
        return None
    rows = con.execute("SELECT value FROM state_meta WHERE key = ?", [WORKSPACE_URL_KEY]).fetchall()
    url = str(rows[0][0] or "").rstrip("/") if rows else ""
    return url if _WORKSPACE_RE.fullmatch(url) else None


def slack_link_sql(con: duckdb.DuckDBPyConnection) -> Callable[[str, str, str], str]:
    """Give a builder of SQL for a Slack message link from channel, ts and thread_ts expressions."""
    base = workspace_url(con)

    def build(channel: str, ts: str, thread_ts: str) -> str:
        if base is None:
            # app_redirect opens the message in whichever workspace the reader is signed in to.
            return (
                f"'https://slack.com/app_redirect?channel=' || url_encode({channel}) "
                f"|| '&message_ts=' || url_encode({ts})"
            )
        thread = (
            f"CASE WHEN {thread_ts} IS NOT NULL AND {thread_ts} <> {ts} THEN '?thread_ts=' || "
            f"url_encode({thread_ts}) || '&cid=' || url_encode({channel}) ELSE '' END"
        )
        path = f"url_encode({channel}) || '/p' || replace({ts}, '.', '')"
        return f"{lit(base)} || '/archives/' || {path} || {thread}"

    return build


def calendar_links_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """Give SQL of (event_id, html_link) from calendar_events, or None when the table is absent."""
    if not has_columns(con, "calendar_events", ("event_id", "html_link")):
        return None
    return "SELECT event_id, min(html_link) AS html_link FROM calendar_events GROUP BY event_id"


def channel_names_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """Give SQL of (channel_id, name) from slack_channels, or None when the table is absent."""
    if not has_columns(con, "slack_channels", ("channel_id", "name")):
        return None
    return "SELECT channel_id, min(name) AS name FROM slack_channels GROUP BY channel_id"
