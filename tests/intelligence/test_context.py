"""Context evidence on a hand-built org whose people talk about their meetings in Dutch: no rule knows a
word of it, so only time, place and the org's own vocabulary can find that talk."""

from __future__ import annotations

import random
from datetime import timedelta

import duckdb
import pytest

from intelligence import EVIDENCE, context_evidence, map_people
from tests.intelligence.raw_builders import (
    T0,
    attendee,
    directory_user,
    event,
    message,
    raw_connection,
    slack_user,
    store,
    table,
)

PEOPLE = [("U1", "ann.lee"), ("U2", "bob.ray"), ("U3", "cat.kim"), ("U4", "dan.ito"), ("U5", "eve.sol")]
DAYS = 14
# Said in the team channel while the daily runs, and after it (the org's own words, not the generator's).
DURING = ["geluid valt weg, even opnieuw inbellen", "scherm delen lukt niet, moment", "ik hoor jullie niet"]
AFTER = ["verslag van vandaag staat klaar", "actiepunten verdeeld, verslag gedeeld"]
# Everyday chatter, posted at any hour in every channel.
CHATTER = [
    "deploy of the billing service is green",
    "who has the key for the bike shed",
    "lunch at the corner place today",
    "ticket for the flaky login test is open",
    "coffee machine on the third floor is fixed",
    "weekend plans anyone",
    "build cache cleared, try again",
    "review requested on the search branch",
]


def _org() -> duckdb.DuckDBPyConnection:
    """Five people; a daily 30-minute meeting of Ann, Bob and Cat for two weeks. #team (C1) holds Ann to
    Dan; #side (C3) holds Ann and Eve only. Chatter everywhere, Dutch meeting talk in #team during and
    after each daily, and two controls: the same words from Eve (not invited) in #team, and from Ann in
    #side (a channel the invitees do not share)."""
    rng = random.Random(7)
    emails = {u: f"{n}@acme.example" for u, n in PEOPLE}
    events, messages = [], []
    seq = iter(range(1, 100_000))
    for day in range(DAYS):
        start = T0 + timedelta(days=day)
        events.append(
            event(
                f"daily{day}",
                start,
                attendees=[attendee(emails["U1"]), attendee(emails["U2"]), attendee(emails["U3"])],
                summary="Daily",
            )
        )
        for slot in range(-18, 24):  # chatter every 20 minutes from 07:30 to 21:30 around the daily
            user = rng.choice([u for u, _ in PEOPLE])
            channel = rng.choice(["C1", "C2", "C3"] if user in ("U1", "U5") else ["C1", "C2"])
            when = start + timedelta(minutes=20 * slot + rng.randint(0, 19))
            messages.append(message(channel, when, rng.choice(CHATTER), user, seq=next(seq)))
        for minute, k in ((12, day), (21, day + 1)):  # two lines while it runs, by different invitees
            who = ["U1", "U2", "U3"][k % 3]
            messages.append(
                message("C1", start + timedelta(minutes=minute), DURING[k % 3], who, seq=next(seq))
            )
        messages.append(message("C1", start + timedelta(minutes=50), AFTER[day % 2], "U1", seq=next(seq)))
    controls = [
        message("C1", T0 + timedelta(minutes=15), DURING[1], "U5", seq=next(seq)),
        message("C3", T0 + timedelta(days=1, minutes=15), DURING[2], "U1", seq=next(seq)),
    ]
    con = raw_connection(
        directory_users=[
            directory_user(f"d-{u}", e, n.replace(".", " ").title())
            for (u, n), e in zip(PEOPLE, emails.values(), strict=True)
        ],
        slack_users=[slack_user(u, emails[u], n.replace(".", " ").title()) for u, n in PEOPLE],
        slack_channels=[
            {"channel_id": "C1", "name": "team", "members": ["U1", "U2", "U3", "U4"]},
            {"channel_id": "C2", "name": "general", "members": ["U1", "U2", "U3", "U4", "U5"]},
            {"channel_id": "C3", "name": "side", "members": ["U1", "U5"]},
        ],
        calendar_events=events,
        slack_messages=messages + controls,
    )
    store(con, "people", map_people(con).people)
    store(con, "evidence", EVIDENCE.empty_table())
    return con


@pytest.fixture(scope="module")
def found() -> list[dict]:
    return context_evidence(_org()).to_pylist()


def test_meeting_talk_in_words_no_rule_knows_is_found_by_time_place_and_vocabulary(found: list[dict]) -> None:
    """Every Dutch line posted during a daily is `during` evidence and every line after it `recap`: 28 and
    14, each by the person who posted it, in #team, with the learnt words that carried it."""
    kinds = sorted((r["kind"], r["role"], r["channel_id"]) for r in found)
    assert kinds == [("during", "during", "C1")] * 2 * DAYS + [("recap", "post", "C1")] * DAYS
    first = next(r for r in found if r["kind"] == "during" and r["posted_at"] == T0 + timedelta(minutes=12))
    assert (first["user_id"], first["matched"]) == (
        "U1",
        "posted during a meeting of its author in a channel its invitees share; "
        "words this org uses there: opnieuw inbellen, even opnieuw",
    )


def test_the_same_words_from_someone_not_invited_or_in_an_unshared_channel_are_not_evidence(
    found: list[dict],
) -> None:
    """Eve was not invited, and #side is not a channel most invitees share: neither control is found,
    and no chatter is, though chatter is posted in #team while the daily runs."""
    assert {(r["channel_id"], r["user_id"]) for r in found} == {("C1", "U1"), ("C1", "U2"), ("C1", "U3")}


def test_messages_the_detector_already_found_are_left_to_it() -> None:
    """A message already in `evidence` gets no second row: 41 rows instead of 42."""
    con = _org()
    con.execute(
        "INSERT INTO evidence (channel_id, ts, kind, role) SELECT channel_id, ts, 'during', 'during'"
        " FROM slack_messages WHERE posted_at = ? AND channel_id = 'C1' AND user_id = 'U1'",
        [T0 + timedelta(minutes=12)],
    )
    assert context_evidence(con).num_rows == 3 * DAYS - 1


def test_an_org_too_small_to_learn_from_gives_no_context_evidence() -> None:
    """With fewer than 20 messages in a phase's windows, no vocabulary is learnt and nothing is added."""
    con = _org()
    con.execute("DELETE FROM slack_messages WHERE posted_at > ?", [T0 + timedelta(days=4)])
    assert context_evidence(con).num_rows == 0


def _add(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> None:
    """Append `rows` to raw table `name`."""
    con.register("_more", table(name, rows))
    con.execute(f"INSERT INTO {name} SELECT * FROM _more")
    con.unregister("_more")


def test_a_post_naming_the_meeting_as_the_calendar_cancels_it_is_a_cancellation() -> None:
    """The calendar cancels a daily at 09:00 on the day; Ann posts "Daily vervalt vandaag" two minutes
    later (Dutch; it names the title) and Bob unrelated chatter a minute after that: only Ann's post is
    evidence, a cancellation, whatever its words; a day later nothing she posts is."""
    con = _org()
    day = T0 + timedelta(days=DAYS)
    changed = day - timedelta(hours=4, minutes=30)
    three = [attendee(f"{n}@acme.example") for _, n in PEOPLE[:3]]
    _add(
        con,
        "calendar_events",
        [event("off", day, attendees=three, summary="Daily", status="cancelled", updated=changed)],
    )
    _add(
        con,
        "slack_messages",
        [
            message("C1", changed + timedelta(minutes=2), "Daily vervalt vandaag", "U1", seq=1),
            message("C1", changed + timedelta(minutes=3), CHATTER[0], "U2", seq=2),
            message("C1", changed + timedelta(days=1), "Daily vervalt vandaag", "U1", seq=3),
        ],
    )
    found = [r for r in context_evidence(con).to_pylist() if r["posted_at"] >= changed]
    assert [(r["user_id"], r["kind"], r["role"], r["matched"]) for r in found] == [
        ("U1", "cancellation", "signal", 'posted as the calendar cancelled "Daily", naming it')
    ]
