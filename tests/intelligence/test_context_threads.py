"""Context evidence in threads: a person's reply soon after an agenda or recap found by context is part of
it; replies under talk found while a meeting runs are not (Dutch wording, no rule knows it)."""

from __future__ import annotations

from datetime import timedelta

from intelligence import context_evidence
from tests.intelligence.raw_builders import T0, attendee, event, message, ts_of
from tests.intelligence.test_context import DAYS, PEOPLE, _add, _org

DAY = T0 + timedelta(days=DAYS)


def test_replies_soon_after_an_agenda_found_by_its_title_are_agenda_talk_too() -> None:
    """Ann names "Prijsmodel Orion" (12:00) at 09:00; Bob replies in her thread at 09:20 (agenda talk),
    Cat at 10:30, ninety minutes later (not evidence: too late to be part of it). Dan's reply under a
    line posted while the last daily ran, which context found as `during`, is not evidence either."""
    con = _org()
    invited = [attendee(f"{n}@acme.example") for _, n in PEOPLE[:3]]
    _add(
        con,
        "calendar_events",
        [event("orion", DAY + timedelta(hours=12), attendees=invited, summary="Prijsmodel Orion")],
    )
    parent = DAY + timedelta(hours=9)
    during = T0 + timedelta(days=DAYS - 1, minutes=12)
    replies = [(20, "U2", "doe ik, ook de marges?"), (90, "U3", "ik sluit later aan")]
    _add(
        con,
        "slack_messages",
        [message("C1", parent, "prijsmodel orion: graag de scenario's vooraf lezen", "U1", seq=1)]
        + [
            message("C1", parent + timedelta(minutes=m), text, user, seq=2 + i, thread_ts=ts_of(parent, 1))
            for i, (m, user, text) in enumerate(replies)
        ],
    )
    (during_ts,) = [
        r["ts"]
        for r in context_evidence(con).to_pylist()
        if r["posted_at"] == during and r["kind"] == "during"
    ]
    _add(
        con,
        "slack_messages",
        [message("C1", during + timedelta(minutes=8), "hier ook", "U4", seq=4, thread_ts=during_ts)],
    )
    found = [r for r in context_evidence(con).to_pylist() if r["thread_ts"] not in (None, r["ts"])]
    assert [(r["user_id"], r["kind"], r["role"], r["matched"]) for r in found] == [
        ("U2", "agenda", "pre", "a reply in the thread of a post found as its meeting's agenda")
    ]
