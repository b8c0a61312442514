"""Deletions propagate: a file that leaves the workspace, or changes, takes its rows with it in the next run.

Each case collects a workspace, changes it, collects again into the same state, and compares every raw table
with a state collected from scratch from the changed workspace: the incremental state must hold exactly the
same keys. No Prefect: the stages run as plain functions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from checkpoints import StateStore
from collectors import workspace_paths
from core.tables import RAW_TABLES
from flows import stages
from sandbox import generate_workspace

pytestmark = pytest.mark.slow  # each case collects a generated org three times (1.1-1.3 s)

SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//meetintel tests//EN
BEGIN:VEVENT
UID:weekly-sync@example.com
DTSTART:20260907T090000Z
DTEND:20260907T093000Z
RRULE:FREQ=WEEKLY;COUNT={count}
SUMMARY:Weekly sync
ORGANIZER:mailto:ops@acme.example
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a small generated workspace with one recurring .ics calendar added (copied per test)."""
    ws = tmp_path_factory.mktemp("generated") / "ws"
    generate_workspace(ws, people=12, days=3, seed=11, start=date(2026, 9, 7))
    (ws / "google" / "calendar" / "ops@acme.example.ics").write_text(SERIES.format(count=6))
    return ws


@pytest.fixture
def ws(generated: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / "ws"))


def _keys(state: Path) -> dict[str, set[tuple[object, ...]]]:
    """Give the natural keys of every raw table in `state`."""
    with StateStore(state) as store:
        return {
            name: set(store.con.execute(f"SELECT {', '.join(t.key)} FROM {name}").fetchall())
            for name, t in RAW_TABLES.items()
        }


def _collect(state: Path, ws: Path) -> str:
    """Collect `ws` into `state`; give the collect stage's note."""
    with StateStore(state) as store:
        run_id = store.start_run("incremental")
        return stages.collect(store, ws, run_id).note


def _first_day_file(ws: Path) -> Path:
    return sorted((ws / "slack").glob("*/*.json"))[0]


def _remove_channel_folder(ws: Path) -> None:
    shutil.rmtree(_first_day_file(ws).parent)


def _remove_calendar(ws: Path) -> None:
    sorted((ws / "google" / "calendar").glob("*.json"))[0].unlink()


def _fix_series(ws: Path) -> None:
    (ws / "google" / "calendar" / "ops@acme.example.ics").write_text(SERIES.format(count=2))


def _drop_one_event(ws: Path) -> None:
    path = sorted((ws / "google" / "calendar").glob("*.json"))[0]
    dump = json.loads(path.read_text())
    dump["items"] = dump["items"][1:]
    path.write_text(json.dumps(dump))


CHANGES: dict[str, Callable[[Path], None]] = {
    "a Slack day file removed": lambda ws: _first_day_file(ws).unlink(),
    "a Slack channel folder removed": _remove_channel_folder,
    "a calendar .json removed": _remove_calendar,
    "an .ics series shortened": _fix_series,
    "an .ics removed": lambda ws: (ws / "google" / "calendar" / "ops@acme.example.ics").unlink(),
    "an event removed from a calendar .json": _drop_one_event,
    "drive/files.json removed": lambda ws: (ws / "google" / "drive" / "files.json").unlink(),
    "directory/users.json removed": lambda ws: (ws / "google" / "directory" / "users.json").unlink(),
}


@pytest.mark.parametrize("change", CHANGES)
def test_an_incremental_run_after_a_change_holds_what_a_fresh_collection_holds(
    change: str, ws: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state.duckdb"
    _collect(state, ws)
    before = _keys(state)
    CHANGES[change](ws)
    _collect(state, ws)
    _collect(tmp_path / "fresh.duckdb", ws)
    after, fresh = _keys(state), _keys(tmp_path / "fresh.duckdb")
    assert after == fresh
    assert after != before, "the change removed no rows: the case tests nothing"


def test_a_removed_day_file_takes_only_its_own_messages(ws: Path, tmp_path: Path) -> None:
    """The channel's other day files are read again in the same run, so their messages stay."""
    state = tmp_path / "state.duckdb"
    _collect(state, ws)
    day = _first_day_file(ws)
    gone = {m["ts"] for m in json.loads(day.read_text())}
    with StateStore(state) as store:
        channel_rows = store.count("slack_messages")
    day.unlink()
    note = _collect(state, ws)
    with StateStore(state) as store:
        stored = {r[0] for r in store.con.execute("SELECT ts FROM slack_messages").fetchall()}
        assert store.count("slack_messages") == channel_rows - len(gone)
    assert not gone & stored
    assert note.endswith(", 1 removed")


@pytest.mark.slow
def test_a_removed_day_file_rebuilds_evidence_meetings_and_reports(ws: Path, tmp_path: Path) -> None:
    """Derived data follows: no evidence row of a deleted message, and meetings match a fresh build."""

    def build(state: Path) -> tuple[int, int, int, str]:
        _collect(state, ws)
        with StateStore(state) as store:
            stages.detect(store)
            stages.correlate_stage(store)
            stages.aggregate(store)
            orphans = store.con.execute(
                "SELECT count(*) FROM evidence e ANTI JOIN slack_messages m USING (channel_id, ts)"
            ).fetchall()[0][0]
            links = store.count("meeting_evidence")
            return orphans, store.count("meetings"), links, store.get_meta("aggregated_version")

    state = tmp_path / "state.duckdb"
    _, _, links_before, version_before = build(state)
    with StateStore(state) as store:
        [(folder,)] = store.con.execute(
            "SELECT c.name FROM evidence e JOIN slack_channels c USING (channel_id) "
            "GROUP BY c.name ORDER BY count(*) DESC, c.name LIMIT 1"
        ).fetchall()
    for day in sorted((ws / "slack" / folder).glob("*.json"))[1:]:
        day.unlink()
    orphans, meetings, links, version = build(state)
    _, fresh_meetings, fresh_links, _ = build(tmp_path / "fresh.duckdb")
    assert orphans == 0
    assert (meetings, links) == (fresh_meetings, fresh_links)
    assert links < links_before
    assert version != version_before


def test_unchanged_workspace_removes_nothing(ws: Path, tmp_path: Path) -> None:
    """Every stamp the collector records has its path in `workspace_paths`: nothing is re-read needlessly."""
    state = tmp_path / "state.duckdb"
    _collect(state, ws)
    with StateStore(state) as store:
        stamped = set(store.file_stamps())
        version = store.get_meta("raw_version")
    assert stamped <= workspace_paths(ws)
    assert _collect(state, ws) == "0 files changed"
    with StateStore(state) as store:
        assert store.get_meta("raw_version") == version


def test_a_removed_file_in_a_zip_export_removes_its_messages(ws: Path, tmp_path: Path) -> None:
    """Stamps of ZIP entries (`slack.zip!general/...`) are compared like plain files."""
    state = tmp_path / "state.duckdb"
    day = _first_day_file(ws).relative_to(ws / "slack").as_posix()
    shutil.make_archive(str(ws / "slack"), "zip", ws / "slack")
    shutil.rmtree(ws / "slack")
    _collect(state, ws)
    zipped = ws / "slack.zip"
    shutil.unpack_archive(zipped, tmp_path / "unzipped")
    (tmp_path / "unzipped" / day).unlink()
    zipped.unlink()
    shutil.make_archive(str(ws / "slack"), "zip", tmp_path / "unzipped")
    _collect(state, ws)
    _collect(tmp_path / "fresh.duckdb", ws)
    assert _keys(state) == _keys(tmp_path / "fresh.duckdb")


def test_a_removed_file_takes_its_quarantined_records_and_the_others_stay(ws: Path, tmp_path: Path) -> None:
    """A calendar .json whose only event ends before it starts and a Slack day file whose message has no
    `ts` are quarantined; once the calendar file leaves the workspace, its quarantine row goes in the next
    run and the day file's stays."""
    backwards = {
        "id": "backwards",
        "status": "confirmed",
        "summary": "Backwards",
        "start": {"dateTime": "2026-09-08T15:00:00+02:00"},
        "end": {"dateTime": "2026-09-08T14:00:00+02:00"},
    }
    calendar = ws / "google" / "calendar" / "bad@acme.example.json"
    calendar.write_text(json.dumps({"kind": "calendar#events", "timeZone": "UTC", "items": [backwards]}))
    day = _first_day_file(ws).parent / "2026-08-01.json"
    day.write_text(json.dumps([{"type": "message", "text": "no ts"}]))
    state = tmp_path / "state.duckdb"
    _collect(state, ws)
    with StateStore(state) as store:
        assert store.quarantine_counts() == {"end_before_start": 1, "missing_key": 1}
    calendar.unlink()
    _collect(state, ws)
    with StateStore(state) as store:
        left = store.con.execute("SELECT file, rule FROM quarantine").fetchall()
    assert left == [(day.relative_to(ws).as_posix(), "missing_key")]
