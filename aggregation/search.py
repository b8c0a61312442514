"""Search and filters over the report tables, scoped copies for exports, and analyst views in DuckDB.

Every user value reaches DuckDB as a bound parameter; text matches are plain case-insensitive substrings
(`contains`), so characters such as % or _ in a search mean themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.errors import ConfigurationError
from core.sql import has_table, swapped_catalog
from core.tables import MEETING_RECORDS, PEOPLE_RECORDS, REPORT_PEOPLE, REPORT_TABLES


class MeetingFilter(BaseModel):
    """Which meetings to keep; every field left out matches everything, and the fields combine with AND.

    since/until bound the start (since <= start < until; naive times are UTC); person is a substring of a
    participant's email or name; team is a participant's department (case-insensitive, exact); channel is a
    Slack channel id or name (with or without #) the meeting was discussed in; text is a substring of the
    title, organiser, meeting id, a linked document's name or an evidence message's matched phrase.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    since: datetime | None = None
    until: datetime | None = None
    person: str | None = None
    team: str | None = None
    channel: str | None = None
    origin: Literal["calendar", "slack", "calendar+slack"] | None = None
    status: Literal["held", "cancelled"] | None = None
    text: str | None = None
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @field_validator("person", "team", "channel", "text")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _ordered(self) -> MeetingFilter:
        if self.since and self.until and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


def _channel_ids(con: duckdb.DuckDBPyConnection, channel: str) -> list[str]:
    """Give the channel ids `channel` stands for: itself, plus channels of that name if names are known."""
    ids = [channel]
    try:
        rows = con.execute(
            "SELECT channel_id FROM slack_channels WHERE lower(name) = lower(?)", [channel.removeprefix("#")]
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    return ids + sorted(r[0] for r in rows if r[0] != channel)


def where_sql(con: duckdb.DuckDBPyConnection, f: MeetingFilter) -> tuple[str, list[object]]:
    """Give a WHERE condition on report_meetings aliased `m`, and its parameters, for filter `f`."""
    clauses: list[str] = []
    params: list[object] = []

    def add(sql: str, *values: object) -> None:
        clauses.append(sql)
        params.extend(values)

    if f.since is not None:
        add("m.start >= ?", f.since)
    if f.until is not None:
        add("m.start < ?", f.until)
    if f.origin is not None:
        add("m.origin = ?", f.origin)
    if f.status is not None:
        add("m.status = ?", f.status)
    if f.min_score is not None:
        add("m.score >= ?", f.min_score)
    if f.person is not None:
        who = f.person.lower()
        add(
            "m.meeting_id IN (SELECT meeting_id FROM report_participants "
            "WHERE contains(lower(email), ?) OR contains(lower(name), ?))",
            who,
            who,
        )
    if f.team is not None:
        add(
            "m.meeting_id IN (SELECT meeting_id FROM report_participants WHERE lower(department) = ?)",
            f.team.lower(),
        )
    if f.channel is not None:
        ids = _channel_ids(con, f.channel)
        add(
            "(list_has_any(string_split(m.channel_ids, '; '), ?::VARCHAR[]) OR m.meeting_id IN "
            "(SELECT meeting_id FROM report_evidence WHERE list_contains(?::VARCHAR[], channel_id)))",
            ids,
            ids,
        )
    if f.text is not None:
        t = f.text.lower()
        add(
            "(contains(lower(m.title), ?) OR contains(lower(m.organizer_email), ?)"
            " OR contains(lower(m.meeting_id), ?)"
            " OR m.meeting_id IN (SELECT meeting_id FROM report_documents WHERE contains(lower(name), ?))"
            " OR m.meeting_id IN (SELECT meeting_id FROM report_evidence WHERE contains(lower(matched), ?)))",
            t,
            t,
            t,
            t,
            t,
        )
    return (" AND ".join(clauses) or "true"), params


def _require(con: duckdb.DuckDBPyConnection) -> None:
    for name in REPORT_TABLES:
        try:
            con.sql(f"SELECT * FROM {name} LIMIT 0")
        except duckdb.CatalogException as exc:
            raise ConfigurationError(
                f"report table {name!r} is missing from the state database",
                "run `meetintel run` first: its aggregate stage writes the report tables",
            ) from exc


def filter_meetings(con: duckdb.DuckDBPyConnection, f: MeetingFilter) -> pa.Table:
    """Give the rows of report_meetings that match `f`, ordered by start."""
    _require(con)
    where, params = where_sql(con, f)
    return con.sql(
        f"SELECT m.* FROM report_meetings m WHERE {where} ORDER BY m.start, m.meeting_id", params=params
    ).to_arrow_table()


def meeting_ids(con: duckdb.DuckDBPyConnection, f: MeetingFilter) -> list[str]:
    """Give the ids of the meetings that match `f`, ordered by start."""
    _require(con)
    where, params = where_sql(con, f)
    rows = con.execute(
        f"SELECT m.meeting_id FROM report_meetings m WHERE {where} ORDER BY m.start, m.meeting_id", params
    ).fetchall()
    return [r[0] for r in rows]


def _scoped_copies(con: duckdb.DuckDBPyConnection, src: str) -> dict[str, str]:
    """Give, per table to copy, the SELECT (over `src`, the original catalog) that keeps the scoped rows."""
    keep = "meeting_id IN (SELECT meeting_id FROM _scope)"
    people = f"person_id IN (SELECT person_id FROM {src}.report_participants WHERE {keep})"
    copies = {
        table: f"SELECT * FROM {src}.{table} WHERE {people if table == REPORT_PEOPLE else keep}"
        for table in REPORT_TABLES
    }
    optional = {
        MEETING_RECORDS: f"SELECT * FROM {src}.{MEETING_RECORDS} WHERE {keep}",
        PEOPLE_RECORDS: f"SELECT * FROM {src}.{PEOPLE_RECORDS} WHERE {people}",
        "calendar_events": f"SELECT * FROM {src}.calendar_events WHERE event_id IN "
        f"(SELECT calendar_event_id FROM {src}.report_meetings WHERE {keep})",
        "slack_channels": f"SELECT * FROM {src}.slack_channels",
        "state_meta": f"SELECT * FROM {src}.state_meta",
    }
    return copies | {name: sql for name, sql in optional.items() if has_table(con, name)}


@contextmanager
def scoped_reports(con: duckdb.DuckDBPyConnection, f: MeetingFilter) -> Iterator[str]:
    """Make `con` see only the meetings matching `f` inside the block; give the scope's catalog name.

    The matching rows of the report tables (and the calendar, channel and meta tables the exporters link
    from) are copied into an in-memory catalog that becomes the default, so every exporter run inside the
    block writes the filtered reports unchanged. Rollups summarise the whole organisation, so they are not
    copied. On exit the original catalog is the default again and the copy is dropped.
    """
    _require(con)
    where, params = where_sql(con, f)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _scope AS SELECT m.meeting_id FROM report_meetings m WHERE {where}",
        params,
    )
    try:
        with swapped_catalog(con, "meetintel_scope", lambda src: _scoped_copies(con, src)) as name:
            yield name
    finally:
        con.execute("DROP TABLE IF EXISTS temp.main._scope")


def create_analyst_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create (or replace) the views analysts query in the state file; give their names."""
    _require(con)
    channel = (
        "LEFT JOIN (SELECT channel_id, min(name) AS channel_name FROM slack_channels GROUP BY channel_id) c "
        "USING (channel_id)"
        if has_table(con, "slack_channels")
        else "LEFT JOIN (SELECT NULL::VARCHAR AS channel_id, NULL::VARCHAR AS channel_name) c "
        "USING (channel_id)"
    )
    views = {
        "v_meetings": """
            SELECT m.*, m.duration_minutes / 60 AS hours, m.origin <> 'slack' AS scheduled,
                   date_trunc('week', timezone('UTC', m.start))::DATE AS week
            FROM report_meetings m""",
        "v_participants": """
            SELECT p.*, m.title, m.start, m.status, m.origin, m.kind, m.duration_minutes,
                   coalesce(p.response_status = 'accepted' OR p.evidenced, false) AS attended
            FROM report_participants p JOIN report_meetings m USING (meeting_id)""",
        "v_evidence": f"""
            SELECT e.*, c.channel_name, m.title AS meeting_title
            FROM report_evidence e {channel}
            LEFT JOIN report_meetings m ON m.meeting_id = e.meeting_id""",
        "v_people": """
            SELECT pe.*, coalesce(s.meetings, 0) AS meetings_attended, coalesce(s.hours, 0.0) AS meeting_hours
            FROM report_people pe LEFT JOIN (
                SELECT person_id, count(*) AS meetings, sum(duration_minutes) / 60 AS hours
                FROM v_participants WHERE attended AND status = 'held' GROUP BY person_id
            ) s USING (person_id)""",
        "v_weekly": """
            SELECT date_trunc('week', timezone('UTC', start))::DATE AS week, count(*) AS meetings,
                   count(*) FILTER (WHERE status = 'held') AS held,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                   count(*) FILTER (WHERE status = 'held' AND origin <> 'slack') AS scheduled,
                   count(*) FILTER (WHERE status = 'held' AND origin = 'slack') AS adhoc,
                   round(coalesce(sum(duration_minutes) FILTER (WHERE status = 'held'), 0) / 60, 2)
                       AS meeting_hours,
                   round(coalesce(sum(person_hours), 0), 2) AS person_hours,
                   coalesce(sum(evidence_messages), 0) AS evidence_messages,
                   coalesce(sum(followups), 0) AS followups
            FROM report_meetings GROUP BY ALL""",
    }
    for name, select in views.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")
    return list(views)


# Three starting points for analysts querying the state file (`meetintel query` or the duckdb CLI).
EXAMPLE_QUERIES: dict[str, str] = {
    "Meeting load per week": (
        "SELECT week, held, adhoc, meeting_hours, person_hours FROM v_weekly ORDER BY week;"
    ),
    "Who spends the most time in meetings": (
        "SELECT name, department, meetings_attended, round(meeting_hours, 1) AS hours\n"
        "FROM v_people ORDER BY meeting_hours DESC, name LIMIT 10;"
    ),
    "Which channels start ad hoc meetings": (
        "SELECT coalesce('#' || channel_name, channel_id) AS channel,\n"
        "       count(DISTINCT meeting_id) AS adhoc_meetings\n"
        "FROM v_evidence JOIN v_meetings USING (meeting_id)\n"
        "WHERE origin = 'slack' GROUP BY ALL ORDER BY adhoc_meetings DESC, channel;"
    ),
}


def top_meetings(con: duckdb.DuckDBPyConnection, limit: int = 10) -> pa.Table:
    """Give the held meetings with the most person-hours: title, start, origin, attended, person-hours."""
    _require(con)
    return con.sql(
        "SELECT title, strftime(start::TIMESTAMP, '%Y-%m-%d %H:%M UTC') AS start, origin, attended, "
        "round(person_hours, 2) AS person_hours, meeting_id FROM report_meetings "
        f"WHERE status = 'held' ORDER BY person_hours DESC NULLS LAST, start, meeting_id LIMIT {int(limit)}"
    ).to_arrow_table()
