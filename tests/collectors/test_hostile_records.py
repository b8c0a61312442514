"""Hostile input, round two, at the workspace reader: bounded expansion and extraction, bad records
quarantined (the file's other records kept), links and special files refused without echoing content."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import InputBounds, collect_workspace
from core.chunks import Chunk
from core.errors import DataError
from tests.collectors.workspace_builders import CALENDAR, DIRECTORY, write_export, write_json

AS_OF = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _chunks(ws: Path, bounds: InputBounds | None = None) -> list[Chunk]:
    return list(collect_workspace(ws, {}, bounds=bounds, as_of=AS_OF))


def _notes(chunks: list[Chunk]) -> list[tuple[str, str, str]]:
    return [(q.file, q.record_key, q.rule) for c in chunks for q in c.quarantined]


def _rows(chunks: list[Chunk], table: str) -> list[dict[str, object]]:
    return [r for c in chunks if c.table == table for r in c.batch.to_pylist()]


def _ics(ws: Path, name: str, *events: str) -> Path:
    body = "".join(
        f"BEGIN:VEVENT\r\n{e.strip().replace(chr(10), chr(13) + chr(10))}\r\nEND:VEVENT\r\n" for e in events
    )
    path = ws / "google" / "calendar" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n")
    return path


MINUTELY = "UID:tick@x\nDTSTART:20260101T000000Z\nDTEND:20260101T000100Z\nRRULE:FREQ=MINUTELY\nSUMMARY:Tick"
DAILY_2016 = (
    "UID:daily@x\nDTSTART:20160104T090000Z\nDTEND:20160104T091500Z\nRRULE:FREQ=DAILY\nSUMMARY:Standup"
)


def test_row1_an_open_ended_minutely_series_is_cut_at_the_instance_cap(tmp_path: Path) -> None:
    """FREQ=MINUTELY without an end: MEETINTEL_ICS_MAX_INSTANCES (5,000) instances, one `series_capped`
    note; the file's other event is kept."""
    ws = tmp_path / "ws"
    _ics(ws, "a@acme.example.ics", MINUTELY, "UID:one@x\nDTSTART:20260907T100000Z\nDTEND:20260907T110000Z")
    chunks = _chunks(ws)
    rows = _rows(chunks, "calendar_events")
    assert sum(r["ical_uid"] == "tick@x" for r in rows) == 5000
    assert sum(r["ical_uid"] == "one@x" for r in rows) == 1
    assert _notes(chunks) == [("google/calendar/a@acme.example.ics", "tick@x", "series_capped")]
    [note] = [q for c in chunks for q in c.quarantined]
    assert note.raw_value == "5000 instances kept; the next starts 2026-01-04T11:20:00Z"


@pytest.mark.slow  # ten years of daily instances to expand and bound, about 10 s
def test_row2_a_daily_series_since_2016_stops_90_days_past_the_run(tmp_path: Path) -> None:
    """A daily series from 2016-01-04 without UNTIL: one instance a day up to 2027-03-04 12:00Z (the run at
    2026-12-04 12:00Z + MEETINTEL_ICS_HORIZON_DAYS 90); nothing quarantined."""
    ws = tmp_path / "ws"
    _ics(ws, "a@acme.example.ics", DAILY_2016)
    chunks = _chunks(ws)
    starts = [r["start"] for r in _rows(chunks, "calendar_events")]
    days = (datetime(2027, 3, 4, tzinfo=UTC) - datetime(2016, 1, 4, tzinfo=UTC)).days + 1  # 09:00 < 12:00
    assert (len(starts), starts[0], starts[-1]) == (
        days,
        datetime(2016, 1, 4, 9, tzinfo=UTC),
        datetime(2027, 3, 4, 9, tzinfo=UTC),
    )
    assert _notes(chunks) == []


@pytest.mark.parametrize(
    "folder", ["calendar/a@acme.example.ics", "drive/files.json", "directory/users.json"]
)
def test_row4_a_linked_google_file_is_refused_without_its_content(tmp_path: Path, folder: str) -> None:
    """A calendar, Drive or directory file that is a symlink: a DataError naming the path and the rule,
    never a line of the linked file."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = tmp_path / "ws" / "google" / folder
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    with pytest.raises(DataError) as raised:
        _chunks(tmp_path / "ws")
    assert raised.value.message == f"{link}: is a symbolic link (to {secret}); refusing to read it"
    assert "root:x" not in str(raised.value)


def test_row4_a_named_pipe_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    """A FIFO named like a calendar would block the run forever: refused by its kind."""
    pipe = tmp_path / "ws" / "google" / "calendar" / "a@acme.example.ics"
    pipe.parent.mkdir(parents=True)
    os.mkfifo(pipe)
    with pytest.raises(DataError) as raised:
        _chunks(tmp_path / "ws")
    assert raised.value.message == f"{pipe}: is a named pipe, not a regular file; refusing to read it"


def test_row4_a_linked_ics_that_is_not_a_calendar_quotes_no_content(tmp_path: Path) -> None:
    """An .ics holding other data (here a password-file line) is refused by line number and rule only."""
    ws = tmp_path / "ws"
    path = ws / "google" / "calendar" / "a@acme.example.ics"
    path.parent.mkdir(parents=True)
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(DataError) as raised:
        _chunks(ws)
    assert raised.value.message == (
        f"{path}: line 1: not a valid iCalendar file (it does not start with BEGIN:VCALENDAR)"
    )
    assert "root" not in str(raised.value).replace(str(tmp_path), "")


def _zip_with(ws: Path, name: str, data: bytes) -> Path:
    """Write a Slack export ZIP: the small export's metadata plus `name` holding `data`."""
    folder = ws.parent / "export"
    write_export(folder)
    path = ws / "slack.zip"
    ws.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for file in sorted(folder.rglob("*.json")):
            zf.write(file, file.relative_to(folder).as_posix())
        zf.writestr(name, data)
    return path


def test_row5_a_zip_bomb_is_refused_from_its_central_directory(tmp_path: Path) -> None:
    """64 MB of spaces in a ~64 KB entry: refused by MEETINTEL_ZIP_MAX_RATIO before anything is extracted
    or any chunk is yielded (the directory file comes first otherwise)."""
    ws = tmp_path / "ws"
    write_json(ws / "google" / "directory" / "users.json", DIRECTORY)
    path = _zip_with(ws, "general/2026-09-20.json", b"[" + b" " * (64 << 20) + b"]")
    size = zipfile.ZipFile(path).getinfo("general/2026-09-20.json").compress_size
    collection = collect_workspace(ws, {}, as_of=AS_OF)
    with pytest.raises(DataError) as raised:
        next(collection)
    ratio = (64 << 20) + 2
    assert raised.value.message == (
        f"{path}!general/2026-09-20.json: ZIP entry expands to {ratio / size:,.0f} times its compressed "
        "size, more than MEETINTEL_ZIP_MAX_RATIO (200); refusing to extract it"
    )
    assert raised.value.hint.startswith("a genuine export that large needs the setting raised")


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (InputBounds(zip_max_entry_bytes=1000), "general/2026-09-20.json: ZIP entry expands to 2,002 bytes, "
         "more than MEETINTEL_ZIP_MAX_ENTRY_BYTES (1,000); refusing to extract it"),
        (InputBounds(zip_max_entries=3), ": the ZIP holds 12 entries, more than "
         "MEETINTEL_ZIP_MAX_ENTRIES (3); refusing to extract it"),
        (InputBounds(zip_max_bytes=2000), ": the ZIP expands to"),
    ],
)  # fmt: skip
def test_row5_each_zip_bound_names_its_setting(tmp_path: Path, bounds: InputBounds, message: str) -> None:
    ws = tmp_path / "ws"
    path = _zip_with(ws, "general/2026-09-20.json", b"[" + b" " * 2000 + b"]")
    with pytest.raises(DataError) as raised:
        _chunks(ws, bounds)
    assert raised.value.message.startswith(f"{path}{'!' if message.startswith('general') else ''}{message}")
    assert "MEETINTEL_ZIP_MAX_" in raised.value.message


def test_row6_an_event_ending_before_it_starts_is_quarantined(tmp_path: Path) -> None:
    """events.list and .ics alike: the backwards event is left out as `end_before_start`, the rest kept."""
    ws = tmp_path / "ws"
    backwards = {
        "id": "back1",
        "summary": "Backwards",
        "start": {"dateTime": "2026-09-08T11:00:00Z"},
        "end": {"dateTime": "2026-09-08T10:00:00Z"},
    }
    write_json(
        ws / "google" / "calendar" / "ann@acme.example.json",
        {**CALENDAR, "items": [*CALENDAR["items"], backwards]},
    )
    _ics(ws, "bob@acme.example.ics", "UID:back2@x\nDTSTART:20260908T110000Z\nDTEND:20260908T100000Z",
         "UID:fine@x\nDTSTART:20260908T110000Z\nDTEND:20260908T120000Z")  # fmt: skip
    chunks = _chunks(ws)
    ids = sorted(str(r["event_id"]) for r in _rows(chunks, "calendar_events"))
    assert ids == ["fine", "offsite", "sync1", "weekly_20260907T080000Z"]
    assert _notes(chunks) == [
        ("google/calendar/ann@acme.example.json", "back1", "end_before_start"),
        ("google/calendar/bob@acme.example.ics", "back2@x", "end_before_start"),
    ]


def test_row6_an_unreadable_event_time_is_quarantined(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    bad = {"id": "bad1", "start": {"dateTime": "soon"}, "end": {"dateTime": "2026-09-08T10:00:00Z"}}
    write_json(ws / "google" / "calendar" / "ann@acme.example.json", {"items": [bad, CALENDAR["items"][0]]})
    chunks = _chunks(ws)
    assert [r["event_id"] for r in _rows(chunks, "calendar_events")] == ["sync1"]
    assert _notes(chunks) == [("google/calendar/ann@acme.example.json", "bad1", "unreadable_time")]


def test_row7_a_lone_surrogate_quarantines_that_message_only(tmp_path: Path) -> None:
    """One message with `\\ud800`: quarantined as `lone_surrogate` (raw value escaped), the day's other
    messages stored."""
    ws = tmp_path / "ws"
    write_export(ws / "slack")
    clean = sorted(str(r["ts"]) for r in _rows(_chunks(ws), "slack_messages"))
    day = ws / "slack" / "general" / "2026-09-07.json"
    messages = json.loads(day.read_text())
    bad = {"type": "message", "user": "U1", "ts": "1788774000.000009", "text": "SURROGATE"}
    day.write_text(json.dumps([*messages, bad]).replace("SURROGATE", "bad \\ud800 text"))
    chunks = _chunks(ws)
    assert sorted(str(r["ts"]) for r in _rows(chunks, "slack_messages")) == clean
    assert _notes(chunks) == [("slack/general/2026-09-07.json", "C1/1788774000.000009", "lone_surrogate")]
    [note] = [q for c in chunks for q in c.quarantined]
    assert "bad \\ud800 text" in note.raw_value


def test_row8_a_second_user_with_the_same_primary_email_is_quarantined(tmp_path: Path) -> None:
    """Two directory users with one primaryEmail (any case): the first is kept, the second quarantined."""
    ws = tmp_path / "ws"
    twin = {"id": "102", "primaryEmail": "ANN@acme.example", "name": {"fullName": "Ann Twin"}}
    write_json(ws / "google" / "directory" / "users.json", {"users": [*DIRECTORY["users"], twin]})
    chunks = _chunks(ws)
    assert [r["person_id"] for r in _rows(chunks, "directory_users")] == ["100", "101"]
    assert _notes(chunks) == [("google/directory/users.json", "102", "duplicate_email")]


def test_long_titles_and_file_names_are_cut_with_a_note(tmp_path: Path) -> None:
    """MEETINTEL_MAX_TITLE_CHARS: an event title and a Drive file name over it are cut, each with a note."""
    ws = tmp_path / "ws"
    item = {**CALENDAR["items"][0], "summary": "T" * 50}
    write_json(ws / "google" / "calendar" / "ann@acme.example.json", {"items": [item]})
    write_json(ws / "google" / "drive" / "files.json", {"files": [{"id": "d1", "name": "N" * 50}]})
    chunks = _chunks(ws, InputBounds(max_title_chars=10))
    assert [r["summary"] for r in _rows(chunks, "calendar_events")] == ["T" * 10]
    assert [r["name"] for r in _rows(chunks, "drive_files")] == ["N" * 10]
    assert sorted(_notes(chunks)) == [
        ("google/calendar/ann@acme.example.json", "sync1", "truncated"),
        ("google/drive/files.json", "d1", "truncated"),
    ]
