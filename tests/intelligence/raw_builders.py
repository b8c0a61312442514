"""Hand-built raw tables for intelligence and aggregation tests: rows with sensible defaults."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from collectors.models import RAW_TABLES

T0 = datetime(2026, 9, 8, 13, 30, tzinfo=UTC)  # a Tuesday; most fixtures happen around this instant


def at(minutes: float = 0, base: datetime = T0) -> datetime:
    """Give the instant `minutes` after `base` (negative for before)."""
    return base + timedelta(minutes=minutes)


def ts_of(when: datetime, seq: int = 100) -> str:
    """Give a Slack ts string for `when`, with `seq` as the microsecond tiebreaker."""
    return f"{int(when.timestamp())}.{seq:06d}"


def eid(event_id: str, calendar: str = "ann.lee@acme.example", padding: bool = False) -> str:
    """Give the Google Calendar eid of an event, as the calendar bot writes it (no padding by default)."""
    raw = base64.urlsafe_b64encode(f"{event_id} {calendar}".encode()).decode()
    return raw if padding else raw.rstrip("=")


def message(channel: str, when: datetime, text: str = "", user: str | None = "U1", **extra: Any) -> dict:
    """Give a slack_messages row posted at `when`."""
    row = {
        "channel_id": channel,
        "ts": ts_of(when, extra.pop("seq", 100)),
        "user_id": user,
        "text": text,
        "posted_at": when,
    }
    for key in ("room", "attachments", "files", "reactions"):
        if isinstance(extra.get(key), (dict, list)):
            extra[key] = json.dumps(extra[key])
    row.update(extra)
    return row


def huddle_room(
    start: datetime, end: datetime, participants: list[str], room_id: str = "R1", channel: str = "C1"
) -> dict:
    """Give a huddle `room` object as Slack sends it."""
    return {
        "id": room_id,
        "name": "",
        "created_by": participants[0],
        "date_start": int(start.timestamp()),
        "date_end": int(end.timestamp()),
        "participant_history": participants,
        "participants": [],
        "channels": [channel],
        "has_ended": True,
    }


def attendee(email: str, status: str = "accepted", **extra: Any) -> dict:
    """Give a calendar attendee struct."""
    row = {
        "email": email,
        "display_name": None,
        "response_status": status,
        "optional": False,
        "organizer": False,
        "is_self": False,
        "resource": False,
    }
    row.update(extra)
    return row


def event(
    event_id: str,
    start: datetime,
    minutes: int = 30,
    attendees: list[dict] | None = None,
    calendar: str | None = None,
    **extra: Any,
) -> dict:
    """Give a calendar_events row for `event_id` as read from `calendar` (default: the first attendee)."""
    people = (
        attendees
        if attendees is not None
        else [attendee("ann.lee@acme.example"), attendee("bob.ray@acme.example")]
    )
    row = {
        "calendar_id": calendar or (people[0]["email"] if people else "ann.lee@acme.example"),
        "event_id": event_id,
        "ical_uid": f"{event_id}@google.com",
        "status": "confirmed",
        "event_type": "default",
        "summary": "Design review",
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "all_day": False,
        "time_zone": "Europe/Berlin",
        "organizer_email": people[0]["email"] if people else None,
        "attendees": people,
        "attachments": [],
        "conference_uris": [],
        "updated": T0,
        "etag": '"1"',
    }
    row.update(extra)
    return row


def directory_user(
    person_id: str, email: str, name: str, aliases: list[str] | None = None, **extra: Any
) -> dict:
    """Give a directory_users row."""
    given, _, family = name.partition(" ")
    row = {
        "person_id": person_id,
        "primary_email": email,
        "aliases": aliases or [],
        "full_name": name,
        "given_name": given,
        "family_name": family,
        "department": "Engineering",
        "title": "Engineer",
        "manager_email": None,
        "suspended": False,
    }
    row.update(extra)
    return row


def slack_user(user_id: str, email: str | None, real_name: str, **extra: Any) -> dict:
    """Give a slack_users row."""
    row = {
        "user_id": user_id,
        "team_id": "T1",
        "name": real_name.lower().replace(" ", "."),
        "real_name": real_name,
        "display_name": real_name.split(" ")[0],
        "email": email,
        "tz": "Europe/Berlin",
        "tz_offset": 7200,
        "is_bot": False,
        "deleted": False,
        "is_restricted": False,
    }
    row.update(extra)
    return row


def drive_file(file_id: str, name: str) -> dict:
    """Give a drive_files row."""
    return {
        "file_id": file_id,
        "name": name,
        "mime_type": "application/vnd.google-apps.document",
        "web_view_link": f"https://docs.google.com/document/d/{file_id}/edit",
        "owner_emails": [],
        "created_time": T0,
        "modified_time": T0,
        "trashed": False,
    }


# A small org used across tests: Ann and Bob are Engineering, U1 and U2 their Slack accounts.
ORG_DIRECTORY = [
    directory_user("d-ann", "ann.lee@acme.example", "Ann Lee", ["alee@acme.example"]),
    directory_user("d-bob", "bob.ray@acme.example", "Bob Ray"),
    directory_user("d-cat", "cat.kim@acme.example", "Cat Kim"),
]
ORG_SLACK = [
    slack_user("U1", "ann.lee@acme.example", "Ann Lee"),
    slack_user("U2", "bob.ray@acme.example", "Bob Ray", tz="America/New_York"),
    slack_user("U3", "cat.kim@acme.example", "Cat Kim"),
    slack_user("UCAL", None, "Google Calendar", is_bot=True),
]


def table(name: str, rows: list[dict]) -> pa.Table:
    """Give raw table `name` with `rows` (missing columns null) in its exact schema."""
    schema = RAW_TABLES[name].schema
    return pa.Table.from_pylist([{f: r.get(f) for f in schema.names} for r in rows], schema=schema)


def raw_connection(**rows: list[dict]) -> duckdb.DuckDBPyConnection:
    """Give an in-memory DuckDB holding all six raw tables, filled from `rows` (others empty)."""
    unknown = set(rows) - set(RAW_TABLES)
    if unknown:
        raise KeyError(f"unknown raw tables {sorted(unknown)}")
    con = duckdb.connect()
    for name in RAW_TABLES:
        arrow = table(name, rows.get(name, []))
        con.register("_incoming", arrow)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _incoming")
        con.unregister("_incoming")
    return con


def store(con: duckdb.DuckDBPyConnection, name: str, arrow: pa.Table) -> None:
    """Store a derived Arrow table on `con` under `name`, as the flow does."""
    con.register("_incoming", arrow)
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _incoming')
    con.unregister("_incoming")
