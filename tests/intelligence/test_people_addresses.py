"""People mapping from every directory address, and the unique-name fallback for unknown company addresses."""

from __future__ import annotations

import duckdb
import pytest

from core.tables.derived import PEOPLE_MATCHES
from intelligence import map_people
from intelligence._people import _norm_name_sql
from tests.intelligence.raw_builders import T0, attendee, directory_user, event, raw_connection, slack_user

# A small firm on two domains: northwind.test is its own, and its Google domain alias nw-mail.test.
DIRECTORY = [
    directory_user(
        "p-ines",
        "ines.okafor@northwind.test",
        "Inês Okafor",
        ["iokafor@northwind.test"],
        other_emails=["ines.work@northwind.test", "ines.home@freemail.test"],
    ),
    directory_user("p-tomas", "tomas.berg@northwind.test", "Tomás Berg", ["tomas.berg@nw-mail.test"]),
    directory_user("p-yuki", "yuki.tanaka@northwind.test", "Yuki Tanaka"),
    directory_user("p-lena1", "lena.fox@northwind.test", "Lena Fox"),
    directory_user("p-lena2", "lena.fox2@northwind.test", "Lena Fox"),
    directory_user("p-omar", "omar.said@northwind.test", "Omar Said", given_name="Omar", family_name="Said"),
    directory_user("p-kai", "kai.moss@northwind.test", "Kai Moss"),
]
SLACK = [
    slack_user("W1", "INES.WORK@Northwind.test", "Ines Okafor"),  # only in emails[], other case
    slack_user("W2", "ines.home@freemail.test", "Inês O."),  # a second account on her personal address
    slack_user("W3", "Tomas.Berg@NW-Mail.test", "Tomas Berg"),  # only a non-editable alias
    slack_user("W4", "yt@northwind.test", "TANAKA,  Yuki"),  # unknown company address; "Family, Given"
    slack_user("W5", "lfox@northwind.test", "Lena Fox"),  # unknown address, a name two people share
    slack_user("W6", "omar.said@gmail.test", "Omar Said"),  # unknown address at a foreign domain
    slack_user("W7", "said.omar@northwind.test", "Said Omar", display_name=""),  # family name first
    slack_user("W8", "kai.moss@northwind.test", "Kai Moss"),
]
EVENTS = [
    event(
        "ev1",
        T0,
        attendees=[
            attendee("Ines.Home@Freemail.test"),
            attendee("tomas.berg@nw-mail.test"),
            attendee("yt@northwind.test"),
            attendee("guest@freemail.test"),
        ],
    )
]


@pytest.fixture(scope="module")
def mapped() -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    """Give people by person_id and identity links by (system, identity)."""
    con = raw_connection(directory_users=DIRECTORY, slack_users=SLACK, calendar_events=EVENTS)
    result = map_people(con)
    people = {p["person_id"]: p for p in result.people.to_pylist()}
    links = {(link["system"], link["identity"]): link for link in result.links.to_pylist()}
    return people, links


@pytest.mark.parametrize(
    ("user_id", "person_id", "matched_by"),
    [
        ("W1", "p-ines", "other_email"),
        ("W2", "p-ines", "other_email"),
        ("W3", "p-tomas", "alias"),
        ("W4", "p-yuki", "name"),
        ("W5", "email:lfox@northwind.test", "unmatched"),
        ("W6", "ext:omar.said@gmail.test", "external_email"),
        ("W7", "p-omar", "name"),
        ("W8", "p-kai", "primary_email"),
    ],
)
def test_a_slack_address_matches_any_directory_address_else_a_unique_name(
    mapped: tuple[dict, dict], user_id: str, person_id: str, matched_by: str
) -> None:
    """emails[] and non-editable aliases match in any case; an unknown company address falls back to the
    name, a foreign one never does, and a shared name identifies nobody."""
    _, links = mapped
    link = links[("slack", user_id)]
    assert (link["person_id"], link["matched_by"]) == (person_id, matched_by)


@pytest.mark.parametrize(
    ("person_id", "match"),
    [
        ("p-ines", "alias"),
        ("p-tomas", "alias"),
        ("p-yuki", "name"),
        ("p-omar", "name"),
        ("p-kai", "primary"),
        ("p-lena1", "primary"),  # no Slack account: the directory record itself
        ("email:lfox@northwind.test", "unmatched"),
        ("ext:omar.said@gmail.test", "unmatched"),
        ("ext:guest@freemail.test", "unmatched"),
    ],
)
def test_each_person_says_how_their_slack_identity_was_matched(
    mapped: tuple[dict, dict], person_id: str, match: str
) -> None:
    """`match` is primary, alias, name or unmatched, from the person's active Slack account."""
    people, _ = mapped
    assert people[person_id]["match"] == match
    assert {p["match"] for p in people.values()} <= set(PEOPLE_MATCHES)


def test_a_personal_address_in_emails_does_not_make_its_domain_the_company_s(
    mapped: tuple[dict, dict],
) -> None:
    """freemail.test is only in someone's emails[]: an unknown attendee there is external, not internal."""
    people, links = mapped
    assert people["ext:guest@freemail.test"]["internal"] is False
    assert links[("calendar", "ines.home@freemail.test")]["person_id"] == "p-ines"
    assert "ines.home@freemail.test" in people["p-ines"]["emails"]


def test_an_address_matched_by_name_resolves_calendar_attendees_to_the_same_person(
    mapped: tuple[dict, dict],
) -> None:
    """The unknown address of a name-matched Slack account is that person's; no second person appears."""
    people, links = mapped
    assert links[("calendar", "yt@northwind.test")]["person_id"] == "p-yuki"
    assert "email:yt@northwind.test" not in people
    assert "yt@northwind.test" in people["p-yuki"]["emails"]
    assert links[("calendar", "tomas.berg@nw-mail.test")]["person_id"] == "p-tomas"


def test_people_unmatched_counts_the_people_tied_to_no_directory_person() -> None:
    """PeopleResult.unmatched counts match = unmatched (unknown, foreign and ambiguous identities)."""
    con = raw_connection(directory_users=DIRECTORY, slack_users=SLACK, calendar_events=EVENTS)
    assert map_people(con).unmatched == 3


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Siobhan O'Neill", "Siobhan ONeill"),
        ("Siobhan O’Neill", "siobhan oneill"),
        ("Marie-Claire Dubois", "Marie Claire Dubois"),
        ("Dubois, Marie-Claire", "marie claire dubois"),
        ("  Zoë   Łukasik ", "Zoe Lukasik"),
    ],
)
def test_names_compare_without_apostrophes_hyphens_accents_or_order(a: str, b: str) -> None:
    """Two spellings of one name give the same key, so the unique-name fallback finds the person."""
    con = duckdb.connect()
    rows = con.execute(f"SELECT {_norm_name_sql('$a')}, {_norm_name_sql('$b')}", {"a": a, "b": b}).fetchall()
    assert rows[0][0] == rows[0][1] != ""


def test_different_names_stay_different_after_folding() -> None:
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT {_norm_name_sql('$a')}, {_norm_name_sql('$b')}", {"a": "Ana Lima", "b": "Anal Ima"}
    ).fetchall()
    assert rows[0][0] == "ana lima" and rows[0][1] == "anal ima"
