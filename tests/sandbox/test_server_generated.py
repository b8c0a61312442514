"""The sandbox server over a generated org (people=12, days=3): everything in the files comes back once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.generate import generate_workspace
from sandbox.server import SandboxServer, ServerSettings
from tests.sandbox._server_workspace import google, served_shapes, slack_client
from tests.sandbox.test_server_parity import READ, vendor  # noqa: F401 - `vendor` is a fixture used below


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a generated workspace of 12 people over 3 days."""
    out = tmp_path_factory.mktemp("org")
    generate_workspace(out, people=12, days=3, seed=11)
    return out


@pytest.fixture(scope="module")
def server(generated: Path) -> Iterator[SandboxServer]:
    """Serve the generated workspace without rate limits; the first calendar's owner holds the token."""
    first = sorted(generated.glob("google/calendar/*.json"))[0].name[: -len(".json")]
    with SandboxServer(generated, ServerSettings(rate_limits=False, google_user=first)) as srv:
        yield srv


def _day_messages(folder: Path) -> list[dict[str, Any]]:
    return [m for day in sorted(folder.glob("*.json")) for m in json.loads(day.read_text())]


def test_every_message_is_served_once_through_history_and_replies(
    generated: Path, server: SandboxServer
) -> None:
    """Paging history (limit=40) and threads (limit=4) yields each day-file message once, unchanged."""
    client = slack_client(server.url)
    channels = [c for page in client.conversations_list(limit=2) for c in page["channels"]]
    assert [c["name"] for c in channels] == [
        c["name"] for c in json.loads((generated / "slack/channels.json").read_text())
    ]
    for chan in channels:
        served: list[dict[str, Any]] = []
        for page in client.conversations_history(channel=chan["id"], limit=40):
            for parent in page["messages"]:
                if parent.get("thread_ts") in (None, parent["ts"]):
                    served.append(parent)
                if parent.get("reply_count"):
                    pages = client.conversations_replies(channel=chan["id"], ts=parent["ts"], limit=4)
                    served.extend(m for p in pages for m in p["messages"] if m["ts"] != parent["ts"])
        expected = _day_messages(generated / "slack" / chan["name"])
        assert sorted(m["ts"] for m in served) == sorted(m["ts"] for m in expected), chan["name"]
        by_ts = {m["ts"]: m for m in served}  # parents' recomputed reply summaries equal the generator's
        assert [by_ts[m["ts"]] for m in expected] == expected


def test_every_calendar_event_is_served_once_per_calendar(generated: Path, server: SandboxServer) -> None:
    """calendarList names every calendar file; events.list pages (maxResults=7) give each item once."""
    calendar = google("calendar", "v3", server.url)
    files = sorted(generated.glob("google/calendar/*.json"))
    listing = calendar.calendarList().list().execute()["items"]
    assert [c["id"] for c in listing] == [p.name[: -len(".json")] for p in files]
    for path in files:
        items, token = [], None
        while True:
            page = (
                calendar.events()
                .list(
                    calendarId=path.name[:-5],
                    singleEvents=True,
                    showDeleted=True,
                    maxResults=7,
                    **({"pageToken": token} if token else {}),
                )
                .execute()
            )
            items.extend(page["items"])
            token = page.get("nextPageToken")
            if not token:
                break
        assert items == json.loads(path.read_text())["items"]


def test_drive_and_directory_are_served_whole(generated: Path, server: SandboxServer) -> None:
    """files.list with fields=* and users.list give exactly the workspace's files and directory users."""
    files = google("drive", "v3", server.url).files().list(pageSize=1000, fields="*").execute()["files"]
    assert files == [
        {"kind": "drive#file", **f} if "kind" not in f else f
        for f in json.loads((generated / "google/drive/files.json").read_text())["files"]
    ]
    users = (
        google("admin", "directory_v1", server.url).users().list(customer="my_customer").execute()["users"]
    )
    expected = json.loads((generated / "google/directory/users.json").read_text())["users"]
    assert [u["primaryEmail"] for u in users] == [u["primaryEmail"] for u in expected]


def test_generated_org_matches_vendor_shapes(vendor: dict[str, Any], server: SandboxServer) -> None:  # noqa: F811
    """Served objects of a generated org carry every vendor field the collectors read."""
    served = served_shapes(server.url)
    missing = {k: sorted((vendor[k] & READ[k]) - served[k]) for k in READ}
    assert missing == {k: [] for k in READ}
