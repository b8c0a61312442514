"""Correlation: calendar meetings (dedup, exclusions, cancellations), evidence links, ad hoc meetings."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa

from intelligence import (
    EXCLUDED_EVENTS,
    MEETING_DOCUMENTS,
    MEETING_EVIDENCE,
    MEETING_PARTICIPANTS,
    MEETINGS,
    CorrelationResult,
    correlate,
    detect_evidence,
    map_people,
)
from tests.intelligence.raw_builders import (
    ORG_DIRECTORY,
    ORG_SLACK,
    T0,
    at,
    attendee,
    eid,
    event,
    huddle_room,
    message,
    raw_connection,
    store,
    ts_of,
)

ANN, BOB, CAT = "ann.lee@acme.example", "bob.ray@acme.example", "cat.kim@acme.example"
TEAM = [attendee(ANN, organizer=True), attendee(BOB), attendee(CAT, "declined")]
MEET = "https://meet.google.com/abc-defg-hij"
CHANNELS = [{"channel_id": "C1", "name": "eng", "members": ["U1", "U2", "U3"]}]


def correlated(
    messages: list[dict] | None = None, events: list[dict] | None = None, **raw: list[dict]
) -> CorrelationResult:
    """Give the correlation of a hand-built workspace (people and evidence computed as the flow does)."""
    con = raw_connection(
        slack_messages=messages or [],
        calendar_events=events or [],
        directory_users=ORG_DIRECTORY,
        slack_users=ORG_SLACK,
        **raw,
    )
    store(con, "people", map_people(con).people)
    store(con, "evidence", detect_evidence(con))
    return correlate(con)


def rows(table: pa.Table, *columns: str) -> list[tuple]:
    """Give `columns` of every row of `table` as tuples."""
    return [tuple(r[c] for c in columns) for r in table.to_pylist()]


def link_of(result: CorrelationResult, message_row: dict) -> dict | None:
    """Give the link of one message, or None when it linked to no meeting."""
    found = [
        r
        for r in result.links.to_pylist()
        if (r["channel_id"], r["ts"]) == (message_row["channel_id"], message_row["ts"])
    ]
    return found[0] if found else None


def test_an_event_in_many_calendars_is_one_meeting_from_its_latest_copy() -> None:
    """Copies of an event in three calendars give one meeting; the most recently updated copy wins."""
    copies = [
        event("ev1", T0, attendees=TEAM, calendar=ANN, summary="Design review", updated=at(-60)),
        event("ev1", T0, attendees=TEAM, calendar=BOB, summary="Design review v2", updated=at(-30)),
        event("ev1", T0, attendees=TEAM, calendar=CAT, summary="Design review", updated=at(-60)),
    ]
    result = correlated(events=copies)
    assert result.meetings.schema == MEETINGS
    assert rows(
        result.meetings, "meeting_id", "calendar_event_id", "title", "calendars", "status", "origin", "kind"
    ) == [("cal:ev1", "ev1", "Design review v2", 3, "held", "calendar", "one_off")]
    assert rows(result.participants, "email", "person_id", "response_status", "invited", "organizer") == [
        (ANN, "d-ann", "accepted", True, True),
        (BOB, "d-bob", "accepted", True, False),
        (CAT, "d-cat", "declined", True, False),
    ]
    assert result.meetings.to_pylist()[0]["reasons"] == [
        "scheduled in Google Calendar (seen in 3 calendars)",
        "no Slack activity linked",
    ]


def test_focus_time_out_of_office_solo_and_all_day_are_not_meetings() -> None:
    """Focus time, out of office, working location, one-person and all-day events are excluded, with why."""
    events = [
        event("focus", T0, attendees=[attendee(ANN)], event_type="focusTime"),
        event("ooo", T0, attendees=[attendee(ANN)], event_type="outOfOffice"),
        event("where", T0, attendees=[attendee(ANN)], event_type="workingLocation"),
        event("solo", T0, attendees=[attendee(ANN)]),
        event("nobody", T0, attendees=[], calendar=ANN, organizer_email=ANN),
        event(
            "solo_room",
            T0,
            attendees=[attendee(ANN), attendee("r1@resource.calendar.google.com", resource=True)],
        ),
        event("offsite", T0, attendees=TEAM, all_day=True),
        event("real", T0, attendees=TEAM),
    ]
    result = correlated(events=events)
    assert result.excluded.schema == EXCLUDED_EVENTS
    assert rows(result.excluded, "calendar_event_id", "reason") == [
        ("focus", "focus_time"),
        ("nobody", "solo"),
        ("offsite", "all_day"),
        ("ooo", "out_of_office"),
        ("solo", "solo"),
        ("solo_room", "solo"),
        ("where", "working_location"),
    ]
    assert rows(result.meetings, "meeting_id") == [("cal:real",)]


def test_cancelled_events_stay_meetings_with_status_cancelled() -> None:
    """Cancelled events are kept as cancelled meetings, even Google's bare cancelled instances.

    A bare instance borrows title and attendees from a live instance of its series; with none collected,
    the calendars holding it name its invitees.
    """
    live = event(
        "s1_20260908T133000Z",
        T0,
        attendees=TEAM,
        summary="Weekly sync",
        recurring_event_id="s1",
        original_start=T0,
    )
    bare = {
        "calendar_id": ANN,
        "event_id": "s1_20260915T133000Z",
        "status": "cancelled",
        "recurring_event_id": "s1",
        "original_start": T0 + timedelta(days=7),
        "attendees": None,
        "all_day": False,
    }
    lonely = [
        {
            **bare,
            "event_id": "s2_20260909T090000Z",
            "recurring_event_id": "s2",
            "original_start": at(19 * 60 + 30),
            "calendar_id": who,
        }
        for who in (ANN, BOB)
    ]
    one_off = event("gone", at(120), attendees=TEAM, status="cancelled", summary="Vendor demo")
    result = correlated(events=[live, bare, *lonely, one_off])
    assert rows(result.meetings, "meeting_id", "status", "title", "start", "end") == [
        ("cal:s1_20260908T133000Z", "held", "Weekly sync", T0, at(30)),
        ("cal:gone", "cancelled", "Vendor demo", at(120), at(150)),
        ("cal:s2_20260909T090000Z", "cancelled", "(no title)", at(19 * 60 + 30), at(19 * 60 + 30)),
        (
            "cal:s1_20260915T133000Z",
            "cancelled",
            "Weekly sync",
            T0 + timedelta(days=7),
            T0 + timedelta(days=7, minutes=30),
        ),
    ]
    invited = [(m, e) for m, e in rows(result.participants, "meeting_id", "email") if "s2_" in m]
    assert invited == [("cal:s2_20260909T090000Z", ANN), ("cal:s2_20260909T090000Z", BOB)]


def test_identical_join_link_links_evidence_whatever_the_query() -> None:
    """A Zoom link with another passcode still links by its normalised URL, with plain reasons."""
    ev = event("z1", T0, attendees=TEAM, location="https://acme.zoom.us/j/81234567890?pwd=SECRET")
    post = message("C9", at(-2), "here's the link <https://ACME.zoom.us/j/81234567890?pwd=other>", user="U2")
    result = correlated([post], [ev])
    link = link_of(result, post)
    assert (link["meeting_id"], link["kind"], link["role"], link["score"]) == (
        "cal:z1",
        "call_link",
        "signal",
        1.0,
    )
    assert link["reasons"] == ["same Zoom link as the event", "posted 2 min before start by an attendee"]
    assert rows(result.meetings, "origin", "conference_url", "channel_ids") == [
        ("calendar+slack", "https://zoom.us/j/81234567890", ["C9"])
    ]


def test_calendar_bot_eid_links_to_its_event_even_far_from_other_signals() -> None:
    """The calendar bot's eid decodes to the event id: a certain link (score 1)."""
    ev = event("ev1_20260908T133000Z", T0, attendees=TEAM, recurring_event_id="ev1", original_start=T0)
    link = f"https://www.google.com/calendar/event?eid={eid('ev1_20260908T133000Z')}"
    bot = message(
        "C9",
        at(-10),
        "Event starting in 10 minutes:",
        user="UCAL",
        bot_id="B1",
        subtype="bot_message",
        attachments=[{"title": "Design review", "title_link": link}],
    )
    result = correlated([bot], [ev])
    assert rows(result.links, "meeting_id", "kind", "role", "score", "reasons") == [
        (
            "cal:ev1_20260908T133000Z",
            "calendar_bot",
            "pre",
            1.0,
            ["the calendar link in the message points to this event", "posted 10 min before start"],
        )
    ]
    assert rows(result.participants, "email", "evidenced") == [(ANN, False), (BOB, False), (CAT, False)]


def test_time_and_attendee_link_language_evidence_and_strangers_stay_unlinked() -> None:
    """An attendee's agenda before start and recap after the end link; a stranger's vague post does not."""
    ev = event("ev1", T0, attendees=TEAM[:2], summary="Design review")
    agenda = message("C9", at(-240), "Agenda for Design review later today: risks", user="U2", seq=1)
    recap = message("C9", at(45), "Recap: shipped, owners assigned", user="U1", seq=2)
    stranger = message("C9", at(50), "Recap: the offsite was fun", user="U3", seq=3)
    result = correlated([agenda, recap, stranger], [ev])
    assert rows(result.links, "ts", "kind", "role", "score", "reasons") == [
        (
            agenda["ts"],
            "agenda",
            "pre",
            0.925,
            ["posted 4 h before start by an attendee", "mentions the title"],
        ),
        (
            recap["ts"],
            "recap",
            "post",
            0.791,
            [
                "posted 45 min after start by the organizer",
                "other messages about this meeting were posted in this channel",
            ],
        ),
    ]
    assert link_of(result, stranger) is None
    assert rows(result.participants, "email", "evidenced") == [(ANN, True), (BOB, True)]


def test_a_series_sharing_one_meet_link_links_the_nearest_instance() -> None:
    """Instances of a series share a Meet link; "joining now" links the instance starting now."""
    days = [
        event(
            f"s_{d}",
            T0 + timedelta(days=d),
            attendees=TEAM,
            hangout_link=MEET,
            recurring_event_id="s",
            original_start=T0 + timedelta(days=d),
        )
        for d in range(3)
    ]
    post = message("C9", at(1, T0 + timedelta(days=1)), f"joining now <{MEET}>", user="U2")
    result = correlated([post], days)
    assert rows(result.links, "meeting_id", "kind", "score", "reasons") == [
        (
            "cal:s_1",
            "joining",
            1.0,
            ["same Meet link as the event", "posted 1 min after start (during the meeting) by an attendee"],
        )
    ]


def test_huddle_becomes_an_ad_hoc_meeting_with_its_thread() -> None:
    """A huddle is a Slack-origin meeting with the room's times and people; thread replies attach."""
    room = huddle_room(at(0), at(25), ["U1", "U2"], room_id="R9")
    huddle = message(
        "C1", at(0), "A huddle started", user="USLACKBOT", subtype="huddle_thread", room=room, seq=1
    )
    during = message("C1", at(10), "can everyone see my screen?", user="U2", seq=2, thread_ts=huddle["ts"])
    after = message("C1", at(30), "thanks all, that was quick", user="U1", seq=3, thread_ts=huddle["ts"])
    result = correlated([huddle, during, after], slack_channels=CHANNELS)
    meeting_id = f"huddle:C1:{huddle['ts']}"
    assert rows(
        result.meetings,
        "meeting_id",
        "calendar_event_id",
        "origin",
        "kind",
        "status",
        "title",
        "start",
        "end",
        "channel_ids",
        "score",
        "reasons",
    ) == [
        (
            meeting_id,
            None,
            "slack",
            "huddle",
            "held",
            "Huddle in #eng",
            at(0),
            at(25),
            ["C1"],
            1.0,
            ["Slack huddle with 2 participants"],
        )
    ]
    assert rows(result.links, "meeting_id", "ts", "kind", "role", "score") == [
        (meeting_id, huddle["ts"], "huddle", "during", 1.0),
        (meeting_id, during["ts"], "during", "during", 0.9),
        (meeting_id, after["ts"], "recap", "post", 0.9),
    ]
    assert rows(result.participants, "person_id", "invited", "evidenced", "response_status") == [
        ("d-ann", False, True, None),
        ("d-bob", False, True, None),
    ]


def test_quick_call_answered_with_a_link_is_an_ad_hoc_call() -> None:
    """ "quick call?" answered by a join link on no calendar event is a call that the thanks reply ends."""
    ask = message("C1", at(0), "<@U2> got 5 min for a quick call?", user="U1", seq=1)
    answer = message(
        "C1", at(3), "sure https://meet.google.com/qqq-wwww-eee", user="U2", seq=2, thread_ts=ask["ts"]
    )
    thanks = message(
        "C1", at(40), "thanks, that helped - recap: we ship friday", user="U1", seq=3, thread_ts=ask["ts"]
    )
    result = correlated([ask, answer, thanks], slack_channels=CHANNELS)
    meeting_id = f"call:C1:{answer['ts']}"
    assert rows(
        result.meetings, "meeting_id", "origin", "kind", "title", "start", "end", "conference_url"
    ) == [
        (
            meeting_id,
            "slack",
            "adhoc_call",
            "Call in #eng",
            at(3),
            at(40),
            "https://meet.google.com/qqq-wwww-eee",
        )
    ]
    assert rows(result.links, "ts", "kind", "score", "reasons") == [
        (ask["ts"], "call_request", 0.8, ["asked for a call 3 min before the link was posted"]),
        (
            answer["ts"],
            "call_link",
            1.0,
            [
                "join link posted by a person on no calendar event",
                "answers a message posted 3 min before the link",
                "the words ask for a call",
                "1 reply in its thread",
            ],
        ),
        (thanks["ts"], "recap", 0.7, ["reply in the call's thread"]),
    ]
    assert rows(result.participants, "person_id", "evidenced") == [("d-ann", True), ("d-bob", True)]


def test_a_lone_link_is_a_default_length_call_and_an_event_link_joins_its_event() -> None:
    """A person's join link nobody asked for is a call of default length; an event's link joins the event."""
    lone = message("C2", at(0), "https://meet.google.com/zzz-yyyy-xxx", user="U1", seq=1)
    ask = message("C1", at(-3), "quick call?", user="U2", seq=2)
    known = message("C1", at(-1), f"sure {MEET}", user="U1", seq=3)
    ev = event("ev1", T0, attendees=TEAM, hangout_link=MEET)
    result = correlated([lone, ask, known], [ev])
    call = f"call:C2:{lone['ts']}"
    assert rows(result.meetings, "meeting_id", "end") == [("cal:ev1", at(30)), (call, at(30))]
    assert link_of(result, known)["meeting_id"] == "cal:ev1"
    assert (link_of(result, lone)["meeting_id"], link_of(result, lone)["score"]) == (call, 0.6)


def test_documents_come_from_attachments_descriptions_and_linked_messages() -> None:
    """A meeting's documents: calendar attachments, Drive links in its description and in linked evidence."""
    ev = event(
        "ev1",
        T0,
        attendees=TEAM,
        description="Prep: https://docs.google.com/document/d/1DescDocId01/edit",
        attachments=[
            {"file_id": "1AttachId0001", "title": "Spec", "file_url": "https://x"},
            {
                "file_id": None,
                "title": "Deck",
                "file_url": "https://drive.google.com/file/d/1FromUrlId001/view",
            },
        ],
    )
    recap = message(
        "C9", at(40), "Recap of Design review: <https://drive.google.com/open?id=1AttachId0001>", user="U1"
    )
    result = correlated([recap], [ev])
    assert result.documents.schema == MEETING_DOCUMENTS
    assert rows(result.documents, "meeting_id", "file_id", "sources", "title") == [
        ("cal:ev1", "1AttachId0001", ["calendar_attachment", "slack_message"], "Spec"),
        ("cal:ev1", "1DescDocId01", ["event_description"], None),
        ("cal:ev1", "1FromUrlId001", ["calendar_attachment"], "Deck"),
    ]


def test_correlation_is_deterministic_and_schemas_are_exact() -> None:
    """Two runs over the same data give identical tables in the declared schemas."""
    room = huddle_room(at(-300), at(-280), ["U1", "U3"])
    msgs = [
        message("C1", at(-300), "", user="USLACKBOT", room=room, seq=1),
        message("C1", at(-60), "Agenda for Design review: risks", user="U1", seq=2),
    ]
    events = [event("ev1", T0, attendees=TEAM, calendar=who) for who in (ANN, BOB)]
    first, second = correlated(msgs, events), correlated(msgs, events)
    for name, schema in (
        ("meetings", MEETINGS),
        ("participants", MEETING_PARTICIPANTS),
        ("links", MEETING_EVIDENCE),
        ("documents", MEETING_DOCUMENTS),
    ):
        assert getattr(first, name).schema == schema
        assert getattr(first, name).equals(getattr(second, name))
    assert rows(first.meetings, "meeting_id") == [(f"huddle:C1:{ts_of(at(-300), 1)}",), ("cal:ev1",)]


def test_a_document_the_event_carries_links_a_strangers_recap() -> None:
    """A recap by a non-attendee that links a Drive file attached to the event links to that event."""
    ev = event(
        "ev1",
        T0,
        attendees=TEAM[:2],
        attachments=[{"file_id": "1SharedDoc001", "title": "Notes", "file_url": None}],
    )
    recap = message(
        "C9", at(30), "Recap: <https://docs.google.com/document/d/1SharedDoc001/edit|notes>", user="U3"
    )
    result = correlated([recap], [ev])
    assert rows(result.links, "meeting_id", "kind", "score", "reasons") == [
        (
            "cal:ev1",
            "recap",
            0.55,
            ["posted 30 min after start (during the meeting)", "links a document attached to the event"],
        )
    ]


def test_a_recap_naming_no_meeting_needs_the_meetings_channel_soon_after_it_ended() -> None:
    """Without the title, a link or a document, a recap links only in a channel already tied to the meeting
    and only shortly after the end: elsewhere, or hours later, the word alone names no meeting."""
    ev = event("ev1", T0, attendees=TEAM[:2], summary="Design review")
    anchor = message("C1", at(-120), "Agenda for Design review: open risks", user="U1", seq=1)
    soon = message("C1", at(75), "quick recap: we agreed to ship on Thursday", user="U2", seq=2)
    elsewhere = message("C9", at(70), "recap for anyone who missed it: all settled", user="U1", seq=3)
    late = message("C1", at(60 * 5), "recap: two follow-ups still open", user="U2", seq=4)
    result = correlated([anchor, soon, elsewhere, late], [ev], slack_channels=CHANNELS)
    assert (link_of(result, soon) or {}).get("meeting_id") == "cal:ev1"
    assert link_of(result, elsewhere) is None
    assert link_of(result, late) is None


def test_talk_during_two_overlapping_meetings_goes_to_the_one_that_took_place() -> None:
    """Two events at the same time for the same people, the first by id cancelled: a join link Bob posts
    ten minutes in (matching neither event's link) links to the meeting that was held, never the
    cancelled one, though the two tie on time, people and channel."""
    events = [
        event("a-off", T0, attendees=TEAM, summary="Planning", status="cancelled"),
        event("b-held", T0, attendees=TEAM, summary="Roadmap"),
    ]
    post = message("C1", at(10), "here: https://us02web.zoom.us/j/98765432101", "U2")
    result = correlated([post], events, slack_channels=CHANNELS)
    link = link_of(result, post)
    assert (link["meeting_id"], link["kind"]) == ("cal:b-held", "call_link")
