"""Calendar files: events.list dumps and .ics exports, hand-made edge cases and real exports."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from collectors import CALENDAR_EVENTS, collect_workspace
from core.errors import DataError
from tests.collectors.workspace_builders import CALENDAR, write_json

OCT = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def _events(root: Path, window: tuple[datetime, datetime] | None = None) -> pa.Table:
    """Give every calendar_events row a fresh collection of `root` yields."""
    batches = [
        c.batch for c in collect_workspace(root, {}, ics_window=window) if c.table == "calendar_events"
    ]
    return pa.concat_tables(batches) if batches else CALENDAR_EVENTS.empty_table()


def _calendar(tmp_path: Path, name: str, data: Any) -> Path:
    """Write one calendar file into a fresh workspace and give the workspace root."""
    path = tmp_path / "ws" / "google" / "calendar" / name
    if isinstance(data, str):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data.replace("\n", "\r\n"))
    else:
        write_json(path, data)
    return tmp_path / "ws"


def _z(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Give an instant of 2026 in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _by_id(table: pa.Table) -> dict[str, dict[str, Any]]:
    return {r["event_id"]: r for r in table.to_pylist()}


# ---- events.list dumps --------------------------------------------------------------------------------


def test_timed_event_maps_every_field(tmp_path: Path) -> None:
    """Offsets become UTC; attendees keep their flags; Meet appears once in conference_uris."""
    rows = _by_id(_events(_calendar(tmp_path, "ann@acme.example.json", CALENDAR)))
    assert rows["sync1"] == {
        "calendar_id": "ann@acme.example",
        "event_id": "sync1",
        "ical_uid": "sync1@google.com",
        "recurring_event_id": None,
        "original_start": None,
        "status": "confirmed",
        "event_type": "default",
        "summary": "Sync",
        "description": None,
        "location": None,
        "start": datetime(2026, 9, 8, 8, 0, tzinfo=UTC),
        "end": datetime(2026, 9, 8, 8, 30, tzinfo=UTC),
        "all_day": False,
        "time_zone": "Europe/Berlin",
        "organizer_email": "ann@acme.example",
        "creator_email": "ann@acme.example",
        "attendees": [
            {"email": "ann@acme.example", "display_name": None, "response_status": "accepted",
             "optional": False, "organizer": True, "is_self": True, "resource": False},
            {"email": "bob@partner.example", "display_name": None, "response_status": "tentative",
             "optional": True, "organizer": False, "is_self": False, "resource": False},
            {"email": "room-1@resource.calendar.google.com", "display_name": None, "response_status": None,
             "optional": False, "organizer": False, "is_self": False, "resource": True},
        ],
        "hangout_link": "https://meet.google.com/abc-defg-hij",
        "conference_uris": ["https://meet.google.com/abc-defg-hij"],  # the phone entry point is not video
        "transparency": None,
        "html_link": "https://www.google.com/calendar/event?eid=c3luYzE",
        "attachments": [
            {"file_id": "doc1", "title": "Agenda", "file_url": "https://docs.google.com/document/d/doc1/edit"}
        ],
        "updated": datetime(2026, 9, 1, 8, 0, 0, 123000, tzinfo=UTC),
        "etag": '"1"',
    }  # fmt: skip


def test_all_day_event_starts_at_midnight_in_the_calendar_time_zone(tmp_path: Path) -> None:
    """A `date` event starts at 00:00 Europe/Berlin (the calendar's timeZone) and is flagged all-day."""
    row = _by_id(_events(_calendar(tmp_path, "ann@acme.example.json", CALENDAR)))["offsite"]
    assert (row["start"], row["end"], row["all_day"], row["time_zone"], row["transparency"]) == (
        datetime(2026, 9, 8, 22, 0, tzinfo=UTC),
        datetime(2026, 9, 9, 22, 0, tzinfo=UTC),
        True,
        None,
        "transparent",
    )


def test_all_day_event_without_a_calendar_time_zone_is_utc(tmp_path: Path) -> None:
    """Without a timeZone on the dump, all-day events start at 00:00 UTC."""
    dump = {"items": [{"id": "hol", "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"}}]}
    row = _events(_calendar(tmp_path, "x@acme.example.json", dump)).to_pylist()[0]
    assert (row["start"], row["end"], row["all_day"]) == (
        datetime(2026, 12, 24, tzinfo=UTC),
        datetime(2026, 12, 25, tzinfo=UTC),
        True,
    )


def test_cancelled_instance_with_only_id_and_status_parses_with_nulls(tmp_path: Path) -> None:
    """Google sends deleted instances as {id, status}; the row keeps them and leaves the rest null."""
    row = _by_id(_events(_calendar(tmp_path, "ann@acme.example.json", CALENDAR)))["weekly_20260907T080000Z"]
    assert row == {
        **{name: None for name in CALENDAR_EVENTS.names},
        "calendar_id": "ann@acme.example",
        "event_id": "weekly_20260907T080000Z",
        "status": "cancelled",
        "event_type": "default",
        "all_day": False,
        "attendees": [],
        "conference_uris": [],
        "attachments": [],
    }


def test_local_date_time_uses_its_time_zone_and_video_links_keep_their_order(tmp_path: Path) -> None:
    """A dateTime without offset is read in its timeZone; Zoom entry point and Meet link are both kept."""
    item = {
        "id": "z1",
        "recurringEventId": "z",
        "originalStartTime": {"dateTime": "2026-03-30T09:00:00-04:00"},
        "start": {"dateTime": "2026-03-30T09:30:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-03-30T10:00:00", "timeZone": "America/New_York"},
        "hangoutLink": "https://meet.google.com/xyz-abcd-efg",
        "conferenceData": {"entryPoints": [{"entryPointType": "video", "uri": "https://acme.zoom.us/j/123"}]},
    }
    row = _events(_calendar(tmp_path, "a@acme.example.json", {"items": [item]})).to_pylist()[0]
    assert (row["start"], row["end"], row["original_start"], row["recurring_event_id"]) == (
        datetime(2026, 3, 30, 13, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 14, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 13, 0, tzinfo=UTC),
        "z",
    )
    assert row["conference_uris"] == ["https://acme.zoom.us/j/123", "https://meet.google.com/xyz-abcd-efg"]


def test_invalid_calendar_json_names_the_file(tmp_path: Path) -> None:
    """A truncated dump raises a DataError with the file's path."""
    root = _calendar(tmp_path, "a@acme.example.json", {"items": []})
    bad = root / "google" / "calendar" / "a@acme.example.json"
    bad.write_text('{"items": [{"id": "x"')
    with pytest.raises(DataError) as err:
        _events(root)
    assert str(err.value).startswith(f"{bad}: cannot read calendar files")


def test_calendar_file_that_is_a_bare_array_is_refused(tmp_path: Path) -> None:
    """Only events.list responses are accepted; a bare array would otherwise read as no events."""
    root = _calendar(tmp_path, "a@acme.example.json", [{"id": "x"}])
    with pytest.raises(DataError, match=r"a@acme\.example\.json: cannot read calendar files") as err:
        _events(root)
    assert 'events.list response {"items": [...]}' in err.value.hint


def test_event_without_id_names_the_file(tmp_path: Path) -> None:
    """`id` is half the key; an item without it raises a DataError naming its file."""
    root = _calendar(tmp_path, "a@acme.example.json", {"items": [{"summary": "no id"}]})
    with pytest.raises(DataError, match=r"a@acme\.example\.json: an event has no `id`"):
        _events(root)


def test_compass_events_list_pages_ingest_every_item(tmp_path: Path, third_party: Path) -> None:
    """Calendar v3 sync pages recorded by Compass (copied: the reader refuses links): every item is a row."""
    calendar = tmp_path / "ws" / "google" / "calendar"
    calendar.mkdir(parents=True)
    for page in sorted((third_party / "gcal_compass_events").glob("recurring_*.json")):
        shutil.copyfile(page, calendar / page.name)
    table = _events(tmp_path / "ws")
    # Counted with python's json over the 18 recurring_*.json pages: 40 items (34 confirmed, 6 cancelled),
    # 13 carry recurringEventId, none is all-day, all 40 (file, id) pairs distinct.
    assert table.num_rows == 40
    assert sorted(table.column("status").value_counts().to_pylist(), key=lambda v: v["values"]) == [
        {"values": "cancelled", "counts": 6},
        {"values": "confirmed", "counts": 34},
    ]
    assert table.num_rows - table.column("recurring_event_id").null_count == 13
    assert pc.sum(table.column("all_day")).as_py() == 0
    row = _by_id(
        table.filter(pc.equal(table.column("calendar_id"), "recurring_edit_single_single.instance-3"))
    )
    edited = row["1kmd7abo2uok36n1pkaemqncba_20250326T123000Z"]
    assert (edited["summary"], edited["start"], edited["original_start"], edited["time_zone"]) == (
        "🧼 Dishes-Edited Just This One",
        datetime(2025, 3, 26, 12, 30, tzinfo=UTC),
        datetime(2025, 3, 26, 12, 30, tzinfo=UTC),
        "America/Chicago",
    )


# ---- .ics exports -------------------------------------------------------------------------------------

SERIES_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:sync42@google.com
DTSTART;TZID=Europe/Berlin:20261012T100000
DTEND;TZID=Europe/Berlin:20261012T103000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Berlin:20261102T100000
SUMMARY:Team sync
ORGANIZER;CN=Ann Lee:mailto:ann@acme.example
ATTENDEE;CN=Ann Lee;PARTSTAT=ACCEPTED:mailto:ann@acme.example
ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT:mailto:Bob@Partner.example
ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:everest@resource.calendar.google.com
X-GOOGLE-CONFERENCE:https://meet.google.com/abc-defg-hij
ATTACH;FILENAME=Notes:https://docs.google.com/document/d/1AbCdEfGhIjKlMn/edit
TRANSP:OPAQUE
LAST-MODIFIED:20261001T120000Z
END:VEVENT
BEGIN:VEVENT
UID:sync42@google.com
RECURRENCE-ID;TZID=Europe/Berlin:20261026T100000
DTSTART;TZID=Europe/Berlin:20261026T140000
DTEND;TZID=Europe/Berlin:20261026T143000
SUMMARY:Team sync (moved)
END:VEVENT
BEGIN:VEVENT
UID:sync42@google.com
RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000
DTSTART;TZID=Europe/Berlin:20261109T100000
DTEND;TZID=Europe/Berlin:20261109T103000
STATUS:CANCELLED
SUMMARY:Team sync
END:VEVENT
BEGIN:VEVENT
UID:holiday7@google.com
DTSTART;VALUE=DATE:20261012
DTEND;VALUE=DATE:20261013
RRULE:FREQ=DAILY;COUNT=2
SUMMARY:Offsite
END:VEVENT
BEGIN:VEVENT
UID:0A1B2C3D-single
DTSTART:20261015T150000Z
DTEND:20261015T160000Z
SUMMARY:Interview
STATUS:TENTATIVE
END:VEVENT
END:VCALENDAR
"""


def test_ics_weekly_series_across_dst_honours_exdate_and_recurrence_id(tmp_path: Path) -> None:
    """Berlin 10:00 is 08:00Z before and 09:00Z after the DST change; EXDATE drops, RECURRENCE-ID moves."""
    table = _events(_calendar(tmp_path, "ann@acme.example.ics", SERIES_ICS), OCT)
    sync = [r for r in table.to_pylist() if r["recurring_event_id"] == "sync42"]
    got = [(r["event_id"], r["start"], r["end"], r["original_start"], r["status"]) for r in sync]
    assert got == [
        ("sync42_20261012T080000Z", _z(10, 12, 8), _z(10, 12, 8, 30), _z(10, 12, 8), "confirmed"),
        ("sync42_20261019T080000Z", _z(10, 19, 8), _z(10, 19, 8, 30), _z(10, 19, 8), "confirmed"),
        # moved to 14:00 Berlin (13:00Z); its id keeps the original 10:00 Berlin = 09:00Z after DST ended
        ("sync42_20261026T090000Z", _z(10, 26, 13), _z(10, 26, 13, 30), _z(10, 26, 9), "confirmed"),
        # 2026-11-02 is an EXDATE: no row
        ("sync42_20261109T090000Z", _z(11, 9, 9), _z(11, 9, 9, 30), _z(11, 9, 9), "cancelled"),
        ("sync42_20261116T090000Z", _z(11, 16, 9), _z(11, 16, 9, 30), _z(11, 16, 9), "confirmed"),
    ]
    assert [r["summary"] for r in sync] == [
        "Team sync",
        "Team sync",
        "Team sync (moved)",
        "Team sync",
        "Team sync",
    ]
    assert {r["ical_uid"] for r in sync} == {"sync42@google.com"}
    assert {r["time_zone"] for r in sync} == {"Europe/Berlin"}


def test_ics_instance_carries_people_links_and_attachments(tmp_path: Path) -> None:
    """Organizer, attendees (self, optional, room), the Meet link and a Drive attachment are mapped."""
    rows = _by_id(_events(_calendar(tmp_path, "ann@acme.example.ics", SERIES_ICS), OCT))
    first = rows["sync42_20261012T080000Z"]
    assert first["organizer_email"] == "ann@acme.example"
    assert first["attendees"] == [
        {"email": "ann@acme.example", "display_name": "Ann Lee", "response_status": "accepted",
         "optional": False, "organizer": True, "is_self": True, "resource": False},
        {"email": "Bob@Partner.example", "display_name": None, "response_status": "needsAction",
         "optional": True, "organizer": False, "is_self": False, "resource": False},
        {"email": "everest@resource.calendar.google.com", "display_name": None, "response_status": "accepted",
         "optional": False, "organizer": False, "is_self": False, "resource": True},
    ]  # fmt: skip
    assert (first["hangout_link"], first["conference_uris"]) == (
        "https://meet.google.com/abc-defg-hij",
        ["https://meet.google.com/abc-defg-hij"],
    )
    assert first["attachments"] == [
        {
            "file_id": "1AbCdEfGhIjKlMn",
            "title": "Notes",
            "file_url": "https://docs.google.com/document/d/1AbCdEfGhIjKlMn/edit",
        }
    ]
    assert (first["transparency"], first["updated"]) == ("opaque", datetime(2026, 10, 1, 12, tzinfo=UTC))


def test_ics_all_day_series_and_single_events_get_google_style_ids(tmp_path: Path) -> None:
    """All-day instances are `<base>_YYYYMMDD` and flagged; a one-off keeps its bare UID as id."""
    rows = _by_id(_events(_calendar(tmp_path, "ann@acme.example.ics", SERIES_ICS), OCT))
    assert sorted(rows) == [
        "0A1B2C3D-single",
        "holiday7_20261012",
        "holiday7_20261013",
        "sync42_20261012T080000Z",
        "sync42_20261019T080000Z",
        "sync42_20261026T090000Z",
        "sync42_20261109T090000Z",
        "sync42_20261116T090000Z",
    ]
    holiday = rows["holiday7_20261013"]
    assert (holiday["all_day"], holiday["start"], holiday["end"], holiday["recurring_event_id"]) == (
        True,
        datetime(2026, 10, 13, tzinfo=UTC),
        datetime(2026, 10, 14, tzinfo=UTC),
        "holiday7",
    )
    single = rows["0A1B2C3D-single"]
    assert (single["recurring_event_id"], single["original_start"], single["status"], single["all_day"]) == (
        None,
        None,
        "tentative",
        False,
    )


def test_ics_default_window_runs_the_horizon_past_the_run(tmp_path: Path) -> None:
    """Without ics_window an endless daily series from 2026-01-01 09:00Z, read at 2026-10-03 09:00Z, expands
    to 90 days (MEETINTEL_ICS_HORIZON_DAYS) past the run: 2027-01-01 09:00Z, excluded."""
    ics = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:daily@google.com\n"
        "DTSTART:20260101T090000Z\nDTEND:20260101T091500Z\nRRULE:FREQ=DAILY\nSUMMARY:Standup\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    root = _calendar(tmp_path, "a@acme.example.ics", ics)
    as_of = datetime(2026, 10, 3, 9, tzinfo=UTC)  # + 90 days = 2027-01-01 09:00Z
    [chunk] = [c for c in collect_workspace(root, {}, as_of=as_of) if c.table == "calendar_events"]
    ids = chunk.batch.column("event_id").to_pylist()
    # 2026 has 365 days: one instance a day, 2026-01-01 through 2026-12-31; 2027-01-01 09:00Z is excluded.
    assert (len(ids), ids[0], ids[-1]) == (365, "daily_20260101T090000Z", "daily_20261231T090000Z")


def test_invalid_ics_names_the_file(tmp_path: Path) -> None:
    """A file that is not iCalendar: a DataError naming it and the line, quoting none of its content."""
    root = _calendar(tmp_path, "a@acme.example.ics", "this is not a calendar\n")
    with pytest.raises(
        DataError, match=r"a@acme\.example\.ics: line 1: not a valid iCalendar file"
    ) as raised:
        _events(root)
    assert "this is not" not in str(raised.value)


@pytest.mark.slow  # 3.5 s: a year of recurrences expanded
def test_google_ics_export_expands_a_fixed_year(tmp_path: Path, third_party: Path) -> None:
    """The 4,778-event Google export over 2017: every instance, recurring and moved ones included."""
    calendar = tmp_path / "ws" / "google" / "calendar"
    calendar.mkdir(parents=True)
    source = third_party / "ics_recurring_ical_events" / "benchmark_issue42_google_calendar_export.ics"
    # The file is named after the calendar, its owner's address as pseudonymised in the fixture's SOURCE.md.
    shutil.copyfile(source, calendar / "pfd868a3b7d56@gmail.com.ics")
    table = _events(tmp_path / "ws", (datetime(2017, 1, 1, tzinfo=UTC), datetime(2018, 1, 1, tzinfo=UTC)))
    # Counted independently (a one-off script outside the repo: regex over the unfolded VEVENTs,
    # dateutil.rrule for RRULEs with DTSTART as first instance, RECURRENCE-ID overrides replacing their
    # original, instances kept when start < 2018-01-01 and end > 2017-01-01): 377 instances, 58 of series,
    # 53 all-day.
    assert table.num_rows == 377
    assert len(set(table.column("event_id").to_pylist())) == 377
    assert table.num_rows - table.column("recurring_event_id").null_count == 58
    assert pc.sum(table.column("all_day")).as_py() == 53
    moved = _by_id(table)["6hh6cchpc5j38b9i6sq34b9k6tijeb9o68r6abb3chh3ce9iccpj6cpl68_20171028T180000Z"]
    # RECURRENCE-ID 2017-10-28 19:00 London (BST, 18:00Z) moved to 2017-10-31 19:00 London (GMT, 19:00Z)
    assert (moved["start"], moved["original_start"]) == (
        datetime(2017, 10, 31, 19, tzinfo=UTC),
        datetime(2017, 10, 28, 18, tzinfo=UTC),
    )
