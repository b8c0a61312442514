"""Linking posts the detector took for call requests: one naming a meeting of its author speaks of it.

A "can we talk?" reading may sit on an agenda, a cancellation notice or a recap that names the meeting.
The evidence rows are written by hand with the kind `call_request`, so each test checks the linking rules
alone, whatever words a detector would need.
"""

from __future__ import annotations

from tests.intelligence.raw_builders import T0, at, attendee, event
from tests.intelligence.test_correlate import ANN, BOB, rows
from tests.intelligence.test_linking_overlaps import ANN_BOB, linked, said


def test_a_request_naming_its_authors_meeting_links_with_the_kind_its_timing_gives() -> None:
    """Ann and Bob have the held "Warehouse audit" and the cancelled "Supplier onboarding". Posts read as
    requests link to the meeting whose every title word they name, when their author is invited: before
    it an agenda, after it a recap (the reply under it follows), before a cancelled one its cancellation."""
    events = [
        event("a-audit", T0, 60, ANN_BOB, summary="Warehouse audit"),
        event("b-supplier", at(300), 30, ANN_BOB, summary="Supplier onboarding", status="cancelled"),
    ]
    before = said(
        "C1", at(-45), "ring me before the warehouse audit if the counts look odd", "U1", "call_request", 1
    )
    after = said(
        "C1", at(75), "warehouse audit: shelves B and C, phone me for details", "U2", "call_request", 2
    )
    reply = said(
        "C1", at(78), "<@U1> will redo bay C tomorrow", "U2", "action_items", 3, thread_ts=after["ts"]
    )
    off = said("C1", at(200), "supplier onboarding is off, buzz me if urgent", "U1", "call_request", 4)
    result = linked([before, after, reply, off], events)
    assert rows(result.links, "meeting_id", "ts", "kind", "role") == [
        ("cal:a-audit", before["ts"], "agenda", "pre"),
        ("cal:a-audit", after["ts"], "recap", "post"),
        ("cal:a-audit", reply["ts"], "action_items", "post"),
        ("cal:b-supplier", off["ts"], "cancellation", "signal"),
    ]


def test_a_request_naming_part_of_a_title_or_a_meeting_its_author_skips_stays_a_request() -> None:
    """Bob asks about the warehouse (one of the title's two words) before the audit; Cat, not invited,
    names the whole title: neither is about the meeting, so neither links to it. Ann names it too, and
    Bob answers her with a join link: that is an ad hoc call of its own, with her request."""
    events = [
        event("a-audit", T0, 60, [attendee(ANN, organizer=True), attendee(BOB)], summary="Warehouse audit")
    ]
    partial = said("C1", at(-30), "can we hop on the phone about the warehouse", "U2", "call_request", 1)
    outsider = said("C1", at(-20), "anyone free to chat about the warehouse audit?", "U3", "call_request", 2)
    asked = said(
        "C1", at(-90), "5 min on the warehouse audit numbers before it starts?", "U1", "call_request", 3
    )
    zoom = "https://zoom.us/j/5550001111"
    link = said("C1", at(-88), zoom, "U2", "call_link", 4, thread_ts=asked["ts"], conference_url=zoom)
    result = linked([partial, outsider, asked, link], events)
    assert rows(result.links, "ts", "kind") == [(asked["ts"], "call_request"), (link["ts"], "call_link")]
    assert {m for (m,) in rows(result.links, "meeting_id")} == {"call:C1:" + link["ts"]}
