"""Linking posts of a Slack account that stands in for an invitee with none (`stand_ins_sql`).

People mapping leaves an account unmatched when its address is private and its name is shared by several
directory people; for an invitee of that name with no Slack account, linking counts its posts as theirs,
as context evidence does. The evidence rows are written by hand, so the test checks the linking rules alone.
"""

from __future__ import annotations

from tests.intelligence.raw_builders import (
    ORG_DIRECTORY,
    ORG_SLACK,
    T0,
    at,
    attendee,
    directory_user,
    event,
    slack_user,
)
from tests.intelligence.test_correlate import ANN, BOB, rows
from tests.intelligence.test_linking_overlaps import linked, said

# Two directory people named Rui Costa, neither with a Slack account; one private-address account "Rui Costa".
RUIS = [directory_user(f"d-rc{i}", f"rui.costa{i}@acme.example", "Rui Costa") for i in ("", "2")]
RUI_SLACK = slack_user("U9", "rui@home.example", "Rui Costa")
WITH_RUI = [{"channel_id": "C1", "name": "pricing", "members": ["U1", "U2", "U3", "U9"]}]


def test_an_unmatched_account_named_like_an_invitee_without_one_is_an_attendee_when_linking() -> None:
    """Rui (costa2) and Ann meet on tariffs; the unmatched account "Rui Costa" talks while it runs and
    sums it up after: both link to it, posted "by an attendee". While Ann and Bob meet without any Rui,
    its chatter stays unlinked."""
    events = [
        event(
            "a-tariff",
            T0,
            60,
            [attendee(ANN, organizer=True), attendee("rui.costa2@acme.example")],
            summary="Tariffs",
        ),
        event("b-other", at(300), 60, [attendee(ANN, organizer=True), attendee(BOB)], summary="Hiring"),
    ]
    talk = said("C1", at(20), "column F still shows last year's rates", "U9", "during", 1)
    wrap = said("C1", at(70), "tariffs settled: rates frozen until spring", "U9", "recap", 2)
    stray = said("C1", at(310), "column G too, by the way", "U9", "during", 3)
    result = linked([talk, wrap, stray], events, [*ORG_DIRECTORY, *RUIS], [*ORG_SLACK, RUI_SLACK], WITH_RUI)
    assert rows(result.links, "meeting_id", "ts", "kind") == [
        ("cal:a-tariff", talk["ts"], "during"),
        ("cal:a-tariff", wrap["ts"], "recap"),
    ]
    assert [r[0][0] for r in rows(result.links, "reasons")] == [
        "posted 20 min after start (during the meeting) by an attendee",
        "posted 70 min after start by an attendee",
    ]
