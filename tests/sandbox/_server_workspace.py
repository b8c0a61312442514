"""A tiny hand-built workspace snapshot and client factories for the sandbox server tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from slack_sdk import WebClient

from sandbox.server import SandboxServer, ServerSettings
from tests.collectors.workspace_builders import bump as bump  # re-exported: the server tests bump files
from tests.collectors.workspace_builders import write_json

TEAM = "T0ACME0001"
ALICE, BOB, CAROL, DAN, CALBOT = "U0ALICE001", "U0BOB00001", "U0CAROL001", "U0DAN00001", "U0CALBOT01"
GENERAL, PROJ, SECRET, BOTPRIV = "C0GENERAL1", "C0PROJX001", "G0SECRET01", "G0BOTPRIV1"
OLD = "C0OLDSTUF1"  # archived, no messages
ALICE_CAL, BOB_CAL = "alice.ng@acme.example", "bob.stone@acme.example"

# Day 1 (2026-09-07) and day 2 (2026-09-08) of #general. A thread on T1 with three replies (one broadcast).
D1 = 1788739200  # 2026-09-07T00:00:00Z
D2 = D1 + 86400
T1 = f"{D1 + 3600}.000100"


def ts(base: int, offset: int, micro: int = 100) -> str:
    """Give a Slack ts `offset` seconds after `base`."""
    return f"{base + offset}.{micro:06d}"


def msg(ts_: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
    """Give an export message object."""
    return {"type": "message", "ts": ts_, "user": user, "text": text, **extra}


GENERAL_DAY1 = [
    msg(ts(D1, 600), ALICE, "morning all"),
    msg(
        T1,
        BOB,
        "Agenda for the design review tomorrow: <https://docs.google.com/document/d/abc/edit>",
        thread_ts=T1,
        reply_count=1,
        reply_users=[ALICE],
        latest_reply=ts(D1, 3700),
    ),
    msg(ts(D1, 3700), ALICE, "thanks", thread_ts=T1),
    msg(ts(D1, 3800), CAROL, "added two items", thread_ts=T1),
    msg(ts(D1, 3900), BOB, "see thread", thread_ts=T1, subtype="thread_broadcast"),
    msg(ts(D1, 7200), DAN, "quick call? <https://meet.google.com/abc-defg-hij>"),
    {
        "type": "message",
        "subtype": "bot_message",
        "ts": ts(D1, 7300),
        "bot_id": "B0CALBOT01",
        "text": "Event starting in 10 minutes: Design review",
        "attachments": [
            {"title": "Design review", "title_link": "https://www.google.com/calendar/event?eid=x"}
        ],
    },
]
GENERAL_DAY2 = [
    msg(ts(D2, 100), ALICE, "recap: shipped"),
    {
        "type": "message",
        "subtype": "huddle_thread",
        "ts": ts(D2, 200),
        "user": "USLACKBOT",
        "text": "A huddle started",
        "room": {
            "id": "R0HUDDLE01",
            "date_start": D2 + 200,
            "date_end": D2 + 1400,
            "created_by": ALICE,
            "participant_history": [ALICE, BOB],
            "participants": [],
            "channels": [GENERAL],
            "has_ended": True,
        },
    },
    msg(
        ts(D2, 300),
        BOB,
        "AI: <@U0ALICE001> to send the deck by Friday",
        edited={"user": BOB, "ts": ts(D2, 310)},
        reactions=[{"name": "+1", "users": [ALICE], "count": 1}],
    ),
]
PROJ_DAY1 = [msg(ts(D1, 1000 + i), ALICE if i % 2 else BOB, f"proj message {i}") for i in range(7)] + [
    msg(
        ts(D1, 1100),
        ALICE,
        "the deck",
        upload=True,
        files=[{"id": "F0DECK0001", "name": "deck.pdf", "mimetype": "application/pdf", "user": ALICE}],
    ),
]
SECRET_DAY1 = [msg(ts(D1, 50), ALICE, "secret plans")]
BOTPRIV_DAY1 = [msg(ts(D1, 60), BOB, "bot can read this")]


def user(uid: str, name: str, real: str, email: str | None, **extra: Any) -> dict[str, Any]:
    """Give a users.json entry."""
    profile: dict[str, Any] = {"real_name": real, "display_name": name, "real_name_normalized": real}
    if email:
        profile["email"] = email
    return {
        "id": uid,
        "team_id": TEAM,
        "name": name,
        "real_name": real,
        "deleted": False,
        "is_bot": False,
        "is_restricted": False,
        "tz": "Europe/Berlin",
        "tz_offset": 7200,
        "profile": profile,
        **extra,
    }


USERS = [
    user(ALICE, "alice", "Alice Ng", ALICE_CAL),
    user(BOB, "bob", "Bob Stone", BOB_CAL),
    user(CAROL, "carol", "Carol Diaz", "Carol.Diaz@Acme.example", deleted=True),
    user(DAN, "dan", "Dan Park", None),
    user(CALBOT, "google_calendar", "Google Calendar", None, is_bot=True),
]


def channel(cid: str, name: str, members: list[str], **extra: Any) -> dict[str, Any]:
    """Give a channels.json / groups.json entry."""
    return {
        "id": cid,
        "name": name,
        "created": D1 - 86400,
        "creator": ALICE,
        "is_archived": False,
        "is_general": name == "general",
        "members": members,
        "topic": {"value": f"{name} topic", "creator": ALICE, "last_set": D1 - 86400},
        "purpose": {"value": f"{name} purpose", "creator": ALICE, "last_set": D1 - 86400},
        **extra,
    }


def event(eid: str, summary: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    """Give an events.list item (Berlin time, organised by Alice, Bob attending)."""
    return {
        "kind": "calendar#event",
        "etag": f'"{abs(hash(eid)) % 10**15}"',
        "id": eid,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
        "created": "2026-09-01T10:00:00.000Z",
        "updated": "2026-09-01T10:00:00.000Z",
        "summary": summary,
        "iCalUID": f"{eid.split('_')[0]}@google.com",
        "creator": {"email": ALICE_CAL},
        "organizer": {"email": ALICE_CAL},
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        "attendees": [
            {"email": ALICE_CAL, "organizer": True, "responseStatus": "accepted"},
            {"email": BOB_CAL, "responseStatus": "needsAction"},
        ],
        "eventType": "default",
        **extra,
    }


EVENTS = [
    event(
        "sync_20260907T080000Z",
        "Team sync",
        "2026-09-07T10:00:00+02:00",
        "2026-09-07T10:30:00+02:00",
        recurringEventId="sync",
        originalStartTime={"dateTime": "2026-09-07T10:00:00+02:00"},
        hangoutLink="https://meet.google.com/abc-defg-hij",
    ),
    event(
        "sync_20260908T080000Z",
        "Team sync",
        "2026-09-08T10:00:00+02:00",
        "2026-09-08T10:30:00+02:00",
        recurringEventId="sync",
        originalStartTime={"dateTime": "2026-09-08T10:00:00+02:00"},
        status="cancelled",
    ),
    event(
        "review1",
        "Design review",
        "2026-09-08T14:00:00+02:00",
        "2026-09-08T15:00:00+02:00",
        location="https://acme.zoom.us/j/123456789?pwd=abc",
        description="Agenda: mocks",
    ),
    event(
        "focus1",
        "Focus time",
        "2026-09-08T08:00:00+02:00",
        "2026-09-08T10:00:00+02:00",
        eventType="focusTime",
    ),
    {
        **event("offsite", "Company offsite prep", "x", "y"),
        "start": {"date": "2026-09-09"},
        "end": {"date": "2026-09-10"},
        "transparency": "transparent",
    },
]
DRIVE_FILES = [
    {
        "id": f"file{i}",
        "name": f"Doc {i}",
        "mimeType": "application/vnd.google-apps.document",
        "webViewLink": f"https://docs.google.com/document/d/file{i}/edit",
        "owners": [{"emailAddress": ALICE_CAL}],
        "createdTime": f"2026-09-0{i + 1}T09:00:00.000Z",
        "modifiedTime": f"2026-09-0{i + 1}T12:00:00.000Z",
        "trashed": i == 4,
    }
    for i in range(5)
]
DIRECTORY = [
    {
        "id": f"10{i}",
        "primaryEmail": email,
        "aliases": aliases,
        "suspended": False,
        "name": {"givenName": given, "familyName": family, "fullName": f"{given} {family}"},
        "organizations": [{"department": "Engineering", "title": "Engineer", "primary": True}],
        "relations": [{"type": "manager", "value": ALICE_CAL}],
    }
    for i, (email, aliases, given, family) in enumerate(
        [
            (BOB_CAL, ["bstone@acme.example"], "Bob", "Stone"),
            (ALICE_CAL, [], "Alice", "Ng"),
            ("carol.diaz@acme.example", ["cdiaz@acme.example"], "Carol", "Diaz"),
            ("dan.park@acme.example", [], "Dan", "Park"),
            ("erin.holt@acme-labs.example", [], "Erin", "Holt"),
        ]
    )
]


def build_workspace(root: Path) -> Path:
    """Write the tiny workspace under `root` and give its path."""
    slack = root / "slack"
    write_json(slack / "users.json", USERS)
    write_json(
        slack / "channels.json",
        [
            channel(GENERAL, "general", [ALICE, BOB, CAROL, DAN]),
            channel(PROJ, "proj-x", [ALICE, BOB]),
            channel(OLD, "old-stuff", [ALICE], is_archived=True),
        ],
    )
    write_json(
        slack / "groups.json",
        [channel(SECRET, "secret", [ALICE]), channel(BOTPRIV, "bot-private", [BOB, "USANDBOXBOT"])],
    )
    write_json(slack / "general" / "2026-09-07.json", GENERAL_DAY1)
    write_json(slack / "general" / "2026-09-08.json", GENERAL_DAY2)
    write_json(slack / "proj-x" / "2026-09-07.json", PROJ_DAY1)
    write_json(slack / "secret" / "2026-09-07.json", SECRET_DAY1)
    write_json(slack / "bot-private" / "2026-09-07.json", BOTPRIV_DAY1)
    cal = root / "google" / "calendar"
    write_json(
        cal / f"{ALICE_CAL}.json", {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": EVENTS}
    )
    write_json(
        cal / f"{BOB_CAL}.json", {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": EVENTS[:3]}
    )
    write_json(root / "google" / "drive" / "files.json", {"files": DRIVE_FILES})
    write_json(root / "google" / "directory" / "users.json", {"users": DIRECTORY})
    return root


def slack_client(url: str, token: str = "xoxb-sandbox", **kwargs: Any) -> WebClient:
    """Give a real slack_sdk WebClient pointed at the sandbox."""
    return WebClient(token=token, base_url=f"{url}/api/", **kwargs)


def google(api: str, version: str, url: str, token: str = "ya29.sandbox", http: Any = None) -> Any:
    """Give a real googleapiclient service (shipped discovery document) pointed at the sandbox."""
    if http is not None:
        return build(api, version, static_discovery=True, client_options={"api_endpoint": url}, http=http)
    return build(
        api,
        version,
        static_discovery=True,
        client_options={"api_endpoint": url},
        credentials=Credentials(token=token),
    )


def anonymous_http() -> httplib2.Http:
    """Give an HTTP client that sends no credentials at all."""
    return httplib2.Http()


@contextmanager
def serving(root: Path, settings: ServerSettings | None = None) -> Iterator[SandboxServer]:
    """Build the tiny workspace under `root` and serve it for the duration of the block."""
    with SandboxServer(build_workspace(root), settings) as server:
        yield server


def served_shapes(url: str) -> dict[str, Any]:
    """Give the key sets of the sandbox's answers: top-level per method, and per object kind (all objects)."""
    client = slack_client(url)
    top: dict[str, set[str]] = {}
    shapes: dict[str, set[str]] = {
        k: set() for k in ("message", "user", "profile", "channel", "team", "event", "calendar")
    }
    top["auth.test"] = set(client.auth_test().data)
    team = client.team_info().data
    top["team.info"], shapes["team"] = set(team), set(team["team"])
    users = client.users_list().data
    top["users.list"] = set(users)
    shapes["user"] = {k for u in users["members"] for k in u}
    shapes["profile"] = {k for u in users["members"] for k in u["profile"]}
    channels = client.conversations_list(types="public_channel,private_channel,mpim,im").data
    top["conversations.list"] = set(channels)
    shapes["channel"] = {k for c in channels["channels"] for k in c}
    for chan in channels["channels"]:
        history = client.conversations_history(channel=chan["id"], limit=999).data
        top["conversations.history"] = set(history)
        for parent in history["messages"]:
            shapes["message"] |= set(parent)
            if parent.get("reply_count"):
                replies = client.conversations_replies(channel=chan["id"], ts=parent["ts"]).data
                top["conversations.replies"] = set(replies)
                shapes["message"] |= {k for m in replies["messages"] for k in m}
    calendar = google("calendar", "v3", url)
    listing = calendar.calendarList().list().execute()
    top["calendarList.list"] = set(listing)
    shapes["calendar"] = {k for c in listing["items"] for k in c}
    for entry in listing["items"]:
        page = calendar.events().list(calendarId=entry["id"], singleEvents=True, showDeleted=True).execute()
        top["events.list"] = set(page)
        shapes["event"] |= {k for e in page["items"] for k in e}
    return {"top": top, **shapes}
