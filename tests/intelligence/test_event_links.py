"""Event pages as calendar links: an organiser's event pages recurring in a channel, and their author's posts
beside them (workspaces without threads announce a gathering as a burst of posts by its author)."""

from __future__ import annotations

from intelligence import detect_evidence
from intelligence._patterns import ANNOUNCEMENT_SECONDS
from tests.intelligence.raw_builders import ORG_SLACK, at, message, raw_connection

OWN = "https://www.meetup.com/Lakeside-Robotics-Club/events/{}/"


def _rows(*messages: dict) -> list[tuple[str, str, str | None, str | None, str]]:
    """Give (ts, kind, matched, event_id, role) of each evidence row detected over `messages`."""
    con = raw_connection(slack_messages=list(messages), slack_users=ORG_SLACK)
    return [
        (r["ts"], r["kind"], r["matched"], r["event_id"], r["role"]) for r in detect_evidence(con).to_pylist()
    ]


def test_an_organisers_recurring_event_pages_are_calendar_links() -> None:
    """Two distinct events of one organiser in a channel (one in the locale-prefixed host form) are both
    calendar links with no calendar event id; the same organiser in another channel once is not."""
    first = message("C1", at(0), f"<{OWN.format(310001)}>", seq=1)
    second = message(
        "C1", at(60 * 24 * 30), "<https://meetup.com/de-DE/lakeside-robotics-club/events/310002>", seq=2
    )
    elsewhere = message("C2", at(5), f"<{OWN.format(310001)}>", seq=3)
    assert _rows(first, second, elsewhere) == [
        (first["ts"], "calendar_link", "event page link", None, "pre"),
        (second["ts"], "calendar_link", "event page link", None, "pre"),
    ]


def test_an_event_page_of_an_organiser_posted_once_is_not_evidence() -> None:
    """Another organisation's gathering shared once, beside the channel's own recurring ones, stays out."""
    own = [message("C1", at(60 * 24 * d), f"<{OWN.format(320000 + d)}>", seq=d + 1) for d in (0, 7)]
    shared = message(
        "C1", at(60 * 24 * 3), "<https://www.meetup.com/Harbour-Chess-Circle/events/555444/>", seq=9
    )
    assert [r[0] for r in _rows(*own, shared)] == [m["ts"] for m in own]


def test_a_bots_event_pages_do_not_make_an_organiser_recur() -> None:
    """Event pages an integration posts are not a person's announcement: neither counts."""
    pages = [
        message("C1", at(60 * d), f"<{OWN.format(330000 + d)}>", user="UCAL", bot_id="B1", seq=d + 1)
        for d in (0, 1)
    ]
    assert _rows(*pages) == []


def test_the_authors_posts_beside_an_event_page_are_agenda_evidence() -> None:
    """The author's words just before and after their event page join it; another person's words at the same
    moment, and the author's words long after, do not."""
    pages = [message("C1", at(60 * 24 * d), f"<{OWN.format(340000 + d)}>", seq=d + 1) for d in (0, 14)]
    before = message("C1", at(-1), "fresh date is up, bring a friend", seq=20)
    after = message("C1", at(ANNOUNCEMENT_SECONDS / 60), "parking is behind the library", seq=21)
    other = message("C1", at(1), "parking is behind the library", user="U2", seq=22)
    late = message("C1", at(ANNOUNCEMENT_SECONDS / 60 + 1), "parking is behind the library", seq=23)
    beside = "posted by its author beside an event page"
    assert _rows(*pages, before, after, other, late) == [
        (before["ts"], "agenda", beside, None, "pre"),
        (pages[0]["ts"], "calendar_link", "event page link", None, "pre"),
        (after["ts"], "agenda", beside, None, "pre"),
        (pages[1]["ts"], "calendar_link", "event page link", None, "pre"),
    ]


def test_a_post_beside_an_event_page_scanned_alone_gives_the_same_row() -> None:
    """Scanning only the new post, with every message of its channel to look up, gives the full scan's row."""
    pages = [message("C1", at(60 * 24 * d), f"<{OWN.format(350000 + d)}>", seq=d + 1) for d in (0, 21)]
    after = message("C1", at(2), "doors open half an hour early", seq=30)
    con = raw_connection(slack_messages=[*pages, after], slack_users=ORG_SLACK)
    full = {r["ts"]: r for r in detect_evidence(con).to_pylist()}
    con.execute(f"CREATE VIEW new_only AS SELECT * FROM slack_messages WHERE ts = '{after['ts']}'")
    assert detect_evidence(con, "new_only").to_pylist() == [full[after["ts"]]]


def test_replies_under_an_event_page_discuss_the_gathering() -> None:
    """A reply in the thread of the channel's own event page is agenda evidence, whoever writes it and however
    late; a reply under an event page of an organiser posted once is not."""
    pages = [message("C1", at(60 * 24 * d), f"<{OWN.format(360000 + d)}>", seq=d + 1) for d in (0, 28)]
    once = message("C1", at(60), "<https://www.meetup.com/Harbour-Chess-Circle/events/777666/>", seq=40)
    reply = message("C1", at(90), "is there step-free access?", user="U2", seq=41, thread_ts=pages[0]["ts"])
    aside = message("C1", at(91), "is there step-free access?", user="U2", seq=42, thread_ts=once["ts"])
    assert [(r[0], r[1], r[2]) for r in _rows(*pages, once, reply, aside)] == [
        (pages[0]["ts"], "calendar_link", "event page link"),
        (reply["ts"], "agenda", "reply to an agenda"),
        (pages[1]["ts"], "calendar_link", "event page link"),
    ]
