"""`meetintel watch`: a burst of export-file changes becomes one `meetintel.workspace.changed` event; temp
files and files outside slack/ and google/ are ignored."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.events.clients import AssertingEventsClient
from prefect.events.schemas.events import Event
from prefect.events.worker import EventsWorker
from watchfiles import Change

from core.errors import ConfigurationError
from flows.watch import WorkspaceChange, classify, is_export_file, run_watch


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsWorker]:
    AssertingEventsClient.reset()
    w = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: w)
    try:
        yield w
    finally:
        w.drain()


def _emitted(worker: EventsWorker) -> list[Event]:
    worker.wait_until_empty()
    return list(getattr(AssertingEventsClient.last, "events", []))


@pytest.mark.parametrize(
    ("rel", "export"),
    [
        ("slack/general/2026-09-07.json", True),
        ("slack/slack.zip", True),
        ("google/calendar/alice@acme.example.ics", True),
        ("google/directory/users.csv", True),
        ("slack/general/.2026-09-07.json.tmp", False),
        ("slack/general/2026-09-07.json.part", False),
        ("notes/readme.json", False),
        ("truth.json", False),
    ],
)
def test_only_export_files_count(tmp_path: Path, rel: str, export: bool) -> None:
    assert is_export_file(tmp_path, str(tmp_path / rel)) is export


def test_changes_are_sorted_into_added_modified_and_deleted(tmp_path: Path) -> None:
    raw = {
        (Change.added, str(tmp_path / "slack/b/2026-09-08.json")),
        (Change.modified, str(tmp_path / "slack/users.json")),
        (Change.deleted, str(tmp_path / "google/drive/files.json")),
        (Change.added, str(tmp_path / "slack/b/.2026-09-08.json.swp")),
    }
    batch = classify(tmp_path, raw)
    assert batch == WorkspaceChange(
        added=["slack/b/2026-09-08.json"], modified=["slack/users.json"], deleted=["google/drive/files.json"]
    )
    assert batch.payload(tmp_path) == {
        "workspace": str(tmp_path),
        "added": 1,
        "modified": 1,
        "deleted": 1,
        "paths": ["google/drive/files.json", "slack/b/2026-09-08.json", "slack/users.json"],
        "more_paths": 0,
    }


def test_a_missing_workspace_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not a folder"):
        run_watch(tmp_path / "nowhere", "acme")


@pytest.mark.slow  # several seconds: the full suite runs it, the fast lane does not
def test_a_burst_of_changes_is_one_event_about_the_org(tmp_path: Path, worker: EventsWorker) -> None:
    ws = tmp_path / "ws"
    (ws / "slack" / "general").mkdir(parents=True)
    (ws / "slack" / "users.json").write_text("[]")
    stop, batches = threading.Event(), []
    watcher = threading.Thread(
        target=run_watch, args=(ws, "Acme Corp", 500, stop, batches.append), daemon=True
    )
    watcher.start()
    time.sleep(0.5)  # the watcher is up before the burst
    for day in range(1, 6):
        (ws / "slack" / "general" / f"2026-09-0{day}.json").write_text("[]")
    (ws / "slack" / "users.json").unlink()
    (ws / "slack" / "general" / ".partial.tmp").write_text("x")
    deadline = time.monotonic() + 10
    while not batches and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.8)  # anything that would wrongly form a second event comes within one debounce
    stop.set()
    watcher.join(timeout=10)
    assert not watcher.is_alive(), "the watcher did not stop when asked"
    [event] = _emitted(worker)
    assert event.event == "meetintel.workspace.changed"
    assert event.resource.id == "meetintel.org.acme-corp"
    assert (event.payload["added"], event.payload["deleted"]) == (5, 1)
    assert event.payload["paths"] == [
        *(f"slack/general/2026-09-0{d}.json" for d in range(1, 6)),
        "slack/users.json",
    ]


def test_watch_refuses_to_start_without_a_prefect_server(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    from flows.cli import app

    with temporary_settings(updates={PREFECT_API_URL: None}):
        result = CliRunner().invoke(app, ["watch", str(tmp_path)])
    assert result.exit_code == 1
    assert "PREFECT_API_URL is not set" in result.output


def test_watch_names_a_missing_workspace(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    from flows.cli import app

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        result = CliRunner().invoke(app, ["watch", str(tmp_path / "nowhere"), "--org", "acme"])
    assert result.exit_code == 1
    assert "nowhere is not a folder" in " ".join(result.output.split())
