"""Live collection quarantines bad records as the offline readers do: served by the sandbox, read with the
real clients, committed with the state store. The bad record goes to `quarantine` with its rule, the
source's other records are stored, and a record met again in the next run is listed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoints import StateStore
from collectors import InputBounds, LiveConfig, LiveSources, Normaliser, build_live_sources, collect_live
from core.chunks import Quarantined
from tests.collectors.workspace_builders import (
    Serve,
    google_config,
    message,
    slack_config,
    write_google,
    write_slack,
)

ANN = "ann@acme.example"
CAL_SHOWN = f"Google Calendar events of {ANN}"


def timed(event_id: str, start: str, end: str) -> dict[str, object]:
    """Give an events.list item of a timed event in Berlin time."""
    return {
        "id": event_id,
        "status": "confirmed",
        "summary": f"Event {event_id}",
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        "organizer": {"email": ANN},
        "updated": "2026-09-01T10:00:00.000Z",
    }


def drive_file(file_id: str, created: str) -> dict[str, object]:
    return {"id": file_id, "name": f"Doc {file_id}", "createdTime": created, "modifiedTime": created}


def person(person_id: str, email: str) -> dict[str, object]:
    return {"id": person_id, "primaryEmail": email, "name": {"fullName": f"Person {person_id}"}}


def collect_into(
    store: StateStore,
    sources: LiveSources,
    run_id: str,
    bounds: InputBounds | None = None,
    full_refresh: bool = False,
) -> None:
    """Collect every configured source live and commit each chunk, as the collect stage does."""
    collection = collect_live(sources, store.cursors(), full_refresh=full_refresh, bounds=bounds)
    try:
        for chunk in collection:
            store.commit_live(chunk, run_id)
    finally:
        collection.close()
    assert {o.status for o in collection.outcomes()} == {"ok"}


def quarantined(store: StateStore) -> list[tuple[str, str, str, str]]:
    """Give (source, file, record key, rule) of every quarantined record, sorted."""
    rows = store.con.execute("SELECT source, file, record_key, rule FROM quarantine ORDER BY ALL").fetchall()
    return [tuple(r) for r in rows]


@pytest.fixture
def google_root(tmp_path: Path) -> Path:
    """Give a Google workspace with an event ending before its start, a Drive file with an unreadable time and
    two directory users sharing a primaryEmail (in different case), each beside good records."""
    events = [
        timed("good1", "2026-09-08T10:00:00+02:00", "2026-09-08T11:00:00+02:00"),
        timed("backwards", "2026-09-08T15:00:00+02:00", "2026-09-08T14:00:00+02:00"),
        timed("good2", "2026-09-09T10:00:00+02:00", "2026-09-09T10:30:00+02:00"),
    ]
    files = [drive_file("d1", "2026-09-01T09:00:00.000Z"), drive_file("d2", "yesterday")]
    users = [
        person("101", "p1@acme.example"),
        person("102", "p2@acme.example"),
        person("103", "P1@acme.example"),
    ]
    return write_google(tmp_path / "ws", {ANN: events}, files, users)


def test_a_live_event_ending_before_its_start_is_quarantined_and_the_other_events_stored(
    google_root: Path, serve: Serve, tmp_path: Path
) -> None:
    """events.list serves an event whose end is before its start: it goes to `quarantine`
    (end_before_start) under the calendar it came from; the two good events are stored. A second run's
    full listing lists the bad event once. (The sandbox itself refuses an unreadable event time, so that
    rule is checked on the Normaliser below.)"""
    server = serve(google_root)
    config = google_config(server.url, calendar=True, drive=False, directory=False)
    with StateStore(tmp_path / "state.duckdb") as store:
        collect_into(store, build_live_sources(LiveConfig(google=config)), "run-1")
        events = store.con.execute("SELECT event_id FROM calendar_events ORDER BY 1").fetchall()
        first = quarantined(store)
        counts = store.quarantine_counts("run-1")
        collect_into(store, build_live_sources(LiveConfig(google=config)), "run-2", full_refresh=True)
        second = quarantined(store)
        counts_again = store.quarantine_counts("run-2")
    assert events == [("good1",), ("good2",)]
    assert first == [("calendar", CAL_SHOWN, "backwards", "end_before_start")]
    assert counts == counts_again == {"end_before_start": 1}
    assert second == first


def test_the_normaliser_quarantines_an_unreadable_event_time_and_keeps_the_other_events() -> None:
    """An events.list item whose start cannot be read is left out as `unreadable_time`, keyed by its id
    and named by the calendar's shown name; the other item becomes a row."""
    items = [
        timed("good", "2026-09-08T10:00:00+02:00", "2026-09-08T11:00:00+02:00"),
        timed("garbled", "next tuesday", "2026-09-09T11:00:00+02:00"),
    ]
    sink: list[Quarantined] = []
    with Normaliser() as norm:
        batch = norm.calendar_events(ANN, items, "Europe/Berlin", CAL_SHOWN, quarantine=sink)
    assert batch.column("event_id").to_pylist() == ["good"]
    assert [(q.source, q.file, q.record_key, q.rule) for q in sink] == [
        ("calendar", CAL_SHOWN, "garbled", "unreadable_time")
    ]


def test_a_live_drive_file_with_an_unreadable_time_and_a_duplicate_address_are_quarantined(
    google_root: Path, serve: Serve, tmp_path: Path
) -> None:
    """files.list serves a file whose createdTime is not RFC 3339 (unreadable_time); users.list, in chunks
    of one user, a second user with the first one's primaryEmail (duplicate_email, found across chunks).
    The other file and users are stored."""
    server = serve(google_root)
    config = google_config(server.url, calendar=False, drive=True, directory=True, chunk_rows=1)
    with StateStore(tmp_path / "state.duckdb") as store:
        collect_into(store, build_live_sources(LiveConfig(google=config)), "run-1")
        files = store.con.execute("SELECT file_id FROM drive_files ORDER BY 1").fetchall()
        people = store.con.execute("SELECT person_id FROM directory_users ORDER BY 1").fetchall()
        found = quarantined(store)
    assert files == [("d1",)]
    assert people == [("101",), ("102",)]
    assert found == [
        ("directory", "Google Directory users", "103", "duplicate_email"),
        ("drive", "Google Drive files", "d2", "unreadable_time"),
    ]


def test_a_live_message_with_a_lone_surrogate_is_quarantined_and_a_long_one_cut(
    tmp_path: Path, serve: Serve
) -> None:
    """conversations.history serves a message holding `\\ud800` (lone_surrogate: left out, its raw value
    escaped) and one longer than MEETINTEL_MAX_TEXT_CHARS (truncated: stored cut, with a note); the
    channel's other messages are stored."""
    users = [{"id": "U1", "name": "ann", "profile": {"email": ANN}}]
    channel = {"id": "C1", "name": "general", "created": 1690000000, "members": ["U1"]}
    posted = [
        message("1700000000.000100", "hello"),
        message("1700000100.000100", "broken \ud800 text"),
        message("1700000200.000100", "x" * 50),
    ]
    server = serve(write_slack(tmp_path / "ws", users, [channel], {"general": posted}))
    sources = build_live_sources(LiveConfig(slack=slack_config(server.url)))
    with StateStore(tmp_path / "state.duckdb") as store:
        collect_into(store, sources, "run-1", InputBounds(max_text_chars=10))
        stored = store.con.execute("SELECT ts, text FROM slack_messages ORDER BY ts").fetchall()
        found = quarantined(store)
        [raw] = store.con.execute("SELECT raw_value FROM quarantine WHERE rule = 'lone_surrogate'").fetchall()
    assert stored == [("1700000000.000100", "hello"), ("1700000200.000100", "x" * 10)]
    assert found == [
        ("slack", "Slack channel C1", "C1/1700000100.000100", "lone_surrogate"),
        ("slack", "Slack channel C1", "C1/1700000200.000100", "truncated"),
    ]
    assert "\\ud800" in raw[0]
