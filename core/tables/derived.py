"""Derived-table schemas of the intelligence stage: people, evidence and correlated meetings.

Every public function of `intelligence` returns Arrow tables of exactly these schemas; the flow stores
them under the table names in `DERIVED_TABLES` and hands those names back to later stages.
"""

from __future__ import annotations

import pyarrow as pa

from core.tables.raw import UTC_US

# One row per person: every directory user, plus external attendees and unmatched Slack humans.
PEOPLE = pa.schema(
    [
        ("person_id", pa.string()),  # directory id, "ext:<email>", "email:<email>" or "slack:<user id>"
        ("email", pa.string()),  # directory primary email (lower case), else the best known email
        ("slack_user_id", pa.string()),  # the active Slack account if there are several
        ("slack_user_ids", pa.list_(pa.string())),  # every Slack account mapped to the person
        ("name", pa.string()),
        ("department", pa.string()),
        ("title", pa.string()),
        ("manager_email", pa.string()),
        ("internal", pa.bool_()),
        ("aliases", pa.list_(pa.string())),  # directory aliases (lower case)
        ("emails", pa.list_(pa.string())),  # every lower-cased email that resolves to the person
        ("tz", pa.string()),  # IANA time zone from Slack
        ("match", pa.string()),  # primary | alias | name | unmatched (see PEOPLE_MATCHES)
    ]
)

# How a person's Slack identity was tied to the directory: by the primary email (any case; also every
# directory person without a Slack account), by another directory address, by the unique full name, or
# not at all (external attendees, unknown addresses, Slack-only people).
PEOPLE_MATCHES = ("primary", "alias", "name", "unmatched")

# How each source identity was resolved to a person, so a mapping can be explained and audited.
IDENTITY_LINKS = pa.schema(
    [
        ("person_id", pa.string()),
        ("system", pa.string()),  # directory | slack | calendar
        ("identity", pa.string()),  # lower-cased email, or the Slack user id
        # primary_email | alias | other_email | email_case | name | external_email | unmatched
        ("matched_by", pa.string()),
        ("confidence", pa.float64()),
    ]
)

# One row per Slack message that looks like meeting activity.
EVIDENCE = pa.schema(
    [
        ("channel_id", pa.string()),
        ("ts", pa.string()),
        ("thread_ts", pa.string()),
        ("user_id", pa.string()),
        ("posted_at", UTC_US),
        ("kind", pa.string()),  # see EVIDENCE_ROLES
        ("role", pa.string()),  # pre | signal | during | post
        ("matched", pa.string()),  # the phrase or link that triggered detection, for explanations
        ("conference_url", pa.string()),  # join link key: https://<provider host>/<meeting id>
        ("event_id", pa.string()),  # decoded from a calendar link's eid
        ("drive_file_ids", pa.list_(pa.string())),
        ("room_id", pa.string()),
        ("room_start", UTC_US),
        ("room_end", UTC_US),
        ("room_participants", pa.list_(pa.string())),  # Slack user ids
    ]
)

# Evidence kind -> the role it plays around a meeting.
EVIDENCE_ROLES: dict[str, str] = {
    "huddle": "during",
    "during": "during",  # a reply in a huddle's thread
    "calendar_bot": "pre",
    "calendar_link": "pre",  # a person pasting a calendar event link
    "call_link": "signal",
    "call_request": "pre",  # "quick call?"
    "agenda": "pre",
    "joining": "signal",
    "reschedule": "pre",
    "cancellation": "signal",
    "recap": "post",
    "action_items": "post",
}

MEETINGS = pa.schema(
    [
        ("meeting_id", pa.string()),  # "cal:<event id>", "huddle:<channel>:<ts>" or "call:<channel>:<ts>"
        ("calendar_event_id", pa.string()),
        ("ical_uid", pa.string()),
        ("recurring_event_id", pa.string()),
        ("status", pa.string()),  # held | cancelled
        ("origin", pa.string()),  # calendar | slack | calendar+slack
        ("kind", pa.string()),  # recurring | one_off | huddle | adhoc_call
        ("title", pa.string()),
        ("start", UTC_US),
        ("end", UTC_US),
        ("time_zone", pa.string()),
        ("organizer_email", pa.string()),
        ("conference_url", pa.string()),
        ("calendars", pa.int32()),  # how many attendee calendars carried the event
        ("channel_ids", pa.list_(pa.string())),
        ("score", pa.float64()),
        ("reasons", pa.list_(pa.string())),
    ]
)

MEETING_PARTICIPANTS = pa.schema(
    [
        ("meeting_id", pa.string()),
        ("person_id", pa.string()),  # null when an attendee email resolves to nobody
        ("email", pa.string()),
        ("slack_user_id", pa.string()),
        ("response_status", pa.string()),  # null for people not invited through the calendar
        ("invited", pa.bool_()),
        ("organizer", pa.bool_()),
        ("optional", pa.bool_()),
        ("evidenced", pa.bool_()),  # posted linked evidence or was in the huddle
    ]
)

MEETING_EVIDENCE = pa.schema(
    [
        ("meeting_id", pa.string()),
        ("channel_id", pa.string()),
        ("ts", pa.string()),
        ("kind", pa.string()),
        ("role", pa.string()),
        ("score", pa.float64()),
        ("reasons", pa.list_(pa.string())),
    ]
)

MEETING_DOCUMENTS = pa.schema(
    [
        ("meeting_id", pa.string()),
        ("file_id", pa.string()),
        ("sources", pa.list_(pa.string())),  # calendar_attachment | event_description | slack_message
        ("title", pa.string()),  # the attachment title, when the calendar gave one
        ("url", pa.string()),  # the link as found
    ]
)

# Calendar events that are not meetings, with why; for evaluation and explanations.
EXCLUDED_EVENTS = pa.schema(
    [
        ("calendar_event_id", pa.string()),
        ("reason", pa.string()),  # focus_time | out_of_office | working_location | all_day | solo
    ]
)


# Default names the flow stores these tables under (the defaults of the functions' table arguments).
DERIVED_TABLES: dict[str, pa.Schema] = {
    "people": PEOPLE,
    "identity_links": IDENTITY_LINKS,
    "evidence": EVIDENCE,
    "context_evidence": EVIDENCE,  # meeting talk found by time, place and the org's own words
    "meetings": MEETINGS,
    "meeting_participants": MEETING_PARTICIPANTS,
    "meeting_evidence": MEETING_EVIDENCE,
    "meeting_documents": MEETING_DOCUMENTS,
}
