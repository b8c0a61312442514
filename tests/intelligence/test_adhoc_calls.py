"""Ad hoc calls rest on structure: join links in every host form, thread shape, bots, calendar events."""

from __future__ import annotations

import duckdb
import pytest

from intelligence._patterns import join_match_sql, normalise_join_sql
from tests.intelligence.raw_builders import T0, at, event, message
from tests.intelligence.test_correlate import CHANNELS, TEAM, correlated, link_of, rows

# Every host form of one meeting per provider, written as people paste them.
SAME_MEETING = {
    "https://zoom.us/j/93456789012": [
        "https://zoom.us/j/93456789012",
        "https://us02web.zoom.us/j/93456789012?pwd=Zm9vYmFy.1",
        "<https://initech.zoom.us/j/93456789012|Zoom>",
        "zoommtg://zoom.us/join?action=join&amp;confno=93456789012",
        "https://app.zoom.us/wc/join/93456789012",
    ],
    "https://zoom.us/my/dana.k": ["zoom.us/my/Dana.K", "<https://initech.zoom.us/my/dana.k|my room>"],
    "https://meet.google.com/pqr-stuv-wxy": [
        "meet.google.com/pqr-stuv-wxy",
        "https://meet.google.com/PQR-stuv-wxy?authuser=2",
        "<https://meet.google.com/pqr-stuv-wxy?hs=224&amp;authuser=0|pqr-stuv-wxy>",
    ],
    "https://teams.microsoft.com/l/meetup-join/19:meeting_abc1@thread.v2": [
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_ABC1%40thread.v2/0?context=%7b%7d",
        "<https://teams.microsoft.com/l/meetup-join/19%3Ameeting_abc1%40thread.v2/0|Join Teams>",
    ],
    "https://teams.live.com/meet/9312345678": ["https://teams.live.com/meet/9312345678?p=xYz"],
    "https://initech.webex.com/meet/dana.k": [
        "https://initech.webex.com/meet/dana.k",
        "https://initech.webex.com/join/Dana.K",
    ],
    "https://initech.webex.com/j.php?MTID=m77aa": [
        "https://initech.webex.com/initech/j.php?MTID=m77AA",
        "<https://initech.webex.com/j.php?MTID=m77aa|webex>",
    ],
}


def key_of(text: str) -> str | None:
    """Give the canonical join-link key found in `text`, or None."""
    con = duckdb.connect()  # the expression needs no table of the org
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.execute("INSERT INTO t VALUES ($1)", [text])
    return con.execute(f"SELECT {normalise_join_sql(join_match_sql('x'))} FROM t").fetchone()[0]


@pytest.mark.parametrize(
    ("form", "key"), [(form, key) for key, forms in SAME_MEETING.items() for form in forms]
)
def test_every_host_form_of_a_join_link_gives_one_key(form: str, key: str) -> None:
    """Subdomains, passcodes, app schemes, Slack wrapping and case drop out: provider and meeting stay."""
    assert key_of(f"here {form} ok") == key


@pytest.mark.parametrize(
    "text",
    [
        "https://initech.zoom.us/rec/share/Qw3rTy.uIoP",
        "https://us02web.zoom.us/rec/play/abcdef",
        "https://initech.webex.com/recordingservice/sites/initech/recording/abc",
        "https://meet.google.com/landing",
    ],
)
def test_recordings_and_landing_pages_give_no_key(text: str) -> None:
    """Recordings and pages that name no meeting are not join links."""
    assert key_of(text) is None


@pytest.mark.parametrize(
    "ask", ["got 5 min?", "ping me", "hop on?", "¿hablamos?", "kurz telefonieren?", "📞❓"]
)
def test_a_bare_link_in_reply_is_a_call_of_poster_asker_and_repliers(ask: str) -> None:
    """Whatever the words of the ask, a bare link in reply makes a call; its thread gives people and end."""
    question = message("C1", at(0), ask, user="U1", seq=1)
    link = message(
        "C1",
        at(2),
        "<https://us02web.zoom.us/j/93456789012?pwd=x>",
        user="U2",
        seq=2,
        thread_ts=question["ts"],
    )
    joined = message("C1", at(8), "👍", user="U3", seq=3, thread_ts=question["ts"])
    closed = message("C1", at(26), "merci !", user="U1", seq=4, thread_ts=question["ts"])
    result = correlated([question, link, joined, closed], slack_channels=CHANNELS)
    call = f"call:C1:{link['ts']}"
    assert rows(result.meetings, "meeting_id", "start", "end", "conference_url") == [
        (call, at(2), at(26), "https://zoom.us/j/93456789012")
    ]
    assert (
        "end: thread_last_reply (the last reply in its thread closed it)"
        in result.meetings["reasons"][0].as_py()
    )
    assert {p for m, p in rows(result.participants, "meeting_id", "person_id") if m == call} == {
        "d-ann",
        "d-bob",
        "d-cat",
    }
    assert link_of(result, question)["meeting_id"] == call
    assert link_of(result, link)["meeting_id"] == call


def test_a_link_mentioning_someone_without_replies_lasts_the_default() -> None:
    """A top-level link to a mentioned person is a call with both; no thread, so the default end."""
    link = message("C1", at(0), "<@U3> https://meet.google.com/pqr-stuv-wxy", user="U1", seq=1)
    result = correlated([link], slack_channels=CHANNELS)
    assert rows(result.meetings, "end") == [(at(30),)]
    assert "end: default_30m (no reply closed it; a call's length is not recorded)" in (
        result.meetings["reasons"][0].as_py()
    )
    assert sorted(rows(result.participants, "person_id")) == [("d-ann",), ("d-cat",)]


def test_a_link_on_a_calendar_event_belongs_to_the_event_not_to_a_call() -> None:
    """Another host form of the event's link, in reply to a question, still correlates to the event."""
    ev = event("ev7", T0, attendees=TEAM, conference_uris=["https://initech.zoom.us/j/93456789012?pwd=e"])
    question = message("C1", at(-4), "link pls", user="U2", seq=1)
    link = message(
        "C1", at(-2), "zoommtg://zoom.us/join?confno=93456789012", user="U1", seq=2, thread_ts=question["ts"]
    )
    result = correlated([question, link], [ev], slack_channels=CHANNELS)
    assert rows(result.meetings, "meeting_id") == [("cal:ev7",)]
    assert link_of(result, link)["meeting_id"] == "cal:ev7"


def test_a_link_during_an_event_without_a_link_belongs_to_that_event() -> None:
    """A join link an attendee posts as the event starts, on an event carrying no link, joins the event."""
    ev = event("ev8", T0, attendees=TEAM)
    link = message("C1", at(1), "https://meet.google.com/pqr-stuv-wxy", user="U2", seq=1)
    result = correlated([link], [ev], slack_channels=CHANNELS)
    assert rows(result.meetings, "meeting_id") == [("cal:ev8",)]
    assert link_of(result, link)["meeting_id"] == "cal:ev8"


def test_a_bot_posted_link_is_no_call() -> None:
    """A bot announcing a join link does not make an ad hoc call."""
    posted = message("C1", at(0), "Meeting starting: https://zoom.us/j/93456789012", user="UCAL", seq=1)
    by_app = message(
        "C1",
        at(5),
        "https://meet.google.com/pqr-stuv-wxy",
        user=None,
        seq=2,
        bot_id="B9",
        subtype="bot_message",
    )
    result = correlated([posted, by_app], slack_channels=CHANNELS)
    assert rows(result.meetings, "meeting_id") == []


def test_a_recording_link_in_reply_is_no_call() -> None:
    """A recording shared in reply to a question is no join link and makes no call."""
    question = message("C1", at(0), "anyone have it?", user="U1", seq=1)
    rec = message(
        "C1",
        at(3),
        "https://initech.zoom.us/rec/share/Qw3rTy.uIoP",
        user="U2",
        seq=2,
        thread_ts=question["ts"],
    )
    result = correlated([question, rec], slack_channels=CHANNELS)
    assert rows(result.meetings, "meeting_id") == []
    assert rows(result.links, "ts") == []


def test_a_link_for_another_day_is_no_call_now() -> None:
    """Words putting a bare link on another day lower its score under the threshold."""
    link = message("C1", at(0), "for tmrw: https://meet.google.com/pqr-stuv-wxy", user="U1", seq=1)
    assert rows(correlated([link], slack_channels=CHANNELS).meetings, "meeting_id") == []
