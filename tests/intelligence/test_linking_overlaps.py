"""Linking evidence when its author has two meetings at once: timing, attendance, mentions, thread shape.

The evidence rows are written by hand (kind and role as the detector or context evidence would give them),
so each test checks the linking rules alone, whatever words a detector would need.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from intelligence import EVIDENCE, EVIDENCE_ROLES, CorrelationResult, correlate, map_people
from tests.intelligence.raw_builders import (
    ORG_DIRECTORY,
    ORG_SLACK,
    T0,
    at,
    attendee,
    event,
    message,
    raw_connection,
    store,
)
from tests.intelligence.test_correlate import ANN, BOB, CAT, CHANNELS, rows

ANN_BOB = [attendee(ANN, organizer=True), attendee(BOB)]


def said(channel: str, when: datetime, text: str, user: str, kind: str, seq: int, **extra: str) -> dict:
    """Give a message together with the kind of evidence found in it (under the key `kind`)."""
    return {**message(channel, when, text, user, seq=seq, **extra), "kind": kind}


def linked(
    posts: list[dict],
    events: list[dict],
    directory: list[dict] = ORG_DIRECTORY,
    slack: list[dict] = ORG_SLACK,
    channels: list[dict] = CHANNELS,
) -> CorrelationResult:
    """Give the correlation of `posts` (each carrying its evidence kind, and a join link as its
    `conference_url` when it has one) around `events` in channel C1 (the small org unless told)."""
    con = raw_connection(
        slack_messages=[{k: v for k, v in p.items() if k != "kind"} for p in posts],
        calendar_events=events,
        directory_users=directory,
        slack_users=slack,
        slack_channels=channels,
    )
    store(con, "people", map_people(con).people)
    evidence = [
        {
            "channel_id": p["channel_id"],
            "ts": p["ts"],
            "thread_ts": p.get("thread_ts"),
            "user_id": p["user_id"],
            "posted_at": p["posted_at"],
            "kind": p["kind"],
            "role": EVIDENCE_ROLES[p["kind"]],
            "matched": "hand-written",
            "conference_url": p.get("conference_url"),
            "drive_file_ids": [],
            "room_participants": [],
        }
        for p in posts
    ]
    store(con, "evidence", pa.Table.from_pylist(evidence, schema=EVIDENCE))
    return correlate(con)


# One post while its author has two meetings, and the meeting structure points it to (the other one wins the
# tie-breaks: it sorts first by id, or starts nearer in time).
ONE_POST_CASES = [
    pytest.param(
        [
            event("b-workshop", T0, 60, ANN_BOB, summary="Pricing workshop"),
            event("a-vendor", at(30), 30, ANN_BOB, summary="Vendor onboarding"),
        ],
        said("C1", at(26), "pulling the spreadsheet up on my side", "U2", "during", 1),
        "cal:b-workshop",
        id="chatter four minutes before the next meeting starts belongs to the one already running",
    ),
    pytest.param(
        [
            event("a-pair", T0, 30, ANN_BOB, summary="Budget"),
            event("b-trio", T0, 30, [*ANN_BOB, attendee(CAT)], summary="Hiring"),
        ],
        said("C1", at(12), "agreed with <@U3> on that point", "U2", "during", 1),
        "cal:b-trio",
        id="agreeing with Cat mid-call is talk of the meeting that invites her",
    ),
    pytest.param(
        [
            event("a-early", T0, 60, ANN_BOB, summary="Ops review"),
            event("b-late", at(70), 60, ANN_BOB, summary="Design crit"),
        ],
        said("C1", at(75), "to do: <@U2> files the ticket", "U1", "action_items", 1),
        "cal:a-early",
        id="action items five minutes into the next meeting follow the one that ended",
    ),
]


@pytest.mark.parametrize(("events", "post", "meeting_id"), ONE_POST_CASES)
def test_a_post_between_two_meetings_goes_where_timing_and_people_point(
    events: list[dict], post: dict, meeting_id: str
) -> None:
    """Running meeting over upcoming one, invitees over strangers, an ended meeting over one just begun."""
    result = linked([post], events)
    assert rows(result.links, "meeting_id", "kind") == [(meeting_id, post["kind"])]


def test_an_invitee_who_declined_is_not_attending() -> None:
    """Two meetings at once; Bob declined the first: his "on my way" goes to the one he accepted, and the
    reasons do not call him an attendee of the other."""
    events = [
        event("a-declined", T0, 30, [attendee(ANN, organizer=True), attendee(BOB, "declined")]),
        event("b-accepted", T0, 30, ANN_BOB, summary="Roadmap"),
    ]
    arriving = said("C1", at(1), "on my way, two secs", "U2", "joining", 1)
    result = linked([arriving], events)
    assert rows(result.links, "meeting_id", "reasons") == [
        (
            "cal:b-accepted",
            [
                "posted 1 min after start (during the meeting) by an attendee",
                "posted in a channel where 100% of the attendees are members",
            ],
        )
    ]


def test_talk_its_author_follows_with_action_items_is_the_recap_of_the_meeting_that_ended() -> None:
    """Ann's posts 40 minutes after the planning meeting, while her next meeting runs, read like talk of
    the running one; the action items she adds (in the thread, or as her next post) make each a recap of
    the meeting that ended. Talk followed by action items that follow a recap of hers stays talk."""
    events = [
        event("a-plan", T0, 30, ANN_BOB, summary="Quarter planning"),
        event("b-next", at(60), 60, [attendee(ANN, organizer=True), attendee(CAT)], summary="Interviews"),
    ]
    agenda = said("C1", at(-90), "Quarter planning topics: targets, hiring", "U1", "agenda", 1)
    notes = said("C1", at(70), "what we settled: targets stay as drafted", "U1", "during", 2)
    owners = said(
        "C1", at(72), "owners: <@U2> drafts the memo", "U1", "action_items", 3, thread_ts=notes["ts"]
    )
    summary = said("C1", at(80), "short version: hiring freeze lifted", "U1", "during", 4)
    todo = said("C1", at(85), "todo: <@U2> books the room", "U1", "action_items", 5)
    result = linked([agenda, notes, owners, summary, todo], events)
    assert rows(result.links, "meeting_id", "ts", "kind", "role") == [
        ("cal:a-plan", agenda["ts"], "agenda", "pre"),
        ("cal:a-plan", notes["ts"], "recap", "post"),
        ("cal:a-plan", owners["ts"], "action_items", "post"),
        ("cal:a-plan", summary["ts"], "recap", "post"),
        ("cal:a-plan", todo["ts"], "action_items", "post"),
    ]
    recap = said("C1", at(100), "Quarter planning wrap-up: all agreed", "U1", "recap", 6)
    chat = said("C1", at(103), "mic check, can you hear me", "U1", "during", 7)
    follow = said("C1", at(106), "next steps: <@U2> sends numbers", "U1", "action_items", 8)
    later = linked([agenda, recap, chat, follow], events)
    assert rows(later.links, "meeting_id", "ts", "kind") == [
        ("cal:a-plan", agenda["ts"], "agenda"),
        ("cal:a-plan", recap["ts"], "recap"),
        ("cal:a-plan", follow["ts"], "action_items"),
        ("cal:b-next", chat["ts"], "during"),
    ]
