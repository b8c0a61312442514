"""The small hand-made workspace the collectors tests build in tmp_path: its files and their writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    """Write `data` as JSON at `path` (creating folders) and give the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


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
