"""Report tables built by hand (hostile text included) or synthetically at scale, without the pipeline.

`hostile_reports` gives six meetings whose every figure is worked out in the comments, so tests can assert
exact numbers; `big_reports` gives an organisation of any size through DuckDB SQL, for timing and memory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from aggregation.models import FLAT_TABLES, MEETING_RECORD, METRIC_FIELDS, PEOPLE_RECORD
from collectors.models import CALENDAR_EVENTS, SLACK_CHANNELS

# Each payload marks the page if it ever runs, so a test can see it stayed inert.
XSS_IMG = '<img src=x onerror="document.documentElement.dataset.pwned=1">'
XSS_SCRIPT = "</script><script>document.documentElement.dataset.pwned=2</script>"
XSS_NAME = '<b onmouseover="document.documentElement.dataset.pwned=4">Bo</b> & Co'
JS_URL = "javascript:document.documentElement.dataset.pwned=3"
FORMULA = '=HYPERLINK("http://evil.example","click")'
CMD = "=cmd|' /C calc'!A0"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Give 2026-09-<day> <hour>:<minute> UTC."""
    return datetime(2026, 9, day, hour, minute, tzinfo=UTC)


def ts(when: datetime, seq: int) -> str:
    """Give a Slack ts for a message posted at `when`."""
    return f"{int(when.timestamp())}.{seq:06d}"


Row = dict[str, Any]
_METRIC_KEYS = ["invited", "accepted", "declined", "evidenced", "attended", "person_hours"]
_METRIC_KEYS += ["pre_messages", "signals", "during_messages", "followups", "evidence_messages", "documents"]


def _meeting(
    mid: str,
    event: str | None,
    status: str,
    origin: str,
    kind: str,
    title: str,
    start: datetime,
    minutes: int,
    organizer: str | None,
    conf: str | None,
    channels: str,
    score: float,
    reasons: str,
    metrics: tuple[float, ...],
) -> Row:
    row = {
        "meeting_id": mid,
        "calendar_event_id": event,
        "ical_uid": f"{event}@google.com" if event else None,
        "status": status,
        "origin": origin,
        "kind": kind,
        "title": title,
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "duration_minutes": float(minutes),
        "time_zone": "Europe/Berlin" if event else None,
        "organizer_email": organizer,
        "conference_url": conf,
        "channel_ids": channels,
        "score": score,
        "reasons": reasons,
    }
    return row | dict(zip(_METRIC_KEYS, metrics, strict=True))


# metrics: invited, accepted, declined, evidenced, attended, person_hours, pre, signals, during,
# followups, evidence, docs
MEETINGS = [
    _meeting(
        "cal:ev1_20260907T090000Z",
        "ev1_20260907T090000Z",
        "held",
        "calendar+slack",
        "recurring",
        "Weekly sync",
        at(7, 9),
        60,
        "ana@acme.example",
        "https://meet.google.com/abc-defg-hij",
        "C1",
        0.92,
        "conference_url; participant_overlap",
        (3, 2, 1, 2, 3, 3.0, 1, 1, 0, 1, 3, 1),
    ),
    _meeting(
        "cal:ev2",
        "ev2",
        "cancelled",
        "calendar",
        "one_off",
        FORMULA,
        at(8, 13, 30),
        30,
        "bo@acme.example",
        None,
        "",
        1.0,
        "calendar_event",
        (2, 1, 1, 0, 1, 0.0, 0, 0, 0, 0, 0, 0),
    ),
    _meeting(
        "huddle:C2:" + ts(at(9, 15), 100),
        None,
        "held",
        "slack",
        "huddle",
        XSS_IMG,
        at(9, 15),
        20,
        None,
        None,
        "C2",
        0.75,
        "huddle",
        (0, 0, 0, 2, 2, 0.67, 0, 0, 2, 1, 3, 1),
    ),
    _meeting(
        "call:C1:" + ts(at(15, 16), 200),
        None,
        "held",
        "slack",
        "adhoc_call",
        "+SUM(1,2)",
        at(15, 16),
        45,
        None,
        "https://zoom.us/j/123",
        "C1",
        0.6,
        "call_link; time_proximity",
        (0, 0, 0, 2, 2, 1.5, 0, 1, 0, 0, 1, 0),
    ),
    _meeting(
        "cal:ev5",
        "ev5",
        "held",
        "calendar+slack",
        "one_off",
        "Quarterly planning " + XSS_SCRIPT,
        at(16, 8),
        120,
        "ana@acme.example",
        None,
        "C1; C3",
        0.88,
        "event_link; shared_document",
        (4, 3, 0, 1, 3, 6.0, 1, 0, 0, 1, 2, 1),
    ),
    _meeting(
        "cal:ev6",
        "ev6",
        "held",
        "calendar",
        "recurring",
        "bell\x07ring _x0041_ @standup",
        at(17, 7),
        15,
        "chen@acme.example",
        None,
        "",
        1.0,
        "calendar_event",
        (2, 2, 0, 0, 2, 0.5, 0, 0, 0, 0, 0, 0),
    ),
]
M1, M2, M3, M4, M5, M6 = (m["meeting_id"] for m in MEETINGS)
# Minutes from the end to the first follow-up, for the held meetings that had one (metrics.md).
for _m, _latency in zip(MEETINGS, (10.0, None, 200.0, None, 5000.0, None), strict=True):
    _m["followup_latency_minutes"] = _latency

PEOPLE: list[Row] = [
    {
        "person_id": "d-ana",
        "email": "ana@acme.example",
        "slack_user_id": "U1",
        "name": "Ana Ruiz",
        "department": "Engineering",
        "title": "Lead",
        "manager_email": None,
        "internal": True,
        "aliases": "ana.ruiz@acme.example",
        "tz": "Europe/Berlin",
        "match": "alias",
    },
    {
        "person_id": "d-bo",
        "email": "bo@acme.example",
        "slack_user_id": "U2",
        "name": XSS_NAME,
        "department": "Sales",
        "title": "AE",
        "manager_email": "ana@acme.example",
        "internal": True,
        "aliases": "",
        "tz": "America/New_York",
        "match": "primary",
    },
    {
        "person_id": "d-chen",
        "email": "chen@acme.example",
        "slack_user_id": "U3",
        "name": "Chen Novak",
        "department": "Engineering",
        "title": "Engineer",
        "manager_email": "ana@acme.example",
        "internal": True,
        "aliases": "",
        "tz": "Europe/Berlin",
        "match": "name",
    },
    {
        "person_id": "d-dee",
        "email": "dee@acme.example",
        "slack_user_id": "U4",
        "name": "Dee Ops",
        "department": "=Ops",
        "title": None,
        "manager_email": None,
        "internal": True,
        "aliases": "",
        "tz": None,
        "match": "primary",
    },
    {
        "person_id": "ext:vendor@partner.example",
        "email": "vendor@partner.example",
        "slack_user_id": None,
        "name": "Vera Vendor",
        "department": None,
        "title": None,
        "manager_email": None,
        "internal": False,
        "aliases": "",
        "tz": None,
        "match": "unmatched",
    },
]
_BY_ID = {p["person_id"]: p for p in PEOPLE}


def _part(
    mid: str,
    pid: str,
    response: str | None,
    *,
    invited: bool = True,
    organizer: bool = False,
    evidenced: bool = False,
) -> Row:
    p = _BY_ID[pid]
    return {
        "meeting_id": mid,
        "person_id": pid,
        "email": p["email"],
        "slack_user_id": p["slack_user_id"],
        "name": p["name"],
        "department": p["department"],
        "internal": p["internal"],
        "response_status": response,
        "invited": invited,
        "organizer": organizer,
        "optional": False,
        "evidenced": evidenced,
    }


PARTICIPANTS = [
    _part(M1, "d-ana", "accepted", organizer=True, evidenced=True),
    _part(M1, "d-chen", "accepted"),
    _part(M1, "ext:vendor@partner.example", "declined"),
    _part(M1, "d-bo", None, invited=False, evidenced=True),
    _part(M2, "d-bo", "accepted", organizer=True),
    _part(M2, "d-dee", "declined"),
    _part(M3, "d-ana", None, invited=False, evidenced=True),
    _part(M3, "d-chen", None, invited=False, evidenced=True),
    _part(M4, "d-bo", None, invited=False, evidenced=True),
    _part(M4, "d-dee", None, invited=False, evidenced=True),
    _part(M5, "d-ana", "accepted", organizer=True, evidenced=True),
    _part(M5, "d-bo", "accepted"),
    _part(M5, "d-chen", "accepted"),
    _part(M5, "ext:vendor@partner.example", "needsAction"),
    _part(M6, "d-chen", "accepted", organizer=True),
    _part(M6, "d-dee", "accepted"),
]


def _ev(
    mid: str | None,
    channel: str,
    when: datetime,
    seq: int,
    user: str,
    kind: str,
    role: str,
    matched: str,
    score: float | None,
    reasons: str | None,
    *,
    thread: str | None = None,
    conf: str | None = None,
    event: str | None = None,
) -> Row:
    return {
        "meeting_id": mid,
        "channel_id": channel,
        "ts": ts(when, seq),
        "thread_ts": thread,
        "user_id": user,
        "posted_at": when,
        "kind": kind,
        "role": role,
        "matched": matched,
        "conference_url": conf,
        "event_id": event,
        "score": score,
        "reasons": reasons,
    }


EVIDENCE = [
    _ev(M1, "C1", at(7, 7), 100, "U1", "agenda", "pre", "agenda", 0.8, "time_proximity; participant_overlap"),
    _ev(
        M1,
        "C1",
        at(7, 9),
        200,
        "U2",
        "call_link",
        "signal",
        "https://meet.google.com/abc-defg-hij",
        0.95,
        "conference_url",
        conf="https://meet.google.com/abc-defg-hij",
    ),
    _ev(
        M1,
        "C1",
        at(7, 10, 10),
        300,
        "U1",
        "recap",
        "post",
        CMD,
        0.7,
        "thread; time_proximity",
        thread=ts(at(7, 9), 200),
    ),
    _ev(M3, "C2", at(9, 15), 100, "U1", "huddle", "during", "huddle", 1.0, "huddle"),
    _ev(
        M3,
        "C2",
        at(9, 15, 5),
        200,
        "U3",
        "during",
        "during",
        XSS_IMG,
        0.9,
        "huddle_thread",
        thread=ts(at(9, 15), 100),
    ),
    _ev(M3, "C2", at(9, 15, 40), 300, "U3", "action_items", "post", "action items", 0.7, "time_proximity"),
    _ev(
        M4,
        "C1",
        at(15, 16),
        200,
        "U2",
        "call_link",
        "signal",
        "https://zoom.us/j/123",
        0.6,
        "call_link",
        conf="https://zoom.us/j/123",
    ),
    _ev(
        M5,
        "C3",
        at(16, 6),
        100,
        "U1",
        "calendar_link",
        "pre",
        "calendar event link",
        0.9,
        "event_link",
        event="ev5",
    ),
    _ev(M5, "C1", at(16, 10), 200, "U1", "recap", "post", "recap", 0.75, "time_proximity; shared_document"),
    _ev(None, "C3", at(18, 11), 100, "U4", "call_request", "pre", "quick call?", None, None),
]

DOCUMENTS = [
    {
        "meeting_id": M1,
        "file_id": "F1",
        "name": "Sync notes",
        "url": "https://docs.google.com/document/d/F1/edit",
        "mime_type": "application/vnd.google-apps.document",
        "sources": "calendar_attachment",
    },
    {
        "meeting_id": M3,
        "file_id": "F2",
        "name": XSS_IMG + ".pdf",
        "url": JS_URL,
        "mime_type": "application/pdf",
        "sources": "slack_message",
    },
    {
        "meeting_id": M5,
        "file_id": "F3",
        "name": "-Q3 plan",
        "url": "https://docs.google.com/spreadsheets/d/F3/edit",
        "mime_type": "application/vnd.google-apps.spreadsheet",
        "sources": "event_description; slack_message",
    },
]

CHANNELS = [
    {"channel_id": "C1", "name": "general"},
    {"channel_id": "C2", "name": "<i>design</i>"},
    {"channel_id": "C3", "name": "planning"},
]

CALENDAR = [
    {
        "calendar_id": "ana@acme.example",
        "event_id": "ev1_20260907T090000Z",
        "html_link": "https://www.google.com/calendar/event?eid=ZXYxXzIwMjYwOTA3VDA5MDAwMFo",
    },
    {
        "calendar_id": "bo@acme.example",
        "event_id": "ev2",
        "html_link": "https://www.google.com/calendar/event?eid=ZXYy",
    },
    {
        "calendar_id": "ana@acme.example",
        "event_id": "ev5",
        "html_link": "https://www.google.com/calendar/event?eid=ZXY1",
    },
    {
        "calendar_id": "bo@acme.example",
        "event_id": "ev5",
        "html_link": "https://www.google.com/calendar/event?eid=ZXY1",
    },
    {"calendar_id": "chen@acme.example", "event_id": "ev6", "html_link": JS_URL},
]


def _create(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register("_builder_rows", table)
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _builder_rows')
    con.unregister("_builder_rows")


def hostile_reports(
    con: duckdb.DuckDBPyConnection, *, rollups: bool = False, workspace: str | None = None
) -> None:
    """Create the report tables, calendar_events, slack_channels and state_meta of the six meetings."""
    rows = {
        "meetings": MEETINGS,
        "participants": PARTICIPANTS,
        "evidence": EVIDENCE,
        "documents": DOCUMENTS,
        "people": PEOPLE,
    }
    for name, schema in FLAT_TABLES.items():
        _create(con, f"report_{name}", pa.Table.from_pylist(rows[name], schema=schema))
    _create(con, "calendar_events", pa.Table.from_pylist(CALENDAR, schema=CALENDAR_EVENTS))
    _create(con, "slack_channels", pa.Table.from_pylist(CHANNELS, schema=SLACK_CHANNELS))
    con.execute("CREATE OR REPLACE TABLE state_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    if workspace:
        con.execute("INSERT INTO state_meta VALUES ('slack_workspace_url', ?)", [workspace])
    _nested_records(con)
    if rollups:
        con.execute(
            "CREATE OR REPLACE TABLE report_rollup_weekly AS SELECT * FROM (VALUES "
            "(DATE '2026-09-07', 4, 3.25), (DATE '2026-09-14', 3, 3.0)) t(week, meetings, hours)"
        )
        con.execute(
            "CREATE OR REPLACE TABLE report_rollup_teams AS SELECT * FROM (VALUES "
            "('Engineering', 6.92), ('=Ops', 1.0)) t(department, person_hours)"
        )


def _nested_records(con: duckdb.DuckDBPyConnection) -> None:
    """Create meeting_records and people_records (the JSON contract) from the flat tables."""
    metrics = ", ".join(f"'{name}': m.{name}" for name, _ in METRIC_FIELDS)
    participant = (
        "{'email': p.email, 'slack_user_id': p.slack_user_id, 'name': p.name, 'internal': p.internal, "
    )
    participant += "'response_status': p.response_status}"
    evidence = "{'channel_id': e.channel_id, 'ts': e.ts, 'kind': e.kind, 'role': e.role}"
    document = "{'file_id': d.file_id, 'name': d.name, 'url': d.url}"
    records = con.sql(
        f"""
        SELECT m.meeting_id, m.calendar_event_id, m.ical_uid, m.status, m.origin, m.title, m.start, m."end",
               m.duration_minutes, string_split(nullif(m.channel_ids, ''), '; ') AS channel_ids,
               m.organizer_email,
               coalesce((SELECT list({participant}) FROM report_participants p
                         WHERE p.meeting_id = m.meeting_id), []) AS participants,
               coalesce((SELECT list({evidence}) FROM report_evidence e
                         WHERE e.meeting_id = m.meeting_id), []) AS slack_evidence,
               coalesce((SELECT list({document}) FROM report_documents d
                         WHERE d.meeting_id = m.meeting_id), []) AS documents,
               {{'score': m.score, 'reasons': string_split(m.reasons, '; ')}} AS correlation,
               {{{metrics}}} AS metrics
        FROM report_meetings m ORDER BY m.start
        """
    ).to_arrow_table()
    _create(con, "meeting_records", records.cast(MEETING_RECORD))
    people = con.sql(
        "SELECT person_id, email, slack_user_id, name, department, manager_email, internal, "
        "string_split(nullif(aliases, ''), '; ') AS aliases, match FROM report_people ORDER BY person_id"
    ).to_arrow_table()
    _create(con, "people_records", people.cast(PEOPLE_RECORD))


# The columns big_reports fills, in order; columns added to the schemas later stay NULL.
_BIG_MEETING_COLUMNS = ", ".join(
    f'"{c}"' for c in FLAT_TABLES["meetings"].names[: FLAT_TABLES["meetings"].names.index("reasons") + 1]
)
_BIG_MEETING_COLUMNS += ", " + ", ".join(_METRIC_KEYS)
_BIG_PARTICIPANT_COLUMNS = ", ".join(
    FLAT_TABLES["participants"].names[: FLAT_TABLES["participants"].names.index("evidenced") + 1]
)


def big_reports(con: duckdb.DuckDBPyConnection, meetings: int, people: int = 600) -> None:
    """Create report tables of a synthetic organisation: `meetings` meetings over 150 days, 5 participants,
    2.5 evidence messages and 0.25 documents each, hostile text sprinkled in."""
    for name, schema in FLAT_TABLES.items():
        _create(con, f"report_{name}", schema.empty_table())
    con.execute(
        f"""
        INSERT INTO report_people SELECT 'd-' || i, 'person' || i || '@acme.example', 'U' || i,
            CASE WHEN i % 97 = 0 THEN '=cmd' ELSE 'Person ' || i END, 'Dept ' || (i % 12), 'Role',
            NULL, i % 50 <> 0, '', 'Europe/Berlin', 'primary'
        FROM range({people}) t(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO report_meetings ({_BIG_MEETING_COLUMNS})
        SELECT 'm' || i, CASE WHEN i % 4 <> 0 THEN 'ev' || i END,
            CASE WHEN i % 4 <> 0 THEN 'ev' || i || '@google.com' END,
            CASE WHEN i % 20 = 0 THEN 'cancelled' ELSE 'held' END,
            CASE WHEN i % 4 = 0 THEN 'slack' WHEN i % 3 = 0 THEN 'calendar+slack' ELSE 'calendar' END,
            CASE WHEN i % 4 = 0 THEN 'huddle' ELSE 'one_off' END,
            CASE WHEN i % 101 = 0 THEN '=HYPERLINK("x")' ELSE 'Meeting about topic ' || (i % 313) END,
            TIMESTAMPTZ '2026-04-01 08:00:00+00' + to_minutes((i * 37 % 216000)::BIGINT),
            TIMESTAMPTZ '2026-04-01 08:30:00+00' + to_minutes((i * 37 % 216000)::BIGINT),
            30.0, 'Europe/Berlin', 'person' || (i % {people}) || '@acme.example', NULL, 'C' || (i % 40),
            0.5 + (i % 50) / 100, 'time_proximity; participant_overlap', 5, 4, 1, 2, 5, 2.5, 1, 0, 0, 1, 3,
            (i % 4 = 0)::INT
        FROM range({meetings}) t(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO report_participants ({_BIG_PARTICIPANT_COLUMNS})
        SELECT 'm' || i, 'd-' || ((i * 7 + k) % {people}),
            'person' || ((i * 7 + k) % {people}) || '@acme.example', 'U' || ((i * 7 + k) % {people}),
            'Person ' || ((i * 7 + k) % {people}), 'Dept ' || (((i * 7 + k) % {people}) % 12), true,
            CASE WHEN k = 4 THEN 'declined' ELSE 'accepted' END, true, k = 0, false, k < 2
        FROM range({meetings}) t(i), range(5) u(k)
        """
    )
    con.execute(
        f"""
        INSERT INTO report_evidence SELECT CASE WHEN j % 10 = 9 THEN NULL ELSE 'm' || (j // 2.5)::BIGINT END,
            'C' || (j % 40), (1775030400 + j * 60) || '.000100', NULL, 'U' || (j % {people}),
            TIMESTAMPTZ '2026-04-01 00:00:00+00' + to_minutes(j), 'agenda', 'pre',
            CASE WHEN j % 53 = 0 THEN '<img src=x onerror=alert(1)>' ELSE 'agenda for today' END,
            NULL, NULL, 0.8, 'time_proximity'
        FROM range({meetings * 5 // 2}) t(j)
        """
    )
    con.execute(
        f"""
        INSERT INTO report_documents SELECT 'm' || i, 'F' || i, 'Doc ' || i,
            'https://docs.google.com/document/d/F' || i || '/edit', 'application/vnd.google-apps.document',
            'slack_message'
        FROM range(0, {meetings}, 4) t(i)
        """
    )
