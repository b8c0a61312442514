"""Coordination metrics (docs/metrics.md) on hand-built meetings with exact expected values, and their cost
on an L-sized synthetic organisation.

The organisation of `org_connection`, all times UTC, week of Monday 2026-09-07:

| meeting | when | attendees (local time zone) |
|---|---|---|
| cal:late | Tue 14:00-16:00 | ann (Berlin), bob (New York), cat (Tokyo), zoe (external, no tz: Berlin); |
|  |  | dan declined |
| cal:sync_20260908T150000Z | Tue 15:00-16:30, recurring, tz Tokyo | ann, bob, dan (invalid tz: Tokyo) |
| huddle:C1:... | Tue 15:30-15:45, ad hoc | ann, cat (in the huddle) |
| cal:dropped | Tue 15:00-16:00, cancelled | ann, bob accepted |
| cal:weekend | Sat 2026-09-19 10:00-11:00 | ann, bob |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from aggregation import Reports, WorkingHours, build_reports
from core.errors import ConfigurationError
from intelligence import EVIDENCE, MEETING_DOCUMENTS, MEETING_EVIDENCE, MEETING_PARTICIPANTS, MEETINGS, PEOPLE
from tests.intelligence.raw_builders import raw_connection, store

ANN, BOB, CAT, DAN, ZOE = ("d-ann", "d-bob", "d-cat", "d-dan", "ext:zoe@client.example")
LATE, SYNC, HUDDLE, DROPPED, WEEKEND = (
    "cal:late",
    "cal:sync_20260908T150000Z",
    "huddle:C1:1789227000.000100",
    "cal:dropped",
    "cal:weekend",
)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """Give 2026-09-<day> <hour>:<minute> UTC."""
    return datetime(2026, 9, day, hour, minute, tzinfo=UTC)


def ts(when: datetime, seq: int = 100) -> str:
    """Give the Slack ts of a message posted at `when`."""
    return f"{int(when.timestamp())}.{seq:06d}"


def person(pid: str, slack: str | None, dept: str | None, tz: str | None, internal: bool = True) -> dict:
    """Give a PEOPLE row."""
    email = pid.removeprefix("ext:") if pid.startswith("ext:") else f"{pid[2:]}@acme.example"
    return {
        "person_id": pid,
        "email": email,
        "slack_user_id": slack,
        "slack_user_ids": [slack] if slack else [],
        "name": pid[2:].title() if not pid.startswith("ext:") else "Zoe",
        "department": dept,
        "title": None,
        "manager_email": None,
        "internal": internal,
        "aliases": [],
        "emails": [email],
        "tz": tz,
    }


def meeting(
    mid: str, start: datetime, minutes: int, tz: str | None, channels: list[str], **extra: object
) -> dict:
    """Give a held one-off MEETINGS row; `extra` overrides fields."""
    calendar = mid.startswith("cal:")
    row = {
        "meeting_id": mid,
        "calendar_event_id": mid[4:] if calendar else None,
        "ical_uid": None,
        "recurring_event_id": None,
        "status": "held",
        "origin": "calendar+slack" if calendar else "slack",
        "kind": "one_off" if calendar else "huddle",
        "title": mid,
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "time_zone": tz,
        "organizer_email": None,
        "conference_url": None,
        "calendars": 1,
        "channel_ids": channels,
        "score": 1.0,
        "reasons": [],
    }
    return row | extra


def invitee(mid: str, pid: str, status: str | None, invited: bool = True) -> dict:
    """Give a MEETING_PARTICIPANTS row."""
    return {
        "meeting_id": mid,
        "person_id": pid,
        "email": pid.removeprefix("ext:") if pid.startswith("ext:") else f"{pid[2:]}@acme.example",
        "slack_user_id": None,
        "response_status": status,
        "invited": invited,
        "organizer": False,
        "optional": False,
        "evidenced": not invited,
    }


def evidence(
    channel: str, when: datetime, user: str, kind: str, role: str, room: list[str] | None = None
) -> dict:
    """Give an EVIDENCE row."""
    return {
        "channel_id": channel,
        "ts": ts(when),
        "thread_ts": None,
        "user_id": user,
        "posted_at": when,
        "kind": kind,
        "role": role,
        "matched": kind,
        "conference_url": None,
        "event_id": None,
        "drive_file_ids": [],
        "room_id": "R1" if room else None,
        "room_start": None,
        "room_end": None,
        "room_participants": room or [],
    }


def message(
    channel: str, when: datetime, user: str | None, subtype: str | None = None, **extra: object
) -> dict:
    """Give a slack_messages row."""
    return {
        "channel_id": channel,
        "ts": ts(when),
        "user_id": user,
        "subtype": subtype,
        "posted_at": when,
    } | extra


PEOPLE_ROWS = [
    person(ANN, "U1", "Engineering", "Europe/Berlin"),
    person(BOB, "U2", "Engineering", "America/New_York"),
    person(CAT, "U3", "Sales", "Asia/Tokyo"),
    person(DAN, "U4", "Sales", "Not/AZone"),  # unknown zone: the meeting's zone stands in
    person(ZOE, None, None, None, internal=False),  # external, no Slack, no zone
]
MEETING_ROWS = [
    meeting(LATE, utc(8, 14), 120, "Europe/Berlin", ["C1"]),
    meeting(SYNC, utc(8, 15), 90, "Asia/Tokyo", ["C4"], kind="recurring", recurring_event_id="sync"),
    meeting(HUDDLE, utc(8, 15, 30), 15, None, ["C1"]),
    meeting(DROPPED, utc(8, 15), 60, "Europe/Berlin", ["C1"], status="cancelled"),
    meeting(WEEKEND, utc(19, 10), 60, "Europe/Berlin", []),
]
PARTICIPANT_ROWS = [
    *(invitee(LATE, p, "accepted") for p in (ANN, BOB, CAT, ZOE)),
    invitee(LATE, DAN, "declined"),
    *(invitee(SYNC, p, "accepted") for p in (ANN, BOB, DAN)),
    invitee(HUDDLE, ANN, None, invited=False),
    invitee(HUDDLE, CAT, None, invited=False),
    *(invitee(DROPPED, p, "accepted") for p in (ANN, BOB)),
    *(invitee(WEEKEND, p, "accepted") for p in (ANN, BOB)),
]
# (meeting, evidence row)
LINKED = [
    (LATE, evidence("C1", utc(7, 14), "U2", "agenda", "pre")),  # a day ahead: the lead time
    (LATE, evidence("C1", utc(8, 13), "U1", "agenda", "pre")),
    (LATE, evidence("C1", utc(8, 13, 50), "UBOT", "calendar_bot", "pre")),  # a bot is nobody
    (LATE, evidence("C1", utc(8, 14), "U1", "joining", "signal")),  # inside, but the meeting's own
    (LATE, evidence("C1", utc(8, 16, 45), "U1", "recap", "post")),  # 45 min after the end
    (LATE, evidence("C1", utc(8, 17, 30), "U2", "action_items", "post")),
    (SYNC, evidence("C4", utc(8, 16), "U1", "recap", "post")),  # before the end: latency 0
    (HUDDLE, evidence("C1", utc(8, 15, 30), "USLACKBOT", "huddle", "during", ["U1", "U3"])),
    (HUDDLE, evidence("C1", utc(8, 15, 40), "U3", "during", "during")),  # multitasking for cal:late only
    (DROPPED, evidence("C1", utc(8, 10), "U1", "cancellation", "signal")),
]
OTHER_MESSAGES = [
    message("C2", utc(8, 14, 30), "U1"),  # ann, in cal:late
    message("C2", utc(8, 15, 35), "U1"),  # ann, in cal:late, the sync and the huddle
    message("C3", utc(8, 15, 10), "U2"),  # bob, in cal:late and the sync (the cancelled one does not count)
    message("C3", utc(8, 16), "U2"),  # bob, at cal:late's end (excluded) and in the sync
    message("C2", utc(8, 15, 20), "U4"),  # dan declined cal:late; in the sync
    message("C2", utc(8, 14, 10), "U3", "channel_join"),  # not written by cat
    message("C2", utc(8, 14, 20), "U9"),  # nobody we know
    message("C2", utc(8, 14, 25), None, "bot_message", bot_id="B1"),
]
DOCUMENT_ROWS = [
    {"meeting_id": mid, "file_id": fid, "sources": ["slack_message"], "title": None, "url": None}
    for mid, fid in ((LATE, "F1"), (LATE, "F2"), (SYNC, "F3"))
]


def org_connection() -> duckdb.DuckDBPyConnection:
    """Give an in-memory DuckDB with the raw and derived tables of the hand-built organisation."""
    messages = [message(e["channel_id"], e["posted_at"], e["user_id"]) for _, e in LINKED] + OTHER_MESSAGES
    messages[7]["subtype"] = "huddle_thread"
    con = raw_connection(
        slack_messages=messages,
        slack_channels=[{"channel_id": "C1", "name": "general"}, {"channel_id": "C4", "name": "planning"}],
    )
    links = [
        {
            "meeting_id": mid,
            "channel_id": e["channel_id"],
            "ts": e["ts"],
            "kind": e["kind"],
            "role": e["role"],
        }
        | {"score": 0.9, "reasons": []}
        for mid, e in LINKED
    ]
    for name, rows, schema in (
        ("people", PEOPLE_ROWS, PEOPLE),
        ("meetings", MEETING_ROWS, MEETINGS),
        ("meeting_participants", PARTICIPANT_ROWS, MEETING_PARTICIPANTS),
        ("meeting_evidence", links, MEETING_EVIDENCE),
        ("meeting_documents", DOCUMENT_ROWS, MEETING_DOCUMENTS),
        ("evidence", [e for _, e in LINKED], EVIDENCE),
    ):
        store(con, name, pa.Table.from_pylist(rows, schema=schema))
    return con


@pytest.fixture(scope="module")
def reports() -> Reports:
    """Give the reports of the hand-built organisation."""
    return build_reports(org_connection())


def metrics_of(reports: Reports) -> dict[str, dict]:
    """Give each meeting's metrics by meeting id."""
    return {r["meeting_id"]: r["metrics"] for r in reports.meeting_records.to_pylist()}


EXPECTED = {
    LATE: {
        "invited": 5,
        "accepted": 4,
        "declined": 1,
        "evidenced": 2,  # ann and bob posted; the bot maps to nobody
        "attended": 4,
        "duration_minutes": 120.0,
        "person_hours": 8.0,
        "pre_messages": 3,
        "pre_people": 2,
        "pre_lead_minutes": 1440.0,
        "signals": 1,
        "during_messages": 0,
        "multitask_messages": 4,  # ann 14:30 and 15:35, bob 15:10, cat's huddle reply 15:40
        "multitask_people": 3,
        "multitask_person_hours": 6.0,
        "followups": 2,
        "followup_latency_minutes": 45.0,
        "action_items": 1,
        "evidence_messages": 6,
        "documents": 2,
        "after_hours_person_hours": 4.0,  # ann 16-18 Berlin: 1 h; cat 23-01 Tokyo: 2 h; zoe (Berlin): 1 h
        "after_hours_share": 0.5,
        "conflict_hours": 2.25,  # ann 1 h (sync and huddle merged), bob 1 h, cat 0.25 h (huddle)
        "recurring": False,
        "adhoc": False,
        "cancelled": False,
    },
    SYNC: {
        "invited": 3,
        "accepted": 3,
        "declined": 0,
        "evidenced": 1,
        "attended": 3,
        "duration_minutes": 90.0,
        "person_hours": 4.5,
        "pre_messages": 0,
        "pre_people": 0,
        "pre_lead_minutes": None,
        "signals": 0,
        "during_messages": 0,
        "multitask_messages": 4,  # ann 15:35, bob 15:10 and 16:00, dan 15:20; ann's recap is the meeting's
        "multitask_people": 3,
        "multitask_person_hours": 4.5,
        "followups": 1,
        "followup_latency_minutes": 0.0,
        "action_items": 0,
        "evidence_messages": 1,
        "documents": 1,
        "after_hours_person_hours": 3.0,  # ann 17:00-18:30 Berlin; dan in the meeting's Tokyo 00:00-01:30
        "after_hours_share": 0.667,
        "conflict_hours": 2.0,  # ann 1 h, bob 1 h (cal:late); the cancelled meeting is no conflict
        "recurring": True,
        "adhoc": False,
        "cancelled": False,
    },
    HUDDLE: {
        "invited": 0,
        "accepted": 0,
        "declined": 0,
        "evidenced": 2,
        "attended": 2,
        "duration_minutes": 15.0,
        "person_hours": 0.5,
        "pre_messages": 0,
        "pre_people": 0,
        "pre_lead_minutes": None,
        "signals": 0,
        "during_messages": 2,
        "multitask_messages": 1,  # ann 15:35; cat's reply is in the huddle's own thread
        "multitask_people": 1,
        "multitask_person_hours": 0.25,
        "followups": 0,
        "followup_latency_minutes": None,
        "action_items": 0,
        "evidence_messages": 2,
        "documents": 0,
        "after_hours_person_hours": 0.5,  # ann 17:30 Berlin, cat 00:30 Tokyo
        "after_hours_share": 1.0,
        "conflict_hours": 0.5,
        "recurring": False,
        "adhoc": True,
        "cancelled": False,
    },
    DROPPED: {
        "invited": 2,
        "accepted": 2,
        "declined": 0,
        "evidenced": 1,
        "attended": 2,
        "duration_minutes": 60.0,
        "person_hours": 0.0,
        "pre_messages": 0,
        "pre_people": 0,
        "pre_lead_minutes": None,
        "signals": 1,
        "during_messages": 0,
        "multitask_messages": 0,
        "multitask_people": 0,
        "multitask_person_hours": 0.0,
        "followups": 0,
        "followup_latency_minutes": None,
        "action_items": 0,
        "evidence_messages": 1,
        "documents": 0,
        "after_hours_person_hours": 0.0,
        "after_hours_share": None,
        "conflict_hours": 0.0,
        "recurring": False,
        "adhoc": False,
        "cancelled": True,
    },
    WEEKEND: {
        "invited": 2,
        "accepted": 2,
        "declined": 0,
        "evidenced": 0,
        "attended": 2,
        "duration_minutes": 60.0,
        "person_hours": 2.0,
        "pre_messages": 0,
        "pre_people": 0,
        "pre_lead_minutes": None,
        "signals": 0,
        "during_messages": 0,
        "multitask_messages": 0,
        "multitask_people": 0,
        "multitask_person_hours": 0.0,
        "followups": 0,
        "followup_latency_minutes": None,
        "action_items": 0,
        "evidence_messages": 0,
        "documents": 0,
        "after_hours_person_hours": 2.0,  # Saturday is outside working days everywhere
        "after_hours_share": 1.0,
        "conflict_hours": 0.0,
        "recurring": False,
        "adhoc": False,
        "cancelled": False,
    },
}


@pytest.mark.parametrize("meeting_id", list(EXPECTED))
def test_every_metric_of_a_hand_built_meeting(reports: Reports, meeting_id: str) -> None:
    """Each meeting's metrics equal the values worked out by hand (see the comments in EXPECTED)."""
    assert metrics_of(reports)[meeting_id] == EXPECTED[meeting_id]


def test_flat_meetings_carry_every_metric_column(reports: Reports) -> None:
    """The CSV meetings table has the same metric values as the JSON records, latency in minutes."""
    flat = {r["meeting_id"]: r for r in reports.tables["meetings"].to_pylist()}
    for mid, expected in EXPECTED.items():
        assert {k: flat[mid][k] for k in expected} == expected


def test_participants_carry_each_attendees_own_figures(reports: Reports) -> None:
    """Per participant: attendee or not, hours, after-hours, conflict hours and multitasking messages."""
    rows = reports.tables["participants"].to_pylist()
    got = {
        (r["meeting_id"], r["person_id"]): (
            r["attendee"],
            r["hours"],
            r["after_hours_hours"],
            r["conflict_hours"],
            r["multitask_messages"],
        )
        for r in rows
        if r["meeting_id"] in (LATE, DROPPED)
    }
    assert got == {
        (LATE, ANN): (True, 2.0, 1.0, 1.0, 2),
        (LATE, BOB): (True, 2.0, 0.0, 1.0, 1),
        (LATE, CAT): (True, 2.0, 2.0, 0.25, 1),
        (LATE, DAN): (False, 0.0, 0.0, 0.0, 0),
        (LATE, ZOE): (True, 2.0, 1.0, 0.0, 0),
        (DROPPED, ANN): (True, 0.0, 0.0, 0.0, 0),
        (DROPPED, BOB): (True, 0.0, 0.0, 0.0, 0),
    }


def test_working_hours_are_configurable(reports: Reports) -> None:
    """With 08:00-20:00 every day, cat's and dan's Tokyo nights and bob's Saturday 06:00 stay out."""
    wide = build_reports(org_connection(), hours=WorkingHours(8, 20, (1, 2, 3, 4, 5, 6, 7)))
    got = {
        mid: (m["after_hours_person_hours"], m["after_hours_share"]) for mid, m in metrics_of(wide).items()
    }
    assert got == {
        LATE: (2.0, 0.25),
        SYNC: (1.5, 0.333),
        HUDDLE: (0.25, 0.5),
        DROPPED: (0.0, None),
        WEEKEND: (1.0, 0.5),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((17, 9), "not a range"),
        ((9, 25), "not a range"),
        ((9, 17, (0, 1)), "ISO weekdays"),
        ((9, 17, ()), "ISO"),
    ],
)
def test_bad_working_hours_are_a_configuration_error(args: tuple, message: str) -> None:
    """Working hours that are not a range within a day, or weekdays outside 1-7, are refused."""
    with pytest.raises(ConfigurationError, match=message):
        WorkingHours(*args)


def _two_meetings(first: tuple[datetime, datetime], second: tuple[datetime, datetime]) -> Reports:
    """Give the reports of two held meetings `a` and `b` that bob attends, with one message of his."""
    con = raw_connection(slack_messages=[message("C9", utc(12, 0, 30), "U2")])
    rows = [
        meeting("cal:a", first[0], int((first[1] - first[0]).total_seconds() // 60), "UTC", []),
        meeting("cal:b", second[0], int((second[1] - second[0]).total_seconds() // 60), "UTC", []),
    ]
    for name, data, schema in (
        ("people", [person(BOB, "U2", "Engineering", "UTC")], PEOPLE),
        ("meetings", rows, MEETINGS),
        (
            "meeting_participants",
            [invitee("cal:a", BOB, "accepted"), invitee("cal:b", BOB, "accepted")],
            None,
        ),
        ("meeting_evidence", [], MEETING_EVIDENCE),
        ("meeting_documents", [], MEETING_DOCUMENTS),
        ("evidence", [], EVIDENCE),
    ):
        store(con, name, pa.Table.from_pylist(data, schema=schema or MEETING_PARTICIPANTS))
    return build_reports(con)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # a crosses midnight UTC; b starts the next day: the message at 00:30 and the hour 01:00-02:00 count
        ((utc(11, 22), utc(12, 2)), (utc(12, 1), utc(12, 3)), {"cal:a": (1.0, 1), "cal:b": (1.0, 0)}),
        # b lies inside a and both span two days: the two shared days count once, not twice
        ((utc(11, 22), utc(13, 2)), (utc(11, 23), utc(12, 1)), {"cal:a": (2.0, 1), "cal:b": (2.0, 1)}),
        # back to back is no conflict; the message at 00:30 is in b only
        ((utc(11, 22), utc(12, 0)), (utc(12, 0), utc(12, 1)), {"cal:a": (0.0, 0), "cal:b": (0.0, 1)}),
    ],
)
def test_windows_across_midnight_are_joined_exactly(
    first: tuple[datetime, datetime], second: tuple[datetime, datetime], expected: dict
) -> None:
    """Day buckets never lose or double a conflict or a multitasking message of a multi-day meeting."""
    got = {
        m: (x["conflict_hours"], x["multitask_messages"])
        for m, x in metrics_of(_two_meetings(first, second)).items()
    }
    assert got == expected


def big_org(
    con: duckdb.DuckDBPyConnection, meetings: int, messages: int, people: int = 600, days: int = 150
) -> None:
    """Fill `con` (raw tables present) with a synthetic organisation: meetings of five random people in a
    12-hour daily band, 2.5 linked evidence messages each, and `messages` Slack messages spread alike."""
    zones = "['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC', NULL]"
    con.execute(
        f"""CREATE OR REPLACE TABLE people AS SELECT 'd-' || i AS person_id,
        'p' || i || '@acme.example' AS email, 'U' || i AS slack_user_id, ['U' || i] AS slack_user_ids,
        'P ' || i AS name, 'Dept ' || (i % 12) AS department, NULL::VARCHAR AS title,
        NULL::VARCHAR AS manager_email, i % 50 <> 0 AS internal, []::VARCHAR[] AS aliases,
        ['p' || i || '@acme.example'] AS emails, {zones}[i % 5 + 1] AS tz, 'primary' AS match
        FROM range({people}) t(i)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE meetings AS SELECT 'm' || i AS meeting_id,
        CASE WHEN i % 4 <> 0 THEN 'ev' || i END AS calendar_event_id, NULL::VARCHAR AS ical_uid,
        CASE WHEN i % 3 = 0 THEN 'r' || (i % 50) END AS recurring_event_id,
        CASE WHEN i % 20 = 0 THEN 'cancelled' ELSE 'held' END AS status,
        CASE WHEN i % 4 = 0 THEN 'slack' ELSE 'calendar+slack' END AS origin,
        CASE WHEN i % 4 = 0 THEN 'huddle' WHEN i % 3 = 0 THEN 'recurring' ELSE 'one_off' END AS kind,
        'T' || i AS title, s AS start, s + to_minutes(CASE WHEN i % 2 = 0 THEN 30 ELSE 60 END) AS "end",
        'Europe/Berlin' AS time_zone, NULL::VARCHAR AS organizer_email, NULL::VARCHAR AS conference_url,
        1 AS calendars, ['C' || (i % 40)] AS channel_ids, 0.9 AS score, ['r'] AS reasons
        FROM (SELECT i, TIMESTAMPTZ '2026-04-01 06:00:00+00' + to_days((i % {days})::INT)
                        + to_minutes((hash(i) % 720)::BIGINT) AS s FROM range({meetings}) t(i))"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE meeting_participants AS SELECT 'm' || i AS meeting_id,
        'd-' || q AS person_id,
        'p' || q || '@acme.example' AS email, 'U' || q AS slack_user_id,
        CASE WHEN k = 4 THEN 'declined' ELSE 'accepted' END AS response_status, true AS invited,
        k = 0 AS organizer, false AS optional, k < 2 AS evidenced
        FROM (SELECT i, k, hash(i * 5 + k) % {people} AS q FROM range({meetings}) t(i), range(5) u(k))"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE evidence AS SELECT 'C' || (j % 40) AS channel_id, j || '.000100' AS ts,
        NULL::VARCHAR AS thread_ts, 'U' || (j % {people}) AS user_id,
        TIMESTAMPTZ '2026-04-01 00:00:00+00' + to_minutes(j) AS posted_at, 'agenda' AS kind,
        CASE WHEN j % 3 = 0 THEN 'post' ELSE 'pre' END AS role, 'x' AS matched,
        NULL::VARCHAR AS conference_url,
        NULL::VARCHAR AS event_id, []::VARCHAR[] AS drive_file_ids, NULL::VARCHAR AS room_id,
        NULL::TIMESTAMPTZ AS room_start, NULL::TIMESTAMPTZ AS room_end, []::VARCHAR[] AS room_participants
        FROM range({meetings * 5 // 2}) t(j)"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE meeting_evidence AS SELECT
        'm' || (split_part(ts, '.', 1)::BIGINT // 2.5)::BIGINT AS meeting_id, channel_id, ts, kind, role,
        0.8 AS score, ['r'] AS reasons FROM evidence"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE meeting_documents AS SELECT meeting_id, 'F' || meeting_id AS file_id,
        ['slack_message'] AS sources, NULL::VARCHAR AS title, NULL::VARCHAR AS url
        FROM meetings WHERE hash(meeting_id) % 4 = 0"""
    )
    con.execute(
        f"""INSERT INTO slack_messages (channel_id, ts, user_id, text, posted_at)
        SELECT 'C' || (j % 40), j || '.000200', 'U' || (hash(j) % {people}), 'hello',
               TIMESTAMPTZ '2026-04-01 05:00:00+00' + to_days((j % {days})::INT)
               + to_seconds((hash(j * 31) % 50400)::BIGINT)
        FROM range({messages}) t(j)"""
    )


@pytest.mark.slow
def test_an_l_org_builds_every_report_row_and_the_bucketed_join_equals_a_range_join() -> None:
    """40k meetings and 1M Slack messages (the sandbox's L size) give every report row, and the day-bucketed
    multitasking join finds exactly what a plain range join finds. (Its speed is measured by `make bench`.)"""
    con = raw_connection()
    con.execute("SET threads = 2; SET memory_limit = '1GB'")
    big_org(con, meetings=40_000, messages=1_000_000)
    reports = build_reports(con)
    assert {n: t.num_rows for n, t in reports.tables.items()} == {
        "meetings": 40_000,
        "participants": 200_000,
        "evidence": 100_000,
        "documents": con.execute("SELECT count(*) FROM meeting_documents").fetchall()[0][0],
        "people": 600,
        "rollup_person": 600,
        "rollup_team": 12,
        "rollup_channel": 40,
        "rollup_week": 22,
    }
    # The same attendees (accepted invitees and evidence posters) through a plain range join, on every 10th.
    plain = con.execute(
        """WITH att AS (
            SELECT meeting_id, person_id FROM meeting_participants
            WHERE invited AND response_status = 'accepted'
            UNION
            SELECT l.meeting_id, 'd-' || substr(e.user_id, 2)
            FROM meeting_evidence l JOIN evidence e USING (ts)
        )
        SELECT count(*) FROM att JOIN meetings m USING (meeting_id) JOIN people pe USING (person_id)
        JOIN slack_messages g
          ON g.user_id = pe.slack_user_id AND g.posted_at >= m.start AND g.posted_at < m."end"
        WHERE m.status = 'held' AND substr(m.meeting_id, 2)::BIGINT % 10 = 0"""
    ).fetchall()[0][0]
    flat = reports.tables["meetings"].to_pylist()
    assert sum(r["multitask_messages"] for r in flat if int(r["meeting_id"][1:]) % 10 == 0) == plain
