"""Shape parity: the sandbox's answers carry the fields the vendors' own example responses carry.

Third-party examples (tests/fixtures/third_party): Slack's OpenAPI examples, slack-sdk's test
fixtures, payloads captured by ossans_navi (a real huddle thread) and Calendar pages captured by Compass.
For top-level responses the sandbox must carry every key the vendor example has; for messages, users,
channels, events and calendar entries it must carry every vendor key that our collectors read (READ).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import SandboxServer, ServerSettings
from tests.sandbox._server_workspace import ALICE_CAL, build_workspace, served_shapes

# The fields our collectors read from each object kind (collectors/models.py and collectors/_normalise.py).
READ = {
    "message": {
        "type",
        "ts",
        "user",
        "text",
        "thread_ts",
        "reply_count",
        "reply_users",
        "latest_reply",
        "subtype",
        "bot_id",
        "edited",
        "reactions",
        "files",
        "attachments",
        "room",
    },
    "user": {
        "id",
        "team_id",
        "name",
        "real_name",
        "deleted",
        "is_bot",
        "is_restricted",
        "tz",
        "tz_offset",
        "profile",
    },
    "profile": {"email", "real_name", "display_name"},
    "channel": {
        "id",
        "name",
        "is_channel",
        "is_private",
        "is_im",
        "is_mpim",
        "is_archived",
        "is_member",
        "created",
        "topic",
        "purpose",
        "num_members",
    },
    "team": {"id", "name", "domain"},
    "event": {
        "kind",
        "id",
        "iCalUID",
        "recurringEventId",
        "originalStartTime",
        "status",
        "eventType",
        "summary",
        "description",
        "location",
        "start",
        "end",
        "organizer",
        "creator",
        "attendees",
        "hangoutLink",
        "conferenceData",
        "transparency",
        "htmlLink",
        "attachments",
        "updated",
        "etag",
    },
    "calendar": {"id", "summary", "timeZone", "accessRole", "primary"},
}


def _keys(objects: list[dict[str, Any]]) -> set[str]:
    return {k for o in objects for k in o}


@pytest.fixture(scope="module")
def vendor(third_party: Path) -> dict[str, Any]:
    """Give the vendor examples: top-level key sets per method and key sets per object kind."""
    spec = json.loads(
        (third_party / "slack_openapi_spec_examples" / "slack_web_openapi_v2_examples.json").read_text()
    )
    sdk = third_party / "slack_python_sdk_fixtures"
    navi = [
        json.loads(p.read_text())
        for p in sorted((third_party / "slack_api_ossans_navi").glob("conversations.*"))
    ]
    compass = third_party / "gcal_compass_events"
    pages = [json.loads(p.read_text()) for p in sorted(compass.glob("recurring_*.json"))]
    loose = [e for p in sorted(compass.glob("events_gcal_*.json")) for e in json.loads(p.read_text())]
    cal_list = json.loads((compass / "calendarlist_gcal.calendarlist.json").read_text())
    sdk_channels = json.loads((sdk / "web_response_conversations_list.json").read_text())
    top = {
        m: set(spec[m])
        for m in (
            "auth.test",
            "team.info",
            "users.list",
            "conversations.list",
            "conversations.history",
            "conversations.replies",
        )
    }
    top["conversations.list"] |= set(sdk_channels)
    top["conversations.replies"] |= _keys(navi)
    top["events.list"] = _keys(pages)
    top["calendarList.list"] = set(cal_list)
    messages = [m for k in ("conversations.history", "conversations.replies") for m in spec[k]["messages"]]
    messages += [m for page in navi for m in page["messages"]]
    return {
        "top": top,
        "message": _keys(messages),
        "user": _keys(spec["users.list"]["members"]),
        "profile": _keys([u["profile"] for u in spec["users.list"]["members"]]),
        "channel": _keys(spec["conversations.list"]["channels"] + sdk_channels["channels"]),
        "team": set(spec["team.info"]["team"]),
        "event": _keys([e for p in pages for e in p["items"]] + loose),
        "calendar": _keys(cal_list["items"]),
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Give the key sets of the sandbox's answers over the tiny workspace."""
    root = build_workspace(tmp_path_factory.mktemp("parity"))
    with SandboxServer(root, ServerSettings(google_user=ALICE_CAL)) as srv:
        yield served_shapes(srv.url)


def test_top_level_responses_carry_every_vendor_key(vendor: dict[str, Any], served: dict[str, Any]) -> None:
    """Each answer has every top-level key of the vendor examples (calendarList: no nextSyncToken)."""
    missing = {m: sorted(keys - served["top"][m]) for m, keys in vendor["top"].items()}
    assert missing == {m: (["nextSyncToken"] if m == "calendarList.list" else []) for m in vendor["top"]}


@pytest.mark.parametrize("kind", ["message", "user", "profile", "channel", "team", "event", "calendar"])
def test_objects_carry_the_vendor_fields_collectors_read(
    vendor: dict[str, Any], served: dict[str, Any], kind: str
) -> None:
    """Every vendor field the collectors read is present on the sandbox's objects of that kind."""
    assert sorted((vendor[kind] & READ[kind]) - served[kind]) == []


def test_vendor_examples_exercise_the_read_fields(vendor: dict[str, Any]) -> None:
    """The comparison is not vacuous: the vendor examples carry these read fields (pinned)."""
    assert {k: sorted(vendor[k] & READ[k]) for k in READ} == {
        "message": [
            "attachments",
            "bot_id",
            "edited",
            "files",
            "latest_reply",
            "reactions",
            "reply_count",
            "reply_users",
            "room",
            "subtype",
            "text",
            "thread_ts",
            "ts",
            "type",
            "user",
        ],
        "user": sorted(READ["user"]),
        "profile": ["display_name", "email", "real_name"],
        "channel": sorted(READ["channel"]),
        "team": ["domain", "id", "name"],
        "event": [
            "creator",
            "description",
            "end",
            "etag",
            "eventType",
            "htmlLink",
            "iCalUID",
            "id",
            "kind",
            "location",
            "organizer",
            "originalStartTime",
            "recurringEventId",
            "start",
            "status",
            "summary",
            "transparency",
            "updated",
        ],
        "calendar": ["accessRole", "id", "primary", "summary", "timeZone"],
    }
