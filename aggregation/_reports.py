"""Report building: meeting records with nested participants, evidence, documents and metrics."""

from __future__ import annotations

import duckdb

from aggregation.models import (
    FLAT_TABLES,
    MEETING_RECORD,
    METRIC_FIELDS,
    PEOPLE_RECORD,
    Reports,
)
from collectors.models import DRIVE_FILES
from intelligence._sql import ScratchSpace, fetch, ident, require_columns, scratch
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
) -> Reports:
    """Give the meeting and people records of the export contract and the flat tables for CSV."""
    names = {
        "meetings": meetings,
        "participants": participants,
        "links": links,
        "documents": documents,
        "people": people,
        "evidence": evidence,
    }
    schemas = {
        "meetings": MEETINGS,
        "participants": MEETING_PARTICIPANTS,
        "links": MEETING_EVIDENCE,
        "documents": MEETING_DOCUMENTS,
        "people": PEOPLE,
        "evidence": EVIDENCE,
    }
    for key, name in names.items():
        require_columns(con, name, schemas[key])
    require_columns(con, "drive_files", DRIVE_FILES)
    t = {key: ident(name) for key, name in names.items()}
    with scratch(con) as s:
        metrics = _metrics(s, t)
        docs = _documents(s, t)
        return Reports(
            meeting_records=fetch(con, _records_sql(t, metrics, docs), MEETING_RECORD),
            people_records=fetch(con, _people_sql(t["people"]), PEOPLE_RECORD),
            tables={
                "meetings": fetch(con, _meetings_flat_sql(t, metrics), FLAT_TABLES["meetings"]),
                "participants": fetch(con, _participants_flat_sql(t), FLAT_TABLES["participants"]),
                "evidence": fetch(con, _evidence_flat_sql(t), FLAT_TABLES["evidence"]),
                "documents": fetch(
                    con, f"SELECT * FROM {docs} ORDER BY meeting_id, file_id", FLAT_TABLES["documents"]
                ),
                "people": fetch(con, _people_flat_sql(t["people"]), FLAT_TABLES["people"]),
            },
        )


def _metrics(s: ScratchSpace, t: dict[str, str]) -> str:
    """Materialise one row of coordination metrics per meeting."""
    return s.make(
        "metrics",
        f"""
        WITH person_slack AS (
            SELECT DISTINCT unnest(slack_user_ids) AS user_id, person_id FROM {t["people"]}
        ),
        posters AS (
            SELECT l.meeting_id, e.user_id
            FROM {t["links"]} l JOIN {t["evidence"]} e USING (channel_id, ts)
            UNION
            SELECT l.meeting_id, unnest(e.room_participants)
            FROM {t["links"]} l JOIN {t["evidence"]} e USING (channel_id, ts) WHERE l.kind = 'huddle'
        ),
        evidenced AS (
            SELECT DISTINCT p.meeting_id, ps.person_id AS who
            FROM posters p JOIN person_slack ps USING (user_id)
        ),
        accepted AS (
            SELECT DISTINCT meeting_id, coalesce(person_id, email) AS who
            FROM {t["participants"]} WHERE invited AND response_status = 'accepted'
        ),
        invitees AS (
            SELECT meeting_id, count(*) FILTER (WHERE invited) AS invited,
                   count(*) FILTER (WHERE invited AND response_status = 'accepted') AS accepted,
                   count(*) FILTER (WHERE invited AND response_status = 'declined') AS declined
            FROM {t["participants"]} GROUP BY meeting_id
        ),
        roles AS (
            SELECT meeting_id, count(*) FILTER (WHERE role = 'pre') AS pre_messages,
                   count(*) FILTER (WHERE role = 'signal') AS signals,
                   count(*) FILTER (WHERE role = 'during') AS during_messages,
                   count(*) FILTER (WHERE role = 'post') AS followups, count(*) AS evidence_messages
            FROM {t["links"]} GROUP BY meeting_id
        ),
        counts AS (
            SELECT meeting_id, count(DISTINCT who) AS attended FROM
            (SELECT * FROM accepted UNION SELECT * FROM evidenced) GROUP BY meeting_id
        ),
        evidenced_n AS (SELECT meeting_id, count(*) AS evidenced FROM evidenced GROUP BY meeting_id),
        documents_n AS (SELECT meeting_id, count(*) AS documents FROM {t["documents"]} GROUP BY meeting_id)
        SELECT m.meeting_id, coalesce(i.invited, 0) AS invited, coalesce(i.accepted, 0) AS accepted,
               coalesce(i.declined, 0) AS declined,
               coalesce(en.evidenced, 0) AS evidenced,
               coalesce(c.attended, 0) AS attended,
               round((epoch(m."end") - epoch(m.start)) / 60, 2) AS duration_minutes,
               CASE WHEN m.status = 'cancelled' THEN 0.0
                    ELSE round(coalesce(c.attended, 0) * (epoch(m."end") - epoch(m.start)) / 3600, 2) END
                   AS person_hours,
               coalesce(r.pre_messages, 0) AS pre_messages, coalesce(r.signals, 0) AS signals,
               coalesce(r.during_messages, 0) AS during_messages, coalesce(r.followups, 0) AS followups,
               coalesce(r.evidence_messages, 0) AS evidence_messages,
               coalesce(dn.documents, 0) AS documents
        FROM {t["meetings"]} m
        LEFT JOIN invitees i USING (meeting_id)
        LEFT JOIN roles r USING (meeting_id)
        LEFT JOIN counts c USING (meeting_id)
        LEFT JOIN evidenced_n en USING (meeting_id)
        LEFT JOIN documents_n dn USING (meeting_id)
        """,
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


def _participants_flat_sql(t: dict[str, str]) -> str:
    """SQL giving the flat participants table with names and departments."""
    return f"""
    SELECT p.meeting_id, p.person_id, p.email, p.slack_user_id, pe.name, pe.department,
           coalesce(pe.internal, false) AS internal, p.response_status, p.invited, p.organizer, p.optional,
           p.evidenced
    FROM {t["participants"]} p LEFT JOIN {t["people"]} pe USING (person_id)
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
    SELECT person_id, email, slack_user_id, name, department, manager_email, internal, aliases
    FROM {people} ORDER BY person_id
    """


def _people_flat_sql(people: str) -> str:
    """SQL giving the flat people table (aliases joined)."""
    return f"""
    SELECT person_id, email, slack_user_id, name, department, title, manager_email, internal,
           array_to_string(aliases, '; ') AS aliases, tz
    FROM {people} ORDER BY person_id
    """
