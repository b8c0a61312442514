"""Reports: meeting records per the export contract, metrics on hand-built meetings, flat tables."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from aggregation import FLAT_TABLES, MEETING_RECORD, PEOPLE_RECORD, ROLLUP_TABLES, Reports, build_reports
from core.errors import ConfigurationError
from intelligence import EVIDENCE, MEETING_DOCUMENTS, MEETING_EVIDENCE, MEETING_PARTICIPANTS, MEETINGS, PEOPLE
from tests.intelligence.raw_builders import T0, at, drive_file, raw_connection, store

ANN, BOB, CAT, DAN, ZOE = (
    "ann.lee@acme.example",
    "bob.ray@acme.example",
    "cat.kim@acme.example",
    "dan.orr@acme.example",
    "zoe@client.example",
)


def person(pid: str, email: str, slack: str | None, name: str, internal: bool = True) -> dict:
    """Give a PEOPLE row."""
    return {
        "person_id": pid,
        "email": email,
        "slack_user_id": slack,
        "slack_user_ids": [slack] if slack else [],
        "name": name,
        "department": "Engineering" if internal else None,
        "title": None,
        "manager_email": ANN if pid != "d-ann" and internal else None,
        "internal": internal,
        "aliases": ["alee@acme.example"] if pid == "d-ann" else [],
        "emails": [email],
        "tz": "Europe/Berlin",
        "match": "primary" if internal else "unmatched",
    }


def meeting(mid: str, status: str, origin: str, minutes: int, kind: str = "one_off") -> dict:
    """Give a MEETINGS row starting at T0."""
    calendar = mid.startswith("cal:")
    return {
        "meeting_id": mid,
        "calendar_event_id": mid[4:] if calendar else None,
        "ical_uid": f"{mid[4:]}@google.com" if calendar else None,
        "recurring_event_id": None,
        "status": status,
        "origin": origin,
        "kind": kind,
        "title": f"Title of {mid}",
        "start": T0,
        "end": T0 + timedelta(minutes=minutes),
        "time_zone": "Europe/Berlin" if calendar else None,
        "organizer_email": ANN if calendar else None,
        "conference_url": None,
        "calendars": 2 if calendar else 0,
        "channel_ids": ["C1"],
        "score": 0.9,
        "reasons": ["first reason", "second reason"],
    }


def participant(
    mid: str,
    pid: str | None,
    email: str,
    slack: str | None,
    status: str | None,
    invited: bool = True,
    organizer: bool = False,
    evidenced: bool = False,
) -> dict:
    """Give a MEETING_PARTICIPANTS row."""
    return {
        "meeting_id": mid,
        "person_id": pid,
        "email": email,
        "slack_user_id": slack,
        "response_status": status,
        "invited": invited,
        "organizer": organizer,
        "optional": False,
        "evidenced": evidenced,
    }


def evidence(ts: str, user: str, kind: str, role: str, participants: list[str] | None = None) -> dict:
    """Give an EVIDENCE row in channel C1."""
    return {
        "channel_id": "C1",
        "ts": ts,
        "thread_ts": None,
        "user_id": user,
        "posted_at": T0,
        "kind": kind,
        "role": role,
        "matched": kind,
        "conference_url": None,
        "event_id": None,
        "drive_file_ids": [],
        "room_id": None,
        "room_start": None,
        "room_end": None,
        "room_participants": participants or [],
    }


def link(mid: str, ts: str, kind: str, role: str) -> dict:
    """Give a MEETING_EVIDENCE row in channel C1."""
    return {
        "meeting_id": mid,
        "channel_id": "C1",
        "ts": ts,
        "kind": kind,
        "role": role,
        "score": 0.8,
        "reasons": [f"because {kind}"],
    }


PEOPLE_ROWS = [
    person("d-ann", ANN, "U1", "Ann Lee"),
    person("d-bob", BOB, "U2", "Bob Ray"),
    person("d-cat", CAT, "U3", "Cat Kim"),
    person("d-dan", DAN, "U4", "Dan Orr"),
    person("ext:zoe@client.example", ZOE, None, "Zoe", internal=False),
]
MEETING_ROWS = [
    meeting("cal:m1", "held", "calendar+slack", 60),
    meeting("cal:m2", "cancelled", "calendar+slack", 30),
    meeting("huddle:C1:3.0", "held", "slack", 20, kind="huddle"),
]
PARTICIPANT_ROWS = [
    participant("cal:m1", "d-ann", ANN, "U1", "accepted", organizer=True, evidenced=True),
    participant("cal:m1", "d-bob", BOB, "U2", "accepted", evidenced=True),
    participant("cal:m1", "d-cat", CAT, "U3", "declined"),
    participant("cal:m1", "ext:zoe@client.example", ZOE, None, "needsAction"),
    participant("cal:m1", "d-dan", DAN, "U4", None, invited=False, evidenced=True),
    participant("cal:m2", "d-ann", ANN, "U1", "accepted", organizer=True, evidenced=True),
    participant("cal:m2", "d-bob", BOB, "U2", "accepted"),
    participant("huddle:C1:3.0", "d-ann", ANN, "U1", None, invited=False, evidenced=True),
    participant("huddle:C1:3.0", "d-bob", BOB, "U2", None, invited=False, evidenced=True),
]
EVIDENCE_ROWS = [
    evidence("1.1", "U2", "agenda", "pre"),
    evidence("1.2", "U4", "joining", "signal"),
    evidence("1.3", "U1", "recap", "post"),
    evidence("1.4", "U1", "action_items", "post"),
    evidence("2.1", "U1", "cancellation", "signal"),
    evidence("3.0", "USLACKBOT", "huddle", "during", ["U1", "U2"]),
    evidence("9.9", "U3", "agenda", "pre"),  # linked to nothing
]
LINK_ROWS = [
    link("cal:m1", "1.1", "agenda", "pre"),
    link("cal:m1", "1.2", "joining", "signal"),
    link("cal:m1", "1.3", "recap", "post"),
    link("cal:m1", "1.4", "action_items", "post"),
    link("cal:m2", "2.1", "cancellation", "signal"),
    link("huddle:C1:3.0", "3.0", "huddle", "during"),
]
DOCUMENT_ROWS = [
    {
        "meeting_id": "cal:m1",
        "file_id": "1SpecFile001",
        "sources": ["calendar_attachment", "slack_message"],
        "title": "Spec (attachment title)",
        "url": "https://drive.google.com/open?id=1SpecFile001",
    },
    {
        "meeting_id": "cal:m1",
        "file_id": "1DeckFile001",
        "sources": ["calendar_attachment"],
        "title": "Deck",
        "url": "https://docs.example/deck",
    },
    {
        "meeting_id": "cal:m1",
        "file_id": "1Unknown0001",
        "sources": ["slack_message"],
        "title": None,
        "url": None,
    },
]


@pytest.fixture(scope="module")
def reports() -> Reports:
    """Give the reports over the hand-built meetings."""
    con = raw_connection(drive_files=[drive_file("1SpecFile001", "Spec")])
    for name, rows, schema in (
        ("people", PEOPLE_ROWS, PEOPLE),
        ("meetings", MEETING_ROWS, MEETINGS),
        ("meeting_participants", PARTICIPANT_ROWS, MEETING_PARTICIPANTS),
        ("meeting_evidence", LINK_ROWS, MEETING_EVIDENCE),
        ("meeting_documents", DOCUMENT_ROWS, MEETING_DOCUMENTS),
        ("evidence", EVIDENCE_ROWS, EVIDENCE),
    ):
        store(con, name, pa.Table.from_pylist(rows, schema=schema))
    return build_reports(con)


def records(reports: Reports) -> dict[str, dict]:
    """Give the meeting records by meeting id."""
    return {r["meeting_id"]: r for r in reports.meeting_records.to_pylist()}


@pytest.mark.parametrize(
    ("meeting_id", "expected"),
    [
        (
            "cal:m1",
            {
                "invited": 4,
                "accepted": 2,
                "declined": 1,
                "evidenced": 3,
                "attended": 3,
                "duration_minutes": 60.0,
                "person_hours": 3.0,
                "pre_messages": 1,
                "signals": 1,
                "during_messages": 0,
                "followups": 2,
                "evidence_messages": 4,
                "documents": 3,
            },
        ),
        (
            "cal:m2",
            {
                "invited": 2,
                "accepted": 2,
                "declined": 0,
                "evidenced": 1,
                "attended": 2,
                "duration_minutes": 30.0,
                "person_hours": 0.0,
                "pre_messages": 0,
                "signals": 1,
                "during_messages": 0,
                "followups": 0,
                "evidence_messages": 1,
                "documents": 0,
            },
        ),
        (
            "huddle:C1:3.0",
            {
                "invited": 0,
                "accepted": 0,
                "declined": 0,
                "evidenced": 2,
                "attended": 2,
                "duration_minutes": 20.0,
                "person_hours": 0.67,
                "pre_messages": 0,
                "signals": 0,
                "during_messages": 1,
                "followups": 0,
                "evidence_messages": 1,
                "documents": 0,
            },
        ),
    ],
)
def test_metrics_of_hand_built_meetings(reports: Reports, meeting_id: str, expected: dict) -> None:
    """Invited/accepted count invitees; evidenced counts posters and huddle people; hours use attended.

    These are the metrics the first release had; they keep their values (tests/aggregation/test_metrics.py
    checks the rest)."""
    metrics = records(reports)[meeting_id]["metrics"]
    assert {name: metrics[name] for name in expected} == expected


def test_meeting_record_follows_the_export_contract(reports: Reports) -> None:
    """A record has exactly the contract's fields, nested participants, evidence, documents, correlation."""
    assert reports.meeting_records.schema == MEETING_RECORD
    assert MEETING_RECORD.names == [
        "meeting_id",
        "calendar_event_id",
        "ical_uid",
        "status",
        "origin",
        "title",
        "start",
        "end",
        "duration_minutes",
        "channel_ids",
        "organizer_email",
        "participants",
        "slack_evidence",
        "documents",
        "correlation",
        "metrics",
    ]
    m1 = records(reports)["cal:m1"]
    assert (
        m1["calendar_event_id"],
        m1["ical_uid"],
        m1["status"],
        m1["origin"],
        m1["start"],
        m1["end"],
        m1["duration_minutes"],
        m1["channel_ids"],
        m1["organizer_email"],
    ) == ("m1", "m1@google.com", "held", "calendar+slack", T0, at(60), 60.0, ["C1"], ANN)
    assert m1["participants"] == [
        {
            "email": ANN,
            "slack_user_id": "U1",
            "name": "Ann Lee",
            "internal": True,
            "response_status": "accepted",
        },
        {
            "email": BOB,
            "slack_user_id": "U2",
            "name": "Bob Ray",
            "internal": True,
            "response_status": "accepted",
        },
        {
            "email": CAT,
            "slack_user_id": "U3",
            "name": "Cat Kim",
            "internal": True,
            "response_status": "declined",
        },
        {"email": DAN, "slack_user_id": "U4", "name": "Dan Orr", "internal": True, "response_status": None},
        {
            "email": ZOE,
            "slack_user_id": None,
            "name": "Zoe",
            "internal": False,
            "response_status": "needsAction",
        },
    ]
    assert m1["slack_evidence"] == [
        {"channel_id": "C1", "ts": "1.1", "kind": "agenda", "role": "pre"},
        {"channel_id": "C1", "ts": "1.2", "kind": "joining", "role": "signal"},
        {"channel_id": "C1", "ts": "1.3", "kind": "recap", "role": "post"},
        {"channel_id": "C1", "ts": "1.4", "kind": "action_items", "role": "post"},
    ]
    assert m1["correlation"] == {"score": 0.9, "reasons": ["first reason", "second reason"]}


def test_documents_are_named_from_drive_then_the_attachment(reports: Reports) -> None:
    """Drive's name and link win; else the attachment's title and URL; else a Drive open link."""
    assert records(reports)["cal:m1"]["documents"] == [
        {"file_id": "1DeckFile001", "name": "Deck", "url": "https://docs.example/deck"},
        {
            "file_id": "1SpecFile001",
            "name": "Spec",
            "url": "https://docs.google.com/document/d/1SpecFile001/edit",
        },
        {"file_id": "1Unknown0001", "name": None, "url": "https://drive.google.com/open?id=1Unknown0001"},
    ]


def test_people_records_follow_the_export_contract(reports: Reports) -> None:
    """people.json rows carry exactly the contract's fields."""
    assert reports.people_records.schema == PEOPLE_RECORD
    assert reports.people_records.to_pylist()[0] == {
        "person_id": "d-ann",
        "email": ANN,
        "slack_user_id": "U1",
        "name": "Ann Lee",
        "department": "Engineering",
        "manager_email": None,
        "internal": True,
        "aliases": ["alee@acme.example"],
        "match": "primary",
    }


def test_flat_tables_have_their_schemas_and_rows(reports: Reports) -> None:
    """Flat tables for CSV: meetings with metric columns, participants, all evidence, documents, people."""
    assert sorted(reports.tables) == [*sorted(FLAT_TABLES), *sorted(ROLLUP_TABLES)]
    for name, table in reports.tables.items():
        assert table.schema == (FLAT_TABLES | ROLLUP_TABLES)[name]
    assert {n: t.num_rows for n, t in reports.tables.items()} == {
        "meetings": 3,
        "participants": 9,
        "evidence": 7,
        "documents": 3,
        "people": 5,
        "rollup_person": 3,
        "rollup_team": 1,
        "rollup_channel": 1,
        "rollup_week": 1,
    }
    flat = {r["meeting_id"]: r for r in reports.tables["meetings"].to_pylist()}
    assert (flat["cal:m1"]["reasons"], flat["cal:m1"]["channel_ids"], flat["cal:m1"]["person_hours"]) == (
        "first reason; second reason",
        "C1",
        3.0,
    )
    unlinked = [r for r in reports.tables["evidence"].to_pylist() if r["meeting_id"] is None]
    assert [(r["ts"], r["score"], r["reasons"]) for r in unlinked] == [("9.9", None, None)]
    assert reports.tables["people"].to_pylist()[0]["aliases"] == "alee@acme.example"


def test_missing_derived_table_is_a_configuration_error() -> None:
    """Reports without a correlated meetings table say which table is missing."""
    with pytest.raises(ConfigurationError, match="meetings"):
        build_reports(raw_connection())
