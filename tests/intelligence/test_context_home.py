"""Context evidence where a meeting's invitees share no channel: the channel where its calendar link or
join link was posted is its home, so talk there while it runs is found (Dutch wording)."""

from __future__ import annotations

from datetime import timedelta

from intelligence import context_evidence
from tests.intelligence.raw_builders import T0, attendee, event, message, ts_of
from tests.intelligence.test_context import DAYS, DURING, _add, _org

DAY = T0 + timedelta(days=DAYS)


def test_the_channel_holding_a_meetings_calendar_link_is_its_home() -> None:
    """Ann meets an outside guest at 10:00 and again at 14:00 (no channel holds two invitees). The
    detector found the 10:00 event's calendar link posted in #side: Ann's line there at 10:12 is `during`
    talk; the same line at 14:12, in a meeting whose link was posted nowhere, is not found."""
    con = _org()
    ann, guest = attendee("ann.lee@acme.example"), attendee("jo@vink.example")
    _add(
        con,
        "calendar_events",
        [
            event(f"vink{h}", DAY + timedelta(hours=h), attendees=[ann, guest], summary="Vink")
            for h in (10, 14)
        ],
    )
    reminder = DAY + timedelta(hours=9, minutes=50)
    _add(con, "slack_messages", [message("C3", reminder, "Vink begint zo", None, seq=1, bot_id="B1")])
    con.execute(
        "INSERT INTO evidence (channel_id, ts, posted_at, kind, role, event_id) VALUES (?, ?, ?, ?, ?, ?)",
        ["C3", ts_of(reminder, 1), reminder, "calendar_bot", "pre", "vink10"],
    )
    said = [DAY + timedelta(hours=h, minutes=12) for h in (10, 14)]
    _add(con, "slack_messages", [message("C3", w, DURING[0], "U1", seq=2 + i) for i, w in enumerate(said)])
    found = {r["posted_at"]: r["kind"] for r in context_evidence(con).to_pylist() if r["channel_id"] == "C3"}
    assert [found.get(w) for w in said] == ["during", None]
