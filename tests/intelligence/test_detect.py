"""Evidence detection: positives and hard negatives per kind, link normalisation, eids, huddles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intelligence import EVIDENCE, detect_evidence
from tests.intelligence.detect_cases import DetectedTogether, detect_one
from tests.intelligence.raw_builders import (
    ORG_SLACK,
    T0,
    at,
    eid,
    huddle_room,
    message,
    raw_connection,
    ts_of,
)

LANGUAGE_CASES = [
    # (text, kind, role)
    ("Agenda for Design review later today:\n• status updates\n• blockers", "agenda", "pre"),
    ("agenda for today's Platform sync: risks, timeline. add anything else to the doc", "agenda", "pre"),
    ("For Platform sync at 3pm, let's cover: 1) risks 2) timeline", "agenda", "pre"),
    ("Topics for Design review today: risks and timeline. Anything else?", "agenda", "pre"),
    ("*Design review* agenda\n1. risks\n2. timeline", "agenda", "pre"),
    ("Prep for Design review at 3pm: please skim the doc before we start", "agenda", "pre"),
    ("running 5 min late, start without me", "joining", "signal"),
    ("be there in 2", "joining", "signal"),
    ("I'm in the room, where is everyone?", "joining", "signal"),
    ("joining from my phone today", "joining", "signal"),
    ("on my way, 2 min", "joining", "signal"),
    ("can everyone see my screen?", "during", "during"),
    ("Recap of Design review: risks on track, timeline needs an owner", "recap", "post"),
    ("Notes from today's Platform sync: see doc", "recap", "post"),
    ("Summary of Design review — decisions: go with option B", "recap", "post"),
    ("AI: <@U2> to send the deck by Friday", "action_items", "post"),
    ("Action items:\n• <@U2> — update the spec", "action_items", "post"),
    ("follow-ups from Design review: <@U2> ping legal", "action_items", "post"),
    ("AIs\n- <@U2>: file the tickets", "action_items", "post"),
    ("pushing the Design review an hour", "reschedule", "pre"),
    ("can we move Design review to 3pm? conflict on my side", "reschedule", "pre"),
    ("moving today's Platform sync 30 min later, sorry for the shuffle", "reschedule", "pre"),
    ("cancelling today's Design review, nothing to discuss", "cancellation", "signal"),
    ("skipping Platform sync this week", "cancellation", "signal"),
    ("Design review is cancelled, async updates in thread please", "cancellation", "signal"),
    ("let's skip today's Platform sync, half the team is out", "cancellation", "signal"),
    ("quick call?", "call_request", "pre"),
    ("<@U2> got 5 min for a quick call?", "call_request", "pre"),
    ("can we hop on a call re the pricing page?", "call_request", "pre"),
    ("easier to talk this through live, call?", "call_request", "pre"),
    ("<@U2> huddle or zoom? whichever", "call_request", "pre"),
]

HARD_NEGATIVES = [
    "this meeting could have been an email",
    "honestly that whole meeting could have been an email :sweat_smile:",
    "projector in the Everest room is broken again",
    "the Fuji room screen won't connect to laptops, ticket filed",
    "should we meet next week to talk about the pricing page?",
    "we should set up a call about the pricing page at some point",
    "recording from last week's demo: <https://acme.zoom.us/rec/share/abcDEF123.xyz>",
    "here's the recording if you missed it <https://acme.zoom.us/rec/share/abc.def|recording>",
    "please read <https://docs.google.com/document/d/1MeetingsPolicyDoc/edit|How we run meetings> first",
    "what's the agenda behind this change? feels rushed",
    "not trying to push an agenda, but the pricing page really needs an owner",
    "Recap of Q3 numbers: revenue up 12%, churn flat",
    "pushing the release an hour, CI is slow",
    "let's take this offline",
    "joining the Payments team next month, excited!",
    "can't make the offsite in November :(",
    "calendar is a mess this week lol",
    "anyone else seeing the deploy being slow today?",
]


@pytest.mark.parametrize(("text", "kind", "role"), LANGUAGE_CASES)
def test_coordination_language_is_detected_with_its_kind_and_role(text: str, kind: str, role: str) -> None:
    """Each coordination phrase becomes one evidence row of the expected kind and role."""
    row = detected(text)
    assert row is not None
    assert (row["kind"], row["role"]) == (kind, role)


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_not_evidence(text: str) -> None:
    """Meeting-sounding chatter, recordings and docs about meetings are not evidence."""
    assert detected(text) is None


JOIN_LINKS = [
    (
        "joining now <https://meet.google.com/abc-defg-hij?authuser=0|meet.google.com/abc-defg-hij>",
        "joining",
        "https://meet.google.com/abc-defg-hij",
    ),
    (
        "here's the link https://MEET.google.com/ABC-defg-hij",
        "call_link",
        "https://meet.google.com/abc-defg-hij",
    ),
    (
        "sure <https://acme.zoom.us/j/81234567890?pwd=AbC123>",
        "call_link",
        "https://zoom.us/j/81234567890",
    ),
    ("<https://Acme.Zoom.us/my/ann.lee|my room>", "call_link", "https://zoom.us/my/ann.lee"),
    (
        "link for Design review: https://teams.microsoft.com/l/meetup-join/19%3ameeting_XyZ%40thread.v2/0"
        "?context=%7b%22Tid%22%7d",
        "call_link",
        "https://teams.microsoft.com/l/meetup-join/19:meeting_xyz@thread.v2",
    ),
    (
        "we're using this today: <https://acme.webex.com/acme/j.php?MTID=m0123abcd|join>",
        "call_link",
        "https://acme.webex.com/j.php?MTID=m0123abcd",
    ),
    ("here: https://acme.webex.com/meet/ann.lee", "call_link", "https://acme.webex.com/meet/ann.lee"),
]


@pytest.mark.parametrize(("text", "kind", "url"), JOIN_LINKS)
def test_join_links_are_detected_and_normalised(text: str, kind: str, url: str) -> None:
    """Meet, Zoom, Teams, Webex join links give their canonical key: provider host and meeting id only."""
    row = detected(text)
    assert row is not None
    assert (row["kind"], row["role"], row["conference_url"]) == (kind, "signal", url)


NOT_JOIN_LINKS = [
    "https://acme.zoom.us/rec/share/AbCdEf.GhIj",
    "https://acme.zoom.us/rec/play/xyz",
    "https://support.google.com/meet/answer/9303069",
    "https://meet.google.com/",
]


@pytest.mark.parametrize("text", NOT_JOIN_LINKS)
def test_recordings_and_non_join_pages_are_not_call_links(text: str) -> None:
    """Recordings, shares and help pages are not join links."""
    assert detected(text) is None


DRIVE_LINKS = [
    ("https://docs.google.com/document/d/1AbCdEfGhIjKl_-9/edit", ["1AbCdEfGhIjKl_-9"]),
    ("https://docs.google.com/document/d/1AbCdEfGhIjKl/edit#heading=h.3znysh7", ["1AbCdEfGhIjKl"]),
    ("https://docs.google.com/spreadsheets/d/1SheetIdXYZ12/edit#gid=0", ["1SheetIdXYZ12"]),
    ("https://docs.google.com/presentation/d/1SlidesIdXYZ9/edit#slide=id.p", ["1SlidesIdXYZ9"]),
    ("https://drive.google.com/open?id=1OpenIdXYZ1234", ["1OpenIdXYZ1234"]),
    ("https://drive.google.com/open?usp=sharing&amp;id=1AmpIdXYZ1234", ["1AmpIdXYZ1234"]),
    ("https://drive.google.com/file/d/1FileIdXYZ123/view?usp=sharing", ["1FileIdXYZ123"]),
    (
        "<https://drive.google.com/file/d/1FileIdXYZ123/view|deck> and "
        "<https://docs.google.com/document/d/1AbCdEfGhIjKl/edit|notes>",
        ["1AbCdEfGhIjKl", "1FileIdXYZ123"],
    ),
]


# The single-message texts, detected in one scan.
TEXT_CASES = [
    *(text for text, _, _ in LANGUAGE_CASES),
    *HARD_NEGATIVES,
    *(text for text, _, _ in JOIN_LINKS),
    *NOT_JOIN_LINKS,
    *(f"Recap of Design review: {link}" for link, _ in DRIVE_LINKS),
]
detected = DetectedTogether(TEXT_CASES)


def test_texts_scanned_together_are_detected_as_each_alone() -> None:
    """One scan of every case (each message in its own channel) gives what a scan of the message alone
    gives: rows of several kinds, and no row."""

    def apart_from_channel(row: dict | None) -> dict | None:
        return None if row is None else {k: v for k, v in row.items() if k != "channel_id"}

    for text in (LANGUAGE_CASES[0][0], JOIN_LINKS[0][0], HARD_NEGATIVES[0], TEXT_CASES[-1]):
        assert apart_from_channel(detected(text)) == apart_from_channel(detect_one(text))
    assert detected(HARD_NEGATIVES[0]) is None and detected(TEXT_CASES[-1]) is not None


@pytest.mark.parametrize(("link", "ids"), DRIVE_LINKS)
def test_drive_links_in_every_form_give_file_ids(link: str, ids: list[str]) -> None:
    """Every Drive URL form of a linked document is normalised to its sorted, distinct file ids."""
    row = detected(f"Recap of Design review: {link}")
    assert row is not None
    assert row["drive_file_ids"] == ids


@pytest.mark.parametrize(
    ("eid_value", "event_id"),
    [
        (eid("abc123_20260908T133000Z"), "abc123_20260908T133000Z"),
        (eid("abc123_20260908T133000Z", padding=True), "abc123_20260908T133000Z"),
        (eid("q9~x?y", calendar="bob.ray@acme.example"), "q9~x?y"),  # urlsafe alphabet: - and _ in the eid
        ("%%%notbase64", None),
        ("A", None),
    ],
)
def test_calendar_bot_eids_decode_to_event_ids(eid_value: str, event_id: str | None) -> None:
    """A calendar-bot attachment's eid decodes (padding optional, urlsafe) to the event id, else null."""
    link = f"https://www.google.com/calendar/event?eid={eid_value}"
    row = detect_one(
        "",
        user="UCAL",
        bot_id="B1",
        subtype="bot_message",
        attachments=[{"title": "Design review", "title_link": link, "text": "Event starting in 10 minutes"}],
    )
    if event_id is None and not eid_value.startswith("A"):
        # "%%%" is not an eid at all: the link does not match, and a bot message is no other evidence.
        assert row is None
        return
    assert row is not None
    assert (row["kind"], row["role"], row["event_id"]) == ("calendar_bot", "pre", event_id)


def test_eid_uses_url_safe_characters() -> None:
    """An eid whose base64 needs '-' or '_' still decodes (the fixture really contains them)."""
    value = eid("q9~x?y", calendar="bob.ray@acme.example")
    assert "-" in value or "_" in value


def test_a_person_pasting_an_event_link_is_a_calendar_link() -> None:
    """A person (not a bot) posting an event link gives kind calendar_link with the decoded id."""
    row = detect_one(f"invite: https://calendar.google.com/calendar/event?eid={eid('ev9')}")
    assert row is not None
    assert (row["kind"], row["event_id"]) == ("calendar_link", "ev9")


def test_huddle_thread_with_room_gives_times_and_participants() -> None:
    """A huddle_thread message yields kind huddle, role during, and the room's start, end and people."""
    room = huddle_room(at(0), at(25), ["U2", "U1", "U3"], room_id="R42")
    row = detect_one("A huddle started", user="USLACKBOT", subtype="huddle_thread", room=room)
    assert row is not None
    assert (row["kind"], row["role"], row["room_id"]) == ("huddle", "during", "R42")
    assert (row["room_start"], row["room_end"]) == (at(0), at(25))
    assert row["room_participants"] == ["U1", "U2", "U3"]


def test_room_without_subtype_is_a_huddle() -> None:
    """About one huddle in ten carries `room` without the subtype; it is still a huddle."""
    row = detect_one("", user="USLACKBOT", room=huddle_room(at(0), at(10), ["U1", "U2"]))
    assert row is not None
    assert (row["kind"], row["room_end"]) == ("huddle", at(10))


def test_huddle_subtype_without_room_starts_at_the_post() -> None:
    """A huddle_thread without a room (or with broken JSON) starts at the post and has no end."""
    for room in (None, "{not json"):
        row = detect_one("A huddle started", user="USLACKBOT", subtype="huddle_thread", room=room)
        assert row is not None
        assert (row["kind"], row["room_start"], row["room_end"], row["room_participants"]) == (
            "huddle",
            T0,
            None,
            [] if room is None else [],
        )


def test_replies_in_a_huddle_thread_are_during_evidence_even_scanned_alone() -> None:
    """A reply in a huddle's thread is `during` evidence; scanning only the reply gives the same row."""
    parent = message(
        "C1",
        at(0),
        "A huddle started",
        user="USLACKBOT",
        subtype="huddle_thread",
        seq=1,
        room=huddle_room(at(0), at(20), ["U1", "U2"]),
    )
    reply = message("C1", at(5), "thanks all, that was quick", seq=2, thread_ts=ts_of(at(0), 1))
    other = message("C1", at(6), "thanks all, that was quick", seq=3, thread_ts=ts_of(at(-60), 9))
    con = raw_connection(slack_messages=[parent, reply, other], slack_users=ORG_SLACK)
    full = detect_evidence(con).to_pylist()
    assert [(r["ts"], r["kind"]) for r in full] == [(parent["ts"], "huddle"), (reply["ts"], "during")]
    con.execute(f"CREATE VIEW new_only AS SELECT * FROM slack_messages WHERE ts = '{reply['ts']}'")
    assert detect_evidence(con, "new_only").to_pylist() == [full[1]]


def test_bots_and_notices_are_never_language_evidence() -> None:
    """A bot's recap or a channel_join notice is not evidence."""
    assert detect_one("Recap of Design review: done", user="UCAL", bot_id="B1") is None
    assert detect_one("Recap of Design review: done", user="UCAL") is None  # is_bot user without bot_id
    assert detect_one("<@U1> has joined the channel, quick call?", subtype="channel_join") is None


def test_evidence_rows_carry_message_identity_and_schema() -> None:
    """Rows carry channel, ts, thread, user and posted_at of the message, in the EVIDENCE schema."""
    con = raw_connection(
        slack_messages=[
            message("C7", at(3), "Recap of Design review", user="U2", thread_ts="1788874000.000001")
        ],
        slack_users=ORG_SLACK,
    )
    table = detect_evidence(con)
    assert table.schema == EVIDENCE
    row = table.to_pylist()[0]
    assert (row["channel_id"], row["ts"], row["thread_ts"], row["user_id"], row["posted_at"]) == (
        "C7",
        ts_of(at(3)),
        "1788874000.000001",
        "U2",
        datetime(2026, 9, 8, 13, 33, tzinfo=UTC),
    )
    assert (row["matched"], row["conference_url"], row["event_id"], row["drive_file_ids"]) == (
        "Recap",
        None,
        None,
        [],
    )


def test_kind_priority_prefers_language_over_a_bare_link() -> None:
    """'joining now <link>' is `joining` (with the link kept); a link alone is `call_link`."""
    assert detect_one("joining now https://meet.google.com/abc-defg-hij")["kind"] == "joining"
    assert detect_one("https://meet.google.com/abc-defg-hij")["kind"] == "call_link"
    assert detect_one("quick call? https://meet.google.com/abc-defg-hij")["kind"] == "call_link"


@pytest.mark.parametrize(
    ("parent_text", "reply_minutes", "reply_text", "kind", "role", "matched"),
    [
        (
            "Agenda for Design review later today: risks",
            5,
            "can we also cover hiring?",
            "agenda",
            "pre",
            "reply to an agenda",
        ),
        ("quick call?", 2, "one sec", "joining", "signal", "reply to a call request"),
        ("quick call?", 40, "thanks, that helped", "recap", "post", "reply to a call request"),
        ("lunch order going in at 12", 5, "thanks, that helped", None, None, None),
    ],
)
def test_replies_take_their_meaning_from_the_thread_parent(
    parent_text: str,
    reply_minutes: int,
    reply_text: str,
    kind: str | None,
    role: str | None,
    matched: str | None,
) -> None:
    """Replies under an agenda or a call request are evidence: early ones coordinate, late ones follow up."""
    parent = message("C1", at(0), parent_text, user="U1", seq=1)
    reply = message("C1", at(reply_minutes), reply_text, user="U2", seq=2, thread_ts=parent["ts"])
    con = raw_connection(slack_messages=[parent, reply], slack_users=ORG_SLACK)
    rows = {r["ts"]: r for r in detect_evidence(con).to_pylist()}
    got = rows.get(reply["ts"])
    assert ((got["kind"], got["role"], got["matched"]) if got else None) == (
        (kind, role, matched) if kind else None
    )
