"""Starting, stopping and feeding the sandbox server: workspace checks, broken files, caches, threads."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from googleapiclient.errors import HttpError
from slack_sdk.errors import SlackApiError

from core.errors import ConfigurationError
from sandbox.server import SandboxServer, ServerSettings, serve_forever
from tests.sandbox._server_workspace import (
    ALICE,
    ALICE_CAL,
    BOB,
    EVENTS,
    GENERAL,
    PROJ,
    build_workspace,
    bump,
    event,
    google,
    msg,
    slack_client,
    write_json,
)


def test_serve_forever_reports_its_url_and_stops_on_the_event(tmp_path: Path) -> None:
    """serve_forever binds, calls on_ready with the URL, serves, and returns once `stop` is set."""
    ready: list[str] = []
    got_url = threading.Event()
    stop = threading.Event()

    def on_ready(url: str) -> None:
        ready.append(url)
        got_url.set()

    thread = threading.Thread(
        target=serve_forever,
        args=(build_workspace(tmp_path), 0, ServerSettings()),
        kwargs={"on_ready": on_ready, "stop": stop},
    )
    thread.start()
    assert got_url.wait(5)
    assert slack_client(ready[0]).auth_test()["user_id"] == "USANDBOXBOT"
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    port = int(ready[0].rsplit(":", 1)[1])
    with socket.socket() as probe:  # the listener is gone (SO_REUSEADDR tolerates TIME_WAIT, not a listener)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_stop_releases_the_port_and_closes_keep_alive_connections(tmp_path: Path) -> None:
    """After stop() the same port can be bound again by a new server, even after keep-alive clients."""
    server = SandboxServer(build_workspace(tmp_path))
    url = server.start()
    google("drive", "v3", url).files().list().execute()  # httplib2 keeps its connection open
    server.stop()
    with SandboxServer(tmp_path, port=server.port) as again:
        assert again.url == url


def test_busy_port_is_a_configuration_error(tmp_path: Path) -> None:
    """Asking for a port already in use says which port and what to do."""
    with SandboxServer(build_workspace(tmp_path)) as first, pytest.raises(ConfigurationError) as raised:
        SandboxServer(tmp_path, port=first.port).start()
    assert f"127.0.0.1:{first.port}" in str(raised.value)


@pytest.mark.parametrize(
    ("layout", "message"),
    [("missing", "is not a folder"), ("empty", "neither slack/ nor google/"), ("zip", "unzip it")],
)
def test_bad_workspace_is_a_configuration_error(tmp_path: Path, layout: str, message: str) -> None:
    """A missing folder, a folder without slack/ or google/, or a zipped export are refused up front."""
    root = tmp_path / "ws"
    if layout != "missing":
        root.mkdir()
    if layout == "zip":
        (root / "slack.zip").write_bytes(b"PK")
    with pytest.raises(ConfigurationError) as raised:
        SandboxServer(root)
    assert message in str(raised.value)


def test_broken_workspace_file_answers_500_naming_the_file(tmp_path: Path) -> None:
    """A day file that is not JSON gives Slack internal_error (HTTP 500) whose detail names the file."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        (tmp_path / "slack" / "proj-x" / "2026-09-07.json").write_text("[{broken")
        with pytest.raises(SlackApiError) as raised:
            slack_client(srv.url, retry_handlers=[]).conversations_history(channel=PROJ)
        response = raised.value.response
        assert (response.status_code, response["error"]) == (500, "internal_error")
        assert "proj-x/2026-09-07.json is not valid JSON" in response["detail"]
        (tmp_path / "google" / "drive" / "files.json").write_text('{"files": 3}')
        with pytest.raises(HttpError) as google_err:
            google("drive", "v3", srv.url).files().list().execute()
        assert google_err.value.resp.status == 500
        assert "files.json has no `files` array" in json.loads(google_err.value.content)["error"]["message"]


def test_evicted_channel_indexes_are_rebuilt_transparently(tmp_path: Path) -> None:
    """With a tiny message cache, alternating channels evicts and rebuilds indexes with the same answers."""
    with SandboxServer(build_workspace(tmp_path), ServerSettings(max_cached_messages=5)) as srv:
        client = slack_client(srv.url)
        first = [client.conversations_history(channel=c)["messages"] for c in (GENERAL, PROJ)]
        again = [client.conversations_history(channel=c)["messages"] for c in (GENERAL, PROJ)]
        assert again == first


def test_concurrent_clients_get_consistent_pages(tmp_path: Path) -> None:
    """Eight threads paging the same channel at once each see the same complete history."""
    with SandboxServer(build_workspace(tmp_path)) as srv:

        def walk(_: int) -> list[str]:
            client = slack_client(srv.url)
            return [
                m["ts"]
                for page in client.conversations_history(channel=GENERAL, limit=2)
                for m in page["messages"]
            ]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(walk, range(8)))
        assert all(r == results[0] for r in results) and len(results[0]) == 8
        assert srv.stats.requests == {"conversations.history": 8 * 4}


def test_conversations_info_gives_the_channel_object(tmp_path: Path) -> None:
    """conversations.info returns the same object conversations.list lists."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        client = slack_client(srv.url)
        listed = client.conversations_list()["channels"][1]
        assert client.conversations_info(channel=PROJ)["channel"] == listed


def test_appended_event_shows_up_in_a_full_listing(tmp_path: Path) -> None:
    """An event appended to a calendar file is listed by the next events.list call."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        events = google("calendar", "v3", srv.url).events()
        assert len(events.list(calendarId=ALICE_CAL, singleEvents=True).execute()["items"]) == 4
        path = tmp_path / "google" / "calendar" / f"{ALICE_CAL}.json"
        added = event("late1", "Late add", "2026-09-10T09:00:00+02:00", "2026-09-10T09:30:00+02:00")
        write_json(path, {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": [*EVENTS, added]})
        bump(path)
        items = events.list(calendarId=ALICE_CAL, singleEvents=True).execute()["items"]
        assert [e["id"] for e in items][-1] == "late1" and len(items) == 5


def test_group_dms_with_the_bot_are_listed_and_read_from_their_folder(tmp_path: Path) -> None:
    """An mpim listing the bot is served (folder named after it); a DM without the bot stays invisible."""
    root = build_workspace(tmp_path)
    mpim = {
        "id": "G0MPIM0001",
        "name": "mpdm-alice--bob--sandbox-1",
        "created": 1788739200,
        "members": [ALICE, BOB, "USANDBOXBOT"],
    }
    write_json(root / "slack" / "mpims.json", [mpim])
    write_json(
        root / "slack" / "dms.json", [{"id": "D0DM000001", "created": 1788739200, "members": [ALICE, BOB]}]
    )
    write_json(
        root / "slack" / mpim["name"] / "2026-09-07.json", [msg("1788739300.000100", ALICE, "hi both")]
    )
    with SandboxServer(root) as srv:
        client = slack_client(srv.url)
        listed = client.conversations_list(types="mpim,im")["channels"]
        assert [(c["id"], c["is_mpim"], c["is_private"]) for c in listed] == [("G0MPIM0001", True, True)]
        assert [m["text"] for m in client.conversations_history(channel="G0MPIM0001")["messages"]] == [
            "hi both"
        ]
        with pytest.raises(SlackApiError) as raised:
            client.conversations_history(channel="D0DM000001")
        assert raised.value.response["error"] == "not_in_channel"
