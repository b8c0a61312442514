"""Headline figures of a report (totals over the report tables), shared by the workbook and the HTML page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.sql import lit

# An evidence row with no meeting has meeting_id NULL or '' (aggregation.models.EVIDENCE_FLAT).
LINKED = "coalesce(meeting_id, '') <> ''"


@dataclass(frozen=True)
class Figure:
    """One headline figure: a label, its value and how it is counted."""

    key: str
    label: str
    value: int | float | datetime | None
    note: str


def headline(con: duckdb.DuckDBPyConnection, tz: str) -> list[Figure]:
    """Give the headline figures of the report tables on `con`, times as wall-clock time in `tz`."""
    m = con.execute(
        f"""
        SELECT count(*), count(*) FILTER (WHERE status = 'held'),
               count(*) FILTER (WHERE status = 'cancelled'),
               count(*) FILTER (WHERE status = 'held' AND origin <> 'slack'),
               count(*) FILTER (WHERE status = 'held' AND origin = 'slack'),
               coalesce(round(sum(duration_minutes) FILTER (WHERE status = 'held') / 60, 1), 0),
               coalesce(round(sum(person_hours), 1), 0),
               timezone({lit(tz)}, min(start)), timezone({lit(tz)}, max(start))
        FROM report_meetings
        """
    ).fetchall()[0]
    people = con.execute(
        "SELECT count(DISTINCT coalesce(p.person_id, lower(p.email))) FROM report_participants p "
        "JOIN report_meetings m USING (meeting_id) WHERE m.status = 'held'"
    ).fetchall()[0][0]
    ev = con.execute(
        f"SELECT count(*) FILTER (WHERE {LINKED}), count(*) FILTER (WHERE NOT ({LINKED})) "
        "FROM report_evidence"
    ).fetchall()[0]
    docs = con.execute("SELECT count(DISTINCT file_id) FROM report_documents").fetchall()[0][0]
    return [
        Figure("meetings", "Meetings", m[0], "every meeting found, held or cancelled"),
        Figure("held", "Held", m[1], "status held"),
        Figure("cancelled", "Cancelled", m[2], "status cancelled"),
        Figure("scheduled", "Scheduled (held)", m[3], "held meetings from a calendar event"),
        Figure("adhoc", "Ad hoc (held)", m[4], "held meetings found only in Slack (huddles, calls)"),
        Figure("hours", "Meeting hours", m[5], "sum of held meetings' durations"),
        Figure("person_hours", "Person-hours", m[6], "sum of attendees x hours (metrics.person_hours)"),
        Figure("people", "People in held meetings", people, "distinct participants"),
        Figure("linked", "Linked Slack messages", ev[0], "evidence messages linked to a meeting"),
        Figure("unlinked", "Unlinked Slack messages", ev[1], "meeting-like messages no meeting claimed"),
        Figure("documents", "Documents", docs, "distinct Drive files linked to meetings"),
        Figure("first", "First meeting", m[7], f"start, {tz}"),
        Figure("last", "Last meeting", m[8], f"start, {tz}"),
    ]
