"""Context evidence phases that overlap: a post made in the first minutes of a meeting is scored both as
joining it and as talk during it, and takes the phase its words fit better (Dutch wording)."""

from __future__ import annotations

from datetime import timedelta

from intelligence import context_evidence
from tests.intelligence.raw_builders import T0, message
from tests.intelligence.test_context import DAYS, _add, _org

LATE = ["sorry, trein had vertraging, ik schuif zo aan", "trein staat stil, ik schuif iets later aan"]


def test_a_post_in_the_first_minutes_of_a_meeting_is_joining_when_its_words_say_so() -> None:
    """Every day Cat says her train is late three minutes before the daily starts, and Bob the same three
    minutes after it started: all 28 are `joining`, Bob's too (they fall in the joining and the during
    window, and their words are joining words here)."""
    con = _org()
    posts = [(d, user, minutes) for d in range(DAYS) for user, minutes in (("U3", -3), ("U2", 3))]
    _add(
        con,
        "slack_messages",
        [
            message("C1", T0 + timedelta(days=d, minutes=m), LATE[d % 2], user, seq=900 + i)
            for i, (d, user, m) in enumerate(posts)
        ],
    )
    kinds = {(r["user_id"], r["posted_at"]): r["kind"] for r in context_evidence(con).to_pylist()}
    assert [kinds.get((u, T0 + timedelta(days=d, minutes=m))) for d, u, m in posts] == ["joining"] * 2 * DAYS
