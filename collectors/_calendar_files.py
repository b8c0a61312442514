"""Calendar files read into CALENDAR_EVENTS rows: events.list JSON dumps (by DuckDB) and `.ics` exports.

`<calendarId>.json` is a Calendar v3 events.list response (`{"items": [...], "timeZone": ...}`), taken as
given: with `singleEvents=true` recurring series arrive as instances, otherwise as their master rows.
`<calendarId>.ics` is expanded here (icalendar + recurring_ical_events) into instances named the way the
Calendar API names them, so both doors give the same ids for the same meeting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from collectors._io import blank_to_none, duckdb_data_error, json_object_limit
from collectors.models import CALENDAR_EVENTS, InputBounds
from core.chunks import Quarantined
from core.errors import DataError

if TYPE_CHECKING:  # the iCalendar libraries load when an .ics file is read (34 ms on every run otherwise)
    import icalendar

_JSON_HINT = 'a calendar file must be an events.list response {"items": [...]}; re-export it or remove it'
_ICS_HINT = "re-export the calendar as .ics or remove the file"

# ---- events.list dumps --------------------------------------------------------------------------------

_TIME = "STRUCT(dateTime VARCHAR, date VARCHAR, timeZone VARCHAR)"
_EVENT = (
    f"STRUCT(id VARCHAR, iCalUID VARCHAR, recurringEventId VARCHAR, originalStartTime {_TIME}, "
    "status VARCHAR, eventType VARCHAR, summary VARCHAR, description VARCHAR, location VARCHAR, "
    f'start {_TIME}, "end" {_TIME}, organizer STRUCT(email VARCHAR), creator STRUCT(email VARCHAR), '
    "attendees STRUCT(email VARCHAR, displayName VARCHAR, responseStatus VARCHAR, optional BOOLEAN, "
    "organizer BOOLEAN, self BOOLEAN, resource BOOLEAN)[], hangoutLink VARCHAR, "
    "conferenceData STRUCT(entryPoints STRUCT(entryPointType VARCHAR, uri VARCHAR)[]), "
    "transparency VARCHAR, htmlLink VARCHAR, "
    "attachments STRUCT(fileId VARCHAR, title VARCHAR, fileUrl VARCHAR)[], "
    "updated VARCHAR, etag VARCHAR)"
)
_DUMP_COLUMNS = {"items": f"{_EVENT}[]", "timeZone": "VARCHAR"}


def _instant(field: str) -> str:
    """Give SQL for the UTC instant of an events.list time object (`e.start`, `e."end"`...).

    `dateTime` carries its offset (Google always writes one); without it the object's `timeZone` applies.
    An all-day `date` starts at midnight in the calendar's time zone, as Google's own UI shows it.
    An unreadable time gives NULL; the reader quarantines its event.
    """
    return (
        f"CASE WHEN {field}.dateTime IS NULL THEN timezone(cal_tz, TRY_CAST({field}.date AS TIMESTAMP)) "
        f"WHEN regexp_matches({field}.dateTime, '([Zz]|[+-]\\d\\d:?\\d\\d)$') "
        f"THEN TRY_CAST({field}.dateTime AS TIMESTAMPTZ) "
        f"ELSE timezone(coalesce({field}.timeZone, cal_tz), TRY_CAST({field}.dateTime AS TIMESTAMP)) END"
    )


_EVENTS_SQL = f"""
WITH items AS (
    SELECT c.calendar_id, d.filename, coalesce(d.timeZone, 'UTC') AS cal_tz, unnest(d.items) AS e
    FROM read_json($files, columns = $columns, format = 'unstructured', filename = true,
                   maximum_object_size = $object_size) AS d
    JOIN _calendar_files AS c ON c.filename = d.filename
), events AS (
    SELECT *, coalesce([p.uri FOR p IN e.conferenceData.entryPoints IF p.entryPointType = 'video'], [])
              AS videos
    FROM items
)
SELECT calendar_id, e.id AS event_id, e.iCalUID AS ical_uid, e.recurringEventId AS recurring_event_id,
       {_instant("e.originalStartTime")} AS original_start,
       coalesce(e.status, 'confirmed') AS status, coalesce(e.eventType, 'default') AS event_type,
       left(e.summary, $max_title) AS summary, e.description, e.location,
       {_instant("e.start")} AS start, {_instant('e."end"')} AS "end",
       e.start.date IS NOT NULL AS all_day, e.start.timeZone AS time_zone,
       e.organizer.email AS organizer_email, e.creator.email AS creator_email,
       coalesce([{{'email': a.email, 'display_name': a.displayName, 'response_status': a.responseStatus,
                  'optional': coalesce(a.optional, false), 'organizer': coalesce(a.organizer, false),
                  'is_self': coalesce(a.self, false), 'resource': coalesce(a.resource, false)}}
                 FOR a IN e.attendees], []) AS attendees,
       e.hangoutLink AS hangout_link,
       CASE WHEN e.hangoutLink IS NULL OR list_contains(videos, e.hangoutLink) THEN videos
            ELSE list_append(videos, e.hangoutLink) END AS conference_uris,
       e.transparency, e.htmlLink AS html_link,
       coalesce([{{'file_id': x.fileId, 'title': x.title, 'file_url': x.fileUrl}} FOR x IN e.attachments], [])
           AS attachments,
       TRY_CAST(e.updated AS TIMESTAMPTZ) AS updated, e.etag, filename AS _file,
       length(e.summary) > $max_title AS _cut, coalesce(e.start.dateTime, e.start.date) AS _start_raw,
       coalesce(e."end".dateTime, e."end".date) AS _end_raw
FROM events
ORDER BY calendar_id, event_id
"""


def read_event_dumps(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[Path, str, str]],
    *,
    max_title_chars: int = InputBounds.max_title_chars,
    quarantine: list[Quarantined] | None = None,
) -> pa.Table:
    """Give the events of events.list dumps (local path, calendar id, shown name) as CALENDAR_EVENTS.

    An event with an unreadable time or an end before its start is left out and appended to
    `quarantine`, as is a note for each title cut to `max_title_chars`.
    """
    if not files:
        return CALENDAR_EVENTS.empty_table()
    paths = [str(p) for p, _, _ in files]
    con.register("_calendar_files", pa.table({"filename": paths, "calendar_id": [c for _, c, _ in files]}))
    try:
        params = {
            "files": paths,
            "columns": _DUMP_COLUMNS,
            "object_size": json_object_limit(files),
            "max_title": max_title_chars,
        }
        table = con.sql(_EVENTS_SQL, params=params).to_arrow_table()
    except (duckdb.Error, UnicodeDecodeError) as exc:
        raise duckdb_data_error(exc, {str(p): s for p, _, s in files}, "calendar files", _JSON_HINT) from exc
    finally:
        con.unregister("_calendar_files")
    if table.column("event_id").null_count:
        local = table.filter(pc.is_null(table.column("event_id"))).column("_file")[0].as_py()
        shown = {str(p): s for p, _, s in files}[local]
        raise DataError(f"{shown}: an event has no `id`", _JSON_HINT)
    table = _quarantine_events(table, {str(p): s for p, _, s in files}, quarantine)
    return table.drop_columns(["_file", "_cut", "_start_raw", "_end_raw"]).cast(CALENDAR_EVENTS)


def _quarantine_events(table: pa.Table, shown: dict[str, str], sink: list[Quarantined] | None) -> pa.Table:
    """Give `table` without events whose times are unreadable or end before they start (quarantined into
    `sink`); cut titles get a `truncated` note."""
    sink = sink if sink is not None else []
    unreadable = pc.or_(
        pc.and_(pc.is_valid(table.column("_start_raw")), pc.is_null(table.column("start"))),
        pc.and_(pc.is_valid(table.column("_end_raw")), pc.is_null(table.column("end"))),
    )
    backwards = pc.fill_null(pc.less(table.column("end"), table.column("start")), False)
    columns = ["event_id", "_file", "_start_raw", "_end_raw", "summary"]
    for row in table.filter(unreadable).select(columns).to_pylist():
        raw = f"start {row['_start_raw']!r} end {row['_end_raw']!r}"
        sink.append(Quarantined.of("calendar", shown[row["_file"]], row["event_id"], "unreadable_time", raw))
    for row in table.filter(pc.and_(backwards, pc.invert(unreadable))).select(columns).to_pylist():
        raw = f"start {row['_start_raw']} end {row['_end_raw']}"
        sink.append(Quarantined.of("calendar", shown[row["_file"]], row["event_id"], "end_before_start", raw))
    table = table.filter(pc.invert(pc.or_(unreadable, backwards)))
    for row in table.filter(pc.fill_null(table.column("_cut"), False)).select(columns).to_pylist():
        sink.append(
            Quarantined.of("calendar", shown[row["_file"]], row["event_id"], "truncated", row["summary"])
        )
    return table


# ---- .ics exports --------------------------------------------------------------------------------------

_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
_STATUS = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
_DRIVE_ID = re.compile(r"/d/([A-Za-z0-9_-]{10,})|[?&]id=([A-Za-z0-9_-]{10,})")


def read_ics(
    path: Path,
    calendar_id: str,
    shown: str,
    window: tuple[datetime, datetime] | None = None,
    *,
    bounds: InputBounds | None = None,
    as_of: datetime | None = None,
    quarantine: list[Quarantined] | None = None,
) -> pa.Table:
    """Give the event instances of an .ics file within `window` (default: `default_ics_window` at `as_of`).

    Each series gives at most `bounds.ics_max_instances` instances (a note in `quarantine` says when it
    was cut); an event with an unreadable time or an end before its start is quarantined, the rest kept.
    """
    bounds = bounds or InputBounds()
    sink = quarantine if quarantine is not None else []
    cal = _parse_ics(path, shown)
    zone = calendar_zone(cal, shown)
    _drop_unreadable(cal, zone, shown, sink)
    if window:
        start, end = _aware(window[0]), _aware(window[1])
    else:
        start, end = default_ics_window(cal, zone, as_of or datetime.now(UTC), bounds.ics_horizon_days, shown)
    recurring = _recurring_uids(cal)
    rows = []
    for uid, series in _series(cal):
        for ev in _expand(series, uid, (start, end), zone, bounds.ics_max_instances, shown, sink):
            row = _ics_row(ev, calendar_id, zone, recurring, shown)
            if _kept(row, bounds.max_title_chars, shown, sink):
                rows.append(row)
    rows.sort(key=lambda r: (r["start"], r["event_id"]))
    return pa.Table.from_pylist(rows, schema=CALENDAR_EVENTS)


def _parse_ics(path: Path, shown: str) -> icalendar.Calendar:
    """Give the parsed calendar; a file that is not iCalendar is a DataError that quotes none of it."""
    import icalendar

    data = path.read_bytes()
    try:
        return icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        # The library's message quotes the offending content line: never echo file content.
        if not data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR"):
            why = "line 1: not a valid iCalendar file (it does not start with BEGIN:VCALENDAR)"
        else:
            why = "not a valid iCalendar file (a content line or component does not parse)"
        raise DataError(f"{shown}: {why}", _ICS_HINT) from exc


def calendar_zone(cal: icalendar.Calendar, shown: str) -> tzinfo:
    """Give the calendar's own time zone (X-WR-TIMEZONE; else UTC): floating and all-day times are in it."""
    name = cal.get("X-WR-TIMEZONE")
    if not name:
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"{shown}: X-WR-TIMEZONE names no known time zone", _ICS_HINT) from exc


def default_ics_window(
    cal: icalendar.Calendar, zone: tzinfo, as_of: datetime, horizon_days: int, shown: str = "the calendar"
) -> tuple[datetime, datetime]:
    """Give the expansion window used without `ics_window`: the first DTSTART to `horizon_days` past the
    run's time `as_of` (MEETINTEL_ICS_HORIZON_DAYS), so an open-ended series stops there."""
    starts = [_utc(v, zone) for ev in cal.walk("VEVENT") if (v := _when(ev, "DTSTART", shown)) is not None]
    end = _aware(as_of) + timedelta(days=horizon_days)
    return (min(starts), end) if starts else (end, end)


_TIME_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "LAST-MODIFIED")


def _drop_unreadable(cal: icalendar.Calendar, zone: tzinfo, shown: str, sink: list[Quarantined]) -> None:
    """Remove events with an unreadable time property, or a DTEND before their DTSTART (the expansion
    library would silently swap them), from `cal`, quarantining each."""
    for ev in list(cal.walk("VEVENT")):
        rule, raw = _bad_times(ev, zone, shown)
        if rule:
            key = str(ev.get("UID") or "(no UID)")
            sink.append(Quarantined.of("calendar", shown, key, rule, raw))
            cal.subcomponents.remove(ev)


def _bad_times(ev: icalendar.cal.Component, zone: tzinfo, shown: str) -> tuple[str, str]:
    """Give (rule, raw value) when an event's times are unreadable or backwards, else ("", "")."""
    for name in _TIME_PROPERTIES:
        try:
            _when(ev, name, shown)
        except DataError:
            return "unreadable_time", f"{name}:{ev.get(name)}"
    start, end = _when(ev, "DTSTART", shown), _when(ev, "DTEND", shown)
    if start is not None and end is not None and _utc(end, zone) < _utc(start, zone):
        return (
            "end_before_start",
            f"start {_utc(start, zone):%Y-%m-%dT%H:%M:%SZ} end {_utc(end, zone):%Y-%m-%dT%H:%M:%SZ}",
        )
    return "", ""


def _series(cal: icalendar.Calendar) -> Iterator[tuple[str, icalendar.Calendar]]:
    """Give each UID's events (a series and its moved instances, or one event) as a calendar of their own,
    with the file's time zones, so one series can be expanded, and cut, without the others."""
    import icalendar

    by_uid: dict[str, list[icalendar.cal.Component]] = {}
    for ev in cal.walk("VEVENT"):
        by_uid.setdefault(str(ev.get("UID") or ""), []).append(ev)
    zones = cal.walk("VTIMEZONE")
    for uid, events in by_uid.items():
        sub = icalendar.Calendar()
        sub.update(cal)
        for component in [*zones, *events]:
            sub.add_component(component)
        yield uid, sub


def _expand(
    series: icalendar.Calendar,
    uid: str,
    window: tuple[datetime, datetime],
    zone: tzinfo,
    cap: int,
    shown: str,
    sink: list[Quarantined],
) -> Iterator[icalendar.Event]:
    """Yield the occurrences of one series inside `window`, in start order, at most `cap` of them.

    Lazy: an open-ended FREQ=MINUTELY series costs `cap` occurrences, not a year of minutes.
    """
    import recurring_ical_events

    start, end = window
    try:
        for n, ev in enumerate(recurring_ical_events.of(series).after(start)):
            when = _when(ev, "DTSTART", shown)
            if when is None or _utc(when, zone) >= end:
                return
            if n >= cap:
                note = f"{cap} instances kept; the next starts {_utc(when, zone):%Y-%m-%dT%H:%M:%SZ}"
                sink.append(Quarantined.of("calendar", shown, uid or "(no UID)", "series_capped", note))
                return
            yield ev
    except KeyError as exc:  # a component lacks a property the expansion needs (DTSTART, mostly)
        raise DataError(
            f"{shown}: event {uid or '(no UID)'} has no {exc.args[0]} property", _ICS_HINT
        ) from exc
    except DataError:
        raise
    except Exception as exc:  # the library raises many kinds for malformed rules; all mean "bad file"
        raise DataError(
            f"{shown}: event {uid or '(no UID)'}: cannot expand its recurrence ({type(exc).__name__})",
            _ICS_HINT,
        ) from exc


def _kept(row: dict[str, Any], max_title: int, shown: str, sink: list[Quarantined]) -> bool:
    """Give whether an occurrence's row is kept: one ending before it starts is quarantined; a title
    longer than `max_title` is cut, with a note."""
    if row["end"] < row["start"]:
        raw = f"start {row['start']:%Y-%m-%dT%H:%M:%SZ} end {row['end']:%Y-%m-%dT%H:%M:%SZ}"
        sink.append(Quarantined.of("calendar", shown, row["event_id"], "end_before_start", raw))
        return False
    if row["summary"] and len(row["summary"]) > max_title:
        sink.append(Quarantined.of("calendar", shown, row["event_id"], "truncated", row["summary"]))
        row["summary"] = row["summary"][:max_title]
    return True


def _recurring_uids(cal: icalendar.Calendar) -> set[str]:
    """Give the UIDs that form a series: a rule, extra dates, or a moved instance."""
    return {
        str(ev.get("UID"))
        for ev in cal.walk("VEVENT")
        if any(ev.get(p) is not None for p in ("RRULE", "RDATE", "RECURRENCE-ID"))
    }


def _aware(value: datetime) -> datetime:
    """Give `value` with a time zone; naive window bounds are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _when(ev: icalendar.cal.Component, name: str, shown: str) -> date | None:
    """Give the date or datetime of a time property (DTSTART, RECURRENCE-ID...), or None when absent.

    icalendar keeps an unparsable value as a "broken" property that raises on `.dt`; that is a DataError
    naming the file, the event and the property.
    """
    try:
        value = getattr(ev.get(name), "dt", None)
    except ValueError as exc:
        uid = ev.get("UID")
        raise DataError(f"{shown}: event {uid or '(no UID)'} has an unreadable {name}", _ICS_HINT) from exc
    return value if isinstance(value, date) else None


def _utc(value: date, zone: tzinfo) -> datetime:
    """Give the UTC instant of an iCalendar time; floating times and dates are in `zone`."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(), zone).astimezone(UTC)


def _instance_suffix(original: date, zone: tzinfo) -> str:
    """Give the Calendar API's instance-id suffix: UTC `YYYYMMDDTHHMMSSZ`, or `YYYYMMDD` for all-day."""
    if isinstance(original, datetime):
        return _utc(original, zone).strftime("%Y%m%dT%H%M%SZ")
    return original.strftime("%Y%m%d")


def _ics_row(
    ev: icalendar.Event, calendar_id: str, zone: tzinfo, recurring: set[str], shown: str
) -> dict[str, Any]:
    """Give the CALENDAR_EVENTS row of one expanded occurrence."""
    uid = str(ev.get("UID") or "")
    if not uid:
        raise DataError(f"{shown}: an event has no UID", _ICS_HINT)
    base = uid.split("@", 1)[0]
    start_value, end_value = _when(ev, "DTSTART", shown), _when(ev, "DTEND", shown)
    if start_value is None:
        raise DataError(f"{shown}: event {uid} has no DTSTART", _ICS_HINT)
    all_day = not isinstance(start_value, datetime)
    original = _when(ev, "RECURRENCE-ID", shown) if uid in recurring else None
    start = _utc(start_value, zone)
    modified = _when(ev, "LAST-MODIFIED", shown)
    organizer = _email(ev.get("ORGANIZER"))
    return {
        "calendar_id": calendar_id,
        "event_id": f"{base}_{_instance_suffix(original, zone)}" if original is not None else base,
        "ical_uid": uid,
        "recurring_event_id": base if original is not None else None,
        "original_start": _utc(original, zone) if original is not None else None,
        "status": _STATUS.get(str(ev.get("STATUS", "")).upper(), "confirmed"),
        "event_type": "default",
        "summary": _text(ev, "SUMMARY"),
        "description": _text(ev, "DESCRIPTION"),
        "location": _text(ev, "LOCATION"),
        "start": start,
        "end": _utc(end_value, zone) if end_value is not None else start + timedelta(days=all_day),
        "all_day": all_day,
        "time_zone": ev["DTSTART"].params.get("TZID"),
        "organizer_email": organizer,
        "creator_email": None,
        "attendees": [_attendee(a, organizer, calendar_id) for a in _many(ev.get("ATTENDEE"))],
        **_conference(ev),
        "transparency": (_text(ev, "TRANSP") or "").lower() or None,
        "html_link": _text(ev, "URL"),
        "attachments": [a for a in (_attachment(x) for x in _many(ev.get("ATTACH"))) if a],
        "updated": _utc(modified, UTC) if modified is not None else None,
        "etag": None,
    }


def _many(value: Any) -> list[Any]:
    """Give a property's values as a list (icalendar gives one value or a list)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(ev: icalendar.Event, name: str) -> str | None:
    value = ev.get(name)
    return blank_to_none(str(value)) if value is not None else None


def _email(address: Any) -> str | None:
    """Give the e-mail of a CAL-ADDRESS (`mailto:ann@x` -> `ann@x`)."""
    if address is None:
        return None
    text = str(address)
    return blank_to_none(text[7:] if text.lower().startswith("mailto:") else text)


def _attendee(address: Any, organizer: str | None, calendar_id: str) -> dict[str, Any]:
    params = getattr(address, "params", {})
    email = _email(address)
    return {
        "email": email,
        "display_name": blank_to_none(params.get("CN")),
        "response_status": _PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), "needsAction"),
        "optional": str(params.get("ROLE", "")).upper() == "OPT-PARTICIPANT",
        "organizer": _same_email(email, organizer),
        "is_self": _same_email(email, calendar_id),
        "resource": str(params.get("CUTYPE", "")).upper() in ("RESOURCE", "ROOM"),
    }


def _same_email(a: str | None, b: str | None) -> bool:
    """Give whether two addresses are the same mailbox (e-mail addresses compare case-insensitively)."""
    return bool(a and b and a.lower() == b.lower())


def _conference(ev: icalendar.Event) -> dict[str, Any]:
    """Give `hangout_link` (Google's X-GOOGLE-CONFERENCE) and the video `conference_uris` (RFC 7986)."""
    meet = _text(ev, "X-GOOGLE-CONFERENCE")
    uris = []
    for conf in _many(ev.get("CONFERENCE")):
        features = str(getattr(conf, "params", {}).get("FEATURE", "VIDEO")).upper()
        if "VIDEO" in features:
            uris.append(str(conf))
    if meet and meet not in uris:
        uris.append(meet)
    return {"hangout_link": meet, "conference_uris": uris}


def _attachment(value: Any) -> dict[str, Any] | None:
    """Give an ATTACH given by URL as an attachment (inline binary attachments carry no link: None)."""
    params = getattr(value, "params", {})
    if str(params.get("VALUE", "")).upper() == "BINARY" or not isinstance(value, str):
        return None
    match = _DRIVE_ID.search(value)
    return {
        "file_id": (match.group(1) or match.group(2)) if match else None,
        "title": blank_to_none(params.get("FILENAME")),
        "file_url": str(value),
    }
