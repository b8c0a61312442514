"""Calendar files read into CALENDAR_EVENTS rows: events.list JSON dumps (by DuckDB) and `.ics` exports.

`<calendarId>.json` is a Calendar v3 events.list response (`{"items": [...], "timeZone": ...}`), taken as
given: with `singleEvents=true` recurring series arrive as instances, otherwise as their master rows.
`<calendarId>.ics` is expanded here (icalendar + recurring_ical_events) into instances named the way the
Calendar API names them, so both doors give the same ids for the same meeting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import icalendar
import pyarrow as pa
import pyarrow.compute as pc
import recurring_ical_events

from collectors._io import blank_to_none, duckdb_data_error, json_object_limit
from collectors.models import CALENDAR_EVENTS
from core.errors import DataError

_JSON_HINT = 'a calendar file must be an events.list response {"items": [...]}; re-export it or remove it'
_ICS_HINT = "re-export the calendar as .ics or remove the file"

# How far past the last start (or moved instance) an .ics series is expanded when no window is given.
ICS_HORIZON = timedelta(days=365)

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
    """
    return (
        f"CASE WHEN {field}.dateTime IS NULL THEN timezone(cal_tz, CAST({field}.date AS TIMESTAMP)) "
        f"WHEN regexp_matches({field}.dateTime, '([Zz]|[+-]\\d\\d:?\\d\\d)$') "
        f"THEN CAST({field}.dateTime AS TIMESTAMPTZ) "
        f"ELSE timezone(coalesce({field}.timeZone, cal_tz), CAST({field}.dateTime AS TIMESTAMP)) END"
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
       e.summary, e.description, e.location,
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
       CAST(e.updated AS TIMESTAMPTZ) AS updated, e.etag, filename AS _file
FROM events
ORDER BY calendar_id, event_id
"""


def read_event_dumps(con: duckdb.DuckDBPyConnection, files: Sequence[tuple[Path, str, str]]) -> pa.Table:
    """Give the events of events.list dumps (local path, calendar id, shown name) as CALENDAR_EVENTS."""
    if not files:
        return CALENDAR_EVENTS.empty_table()
    paths = [str(p) for p, _, _ in files]
    con.register("_calendar_files", pa.table({"filename": paths, "calendar_id": [c for _, c, _ in files]}))
    try:
        params = {"files": paths, "columns": _DUMP_COLUMNS, "object_size": json_object_limit(files)}
        table = con.sql(_EVENTS_SQL, params=params).to_arrow_table()
    except (duckdb.Error, UnicodeDecodeError) as exc:
        raise duckdb_data_error(exc, {str(p): s for p, _, s in files}, "calendar files", _JSON_HINT) from exc
    finally:
        con.unregister("_calendar_files")
    if table.column("event_id").null_count:
        local = table.filter(pc.is_null(table.column("event_id"))).column("_file")[0].as_py()
        shown = {str(p): s for p, _, s in files}[local]
        raise DataError(f"{shown}: an event has no `id`", _JSON_HINT)
    return table.drop_columns(["_file"]).cast(CALENDAR_EVENTS)


# ---- .ics exports --------------------------------------------------------------------------------------

_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
_STATUS = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
_DRIVE_ID = re.compile(r"/d/([A-Za-z0-9_-]{10,})|[?&]id=([A-Za-z0-9_-]{10,})")


def read_ics(
    path: Path, calendar_id: str, shown: str, window: tuple[datetime, datetime] | None = None
) -> pa.Table:
    """Give the event instances of an .ics file within `window` (default: `default_ics_window`)."""
    cal = _parse_ics(path, shown)
    zone = calendar_zone(cal, shown)
    start, end = (_aware(window[0]), _aware(window[1])) if window else default_ics_window(cal, zone, shown)
    recurring = _recurring_uids(cal)
    try:
        occurrences = list(recurring_ical_events.of(cal).between(start, end))
    except KeyError as exc:  # a component lacks a property the expansion needs (DTSTART, mostly)
        raise DataError(f"{shown}: an event has no {exc.args[0]} property", _ICS_HINT) from exc
    except Exception as exc:  # the library raises many kinds for malformed rules; all mean "bad file"
        raise DataError(f"{shown}: cannot expand recurring events ({exc})", _ICS_HINT) from exc
    rows = [_ics_row(ev, calendar_id, zone, recurring, shown) for ev in occurrences]
    rows.sort(key=lambda r: (r["start"], r["event_id"]))
    return pa.Table.from_pylist(rows, schema=CALENDAR_EVENTS)


def _parse_ics(path: Path, shown: str) -> icalendar.Calendar:
    try:
        return icalendar.Calendar.from_ical(path.read_bytes())
    except ValueError as exc:
        raise DataError(f"{shown}: not a valid iCalendar file ({exc})", _ICS_HINT) from exc


def calendar_zone(cal: icalendar.Calendar, shown: str) -> tzinfo:
    """Give the calendar's own time zone (X-WR-TIMEZONE; else UTC): floating and all-day times are in it."""
    name = cal.get("X-WR-TIMEZONE")
    if not name:
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"{shown}: unknown X-WR-TIMEZONE {name!r}", _ICS_HINT) from exc


def default_ics_window(
    cal: icalendar.Calendar, zone: tzinfo, shown: str = "the calendar"
) -> tuple[datetime, datetime]:
    """Give the expansion window used without `ics_window`: first DTSTART to a year after the last change.

    The window depends on the file alone, so the same file always gives the same rows. It ends
    `ICS_HORIZON` after the latest DTSTART or RECURRENCE-ID, so open-ended series stop a year after the
    calendar was last edited instead of running forever.
    """
    starts, latest = [], []
    for ev in cal.walk("VEVENT"):
        if (start := _when(ev, "DTSTART", shown)) is not None:
            starts.append(_utc(start, zone))
        if (moved := _when(ev, "RECURRENCE-ID", shown)) is not None:
            latest.append(_utc(moved, zone))
    if not starts:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return epoch, epoch
    return min(starts), max(starts + latest) + ICS_HORIZON


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
        raise DataError(
            f"{shown}: event {uid or '(no UID)'} has an unreadable {name} ({exc})", _ICS_HINT
        ) from exc
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
        raise DataError(f"{shown}: an event has no UID ({ev.get('SUMMARY')!r})", _ICS_HINT)
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
