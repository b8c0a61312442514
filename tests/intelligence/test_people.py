"""People mapping: directory, Slack and calendar identities resolved to one person each."""

from __future__ import annotations

import pytest

from core.errors import ConfigurationError
from intelligence import IDENTITY_LINKS, PEOPLE, map_people
from tests.intelligence.raw_builders import T0, attendee, directory_user, event, raw_connection, slack_user

DIRECTORY = [
    directory_user("d-ann", "ann.lee@acme.example", "Ann Lee", ["alee@acme.example", "ANN@acme.example"]),
    directory_user("d-bob", "bob.ray@acme.example", "Bob Ray", manager_email="Ann.Lee@acme.example"),
    directory_user("d-cat", "cat.kim@acme.example", "Cat Kim"),
    directory_user("d-dan", "dan.orr@acme.example", "Dan Orr"),
    directory_user("d-eve1", "eve.one@acme.example", "Eve Smith"),
    directory_user("d-eve2", "eve.two@acme.example", "Eve Smith"),
]
SLACK = [
    slack_user("U1", "alee@acme.example", "Ann Lee", tz="Europe/London"),  # directory alias
    slack_user("U2", "Bob.Ray@Acme.example", "Bob Ray", tz="America/New_York"),  # other case
    slack_user("U3", None, "Cat Kim", display_name="cat"),  # hidden email, real name matches
    slack_user("U4", None, "Someone", display_name="Dan Orr"),  # hidden email, display name matches
    slack_user("U5", None, "Eve Smith"),  # hidden email, ambiguous name
    slack_user("U6", "pat@partner.example", "Pat Guest", is_restricted=True),  # guest, also an attendee
    slack_user("U7", "dan.orr@acme.example", "Dan Orr", deleted=True),  # Dan's old, deactivated account
    slack_user("UBOT", None, "Google Calendar", is_bot=True),
    slack_user("USLACKBOT", None, "Slackbot"),
]
EVENTS = [
    event(
        "e1",
        T0,
        attendees=[
            attendee("ann.lee@acme.example"),
            attendee("Pat@Partner.example"),
            attendee("zoe@client.example", display_name="Zoe Client"),
            attendee("room-1@resource.calendar.google.com", resource=True),
            attendee("old.hand@acme.example"),
        ],
    ),
]


@pytest.fixture(scope="module")
def mapped() -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    """Give the mapped people by person_id and the identity links by (system, identity)."""
    con = raw_connection(directory_users=DIRECTORY, slack_users=SLACK, calendar_events=EVENTS)
    result = map_people(con)
    assert result.people.schema == PEOPLE
    assert result.links.schema == IDENTITY_LINKS
    people = {p["person_id"]: p for p in result.people.to_pylist()}
    links = {(link["system"], link["identity"]): link for link in result.links.to_pylist()}
    return people, links


def test_every_person_appears_once_with_stable_ids(mapped: tuple[dict, dict]) -> None:
    """Directory people keep their directory id; others are ext:/email:/slack: keyed, one row each."""
    people, _ = mapped
    assert sorted(people) == [
        "d-ann",
        "d-bob",
        "d-cat",
        "d-dan",
        "d-eve1",
        "d-eve2",
        "email:old.hand@acme.example",
        "ext:pat@partner.example",
        "ext:zoe@client.example",
        "slack:U5",
    ]


@pytest.mark.parametrize(
    ("user_id", "person_id", "matched_by", "confidence"),
    [
        ("U1", "d-ann", "alias", 0.95),
        ("U2", "d-bob", "email_case", 1.0),
        ("U3", "d-cat", "name", 0.8),
        ("U4", "d-dan", "name", 0.8),
        ("U5", "slack:U5", "unmatched", 1.0),
        ("U6", "ext:pat@partner.example", "external_email", 1.0),
        ("U7", "d-dan", "primary_email", 1.0),
    ],
)
def test_slack_users_map_by_email_alias_case_then_unique_name(
    mapped: tuple[dict, dict], user_id: str, person_id: str, matched_by: str, confidence: float
) -> None:
    """Slack users resolve by email (primary, alias, any case), else a unique exact name; how is recorded."""
    _, links = mapped
    link = links[("slack", user_id)]
    assert (link["person_id"], link["matched_by"], link["confidence"]) == (person_id, matched_by, confidence)


def test_bots_and_slackbot_are_not_people(mapped: tuple[dict, dict]) -> None:
    """Bots (is_bot) and USLACKBOT get no identity link and no person."""
    people, links = mapped
    assert ("slack", "UBOT") not in links
    assert ("slack", "USLACKBOT") not in links
    assert not any(
        "UBOT" in p["slack_user_ids"] or "USLACKBOT" in p["slack_user_ids"] for p in people.values()
    )


def test_directory_person_carries_slack_accounts_emails_and_tz(mapped: tuple[dict, dict]) -> None:
    """A person lists every Slack account (active one first choice) and every email that resolves to them."""
    people, _ = mapped
    ann, bob, dan = people["d-ann"], people["d-bob"], people["d-dan"]
    assert (ann["email"], ann["slack_user_id"], ann["tz"], ann["internal"]) == (
        "ann.lee@acme.example",
        "U1",
        "Europe/London",
        True,
    )
    assert ann["aliases"] == ["alee@acme.example", "ann@acme.example"]
    assert ann["emails"] == ["alee@acme.example", "ann.lee@acme.example", "ann@acme.example"]
    assert (bob["manager_email"], bob["tz"], bob["emails"]) == (
        "ann.lee@acme.example",
        "America/New_York",
        ["bob.ray@acme.example"],
    )
    assert (dan["slack_user_id"], dan["slack_user_ids"]) == ("U4", ["U4", "U7"])


def test_external_and_unknown_attendees_become_people(mapped: tuple[dict, dict]) -> None:
    """External attendees are external people keyed by lower-cased email; rooms are nobody."""
    people, links = mapped
    pat, zoe, old = (
        people["ext:pat@partner.example"],
        people["ext:zoe@client.example"],
        people["email:old.hand@acme.example"],
    )
    assert (pat["email"], pat["internal"], pat["slack_user_id"], pat["name"]) == (
        "pat@partner.example",
        False,
        "U6",
        "Pat Guest",
    )
    assert (zoe["email"], zoe["internal"], zoe["slack_user_id"], zoe["name"]) == (
        "zoe@client.example",
        False,
        None,
        "Zoe Client",
    )
    assert (old["internal"], old["name"]) == (True, "old.hand")  # company domain, not in the directory
    assert links[("calendar", "pat@partner.example")]["matched_by"] == "external_email"
    assert links[("calendar", "old.hand@acme.example")]["matched_by"] == "unmatched"
    assert links[("calendar", "ann.lee@acme.example")]["person_id"] == "d-ann"
    assert ("calendar", "room-1@resource.calendar.google.com") not in links


def test_ambiguous_name_stays_a_slack_only_person(mapped: tuple[dict, dict]) -> None:
    """A hidden-email Slack user whose name two directory people share maps to nobody in the directory."""
    people, _ = mapped
    eve = people["slack:U5"]
    assert (eve["email"], eve["slack_user_id"], eve["name"], eve["internal"]) == (
        None,
        "U5",
        "Eve Smith",
        True,
    )
    assert people["d-eve1"]["slack_user_id"] is None


def test_missing_raw_table_is_a_configuration_error() -> None:
    """Without the directory table the mapping says which table is missing and what to do."""
    con = raw_connection()
    con.execute("DROP TABLE directory_users")
    with pytest.raises(ConfigurationError, match="directory_users"):
        map_people(con)
