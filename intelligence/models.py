"""Derived-table schemas of the intelligence stage: people, evidence and correlated meetings.

Every public function of `intelligence` returns Arrow tables of exactly these schemas; the flow stores
them under the table names in `DERIVED_TABLES` and hands those names back to later stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pydantic import BaseModel

from collectors.models import UTC_US

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
    ]
)

# How each source identity was resolved to a person, so a mapping can be explained and audited.
IDENTITY_LINKS = pa.schema(
    [
        ("person_id", pa.string()),
        ("system", pa.string()),  # directory | slack | calendar
        ("identity", pa.string()),  # lower-cased email, or the Slack user id
        ("matched_by", pa.string()),  # primary_email | alias | email_case | name | external_email | unmatched
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
        ("conference_url", pa.string()),  # normalised join link: https://<lower host><path>
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


@dataclass(frozen=True)
class PeopleResult:
    """People resolved across directory, Slack and calendar, with how each identity was matched."""

    people: pa.Table  # PEOPLE
    links: pa.Table  # IDENTITY_LINKS


@dataclass(frozen=True)
class CorrelationResult:
    """Meetings with their participants, linked evidence and documents."""

    meetings: pa.Table  # MEETINGS
    participants: pa.Table  # MEETING_PARTICIPANTS
    links: pa.Table  # MEETING_EVIDENCE
    documents: pa.Table  # MEETING_DOCUMENTS
    excluded: pa.Table  # EXCLUDED_EVENTS


# Default names the flow stores these tables under (the defaults of the functions' table arguments).
DERIVED_TABLES: dict[str, pa.Schema] = {
    "people": PEOPLE,
    "identity_links": IDENTITY_LINKS,
    "evidence": EVIDENCE,
    "meetings": MEETINGS,
    "meeting_participants": MEETING_PARTICIPANTS,
    "meeting_evidence": MEETING_EVIDENCE,
    "meeting_documents": MEETING_DOCUMENTS,
}


class Rates(BaseModel):
    """Precision, recall and F1 of a set of predictions against the truth, with the counts behind them.

    A ratio whose denominator is zero is 1.0 (nothing to find, or nothing claimed, is not an error).
    """

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float


class CalendarScore(BaseModel):
    """How well calendar events became meetings: one per true event, none extra, the right status."""

    expected: int  # truth meetings with a calendar event id (held or cancelled)
    reported: int  # meeting rows with a calendar event id (duplicates counted)
    found: int  # distinct true event ids among the reported rows
    duplicates: int  # reported rows beyond the first for the same event id
    precision: float  # found / reported: a duplicate or a non-meeting counts against it
    recall: float  # found / expected
    status_errors: int  # found meetings whose held/cancelled status differs from the truth
    cancelled_as_held: int  # truth-cancelled events reported as held meetings
    not_meetings_as_held: int  # focus time, out of office, solo or all-day events reported as held
    focus_time_as_held: int


class PeopleScore(BaseModel):
    """Share of Slack users mapped to the directory primary email (or guest address) the truth gives."""

    correct: int
    total: int
    accuracy: float


class Evaluation(BaseModel):
    """The figures `evaluate` gives for one pipeline state against one truth.json."""

    profile: str
    seed: int
    people_count: int
    days: int
    detection: Rates  # messages linked to a meeting vs messages the truth lists as evidence
    detector: Rates  # rows of the `evidence` table (linked or not) vs the same truth
    correlation_correct: int
    correlation_total: int  # true evidence messages that were linked to some meeting
    correlation_accuracy: float
    calendar: CalendarScore
    slack_meetings: Rates  # huddles and ad hoc calls, matched by their evidence
    people: PeopleScore
    examples: dict[str, list[str]]  # a few mistakes per figure, to see what went wrong

    def targets(self) -> dict[str, bool]:
        """Give each quality target and whether this evaluation meets it."""
        c = self.calendar
        return {
            "detection F1 >= 0.95": self.detection.f1 >= 0.95,
            "correlation accuracy >= 0.98": self.correlation_accuracy >= 0.98,
            "people mapping >= 0.99": self.people.accuracy >= 0.99,
            "calendar precision >= 0.99": c.precision >= 0.99,
            "calendar recall >= 0.99": c.recall >= 0.99,
            "no duplicate meetings": c.duplicates == 0,
            "no cancelled or non-meeting event held": c.cancelled_as_held + c.not_meetings_as_held == 0,
        }
