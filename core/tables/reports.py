"""Report schemas: the nested meeting and people records of the export contract, and the flat CSV tables."""

from __future__ import annotations

import pyarrow as pa

from core.tables.raw import UTC_US

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

# Per-meeting coordination metrics, in the order reports show them; docs/metrics.md defines each exactly.
METRIC_FIELDS: list[tuple[str, pa.DataType]] = [
    ("invited", pa.int32()),  # non-resource attendees
    ("accepted", pa.int32()),
    ("declined", pa.int32()),
    ("evidenced", pa.int32()),  # distinct people who posted linked evidence or were in the huddle
    ("attended", pa.int32()),  # distinct people who accepted or were evidenced
    ("duration_minutes", pa.float64()),
    ("person_hours", pa.float64()),  # attended x hours; 0 for cancelled meetings
    ("pre_messages", pa.int32()),
    ("pre_people", pa.int32()),  # distinct people who posted the pre-meeting messages
    ("pre_lead_minutes", pa.float64()),  # start minus the earliest pre-meeting message; null if none
    ("signals", pa.int32()),
    ("during_messages", pa.int32()),
    ("multitask_messages", pa.int32()),  # attendees' other Slack messages inside the meeting, any channel
    ("multitask_people", pa.int32()),
    ("multitask_person_hours", pa.float64()),  # meeting hours of the attendees who multitasked
    ("followups", pa.int32()),
    ("followup_latency_minutes", pa.float64()),  # end to the first follow-up (0 if before); null if none
    ("action_items", pa.int32()),
    ("evidence_messages", pa.int32()),
    ("documents", pa.int32()),
    ("after_hours_person_hours", pa.float64()),  # person-hours outside each attendee's working hours
    ("after_hours_share", pa.float64()),  # after_hours_person_hours / person_hours; null when 0 hours
    ("conflict_hours", pa.float64()),  # per attendee, hours overlapping their other held meetings, summed
    ("recurring", pa.bool_()),
    ("adhoc", pa.bool_()),  # no calendar event: a huddle or an ad hoc call
    ("cancelled", pa.bool_()),
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
        ("match", pa.string()),  # primary | alias | name | unmatched (core.tables.derived.PEOPLE_MATCHES)
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
        ("attendee", pa.bool_()),  # accepted or evidenced: the person counts in the meeting's person-hours
        ("hours", pa.float64()),  # the person's meeting hours (0 unless attended and held)
        ("after_hours_hours", pa.float64()),
        ("conflict_hours", pa.float64()),
        ("multitask_messages", pa.int32()),
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
        ("match", pa.string()),
    ]
)
FLAT_TABLES: dict[str, pa.Schema] = {
    "meetings": MEETINGS_FLAT,
    "participants": PARTICIPANTS_FLAT,
    "evidence": EVIDENCE_FLAT,
    "documents": DOCUMENTS_FLAT,
    "people": PEOPLE_FLAT,
}

# Rollups (aggregation/_rollups.py); the flow stores each as report_<name>, exports add a Rollups sheet.
ROLLUP_PERSON = pa.schema(
    [
        ("person_id", pa.string()),  # null when an attendee email resolves to nobody
        ("email", pa.string()),
        ("name", pa.string()),
        ("department", pa.string()),
        ("internal", pa.bool_()),
        ("meetings", pa.int64()),  # held meetings attended
        ("recurring_meetings", pa.int64()),
        ("adhoc_meetings", pa.int64()),
        ("cancelled_meetings", pa.int64()),  # cancelled meetings the person had accepted
        ("meeting_hours", pa.float64()),
        ("after_hours_hours", pa.float64()),
        ("after_hours_share", pa.float64()),
        ("conflict_hours", pa.float64()),
        ("multitask_messages", pa.int64()),
        ("multitask_hours", pa.float64()),
    ]
)
ROLLUP_TEAM = pa.schema(
    [
        ("team", pa.string()),  # department; "(no department)" or "(external)" when there is none
        ("people", pa.int64()),  # distinct members who attended a held meeting
        ("meetings", pa.int64()),  # distinct held meetings with at least one member attending
        ("person_hours", pa.float64()),
        ("after_hours_hours", pa.float64()),
        ("after_hours_share", pa.float64()),
        ("conflict_hours", pa.float64()),
        ("multitask_messages", pa.int64()),
        ("multitask_hours", pa.float64()),
    ]
)
ROLLUP_CHANNEL = pa.schema(
    [
        ("channel_id", pa.string()),
        ("channel_name", pa.string()),
        ("meetings", pa.int64()),  # meetings whose channel_ids hold the channel
        ("held", pa.int64()),
        ("cancelled", pa.int64()),
        ("recurring", pa.int64()),
        ("adhoc", pa.int64()),
        ("meeting_hours", pa.float64()),
        ("person_hours", pa.float64()),
        ("evidence_messages", pa.int64()),  # linked evidence posted in the channel
        ("followups", pa.int64()),
        ("action_items", pa.int64()),
        ("median_followup_latency_minutes", pa.float64()),
    ]
)
ROLLUP_WEEK = pa.schema(
    [
        ("week", pa.date32()),  # Monday of the ISO week of the meeting's start, in UTC
        ("meetings", pa.int64()),
        ("held", pa.int64()),
        ("cancelled", pa.int64()),
        ("recurring", pa.int64()),
        ("adhoc", pa.int64()),
        ("meeting_hours", pa.float64()),  # sum of held meetings' durations
        ("person_hours", pa.float64()),
        ("after_hours_person_hours", pa.float64()),
        ("after_hours_share", pa.float64()),
        ("conflict_hours", pa.float64()),
        ("multitask_messages", pa.int64()),
        ("multitask_person_hours", pa.float64()),
        ("followups", pa.int64()),
        ("action_items", pa.int64()),
        ("median_followup_latency_minutes", pa.float64()),
        ("documents", pa.int64()),
    ]
)
ROLLUP_TABLES: dict[str, pa.Schema] = {
    "rollup_person": ROLLUP_PERSON,
    "rollup_team": ROLLUP_TEAM,
    "rollup_channel": ROLLUP_CHANNEL,
    "rollup_week": ROLLUP_WEEK,
}
