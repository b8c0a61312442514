"""The small hand-made workspaces the collectors tests build in tmp_path, their writers, and the live
configs and sandbox settings for serving them over HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from collectors import (
    BreakerPolicy,
    GoogleAuth,
    GoogleConfig,
    GoogleOptions,
    RetryPolicy,
    SlackConfig,
    SlackOptions,
    SlackRates,
)
from sandbox.server import SandboxServer, ServerSettings

# Tokens long and unique enough that a leak shows up in any log line or exception text.
SLACK_TOKEN = "xoxb-test-0123456789-secret"
GOOGLE_TOKEN = "ya29.test-google-secret-token"

# `serve(root, **settings)` (the `serve` fixture): the sandbox serving `root` until the test ends.
Serve = Callable[..., SandboxServer]

USERS = [
    {
        "id": "U1",
        "team_id": "T1",
        "name": "ann",
        "real_name": "Ann Lee",
        "tz": "Europe/Berlin",
        "tz_offset": 7200,
        "profile": {"email": "ann@acme.example", "display_name": "ann", "real_name": "Ann Lee"},
    },
    {
        "id": "U2",
        "team_id": "T1",
        "name": "bob",
        "real_name": "Bob Guest",
        "deleted": False,
        "is_ultra_restricted": True,
        "profile": {"email": "", "display_name": "", "real_name": "Bob Guest"},
    },
    {"id": "B1", "team_id": "T1", "name": "calbot", "is_bot": True, "deleted": True, "profile": {}},
]
CHANNELS = [
    {"id": "C1", "name": "general", "created": "1757000000", "members": ["U1", "U2"], "topic": {"value": ""}},
    {
        "id": "C2",
        "name": "proj-x",
        "created": 1757000100,
        "members": ["U1"],
        "purpose": {"value": "Project X"},
    },
]
GROUPS = [{"id": "G1", "name": "secret", "created": 1757000200, "is_private": True, "members": ["U1"]}]
MPIMS = [
    {"id": "G2", "name": "mpdm-ann--bob-1", "created": 1757000300, "is_mpim": True, "members": ["U1", "U2"]}
]
DMS = [{"id": "D1", "created": 1757000400, "members": ["U1", "U2"]}]

ROOM = {
    "id": "R1",
    "name": "",
    "created_by": "U1",
    "date_start": 1788862800,
    "date_end": 1788864600,
    "participant_history": ["U1", "U2"],
    "participants": [],
    "channels": ["C1"],
    "has_ended": True,
}
DAY_FILES: dict[str, list[dict[str, Any]]] = {
    "general/2026-09-07.json": [
        {
            "type": "message",
            "user": "U1",
            "text": "Agenda for sync <https://docs.google.com/document/d/abc/edit>",
            "ts": "1788771600.000100",
            "thread_ts": "1788771600.000100",
            "reply_count": 1,
            "latest_reply": "1788771660.000200",
            "reactions": [{"name": "+1", "users": ["U2"], "count": 1}],
        },
        {
            "type": "message",
            "user": "U2",
            "text": "thanks",
            "ts": "1788771660.000200",
            "thread_ts": "1788771600.000100",
            "parent_user_id": "U1",
        },
        {
            "type": "message",
            "user": "U1",
            "text": "joining now",
            "ts": "1788775200.123456",
            "edited": {"user": "U1", "ts": "1788775260.000000"},
        },
    ],
    "general/2026-09-08.json": [
        {
            "type": "message",
            "subtype": "huddle_thread",
            "user": "USLACKBOT",
            "text": "A huddle started",
            "ts": "1788862800.000300",
            "room": ROOM,
        }
    ],
    "proj-x/2026-09-07.json": [
        {
            "type": "message",
            "subtype": "file_share",
            "user": "U1",
            "text": "uploaded a file",
            "ts": "1788776000.000400",
            "file": {"id": "F1", "name": "deck.pdf"},
        }
    ],
    "secret/2026-09-07.json": [
        {"type": "message", "user": "U1", "text": "private", "ts": "1788777000.000500"}
    ],
    "mpdm-ann--bob-1/2026-09-07.json": [
        {"type": "message", "user": "U2", "text": "group dm", "ts": "1788778000.000600"}
    ],
    "D1/2026-09-07.json": [
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B1",
            "text": "",
            "ts": "1788779000.000700",
            "attachments": [{"title": "Sync", "title_link": "https://www.google.com/calendar/event?eid=x"}],
        }
    ],
}

CALENDAR = {
    "kind": "calendar#events",
    "timeZone": "Europe/Berlin",
    "items": [
        {
            "id": "sync1",
            "iCalUID": "sync1@google.com",
            "status": "confirmed",
            "summary": "Sync",
            "start": {"dateTime": "2026-09-08T10:00:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-09-08T10:30:00+02:00", "timeZone": "Europe/Berlin"},
            "organizer": {"email": "ann@acme.example", "self": True},
            "creator": {"email": "ann@acme.example"},
            "attendees": [
                {"email": "ann@acme.example", "organizer": True, "self": True, "responseStatus": "accepted"},
                {"email": "bob@partner.example", "responseStatus": "tentative", "optional": True},
                {"email": "room-1@resource.calendar.google.com", "resource": True},
            ],
            "hangoutLink": "https://meet.google.com/abc-defg-hij",
            "conferenceData": {
                "entryPoints": [
                    {"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"},
                    {"entryPointType": "phone", "uri": "tel:+1-555-0100"},
                ]
            },
            "attachments": [
                {
                    "fileId": "doc1",
                    "title": "Agenda",
                    "fileUrl": "https://docs.google.com/document/d/doc1/edit",
                }
            ],
            "htmlLink": "https://www.google.com/calendar/event?eid=c3luYzE",
            "updated": "2026-09-01T08:00:00.123Z",
            "etag": '"1"',
            "eventType": "default",
        },
        {
            "id": "offsite",
            "status": "confirmed",
            "summary": "Company offsite prep",
            "start": {"date": "2026-09-09"},
            "end": {"date": "2026-09-10"},
            "transparency": "transparent",
        },
        {"id": "weekly_20260907T080000Z", "status": "cancelled"},
    ],
}

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:lunch1@google.com
DTSTART:20260908T110000Z
DTEND:20260908T120000Z
SUMMARY:Lunch
END:VEVENT
END:VCALENDAR
"""

DRIVE = {
    "files": [
        {
            "id": "doc1",
            "name": "Agenda",
            "mimeType": "application/vnd.google-apps.document",
            "webViewLink": "https://docs.google.com/document/d/doc1/edit",
            "owners": [{"emailAddress": "ann@acme.example"}],
            "createdTime": "2026-09-01T08:00:00.000Z",
            "modifiedTime": "2026-09-02T09:30:00.500Z",
        },
        {"id": "old1", "name": "Old", "mimeType": "text/plain", "trashed": True, "owners": []},
    ]
}

DIRECTORY = {
    "users": [
        {
            "id": "100",
            "primaryEmail": "ann@acme.example",
            "aliases": ["alee@acme.example"],
            "name": {"givenName": "Ann", "familyName": "Lee", "fullName": "Ann Lee"},
            "organizations": [{"department": "Engineering", "title": "Engineer", "primary": True}],
            "relations": [{"type": "manager", "value": "cto@acme.example"}],
        },
        {"id": "101", "primaryEmail": "cto@acme.example", "name": {"givenName": "Cy", "familyName": "To"}},
    ]
}


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as JSON at `path` (creating folders) and give the path.

    The write is atomic (temp file then rename), as a live appender's must be: the sandbox may be
    reading the file at that moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path


def bump(path: Path) -> None:
    """Move a file's mtime forward so a rewrite within the same clock tick is still seen as a change."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def write_export(folder: Path) -> Path:
    """Write the small Slack export (users, four conversation lists, six day files) into `folder`."""
    for name, data in {
        "users.json": USERS,
        "channels.json": CHANNELS,
        "groups.json": GROUPS,
        "mpims.json": MPIMS,
        "dms.json": DMS,
        **DAY_FILES,
    }.items():
        write_json(folder / name, data)
    return folder


# ---- live workspaces: what the sandbox serves to the live collectors' tests ---------------------------


def message(ts: str, text: str, user: str = "U1", thread_ts: str | None = None) -> dict[str, Any]:
    """Give an export message (a reply when `thread_ts` is given)."""
    msg: dict[str, Any] = {"type": "message", "ts": ts, "user": user, "text": text}
    if thread_ts:
        msg["thread_ts"] = thread_ts
    return msg


def post(root: Path, channel: str, *messages: dict[str, Any]) -> None:
    """Append `messages` to the day files of `channel` (its folder name) under `root/slack`."""
    for msg in messages:
        day = datetime.fromtimestamp(float(Decimal(msg["ts"])), UTC).date()
        path = root / "slack" / channel / f"{day.isoformat()}.json"
        earlier = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        write_json(path, [*earlier, msg])
        bump(path)


def write_slack(
    root: Path,
    users: Sequence[Mapping[str, Any]],
    channels: Sequence[Mapping[str, Any]],
    messages: Mapping[str, Sequence[dict[str, Any]]],
) -> Path:
    """Write a Slack export under `root/slack`: users, public channels, and messages per channel name."""
    write_json(root / "slack" / "users.json", list(users))
    write_json(root / "slack" / "channels.json", list(channels))
    for channel, posted in messages.items():
        post(root, channel, *posted)
    return root


def write_calendar(root: Path, calendar_id: str, items: Sequence[Mapping[str, Any]]) -> Path:
    """Write (or rewrite) one calendar's events.list dump, in the Europe/Berlin zone."""
    path = write_json(
        root / "google" / "calendar" / f"{calendar_id}.json",
        {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": list(items)},
    )
    bump(path)
    return path


def write_drive(root: Path, files: Sequence[Mapping[str, Any]]) -> Path:
    """Write (or rewrite) the Drive files.list dump."""
    path = write_json(root / "google" / "drive" / "files.json", {"files": list(files)})
    bump(path)
    return path


def write_google(
    root: Path,
    calendars: Mapping[str, Sequence[Mapping[str, Any]]],
    files: Sequence[Mapping[str, Any]] = (),
    users: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write the Google side of a workspace: calendars by id, Drive files and directory users."""
    for calendar_id, items in calendars.items():
        write_calendar(root, calendar_id, items)
    write_drive(root, files)
    write_json(root / "google" / "directory" / "users.json", {"users": list(users)})
    return root


def live_settings(**overrides: Any) -> ServerSettings:
    """Give sandbox settings for the live tests: their tokens and no server-side rate limits."""
    return ServerSettings(
        **{"slack_token": SLACK_TOKEN, "google_token": GOOGLE_TOKEN, "rate_limits": False, **overrides}
    )


FAST_RATES = {"tier1": 60_000, "tier2": 60_000, "tier3": 60_000, "tier4": 60_000}


def quick_retry(
    max_attempts: int = 4, base_delay: float = 0.01, max_retry_after: float = 30.0
) -> RetryPolicy:
    """Give a retry policy with tiny backoffs, so fault tests run fast."""
    return RetryPolicy(
        max_attempts=max_attempts, base_delay=base_delay, max_delay=0.05, max_retry_after=max_retry_after
    )


def slack_config(
    url: str,
    token: str = SLACK_TOKEN,
    *,
    retry: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    rates: Mapping[str, Any] | None = None,
    **options: Any,
) -> SlackConfig:
    """Give a SlackConfig for the sandbox at `url` with fast client-side rates and quick retries."""
    return SlackConfig(
        token=SecretStr(token),
        base_url=f"{url}/api/",
        timeout=5,
        rates=SlackRates(**(rates or FAST_RATES)),
        options=SlackOptions(**options),
        retry=retry or quick_retry(),
        breaker=breaker or BreakerPolicy(),
    )


def google_config(
    url: str,
    token: str = GOOGLE_TOKEN,
    *,
    retry: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    **options: Any,
) -> GoogleConfig:
    """Give a GoogleConfig (bearer token) for the sandbox at `url` with fast rates and quick retries."""
    return GoogleConfig(
        auth=GoogleAuth(kind="bearer", token=SecretStr(token)),
        api_endpoint=url,
        timeout=5,
        requests_per_minute=60_000,
        burst=50,
        options=GoogleOptions(**options),
        retry=retry or quick_retry(),
        breaker=breaker or BreakerPolicy(),
    )
