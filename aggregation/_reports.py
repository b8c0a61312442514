"""Report building: meeting records with nested participants, evidence, documents and metrics."""

from __future__ import annotations

import duckdb

from aggregation._metrics import MetricTables, compute_metrics
from aggregation._rollups import build_rollups
from aggregation.models import (
    FLAT_TABLES,
    MEETING_RECORD,
    METRIC_FIELDS,
    PEOPLE_RECORD,
    Reports,
    WorkingHours,
)
from collectors.models import DRIVE_FILES, SLACK_CHANNELS, SLACK_MESSAGES
from core.sql import ScratchSpace, fetch, ident, require_columns, scratch
from intelligence.models import (
    EVIDENCE,
    MEETING_DOCUMENTS,
    MEETING_EVIDENCE,
    MEETING_PARTICIPANTS,
    MEETINGS,
    PEOPLE,
)


def build_reports(
    con: duckdb.DuckDBPyConnection,
    meetings: str = "meetings",
    participants: str = "meeting_participants",
    links: str = "meeting_evidence",
    documents: str = "meeting_documents",
    people: str = "people",
    evidence: str = "evidence",
    messages: str = "slack_messages",
    channels: str = "slack_channels",
    hours: WorkingHours | None = None,
) -> Reports:
    """Give the meeting and people records of the export contract, the flat tables for CSV and the rollups.

    `messages` (raw Slack messages) feeds multitasking, `channels` names the channel rollup, and `hours`
    are the local working hours after-hours time is measured against (default 09:00-17:00, Mon-Fri).
    """
    names = {
        "meetings": meetings,
        "participants": participants,
        "links": links,
        "documents": documents,
        "people": people,
        "evidence": evidence,
        "messages": messages,
        "channels": channels,
    }
    schemas = {
        "meetings": MEETINGS,
        "participants": MEETING_PARTICIPANTS,
        "links": MEETING_EVIDENCE,
        "documents": MEETING_DOCUMENTS,
        "people": PEOPLE,
        "evidence": EVIDENCE,
        "messages": SLACK_MESSAGES,
        "channels": SLACK_CHANNELS,
    }
    for key, name in names.items():
        require_columns(con, name, schemas[key])
    require_columns(con, "drive_files", DRIVE_FILES)
    t = {key: ident(name) for key, name in names.items()}
    with scratch(con) as s:
        mt = compute_metrics(s, t, hours or WorkingHours())
        metrics = mt.metrics
        docs = _documents(s, t)
        return Reports(
            meeting_records=fetch(con, _records_sql(t, metrics, docs), MEETING_RECORD),
            people_records=fetch(con, _people_sql(t["people"]), PEOPLE_RECORD),
            tables={
                "meetings": fetch(con, _meetings_flat_sql(t, metrics), FLAT_TABLES["meetings"]),
                "participants": fetch(con, _participants_flat_sql(t, mt), FLAT_TABLES["participants"]),
                "evidence": fetch(con, _evidence_flat_sql(t), FLAT_TABLES["evidence"]),
                "documents": fetch(
                    con, f"SELECT * FROM {docs} ORDER BY meeting_id, file_id", FLAT_TABLES["documents"]
                ),
                "people": fetch(con, _people_flat_sql(t["people"]), FLAT_TABLES["people"]),
            }
            | build_rollups(con, s, t, mt),
        )


def _documents(s: ScratchSpace, t: dict[str, str]) -> str:
    """Materialise each meeting's documents with Drive names and links (the flat documents table)."""
    return s.make(
        "docs",
        f"""
        SELECT d.meeting_id, d.file_id, coalesce(f.name, d.title) AS name,
               coalesce(f.web_view_link, d.url, 'https://drive.google.com/open?id=' || d.file_id) AS url,
               f.mime_type, array_to_string(d.sources, '; ') AS sources
        FROM {t["documents"]} d LEFT JOIN drive_files f USING (file_id)
        """,
    )


def _records_sql(t: dict[str, str], metrics: str, docs: str) -> str:
    """SQL giving MEETING_RECORD rows: one per meeting with its nested lists and metrics."""
    metric_struct = ", ".join(f"'{name}': x.{name}" for name, _ in METRIC_FIELDS)
    return f"""
    WITH parts AS (
        SELECT p.meeting_id, list({{'email': p.email, 'slack_user_id': p.slack_user_id, 'name': pe.name,
                                    'internal': coalesce(pe.internal, false),
                                    'response_status': p.response_status}}
                                   ORDER BY p.organizer DESC, p.email, p.person_id) AS participants
        FROM {t["participants"]} p LEFT JOIN {t["people"]} pe USING (person_id)
        GROUP BY p.meeting_id
    ),
    evs AS (
        SELECT meeting_id, list({{'channel_id': channel_id, 'ts': ts, 'kind': kind, 'role': role}}
                                ORDER BY ts, channel_id) AS slack_evidence
        FROM {t["links"]} GROUP BY meeting_id
    ),
    ds AS (
        SELECT meeting_id,
               list({{'file_id': file_id, 'name': name, 'url': url}} ORDER BY file_id) AS documents
        FROM {docs} GROUP BY meeting_id
    )
    SELECT m.meeting_id, m.calendar_event_id, m.ical_uid, m.status, m.origin, m.title, m.start, m."end",
           x.duration_minutes, m.channel_ids, m.organizer_email,
           coalesce(parts.participants, []) AS participants,
           coalesce(evs.slack_evidence, []) AS slack_evidence,
           coalesce(ds.documents, []) AS documents,
           {{'score': m.score, 'reasons': m.reasons}} AS correlation,
           {{{metric_struct}}} AS metrics
    FROM {t["meetings"]} m
    JOIN {metrics} x USING (meeting_id)
    LEFT JOIN parts USING (meeting_id)
    LEFT JOIN evs USING (meeting_id)
    LEFT JOIN ds USING (meeting_id)
    ORDER BY m.start, m.meeting_id
    """


def _meetings_flat_sql(t: dict[str, str], metrics: str) -> str:
    """SQL giving the flat meetings table: one row per meeting, metrics as columns."""
    cols = ", ".join(f"x.{name}" for name, _ in METRIC_FIELDS if name != "duration_minutes")
    return f"""
    SELECT m.meeting_id, m.calendar_event_id, m.ical_uid, m.status, m.origin, m.kind, m.title,
           m.start, m."end",
           x.duration_minutes, m.time_zone, m.organizer_email, m.conference_url,
           array_to_string(m.channel_ids, '; ') AS channel_ids, m.score,
           array_to_string(m.reasons, '; ') AS reasons, {cols}
    FROM {t["meetings"]} m JOIN {metrics} x USING (meeting_id)
    ORDER BY m.start, m.meeting_id
    """


def _participants_flat_sql(t: dict[str, str], mt: MetricTables) -> str:
    """SQL giving the flat participants table with names, departments and each attendee's own figures."""
    return f"""
    SELECT p.meeting_id, p.person_id, p.email, p.slack_user_id, pe.name, pe.department,
           coalesce(pe.internal, false) AS internal, p.response_status, p.invited, p.organizer, p.optional,
           p.evidenced, a.who IS NOT NULL AS attendee, round(coalesce(a.seconds, 0) / 3600, 2) AS hours,
           round(coalesce(a.after_hours_seconds, 0) / 3600, 2) AS after_hours_hours,
           round(coalesce(a.conflict_seconds, 0) / 3600, 2) AS conflict_hours,
           coalesce(a.multitask_messages, 0) AS multitask_messages
    FROM {t["participants"]} p LEFT JOIN {t["people"]} pe USING (person_id)
    LEFT JOIN {mt.attendance} a ON a.meeting_id = p.meeting_id AND a.who = coalesce(p.person_id, p.email)
    ORDER BY p.meeting_id, p.email, p.person_id
    """


def _evidence_flat_sql(t: dict[str, str]) -> str:
    """SQL giving every evidence message with the meeting it linked to, if any."""
    return f"""
    SELECT l.meeting_id, e.channel_id, e.ts, e.thread_ts, e.user_id, e.posted_at, e.kind, e.role, e.matched,
           e.conference_url, e.event_id, l.score, array_to_string(l.reasons, '; ') AS reasons
    FROM {t["evidence"]} e LEFT JOIN {t["links"]} l USING (channel_id, ts)
    ORDER BY e.posted_at, e.channel_id, e.ts
    """


def _people_sql(people: str) -> str:
    """SQL giving PEOPLE_RECORD rows."""
    return f"""
    SELECT person_id, email, slack_user_id, name, department, manager_email, internal, aliases, match
    FROM {people} ORDER BY person_id
    """


def _people_flat_sql(people: str) -> str:
    """SQL giving the flat people table (aliases joined)."""
    return f"""
    SELECT person_id, email, slack_user_id, name, department, title, manager_email, internal,
           array_to_string(aliases, '; ') AS aliases, tz, match
    FROM {people} ORDER BY person_id
    """
