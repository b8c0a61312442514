"""Tests of the synthetic org generator: determinism, prefix stability, truth consistency, features,
payload shapes against real vendor data, and the size presets."""

from __future__ import annotations

import base64
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

import sandbox.generate as generate_module
from core.errors import ConfigurationError
from sandbox import SIZES, GenerationSummary, generate_workspace
from sandbox._org import ADDRESS_QUIRKS

PEOPLE, DAYS, SEED = 12, 5, 7
START = date(2026, 9, 7)  # a Monday
TS = re.compile(r"^\d{10}\.\d{6}$")
OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


@dataclass
class Workspace:
    """A generated workspace loaded for inspection."""

    root: Path
    summary: GenerationSummary
    truth: dict[str, Any]
    messages: list[tuple[str, str, dict[str, Any]]]  # (channel id, day file stem, message)
    events: list[tuple[str, dict[str, Any]]]  # (calendar id, events.list item)
    users: list[dict[str, Any]]
    directory: list[dict[str, Any]]
    files: list[dict[str, Any]]


def _load(root: Path, summary: GenerationSummary) -> Workspace:
    """Give the workspace under `root` with every file parsed."""
    channels = json.loads((root / "slack" / "channels.json").read_text())
    ids = {c["name"]: c["id"] for c in channels}
    messages = [
        (ids[day_file.parent.name], day_file.stem, m)
        for day_file in sorted((root / "slack").glob("*/*.json"))
        for m in json.loads(day_file.read_text())
    ]
    events = [
        (cal.stem, item)
        for cal in sorted((root / "google" / "calendar").glob("*.json"))
        for item in json.loads(cal.read_text())["items"]
    ]
    return Workspace(
        root,
        summary,
        json.loads((root / "truth.json").read_text()),
        messages,
        events,
        json.loads((root / "slack" / "users.json").read_text()),
        json.loads((root / "google" / "directory" / "users.json").read_text())["users"],
        json.loads((root / "google" / "drive" / "files.json").read_text())["files"],
    )


def _generate(root: Path, people: int = PEOPLE, days: int = DAYS, seed: int = SEED) -> Workspace:
    """Give a freshly generated and loaded workspace."""
    return _load(root, generate_workspace(root, people, days, seed))


def _bytes(root: Path) -> dict[str, bytes]:
    """Give every file under `root` by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The reference workspace: 12 people, 5 days (Mon-Fri), seed 7."""
    return _generate(tmp_path_factory.mktemp("ws") / "workspace")


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The same org over its first 3 days only."""
    return _generate(tmp_path_factory.mktemp("short") / "workspace", days=3)


def _meetings_by_event(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Give truth meetings keyed by calendar event id."""
    return {m["calendar_event_id"]: m for m in ws.truth["meetings"] if m["calendar_event_id"]}


def _texts(ws: Workspace) -> list[str]:
    """Give every message text."""
    return [m.get("text", "") for _, _, m in ws.messages]


# ---- determinism and prefix stability ------------------------------------------------------------------


def test_same_seed_writes_identical_bytes(ws: Workspace, tmp_path: Path) -> None:
    """Generating again with the same arguments reproduces every file byte for byte."""
    generate_workspace(tmp_path / "again", PEOPLE, DAYS, SEED)
    assert _bytes(tmp_path / "again") == _bytes(ws.root)


def test_different_seed_writes_different_files(ws: Workspace, tmp_path: Path) -> None:
    """Another seed gives another org, other messages and other truth."""
    generate_workspace(tmp_path / "other", PEOPLE, DAYS, SEED + 1)
    mine, other = _bytes(ws.root), _bytes(tmp_path / "other")
    for name in (
        "slack/users.json",
        "slack/channels.json",
        "google/directory/users.json",
        "truth.json",
        "slack/general/2026-09-07.json",
    ):
        assert mine[name] != other[name], name


def test_shorter_run_writes_the_same_slack_day_files(ws: Workspace, short: Workspace) -> None:
    """days=3 writes exactly the first three days' Slack files of days=5, byte for byte, and no others."""
    long_files, short_files = _bytes(ws.root), _bytes(short.root)
    short_days = {k: v for k, v in short_files.items() if k.startswith("slack/")}
    first_three = {
        k: v
        for k, v in long_files.items()
        if k.startswith("slack/") and (not k.endswith("-10.json") and not k.endswith("-11.json"))
    }
    assert short_days == first_three
    assert sorted({Path(k).stem for k in short_days if k.count("/") == 2}) == [
        "2026-09-07",
        "2026-09-08",
        "2026-09-09",
    ]


def test_longer_run_keeps_every_event_of_the_shorter_run_unchanged(ws: Workspace, short: Workspace) -> None:
    """Each calendar file of days=5 holds every item of the days=3 file unchanged, plus later ones."""
    long_items = {(cal, item["id"]): item for cal, item in ws.events}
    for cal, item in short.events:
        assert long_items[(cal, item["id"])] == item
    assert len(short.events) == 87
    assert len(ws.events) == 148


# ---- truth consistency ----------------------------------------------------------------------------------


def test_counts_in_truth_and_summary_match_the_files(ws: Workspace) -> None:
    """truth.json counts and the summary equal what is in the files."""
    counts = ws.truth["counts"]
    replies = sum(1 for _, _, m in ws.messages if m.get("thread_ts", m["ts"]) != m["ts"])
    expected = {
        "messages": len(ws.messages),
        "top_level": len(ws.messages) - replies,
        "replies": replies,
        "slack_users": len(ws.users),
        "channels": len(json.loads((ws.root / "slack/channels.json").read_text())),
        "calendars": len(list((ws.root / "google" / "calendar").glob("*.json"))),
        "event_rows": len(ws.events),
        "unique_events": len({item["id"] for _, item in ws.events}),
        "drive_files": len(ws.files),
        "directory_users": len(ws.directory),
    }
    assert counts == expected
    s = ws.summary
    assert (
        s.messages,
        s.top_level,
        s.replies,
        s.users,
        s.channels,
        s.calendars,
        s.event_rows,
        s.unique_events,
        s.files,
        s.directory_users,
    ) == tuple(expected.values())
    assert s.meetings == len(ws.truth["meetings"])


def test_every_message_is_evidence_of_exactly_one_meeting_or_noise(ws: Workspace) -> None:
    """Evidence and noise partition the messages; hard negatives are noise."""
    in_files = Counter((c, m["ts"]) for c, _, m in ws.messages)
    evidence = [(e["channel_id"], e["ts"]) for m in ws.truth["meetings"] for e in m["slack_evidence"]]
    noise = [(n["channel_id"], n["ts"]) for n in ws.truth["noise_messages"]]
    assert max(in_files.values()) == 1
    assert Counter(evidence + noise) == in_files
    assert {(h["channel_id"], h["ts"]) for h in ws.truth["hard_negatives"]} <= set(noise)


def test_every_calendar_event_is_a_meeting_or_a_not_meeting(ws: Workspace) -> None:
    """Each event id in the files is in exactly one of meetings / not_meetings, and vice versa."""
    in_files = {item["id"] for _, item in ws.events}
    meetings = [m["calendar_event_id"] for m in ws.truth["meetings"] if m["calendar_event_id"]]
    not_meetings = [n["calendar_event_id"] for n in ws.truth["not_meetings"]]
    assert len(set(meetings)) == len(meetings)
    assert not set(meetings) & set(not_meetings)
    assert set(meetings) | set(not_meetings) == in_files


def test_origin_follows_evidence(ws: Workspace) -> None:
    """Calendar meetings are calendar+slack exactly when they have evidence; huddles and calls are slack."""
    for m in ws.truth["meetings"]:
        if m["calendar_event_id"] is None:
            assert (m["origin"], m["kind"] in ("huddle", "adhoc_call")) == ("slack", True)
        else:
            assert m["origin"] == ("calendar+slack" if m["slack_evidence"] else "calendar")


def test_truth_maps_every_person_slack_user_to_a_primary_email(ws: Workspace) -> None:
    """slack_user_emails covers every non-bot Slack user and maps to people's primary emails."""
    humans = {u["id"] for u in ws.users if not u["is_bot"]}
    mapping = ws.truth["slack_user_emails"]
    assert set(mapping) == humans
    primaries = {p["email"] for p in ws.truth["people"]}
    assert set(mapping.values()) <= primaries
    assert {d["primaryEmail"] for d in ws.directory} == {
        p["email"] for p in ws.truth["people"] if p["internal"]
    }


# ---- Slack export shape --------------------------------------------------------------------------------


def test_ts_have_six_decimals_are_unique_per_channel_and_sit_in_their_utc_day_file(ws: Workspace) -> None:
    """Every ts is `##########.######`, unique in its channel, in the file of its UTC day, sorted."""
    by_file: dict[tuple[str, str], list[str]] = {}
    for channel, stem, m in ws.messages:
        assert TS.match(m["ts"]), m["ts"]
        assert datetime.fromtimestamp(float(m["ts"]), UTC).date().isoformat() == stem
        by_file.setdefault((channel, stem), []).append(m["ts"])
    for tss in by_file.values():
        assert tss == sorted(tss)
    per_channel = Counter((c, m["ts"]) for c, _, m in ws.messages)
    assert set(per_channel.values()) == {1}


def test_threads_stay_in_their_parents_day_and_parents_summarise_replies(ws: Workspace) -> None:
    """Replies sit in the parent's day file; parents carry reply_count, latest_reply and replies."""
    parents = {(c, s, m["ts"]): m for c, s, m in ws.messages if m.get("reply_count")}
    replies: dict[tuple[str, str, str], list[str]] = {}
    for c, s, m in ws.messages:
        if m.get("thread_ts", m["ts"]) != m["ts"]:
            replies.setdefault((c, s, m["thread_ts"]), []).append(m["ts"])
    assert set(replies) == set(parents)
    for key, parent in parents.items():
        assert parent["reply_count"] == len(replies[key])
        assert parent["latest_reply"] == max(replies[key])
        assert [r["ts"] for r in parent["replies"]] == sorted(replies[key])
    assert len(parents) == 171


def test_messages_carry_edits_reactions_files_bots_and_broadcasts(ws: Workspace) -> None:
    """The export has edited messages, reactions, Drive and uploaded files, bot posts and broadcasts."""
    kinds = Counter()
    for _, _, m in ws.messages:
        kinds["edited"] += "edited" in m
        kinds["reactions"] += "reactions" in m
        kinds["gdrive"] += any(f.get("external_type") == "gdrive" for f in m.get("files", []))
        kinds["upload"] += any(f.get("mode") == "hosted" for f in m.get("files", []))
        kinds["bot_message"] += m.get("subtype") == "bot_message"
        kinds["thread_broadcast"] += m.get("subtype") == "thread_broadcast"
    assert dict(kinds) == {
        "edited": 48,
        "reactions": 136,
        "gdrive": 12,
        "upload": 5,
        "bot_message": 18,
        "thread_broadcast": 16,
    }


def test_text_uses_slack_markup_for_links_mentions_and_channels(ws: Workspace) -> None:
    """Links are `<url>` or `<url|label>`, mentions `<@U…>`, channels `<#C…|name>`; no bare URLs."""
    texts = " ".join(_texts(ws))
    assert re.search(r"<@U[0-9A-Z]{10}>", texts)
    assert re.search(r"<#C[0-9A-Z]{10}\|[a-z-]+>", texts)
    assert re.search(r"<https://[^|>]+\|[^>]+>", texts)
    bare = re.findall(r"(?<![<|])https?://", texts)
    assert bare == []


def test_drive_links_come_in_several_forms_and_point_at_real_files(ws: Workspace) -> None:
    """Docs, Sheets, open?id= and file/d/ links all occur, and every linked id is in files.json."""
    texts = " ".join(_texts(ws))
    ids = {f["id"] for f in ws.files}
    found = re.findall(r"https://(?:docs|drive)\.google\.com/[^|> ]+", texts)
    forms = {re.sub(r"/d/[^/]+/.*|\?id=.*", "", url.removeprefix("https://")) for url in found}
    assert forms >= {
        "docs.google.com/document",
        "docs.google.com/spreadsheets",
        "drive.google.com/open",
        "drive.google.com/file",
    }
    for url in found:
        match = re.search(r"/d/([^/]+)|[?&]id=([^&]+)", url)
        assert match and (match.group(1) or match.group(2)) in ids, url
    documents = {d for m in ws.truth["meetings"] for d in m["documents"]}
    attached = {a["fileId"] for _, item in ws.events for a in item.get("attachments", [])}
    assert documents | attached <= ids


def test_all_evidence_kinds_and_roles_occur(ws: Workspace) -> None:
    """Every evidence kind the truth knows appears, with the role it is meant to play."""
    pairs = Counter((e["kind"], e["role"]) for m in ws.truth["meetings"] for e in m["slack_evidence"])
    assert set(pairs) == {
        ("agenda", "pre"),
        ("calendar_bot", "pre"),
        ("call_link", "signal"),
        ("joining", "signal"),
        ("joining", "pre"),
        ("during", "during"),
        ("recap", "post"),
        ("action_items", "post"),
        ("reschedule", "pre"),
        ("cancellation", "pre"),
        ("huddle", "signal"),
    }


def test_hard_negatives_cover_each_trap(ws: Workspace) -> None:
    """The noise includes meeting-sounding traps of several kinds, each explained."""
    whys = Counter(h["why"] for h in ws.truth["hard_negatives"])
    assert sum(whys.values()) == 5
    assert len(whys) == 5


# ---- huddles, calls and the calendar bot ----------------------------------------------------------------


def test_huddles_with_and_without_subtype_carry_a_room(ws: Workspace) -> None:
    """Huddle posts by USLACKBOT carry a room; some lack the huddle_thread subtype."""
    rooms = [m for _, _, m in ws.messages if "room" in m]
    with_subtype = [m for m in rooms if m.get("subtype") == "huddle_thread"]
    assert (len(rooms), len(with_subtype)) == (5, 3)
    for m in rooms:
        room = m["room"]
        assert m["user"] == "USLACKBOT" and room["has_ended"] is True and room["participants"] == []
        assert room["date_start"] == int(float(m["ts"])) < room["date_end"]
        assert room["created_by"] == room["participant_history"][0]


def test_huddle_truth_matches_the_room(ws: Workspace) -> None:
    """Each huddle meeting's time and participants come from its room."""
    rooms = {(c, m["ts"]): m["room"] for c, _, m in ws.messages if "room" in m}
    emails = ws.truth["slack_user_emails"]
    for meeting in (m for m in ws.truth["meetings"] if m["kind"] == "huddle"):
        root = next(e for e in meeting["slack_evidence"] if e["kind"] == "huddle")
        room = rooms[(root["channel_id"], root["ts"])]
        assert meeting["start"] == datetime.fromtimestamp(room["date_start"], UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        assert meeting["participants"] == [emails[u] for u in room["participant_history"]]


def test_adhoc_calls_end_in_a_call_link(ws: Workspace) -> None:
    """Each ad hoc call has a request and a message with a Meet, Zoom or Teams join link."""
    texts = {(c, m["ts"]): m["text"] for c, _, m in ws.messages}
    calls = [m for m in ws.truth["meetings"] if m["kind"] == "adhoc_call"]
    assert len(calls) == 5
    for call in calls:
        links = [
            texts[(e["channel_id"], e["ts"])] for e in call["slack_evidence"] if e["kind"] == "call_link"
        ]
        assert len(links) == 1
        assert re.search(
            r"meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}|zoom\.us/j/|teams\.microsoft\.com", links[0]
        )


def test_calendar_bot_eid_decodes_to_the_event_and_a_calendar_holding_it(ws: Workspace) -> None:
    """The bot's title_link eid is base64url("<event id> <calendar email>") of the meeting it announces."""
    rows = {(cal, item["id"]) for cal, item in ws.events}
    evidence = {(e["channel_id"], e["ts"]): m for m in ws.truth["meetings"] for e in m["slack_evidence"]}
    bot_posts = [
        (c, m)
        for c, _, m in ws.messages
        if m.get("subtype") == "bot_message" and m["attachments"][0].get("footer") == "Google Calendar"
    ]
    assert len(bot_posts) == 8
    for channel, post in bot_posts:
        eid = parse_qs(urlparse(post["attachments"][0]["title_link"]).query)["eid"][0]
        event_id, calendar = base64.urlsafe_b64decode(eid + "=" * (-len(eid) % 4)).decode().split(" ")
        assert (calendar, event_id) in rows
        assert evidence[(channel, post["ts"])]["calendar_event_id"] == event_id


# ---- calendar features --------------------------------------------------------------------------------


def _utc_compact(value: str) -> str:
    """Give an RFC 3339 time as the `YYYYMMDDTHHMMSSZ` suffix of instance ids."""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def test_recurring_instance_ids_encode_the_original_start_in_utc(ws: Workspace) -> None:
    """Instances are `<base>_<UTC original start>` with recurringEventId `<base>`."""
    instances = [item for _, item in ws.events if "recurringEventId" in item]
    assert len({i["id"] for i in instances}) == 18
    for item in instances:
        assert (
            item["id"] == f"{item['recurringEventId']}_{_utc_compact(item['originalStartTime']['dateTime'])}"
        )


def test_cancelled_instances_are_google_stubs_and_cancelled_meetings(ws: Workspace) -> None:
    """Cancelled instances keep only id, status, recurringEventId and originalStartTime."""
    stubs = {
        item["id"]: item
        for _, item in ws.events
        if item["status"] == "cancelled" and "recurringEventId" in item
    }
    assert len(stubs) == 1
    for item in stubs.values():
        assert set(item) == {"kind", "etag", "id", "status", "recurringEventId", "originalStartTime"}
        assert _meetings_by_event(ws)[item["id"]]["status"] == "cancelled"


def test_a_moved_instance_keeps_its_id_and_original_start(ws: Workspace) -> None:
    """A moved instance starts away from originalStartTime, which its id still encodes."""
    moved = {
        item["id"]
        for _, item in ws.events
        if "originalStartTime" in item
        and "start" in item
        and item["start"]["dateTime"] != item["originalStartTime"]["dateTime"]
    }
    assert len(moved) == 1
    meeting = _meetings_by_event(ws)[moved.pop()]
    assert [e["kind"] for e in meeting["slack_evidence"]][0] == "reschedule"


def test_cancelled_one_off_is_a_full_item_with_status_cancelled(ws: Workspace) -> None:
    """A cancelled one-off meeting keeps its summary and times."""
    items = {item["id"]: item for _, item in ws.events if item["status"] == "cancelled" and "summary" in item}
    assert len(items) == 2
    assert all(_meetings_by_event(ws)[i]["status"] == "cancelled" for i in items)


def test_non_meetings_have_their_shapes_and_reasons(ws: Workspace) -> None:
    """Focus time, out of office, solo and all-day events are listed as not meetings with their reason."""
    items = {item["id"]: (cal, item) for cal, item in ws.events}
    reasons = Counter(n["reason"] for n in ws.truth["not_meetings"])
    assert reasons == {"focus_time": 5, "solo": 5, "out_of_office": 3, "all_day": 2}
    for n in ws.truth["not_meetings"]:
        cal, item = items[n["calendar_event_id"]]
        others = [a for a in item.get("attendees", []) if a["email"] != cal]
        if n["reason"] == "focus_time":
            assert (item["eventType"], others) == ("focusTime", [])
        elif n["reason"] == "out_of_office":
            assert (item["eventType"], others) == ("outOfOffice", [])
        elif n["reason"] == "solo":
            assert others == []
        else:
            assert set(item["start"]) == {"date"}


def test_an_event_is_listed_in_each_internal_attendees_calendar_marked_self(ws: Workspace) -> None:
    """The same id appears in every internal attendee's file, with self on that calendar's owner."""
    by_id: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for cal, item in ws.events:
        by_id.setdefault(item["id"], []).append((cal, item))
    for rows in by_id.values():
        cal, item = rows[0]
        if "attendees" not in item:
            continue
        internal = sorted(
            a["email"]
            for a in item["attendees"]
            if a["email"].endswith("@acme.example") and not a.get("resource")
        )
        assert sorted(c for c, _ in rows) == internal
        for cal, row in rows:
            assert [a["email"] for a in row["attendees"] if a.get("self")] == [cal]


def test_event_times_are_rfc3339_with_offsets_and_the_organizer_zone(ws: Workspace) -> None:
    """Timed events carry offsets in the calendar's zone and the organizer's timeZone."""
    for _, item in ws.events:
        if "start" in item and "dateTime" in item["start"]:
            assert OFFSET.match(item["start"]["dateTime"]) and OFFSET.match(item["end"]["dateTime"])
            assert item["start"]["timeZone"] in {
                "America/New_York",
                "America/Los_Angeles",
                "Europe/London",
                "Europe/Berlin",
                "Asia/Kolkata",
                "America/Sao_Paulo",
                "Australia/Sydney",
            }


def test_meet_zoom_and_teams_links_and_external_attendees_occur(ws: Workspace) -> None:
    """Events join by Meet (hangoutLink), Zoom and Teams; some invite partner or client people."""
    blobs = [json.dumps(item) for _, item in ws.events]
    assert sum("hangoutLink" in item for _, item in ws.events) == 63
    assert sum("acme.zoom.us/j/" in b for b in blobs) == 32
    assert sum("teams.microsoft.com/l/meetup-join" in b for b in blobs) == 21
    externals = {
        a["email"].split("@")[1]
        for _, item in ws.events
        for a in item.get("attendees", [])
        if not a["email"].endswith("@acme.example") and not a.get("resource")
    }
    assert externals == {"partner.example", "client.example"}


# ---- identity -----------------------------------------------------------------------------------------


def test_identity_quirks_of_each_kind(ws: Workspace) -> None:
    """Slack emails that are aliases, differ in case, or are hidden (real_name then equals the directory)."""
    directory = {d["primaryEmail"]: d for d in ws.directory}
    by_slack = {u["id"]: u for u in ws.users}
    quirks = Counter()
    for p in (p for p in ws.truth["people"] if p["internal"] and p["slack_user_id"]):
        shown = by_slack[p["slack_user_id"]]["profile"].get("email")
        entry = directory[p["email"]]
        if shown is None:
            quirks["hidden"] += 1
            assert by_slack[p["slack_user_id"]]["real_name"] == entry["name"]["fullName"]
        elif shown in entry.get("aliases", []):
            quirks["alias"] += 1
        elif shown != p["email"] and shown.lower() == p["email"]:
            quirks["case"] += 1
    assert quirks == {"hidden": 1, "alias": 1, "case": 1}


def test_address_quirks_put_the_slack_email_where_only_part_of_the_directory_shows_it(ws: Workspace) -> None:
    """emails[] only, nonEditableAliases only, an unknown company address with a unique name, and a pair of
    namesakes on unknown addresses; truth still names each Slack user's person."""
    directory = {d["primaryEmail"]: d for d in ws.directory}
    by_slack = {u["id"]: u for u in ws.users}
    seen: Counter[str] = Counter()
    names = Counter(d["name"]["fullName"] for d in ws.directory)
    for p in (p for p in ws.truth["people"] if p["quirk"] in ADDRESS_QUIRKS):
        seen[p["quirk"]] += 1
        shown = by_slack[p["slack_user_id"]]["profile"]["email"]
        entry = directory[p["email"]]
        listed = [e["address"] for e in entry["emails"]]
        assert ws.truth["slack_user_emails"][p["slack_user_id"]] == p["email"]
        assert shown not in entry.get("aliases", []) and shown != p["email"]
        assert (shown in listed) == (p["quirk"] == "other_email")
        assert (shown in entry.get("nonEditableAliases", [])) == (p["quirk"] == "non_editable")
        if p["quirk"] in ("name", "ambiguous_name"):
            assert names[p["name"]] == (2 if p["quirk"] == "ambiguous_name" else 1)
    assert seen == {"other_email": 1, "non_editable": 1, "name": 1, "ambiguous_name": 2}


def test_deactivated_users_and_guests(ws: Workspace) -> None:
    """A Slack user is deactivated (and suspended in the directory); two partner guests are restricted."""
    deleted = [u for u in ws.users if u["deleted"]]
    guests = [u for u in ws.users if u["is_restricted"]]
    suspended = {d["primaryEmail"] for d in ws.directory if d["suspended"]}
    assert [ws.truth["slack_user_emails"][u["id"]] for u in deleted] == sorted(suspended)
    assert [u["profile"]["email"].split("@")[1] for u in guests] == ["partner.example", "partner.example"]
    assert [u["real_name"] for u in ws.users if u["is_bot"]] == ["Google Calendar", "GitHub", "Jira Cloud"]


# ---- payload shapes against real vendor data (tests/fixtures/third_party) -----------------------------


def _schema_keys(discovery: Path, schema: str) -> set[str]:
    """Give the property names of a schema in a Google discovery document."""
    return set(json.loads(discovery.read_text())["schemas"][schema]["properties"])


def test_payload_keys_exist_in_real_vendor_payloads(ws: Workspace, third_party: Path) -> None:
    """Every key we write exists in the real payload or the vendor's schema for that object."""
    docs = third_party / "google_api_discovery_docs"
    huddle = json.loads(
        (third_party / "slack_api_ossans_navi" / "conversations.replies_huddle_thread.json").read_text()
    )
    real_room = set(huddle["messages"][0]["room"])
    event_keys = _schema_keys(docs / "calendar.v3.json", "Event")
    for _, _, m in ws.messages:
        if "room" in m:
            assert set(m["room"]) <= real_room
    for _, item in ws.events:
        assert set(item) <= event_keys
    assert {k for d in ws.directory for k in d} <= _schema_keys(docs / "admin.directory_v1.json", "User")
    assert {k for f in ws.files for k in f} <= _schema_keys(docs / "drive.v3.json", "File")
    # The test archive's users carry `is_app_user` and `updated`, which the older houstondatavis export lacks.
    with zipfile.ZipFile(third_party / "slack_export_viewer_testarchive" / "testarchive.zip") as archive:
        real_users = json.loads(archive.read("users.json"))
    assert {k for u in ws.users for k in u} - {k for u in real_users for k in u} == set()


# ---- sizes, summary and arguments --------------------------------------------------------------------


def test_reference_workspace_figures(ws: Workspace) -> None:
    """The 12-person, 5-day, seed-7 workspace has these exact figures."""
    s = ws.summary
    assert (
        s.messages,
        s.top_level,
        s.replies,
        s.users,
        s.channels,
        s.calendars,
        s.event_rows,
        s.unique_events,
        s.meetings,
        s.files,
        s.directory_users,
    ) == (1003, 518, 485, 17, 6, 11, 148, 53, 48, 27, 12)


def test_size_s_writes_about_ten_thousand_messages(tmp_path: Path) -> None:
    """SIZES hits the spec's orders; S writes 11 282 messages (10^4 within 30%)."""
    assert SIZES == {"S": (50, 20), "M": (150, 60), "L": (600, 150)}
    summary = generate_workspace(tmp_path / "s", *SIZES["S"], seed=SEED)
    assert summary.messages == 11282
    assert 7_000 <= summary.messages <= 13_000


def test_large_runs_write_null_noise_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the people*days limit, truth.json writes `"noise_messages": null`."""
    monkeypatch.setattr(generate_module, "NOISE_LISTING_LIMIT", PEOPLE * 2 - 1)
    generate_workspace(tmp_path / "big", PEOPLE, 2, SEED)
    truth = json.loads((tmp_path / "big" / "truth.json").read_text())
    assert truth["noise_messages"] is None
    assert truth["generator"] == {
        "seed": SEED,
        "people": PEOPLE,
        "days": 2,
        "start": "2026-09-07",
        "profile": "standard",
    }


@pytest.mark.parametrize(
    ("people", "days", "profile", "message"),
    [
        (9, 5, "standard", "people=9"),
        (5001, 5, "standard", "people=5001"),
        (12, 0, "standard", "days=0"),
        (12, 5, "busy", "unknown profile 'busy'"),
    ],
)
def test_bad_arguments_raise_configuration_error(
    tmp_path: Path, people: int, days: int, profile: str, message: str
) -> None:
    """Out-of-range sizes and unknown profiles are refused with a hint."""
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        generate_workspace(tmp_path / "x", people, days, SEED, profile=profile)


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    """A non-empty directory that is not a generated workspace is left alone."""
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigurationError, match="not written by the generator"):
        generate_workspace(tmp_path, PEOPLE, 1, SEED)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_regenerating_replaces_a_previous_workspace(tmp_path: Path) -> None:
    """Generating into a generated workspace replaces it: no day files of the old run remain."""
    generate_workspace(tmp_path / "w", PEOPLE, 3, SEED)
    generate_workspace(tmp_path / "w", PEOPLE, 1, SEED)
    stems = {p.stem for p in (tmp_path / "w" / "slack").glob("*/*.json")}
    assert stems == {"2026-09-07"}
