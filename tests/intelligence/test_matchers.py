"""Detector and matcher case tables for the hard profile's phrasings and traps, real huddle payloads, and
the name fallback of people mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import Normaliser
from intelligence import detect_evidence, map_people
from tests.intelligence.detect_cases import DetectedTogether, detect_one
from tests.intelligence.raw_builders import ORG_SLACK, directory_user, raw_connection, slack_user

CASUAL_CASES = [
    # (text, kind, role): the casual phrasings of the hard profile, one or more per detector
    ("things to cover in Design review: risks, timeline", "agenda", "pre"),
    ("omw, 2 min", "joining", "signal"),
    ("2 min late to Platform daily, sorry", "joining", "signal"),
    ("dialing in now", "joining", "signal"),
    ("jumping on <https://meet.google.com/abc-defg-hij>", "joining", "signal"),
    ("wrap-up from Design review: risks done, timeline next week", "recap", "post"),
    ("owners from Design review:\n• <@U2> — send the deck", "action_items", "post"),
    ("bumping Tundra weekly check-in 90 min", "reschedule", "pre"),
    ("Platform daily moved an hour today, calendar is updated", "reschedule", "pre"),
    ("calling off Design review today, nothing urgent", "cancellation", "signal"),
    ("<@U2> free for a call?", "call_request", "pre"),
    ("can I grab you for 10 min?", "call_request", "pre"),
]

NEAR_MISSES = [
    "zoom keeps crashing on my laptop since the update",
    "does anyone have a Webex license? a customer insists on it",
    "recording of the Payments demo is up: <https://acme.zoom.us/rec/play/abcDEF123xyz>",
    "let's skip the flaky lint checks this week",
    "cancelling the api build, wrong branch",
    "moving the dashboard to next week, not ready yet",
    "moving staging to next week, not ready yet",
    "joining <#C123ABC|proj-atlas> too, for the pricing page updates",
    "sharing my screen recording of the bug, see thread",
    "starting the web rollout now, shout if anything breaks",
    "our weekly sync doc is a mess, can someone tidy it?",
    "hopping on a plane, back online tomorrow",
]


# Each text of both tables detected in one scan.
detected = DetectedTogether([text for text, _, _ in CASUAL_CASES] + NEAR_MISSES)


@pytest.mark.parametrize(("text", "kind", "role"), CASUAL_CASES)
def test_casual_phrasings_are_detected_with_their_kind_and_role(text: str, kind: str, role: str) -> None:
    """Each casual coordination phrase (hard profile) becomes evidence of the expected kind and role."""
    row = detected(text)
    assert row is not None
    assert (row["kind"], row["role"]) == (kind, role)


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_not_evidence(text: str) -> None:
    """Tool talk, recordings, skipped checks, moved deliverables, channel joins, rollouts: not evidence."""
    assert detected(text) is None


@pytest.mark.parametrize(
    ("text", "url"),
    [
        (
            "<https://acme.webex.com/acme/j.php?MTID=m0a1b2c3d4e5f>",
            "https://acme.webex.com/j.php?MTID=m0a1b2c3d4e5f",
        ),
        ("join at https://acme.webex.com/meet/jane.doe", "https://acme.webex.com/meet/jane.doe"),
    ],
)
def test_webex_join_links_are_call_links_normalised(text: str, url: str) -> None:
    """Webex j.php links keep site and MTID (not the site folder); personal rooms keep site and name."""
    row = detect_one(text)
    assert row is not None
    assert (row["kind"], row["conference_url"]) == ("call_link", url)


def _epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_real_huddle_thread_payload_gives_the_huddle_and_its_replies(third_party: Path) -> None:
    """conversations.replies of a real huddle: the huddle with the room's times and four participants,
    and its four replies (all before the room ended) as `during` evidence."""
    payload = json.loads(
        (third_party / "slack_api_ossans_navi" / "conversations.replies_huddle_thread.json").read_text()
    )
    with Normaliser() as norm:
        rows = norm.slack_messages(
            "CXXXXXXX", payload["messages"], "conversations.replies_huddle_thread.json"
        )
    con = raw_connection(slack_users=ORG_SLACK)
    con.register("_real", rows)
    con.execute("INSERT INTO slack_messages SELECT * FROM _real")
    found = [(r["ts"], r["kind"], r["role"]) for r in detect_evidence(con).to_pylist()]
    huddle = detect_evidence(con).to_pylist()[0]
    assert found == [
        ("1745387799.160249", "huddle", "during"),
        ("1745389271.537969", "during", "during"),
        ("1745389299.990499", "during", "during"),
        ("1745389392.318809", "during", "during"),
        ("1745389431.931479", "during", "during"),
    ]
    assert (huddle["room_id"], huddle["room_start"], huddle["room_end"]) == (
        "RXXXXXXXX",
        _epoch(1745387799),
        _epoch(1745389769),
    )
    assert huddle["room_participants"] == ["UWWWWWWW", "UXXXXXXX", "UYYYYYYY", "UZZZZZZZ"]


def test_real_bot_reaction_thread_is_not_evidence(third_party: Path) -> None:
    """A real thread of bot posts with reactions carries no meeting evidence."""
    payload = json.loads(
        (third_party / "slack_api_ossans_navi" / "conversations.replies_bot_reactions.json").read_text()
    )
    with Normaliser() as norm:
        rows = norm.slack_messages(
            "CXXXXXXX", payload["messages"], "conversations.replies_bot_reactions.json"
        )
    con = raw_connection(slack_users=ORG_SLACK)
    con.register("_real", rows)
    con.execute("INSERT INTO slack_messages SELECT * FROM _real")
    assert (rows.num_rows, detect_evidence(con).num_rows) == (len(payload["messages"]), 0)


NAME_CASES = [
    # (directory full name, Slack real_name with the email hidden, mapped?)
    ("José Núñez", "jose nunez", True),
    ("José Núñez", "Jose Nunez", True),
    ("Łukasz Kowalski", "Lukasz Kowalski", True),
    ("Ann Lee", " Ann  Lee ", True),
    ("Ann Lee", "ann lee", True),
    ("Ann Lee", "Annie Lee", False),
]


@pytest.mark.parametrize(("directory_name", "slack_name", "mapped"), NAME_CASES)
def test_hidden_email_falls_back_to_the_folded_name(
    directory_name: str, slack_name: str, mapped: bool
) -> None:
    """A Slack user without an email maps by name once case, accents and spaces are folded, else not."""
    con = raw_connection(
        directory_users=[directory_user("d-1", "someone@acme.example", directory_name)],
        slack_users=[slack_user("U9", None, slack_name, display_name="")],
    )
    links = {r["identity"]: (r["person_id"], r["matched_by"]) for r in map_people(con).links.to_pylist()}
    assert links["U9"] == (("d-1", "name") if mapped else ("slack:U9", "unmatched"))


def test_a_namesake_with_a_visible_email_leaves_the_name_to_the_hidden_one() -> None:
    """Two directory people share a name; the one whose Slack shows an email maps by email, so the hidden
    account's name points at the other one alone."""
    con = raw_connection(
        directory_users=[
            directory_user("d-1", "priya.okafor@acme.example", "Priya Okafor"),
            directory_user("d-2", "priya.okafor2@acme.example", "Priya Okafor"),
        ],
        slack_users=[
            slack_user("U1", None, "priya okafor", display_name=""),
            slack_user("U2", "priya.okafor2@acme.example", "Priya Okafor"),
        ],
    )
    links = {r["identity"]: (r["person_id"], r["matched_by"]) for r in map_people(con).links.to_pylist()}
    assert (links["U1"], links["U2"]) == (("d-1", "name"), ("d-2", "primary_email"))


def test_two_hidden_namesakes_stay_unmatched() -> None:
    """When no email tells two namesakes apart, neither hidden account is guessed."""
    con = raw_connection(
        directory_users=[
            directory_user("d-1", "sam.lee@acme.example", "Sam Lee"),
            directory_user("d-2", "sam.lee2@acme.example", "Sam Lee"),
        ],
        slack_users=[slack_user("U1", None, "Sam Lee", display_name="")],
    )
    links = {r["identity"]: r["matched_by"] for r in map_people(con).links.to_pylist()}
    assert links["U1"] == "unmatched"
