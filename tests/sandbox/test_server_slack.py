"""The sandbox's Slack Web API, exercised over HTTP with the real slack_sdk WebClient."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError

from sandbox.server import SandboxServer, ServerSettings
from tests.sandbox._server_workspace import (
    ALICE,
    BOB,
    BOTPRIV,
    CAROL,
    D1,
    D2,
    GENERAL,
    GENERAL_DAY1,
    GENERAL_DAY2,
    OLD,
    PROJ,
    PROJ_DAY1,
    SECRET,
    T1,
    USERS,
    build_workspace,
    bump,
    msg,
    slack_client,
    ts,
    write_json,
)

TOP_LEVEL = [m["ts"] for m in GENERAL_DAY1 + GENERAL_DAY2 if m.get("thread_ts") in (None, m["ts"])]
BROADCAST = ts(D1, 3900)
HISTORY = sorted([*TOP_LEVEL, BROADCAST], reverse=True)  # what history shows, newest first
REPLIES = [ts(D1, 3700), ts(D1, 3800), ts(D1, 3900)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    """Serve the tiny workspace with default settings."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        yield srv


def _history_pages(client, **kwargs) -> list[list[str]]:
    pages = []
    for page in client.conversations_history(**kwargs):
        pages.append([m["ts"] for m in page["messages"]])
    return pages


def test_auth_test_and_team_info_name_the_bot_and_the_team_of_users_json(server: SandboxServer) -> None:
    """auth.test gives the sandbox bot and the team; team.info derives name and domain from user emails."""
    client = slack_client(server.url)
    auth = client.auth_test().data
    assert auth == {
        "ok": True,
        "url": "https://acme.slack.com/",
        "team": "Acme",
        "user": "sandbox-bot",
        "team_id": "T0ACME0001",
        "user_id": "USANDBOXBOT",
        "bot_id": "BSANDBOX01",
        "is_enterprise_install": False,
    }
    team = client.team_info().data["team"]
    assert (team["id"], team["name"], team["domain"], team["email_domain"]) == (
        "T0ACME0001",
        "Acme",
        "acme",
        "acme.example",
    )


def test_wrong_token_gets_invalid_auth_and_no_token_gets_not_authed(server: SandboxServer) -> None:
    """A wrong bearer token answers invalid_auth, a missing one not_authed, both HTTP 200 as in Slack."""
    with pytest.raises(SlackApiError) as wrong:
        slack_client(server.url, token="xoxb-wrong").conversations_list()
    assert (wrong.value.response.status_code, wrong.value.response["error"]) == (200, "invalid_auth")
    with pytest.raises(SlackApiError) as missing:
        slack_client(server.url, token=None).auth_test()
    assert missing.value.response["error"] == "not_authed"
    assert server.stats.auth_failures == {"conversations.list": 1, "auth.test": 1}


def test_users_list_pages_cover_every_user_once_in_file_order(server: SandboxServer) -> None:
    """users.list with limit=2 pages through users.json with Slack-style `user:` cursors."""
    client = slack_client(server.url)
    pages = [[u["id"] for u in p["members"]] for p in client.users_list(limit=2)]
    assert pages == [[u["id"] for u in USERS[0:2]], [u["id"] for u in USERS[2:4]], [USERS[4]["id"]]]
    first = client.users_list(limit=2)
    assert base64.b64decode(first["response_metadata"]["next_cursor"]).decode() == f"user:{CAROL}"
    assert first["members"][0] == USERS[0]


def test_conversations_list_shows_public_channels_and_private_ones_the_bot_is_in(
    server: SandboxServer,
) -> None:
    """Default types list public channels; private channels appear only when the bot is a member."""
    client = slack_client(server.url)
    public = client.conversations_list()["channels"]
    assert [(c["id"], c["is_archived"]) for c in public] == [(GENERAL, False), (PROJ, False), (OLD, True)]
    both = client.conversations_list(types="public_channel,private_channel", exclude_archived=True)[
        "channels"
    ]
    assert [(c["id"], c["is_private"], c["is_member"]) for c in both] == [
        (GENERAL, False, True),
        (PROJ, False, True),
        (BOTPRIV, True, True),
    ]
    general = public[0]
    assert (general["name"], general["num_members"], general["is_general"], general["topic"]["value"]) == (
        "general",
        4,
        True,
        "general topic",
    )
    assert "members" not in general  # as the real API: members come from conversations.members


def test_a_public_channel_the_app_has_not_joined_is_listed_but_unreadable(tmp_path: Path) -> None:
    """unjoined_channels: conversations.list still shows the channel, with is_member false, as Slack lists
    every public channel; its history and members answer not_in_channel."""
    settings = ServerSettings(unjoined_channels=(PROJ,))
    with SandboxServer(build_workspace(tmp_path), settings) as srv:
        client = slack_client(srv.url)
        listed = client.conversations_list()["channels"]
        assert [(c["id"], c["is_member"]) for c in listed] == [(GENERAL, True), (PROJ, False), (OLD, True)]
        for call in (client.conversations_history, client.conversations_members):
            with pytest.raises(SlackApiError) as raised:
                call(channel=PROJ)
            assert raised.value.response["error"] == "not_in_channel"


def test_conversations_members_pages_through_the_member_ids(server: SandboxServer) -> None:
    """conversations.members gives the channel's members, paged by limit."""
    client = slack_client(server.url)
    pages = [p["members"] for p in client.conversations_members(channel=GENERAL, limit=3)]
    assert pages == [[ALICE, BOB, CAROL], ["U0DAN00001"]]


def test_history_is_newest_first_top_level_only_with_broadcasts(server: SandboxServer) -> None:
    """History lists top-level messages and thread broadcasts, newest first; plain replies stay out."""
    page = slack_client(server.url).conversations_history(channel=GENERAL)
    assert [m["ts"] for m in page["messages"]] == HISTORY
    assert page["has_more"] is False
    assert page["response_metadata"] == {"next_cursor": ""}


def test_history_pagination_covers_every_message_exactly_once(server: SandboxServer) -> None:
    """Pages of limit=3 follow next_cursor back in time and together give every message once."""
    pages = _history_pages(slack_client(server.url), channel=GENERAL, limit=3)
    assert pages == [HISTORY[0:3], HISTORY[3:6], HISTORY[6:9]]


def test_thread_parent_carries_reply_summary_computed_from_replies(server: SandboxServer) -> None:
    """The parent's reply_count/reply_users/latest_reply reflect the replies present, not the stale export."""
    messages = slack_client(server.url).conversations_history(channel=GENERAL)["messages"]
    parent = next(m for m in messages if m["ts"] == T1)
    assert (
        parent["reply_count"],
        parent["reply_users"],
        parent["reply_users_count"],
        parent["latest_reply"],
    ) == (3, [ALICE, CAROL, BOB], 3, ts(D1, 3900))
    assert parent["thread_ts"] == T1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"oldest": ts(D1, 3600)}, [t for t in HISTORY if t > ts(D1, 3600)]),
        ({"oldest": ts(D1, 3600), "inclusive": True}, [t for t in HISTORY if t >= ts(D1, 3600)]),
        ({"latest": ts(D2, 200)}, [t for t in HISTORY if t < ts(D2, 200)]),
        ({"latest": ts(D2, 200), "inclusive": True}, [t for t in HISTORY if t <= ts(D2, 200)]),
        (
            {"oldest": ts(D1, 600), "latest": ts(D2, 100)},
            [t for t in HISTORY if ts(D1, 600) < t < ts(D2, 100)],
        ),
        (
            {"oldest": ts(D1, 600), "latest": ts(D2, 100), "inclusive": True},
            [t for t in HISTORY if ts(D1, 600) <= t <= ts(D2, 100)],
        ),
        ({"oldest": str(D2)}, [t for t in HISTORY if t > str(D2)]),  # whole seconds work as bounds too
        ({"oldest": str(D2 + 300), "latest": str(D1)}, []),
    ],
)
def test_history_oldest_latest_inclusive_follow_slack(
    server: SandboxServer, args: dict, expected: list[str]
) -> None:
    """oldest/latest are exclusive bounds unless inclusive=true makes both inclusive."""
    page = slack_client(server.url).conversations_history(channel=GENERAL, **args)
    assert [m["ts"] for m in page["messages"]] == expected


def test_history_window_and_cursor_combine(server: SandboxServer) -> None:
    """Paging inside an oldest/latest window never leaves the window and covers it once."""
    pages = _history_pages(
        slack_client(server.url), channel=GENERAL, limit=2, oldest=ts(D1, 600), latest=ts(D2, 300)
    )
    inside = [t for t in HISTORY if ts(D1, 600) < t < ts(D2, 300)]
    assert pages == [inside[0:2], inside[2:4], inside[4:6]]


def test_replies_give_parent_first_then_replies_oldest_first(server: SandboxServer) -> None:
    """conversations.replies leads with the parent, then the replies in time order."""
    page = slack_client(server.url).conversations_replies(channel=GENERAL, ts=T1)
    assert [m["ts"] for m in page["messages"]] == [T1, *REPLIES]
    assert page["has_more"] is False


def test_replies_pagination_shows_the_parent_on_the_first_page_only(server: SandboxServer) -> None:
    """With limit=2 the parent and first reply come first; later pages hold the remaining replies once."""
    client = slack_client(server.url)
    pages = [
        [m["ts"] for m in p["messages"]]
        for p in client.conversations_replies(channel=GENERAL, ts=T1, limit=2)
    ]
    assert pages == [[T1, REPLIES[0]], REPLIES[1:3]]


def test_replies_by_a_reply_ts_and_by_an_unthreaded_message(server: SandboxServer) -> None:
    """A reply's ts gives its whole thread; an unthreaded message gives just itself."""
    client = slack_client(server.url)
    by_reply = client.conversations_replies(channel=GENERAL, ts=REPLIES[1])
    assert [m["ts"] for m in by_reply["messages"]] == [T1, *REPLIES]
    alone = client.conversations_replies(channel=GENERAL, ts=ts(D1, 600))
    assert [m["ts"] for m in alone["messages"]] == [ts(D1, 600)]


def test_replies_oldest_bound_filters_replies_but_keeps_the_parent(server: SandboxServer) -> None:
    """oldest applies to the replies; the parent still leads the first page."""
    page = slack_client(server.url).conversations_replies(channel=GENERAL, ts=T1, oldest=REPLIES[0])
    assert [m["ts"] for m in page["messages"]] == [T1, *REPLIES[1:]]


@pytest.mark.parametrize(
    ("method", "args", "error"),
    [
        ("conversations_history", {"channel": "C0NOPE0001"}, "channel_not_found"),
        ("conversations_replies", {"channel": "C0NOPE0001", "ts": T1}, "channel_not_found"),
        ("conversations_history", {"channel": SECRET}, "not_in_channel"),
        ("conversations_replies", {"channel": GENERAL, "ts": "1600000000.000100"}, "thread_not_found"),
        ("conversations_history", {"channel": GENERAL, "cursor": "bm9wZQ=="}, "invalid_cursor"),
        ("conversations_history", {"channel": GENERAL, "oldest": "yesterday"}, "invalid_ts_oldest"),
        ("conversations_history", {"channel": GENERAL, "latest": "-5"}, "invalid_ts_latest"),
        ("conversations_list", {"types": "public_channel,shared"}, "invalid_types"),
        ("users_list", {"cursor": base64.b64encode(b"user:U0GONE0001").decode()}, "invalid_cursor"),
    ],
)
def test_slack_errors_use_slack_error_codes(
    server: SandboxServer, method: str, args: dict, error: str
) -> None:
    """Unknown channels, private channels the bot is not in, bad cursors and bounds give Slack's codes."""
    with pytest.raises(SlackApiError) as raised:
        getattr(slack_client(server.url), method)(**args)
    assert (
        raised.value.response.status_code,
        raised.value.response["ok"],
        raised.value.response["error"],
    ) == (200, False, error)


def test_private_channel_with_the_bot_is_readable(server: SandboxServer) -> None:
    """A private channel listing the bot user among its members can be read."""
    page = slack_client(server.url).conversations_history(channel=BOTPRIV)
    assert [m["text"] for m in page["messages"]] == ["bot can read this"]


def test_limit_above_the_cap_is_clamped_and_page_cap_is_configurable(tmp_path: Path) -> None:
    """A limit over the method's cap serves the cap; page_cap lowers it (e.g. non-Marketplace apps: 15)."""
    settings = ServerSettings(page_cap={"conversations.history": 4})
    with SandboxServer(build_workspace(tmp_path), settings) as srv:
        page = slack_client(srv.url).conversations_history(channel=PROJ, limit=1000)
        assert len(page["messages"]) == 4 and page["has_more"] is True
        default = slack_client(srv.url).conversations_history(channel=PROJ)
        assert len(default["messages"]) == 4  # the default page shrinks to the cap too
    assert ServerSettings.non_marketplace().page_cap["conversations.replies"] == 15
    assert ServerSettings.non_marketplace().tiers["conversations.history"] == 1


def test_appended_messages_and_replies_show_up_on_later_calls(server: SandboxServer) -> None:
    """Messages appended to a day file, a new day file and a new reply are served on the next call."""
    client = slack_client(server.url)
    assert len(client.conversations_history(channel=GENERAL)["messages"]) == len(HISTORY)
    day2 = server.workspace / "slack" / "general" / "2026-09-08.json"
    write_json(
        day2,
        [
            *GENERAL_DAY2,
            msg(ts(D2, 900), CAROL, "late news"),
            msg(ts(D2, 950), BOB, "late reply", thread_ts=T1),
        ],
    )
    bump(day2)
    write_json(
        server.workspace / "slack" / "general" / "2026-09-09.json", [msg(ts(D2 + 86400, 10), ALICE, "day 3")]
    )
    history = client.conversations_history(channel=GENERAL, limit=3)["messages"]
    assert [m["text"] for m in history] == [
        "day 3",
        "late news",
        "AI: <@U0ALICE001> to send the deck by Friday",
    ]
    replies = client.conversations_replies(channel=GENERAL, ts=T1)["messages"]
    assert [m["ts"] for m in replies] == [T1, *REPLIES, ts(D2, 950)]
    assert (replies[0]["reply_count"], replies[0]["latest_reply"]) == (4, ts(D2, 950))


def test_messages_keep_their_export_fields(server: SandboxServer) -> None:
    """Served messages are the export objects: huddle rooms, edits, reactions, attachments survive."""
    messages = {
        m["ts"]: m for m in slack_client(server.url).conversations_history(channel=GENERAL)["messages"]
    }
    assert messages[ts(D2, 200)] == GENERAL_DAY2[1]
    assert messages[ts(D2, 300)] == GENERAL_DAY2[2]
    assert messages[ts(D1, 7300)] == GENERAL_DAY1[6]


def test_unknown_method_answers_unknown_method(server: SandboxServer) -> None:
    """A method the sandbox does not serve answers Slack's unknown_method."""
    with pytest.raises(SlackApiError) as raised:
        slack_client(server.url).api_call("chat.postMessage", params={"channel": GENERAL, "text": "hi"})
    assert raised.value.response["error"] == "unknown_method"


def test_history_of_proj_channel_matches_the_day_file(server: SandboxServer) -> None:
    """Every message of a single-day channel comes back, newest first, byte-equal as JSON objects."""
    page = slack_client(server.url).conversations_history(channel=PROJ)
    assert page["messages"] == list(reversed(PROJ_DAY1))
    assert json.loads(json.dumps(page["messages"][0])) == PROJ_DAY1[-1]
