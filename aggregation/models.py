"""Report schemas: the nested meeting and people records of the export contract, and the flat CSV tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from collectors.models import UTC_US

PARTICIPANT = pa.struct(
    [
        ("email", pa.string()),
        ("slack_user_id", pa.string()),
        ("name", pa.string()),
        ("internal", pa.bool_()),
        ("response_status", pa.string()),
    ]
)
EVIDENCE_REF = pa.struct(
    [("channel_id", pa.string()), ("ts", pa.string()), ("kind", pa.string()), ("role", pa.string())]
)
DOCUMENT = pa.struct([("file_id", pa.string()), ("name", pa.string()), ("url", pa.string())])
CORRELATION = pa.struct([("score", pa.float64()), ("reasons", pa.list_(pa.string()))])

# Per-meeting coordination metrics, in the order reports show them.
METRIC_FIELDS: list[tuple[str, pa.DataType]] = [
    ("invited", pa.int32()),  # non-resource attendees
    ("accepted", pa.int32()),
    ("declined", pa.int32()),
    ("evidenced", pa.int32()),  # distinct people who posted linked evidence or were in the huddle
    ("attended", pa.int32()),  # distinct people who accepted or were evidenced
    ("duration_minutes", pa.float64()),
    ("person_hours", pa.float64()),  # attended x hours; 0 for cancelled meetings
    ("pre_messages", pa.int32()),
    ("signals", pa.int32()),
    ("during_messages", pa.int32()),
    ("followups", pa.int32()),
    ("evidence_messages", pa.int32()),
    ("documents", pa.int32()),
]
METRICS = pa.struct(METRIC_FIELDS)

# One row per meeting, exactly as meetings.json carries it (DESIGN.md section 7).
MEETING_RECORD = pa.schema(
    [
        ("meeting_id", pa.string()),
        ("calendar_event_id", pa.string()),
        ("ical_uid", pa.string()),
        ("status", pa.string()),
        ("origin", pa.string()),
        ("title", pa.string()),
        ("start", UTC_US),
        ("end", UTC_US),
        ("duration_minutes", pa.float64()),
        ("channel_ids", pa.list_(pa.string())),
        ("organizer_email", pa.string()),
        ("participants", pa.list_(PARTICIPANT)),
        ("slack_evidence", pa.list_(EVIDENCE_REF)),
        ("documents", pa.list_(DOCUMENT)),
        ("correlation", CORRELATION),
        ("metrics", METRICS),
    ]
)

# One row per person, exactly as people.json carries it.
PEOPLE_RECORD = pa.schema(
    [
        ("person_id", pa.string()),
        ("email", pa.string()),
        ("slack_user_id", pa.string()),
        ("name", pa.string()),
        ("department", pa.string()),
        ("manager_email", pa.string()),
        ("internal", pa.bool_()),
        ("aliases", pa.list_(pa.string())),
    ]
)

# Flat tables for CSV/Excel: lists are joined with "; ", metrics become columns.
MEETINGS_FLAT = pa.schema(
    [
        ("meeting_id", pa.string()),
        ("calendar_event_id", pa.string()),
        ("ical_uid", pa.string()),
        ("status", pa.string()),
        ("origin", pa.string()),
        ("kind", pa.string()),
        ("title", pa.string()),
        ("start", UTC_US),
        ("end", UTC_US),
        ("duration_minutes", pa.float64()),
        ("time_zone", pa.string()),
        ("organizer_email", pa.string()),
        ("conference_url", pa.string()),
        ("channel_ids", pa.string()),
        ("score", pa.float64()),
        ("reasons", pa.string()),
        *[(name, dtype) for name, dtype in METRIC_FIELDS if name != "duration_minutes"],
    ]
)
PARTICIPANTS_FLAT = pa.schema(
    [
        ("meeting_id", pa.string()),
        ("person_id", pa.string()),
        ("email", pa.string()),
        ("slack_user_id", pa.string()),
        ("name", pa.string()),
        ("department", pa.string()),
        ("internal", pa.bool_()),
        ("response_status", pa.string()),
        ("invited", pa.bool_()),
        ("organizer", pa.bool_()),
        ("optional", pa.bool_()),
        ("evidenced", pa.bool_()),
    ]
)
EVIDENCE_FLAT = pa.schema(
    [
        ("meeting_id", pa.string()),  # empty when the evidence linked to no meeting
        ("channel_id", pa.string()),
        ("ts", pa.string()),
        ("thread_ts", pa.string()),
        ("user_id", pa.string()),
        ("posted_at", UTC_US),
        ("kind", pa.string()),
        ("role", pa.string()),
        ("matched", pa.string()),
        ("conference_url", pa.string()),
        ("event_id", pa.string()),
        ("score", pa.float64()),
        ("reasons", pa.string()),
    ]
)
DOCUMENTS_FLAT = pa.schema(
    [
        ("meeting_id", pa.string()),
        ("file_id", pa.string()),
        ("name", pa.string()),
        ("url", pa.string()),
        ("mime_type", pa.string()),
        ("sources", pa.string()),
    ]
)
PEOPLE_FLAT = pa.schema(
    [
        ("person_id", pa.string()),
        ("email", pa.string()),
        ("slack_user_id", pa.string()),
        ("name", pa.string()),
        ("department", pa.string()),
        ("title", pa.string()),
        ("manager_email", pa.string()),
        ("internal", pa.bool_()),
        ("aliases", pa.string()),
        ("tz", pa.string()),
    ]
)
FLAT_TABLES: dict[str, pa.Schema] = {
    "meetings": MEETINGS_FLAT,
    "participants": PARTICIPANTS_FLAT,
    "evidence": EVIDENCE_FLAT,
    "documents": DOCUMENTS_FLAT,
    "people": PEOPLE_FLAT,
}


@dataclass(frozen=True)
class Reports:
    """What the exporters write: nested meeting and people records, and flat tables by CSV name."""

    meeting_records: pa.Table  # MEETING_RECORD
    people_records: pa.Table  # PEOPLE_RECORD
    tables: dict[str, pa.Table] = field(default_factory=dict)  # name -> FLAT_TABLES[name]
