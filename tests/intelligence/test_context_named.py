"""Context evidence from the org's own calendar: a post naming a meeting of its author, hours before it,
after it or instead of it, is talk about that meeting whatever else it says (Dutch here, words no rule
knows)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from intelligence import context_evidence, map_people
from tests.intelligence.raw_builders import (
    T0,
    attendee,
    directory_user,
    event,
    message,
    slack_user,
    store,
)
from tests.intelligence.test_context import DAYS, DURING, PEOPLE, _add, _org

DAY = T0 + timedelta(days=DAYS)  # the day after the last daily of the hand-built org
INVITED = [attendee(f"{n}@acme.example") for _, n in PEOPLE[:3]]  # Ann, Bob and Cat; #team holds them


def _run(
    con: duckdb.DuckDBPyConnection, events: list[dict], posts: list[tuple[str, float, str, str]]
) -> list[dict]:
    """Give the context evidence rows posted from 12 hours before DAY on, once `events` are on the
    calendar and `posts` (channel, hours after DAY, user, text) in Slack."""
    _add(con, "calendar_events", events)
    _add(
        con,
        "slack_messages",
        [
            message(c, DAY + timedelta(hours=h), text, user, seq=i)
            for i, (c, h, user, text) in enumerate(posts)
        ],
    )
    return [r for r in context_evidence(con).to_pylist() if r["posted_at"] >= DAY - timedelta(hours=12)]


def _found(events: list[dict], posts: list[tuple[float, str, str]]) -> list[tuple[float, str, str, str]]:
    """Give (hours after DAY, user, kind, role) of the context evidence among `posts` (hours after DAY,
    user, text; all in #team) once `events` are on the calendar."""
    rows = _run(_org(), events, [("C1", h, user, text) for h, user, text in posts])
    return [((r["posted_at"] - DAY) / timedelta(hours=1), r["user_id"], r["kind"], r["role"]) for r in rows]


def test_a_post_naming_a_meeting_hours_before_or_after_it_is_its_agenda_or_recap() -> None:
    """ "Prijsmodel Orion" runs 12:00-13:00 for Ann, Bob and Cat. Ann names it three hours before (an
    agenda), Bob an hour and a half after it ended (a recap). Not evidence: Dan naming it (not invited),
    Ann naming it nine hours before (too early), Cat naming half of it."""
    found = _found(
        [
            event(
                "orion", DAY + timedelta(hours=12), minutes=60, attendees=INVITED, summary="Prijsmodel Orion"
            )
        ],
        [
            (2.5, "U1", "prijsmodel orion staat vandaag op de planning"),
            (9, "U1", "voor prijsmodel orion: graag de drie scenario's vooraf lezen"),
            (9.5, "U4", "prijsmodel Orion, mag ik aanschuiven?"),
            (10, "U3", "orion ligt vandaag stil"),
            (14.5, "U2", "Prijsmodel Orion: besluit genomen, we gaan voor optie twee"),
        ],
    )
    assert found == [(9.0, "U1", "agenda", "pre"), (14.5, "U2", "recap", "post")]


# (title, due, cancelled at, posts as (hour, user, text)): only Bob's post at 08:00 announces it.
CANCELLED = [
    (  # four hours after the change, two before the start; Ann's post after the start is not evidence
        "Kwartaalcijfers Noord",
        10,
        4,
        [
            (8, "U2", "kwartaalcijfers noord gaat niet door, cijfers zijn nog niet binnen"),
            (10.5, "U1", "kwartaalcijfers noord dan maar volgende week"),
        ],
    ),
    (  # ten hours ahead, after the change; Ann's post before the change is not evidence
        "Jaarplan West",
        18,
        6,
        [
            (5, "U1", "jaarplan west schuift misschien"),
            (8, "U2", "jaarplan west vervalt, we plannen opnieuw"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("title", "due", "changed", "posts"), CANCELLED, ids=["hours-after-change", "long-ahead"]
)
def test_a_post_naming_a_meeting_the_calendar_cancelled_announces_it_from_the_change_on(
    title: str, due: int, changed: int, posts: list[tuple[float, str, str]]
) -> None:
    """A post naming a cancelled meeting, away from the calendar's change, is its cancellation: from the
    change (or eight hours ahead) until it was due."""
    cancelled = event(
        "off",
        DAY + timedelta(hours=due),
        attendees=INVITED,
        summary=title,
        status="cancelled",
        updated=DAY + timedelta(hours=changed),
    )
    assert _found([cancelled], posts) == [(8.0, "U2", "cancellation", "signal")]


def test_a_post_naming_a_title_met_twice_that_day_speaks_of_the_nearer_meeting() -> None:
    """ "Inkoop Zuid" runs at 09:00 and at 16:00 (30 minutes each). Named at 11:00 it is the morning's
    recap (90 minutes after it, five hours before the next); named at 15:00, the afternoon's agenda."""
    found = _found(
        [
            event(f"zuid{h}", DAY + timedelta(hours=h), attendees=INVITED, summary="Inkoop Zuid")
            for h in (9, 16)
        ],
        [
            (11, "U3", "inkoop zuid: leverancier kiest voor vrijdag"),
            (15, "U3", "inkoop zuid straks, wie notuleert?"),
        ],
    )
    assert found == [(11.0, "U3", "recap", "post"), (15.0, "U3", "agenda", "pre")]


def test_a_meeting_named_by_its_only_slack_invitee_in_any_channel_of_theirs_is_found() -> None:
    """ "Offerte Vink" is Ann's call with an outside guest: no channel holds two of its invitees, so it
    has no home channel, yet Ann naming it in #side two hours before is its agenda. Eve, not invited,
    naming it there is not evidence."""
    guest = attendee("jo@vink.example")
    found = _run(
        _org(),
        [event("vink", DAY, attendees=[INVITED[0], guest], summary="Offerte Vink")],
        [
            ("C3", -2, "U1", "offerte vink: prijzen nog even nalopen"),
            ("C3", -1, "U5", "offerte vink, klinkt spannend"),
        ],
    )
    assert [(r["channel_id"], r["user_id"], r["kind"], r["matched"]) for r in found] == [
        (
            "C3",
            "U1",
            "agenda",
            'names "Offerte Vink", a meeting of its author, before it started',
        )
    ]


def _with_lena(con: duckdb.DuckDBPyConnection) -> None:
    """Add two directory people named Lena Vos (lena.vos, lena.vos2), neither with a Slack account, and one
    Slack account "Lena Vos" (U9, in #team) with a private address: people mapping leaves it unmatched."""
    _add(
        con,
        "directory_users",
        [directory_user(f"d-lv{i}", f"lena.vos{i}@acme.example", "Lena Vos") for i in ("", "2")],
    )
    _add(con, "slack_users", [slack_user("U9", "lena@home.example", "Lena Vos")])
    con.execute("UPDATE slack_channels SET members = list_append(members, 'U9') WHERE channel_id = 'C1'")
    store(con, "people", map_people(con).people)


def test_an_unmapped_slack_account_named_like_an_invitee_without_one_stands_in_for_them() -> None:
    """Lena (vos2) and Ann meet in "Begroting Delta" at noon; the unmatched account "Lena Vos" naming it
    in #team two hours before is its agenda. Bob, with a Slack account of his own and not invited,
    naming it is not."""
    con = _org()
    _with_lena(con)
    lena = attendee("lena.vos2@acme.example")
    found = _run(
        con,
        [event("delta", DAY, attendees=[INVITED[0], lena], summary="Begroting Delta")],
        [
            ("C1", -2, "U9", "begroting delta: cijfers staan in de map"),
            ("C1", -1, "U2", "begroting delta, wie zit daar?"),
        ],
    )
    assert [(r["user_id"], r["kind"]) for r in found] == [("U9", "agenda")]
    assert con.execute("SELECT match FROM people WHERE list_contains(slack_user_ids, 'U9')").fetchall() == [
        ("unmatched",)
    ]


def test_a_stand_in_account_talking_during_a_meeting_is_scored_like_any_invitee() -> None:
    """Lena (vos2) joins every daily; the unmatched account "Lena Vos" says in #team, while four of them
    run, what the others say there: all four lines are `during` evidence."""
    con = _org()
    _with_lena(con)
    con.execute(
        "UPDATE calendar_events SET attendees = list_append(attendees,"
        " struct_update(attendees[1], email := 'lena.vos2@acme.example', organizer := false))"
    )
    said = [T0 + timedelta(days=d, minutes=17) for d in range(4)]
    _add(
        con,
        "slack_messages",
        [message("C1", w, DURING[d % 3], "U9", seq=800 + d) for d, w in enumerate(said)],
    )
    found = {r["posted_at"]: r["kind"] for r in context_evidence(con).to_pylist() if r["user_id"] == "U9"}
    assert [found.get(w) for w in said] == ["during"] * 4
