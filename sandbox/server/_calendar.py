"""Google Calendar v3 `calendarList.list` and `events.list` served from `google/calendar/<calendarId>.json`.

Each calendar file is re-read when its mtime or size changes. Events whose JSON changed (or that are
new) get the calendar's next version number and events that disappeared become cancelled tombstones,
so a `syncToken` (which carries the version it was issued at) returns exactly the events changed since.
Sync tokens also carry the server's epoch: a token from an earlier server process gets HTTP 410.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import DataError
from sandbox.server._files import Stamp, decode_token, dump, encode_token, read_json, stamp_of
from sandbox.server._google import (
    GoogleError,
    flag,
    invalid,
    page_offset,
    page_size,
    parse_time,
    respond,
    rfc3339,
)
from sandbox.server._settings import ServerSettings

# Parameters Google refuses to combine with a syncToken (the token remembers the original query).
_NOT_WITH_SYNC = (
    "timeMin",
    "timeMax",
    "q",
    "orderBy",
    "iCalUID",
    "updatedMin",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)
_ROLE_RANK = {"freeBusyReader": 0, "reader": 1, "writer": 2, "owner": 3}
_FULL_SYNC = "Sync token is no longer valid, a full sync is required."


@dataclass(frozen=True)
class _Event:
    """One event row of a calendar, with what filtering and ordering need, and its JSON text."""

    id: str
    text: str
    start: float | None
    end: float | None
    updated: str
    status: str
    recurring: bool
    ical_uid: str | None
    event_type: str
    seq: int  # calendar version at which this row last changed
    order: tuple[int, int]  # (version first seen, position in the file then): stable under appends
    deleted: bool = False


@dataclass
class _Calendar:
    stamp: Stamp | None = None
    version: int = 0
    time_zone: str = "UTC"
    summary: str = ""
    events: dict[str, _Event] = field(default_factory=dict)


@dataclass(frozen=True)
class CalendarSnapshot:
    """A calendar as one request sees it: its version, time zone and rows in a stable order."""

    id: str
    version: int
    time_zone: str
    summary: str
    events: list[_Event]


class CalendarStore:
    """The `google/calendar/` folder of a workspace, one calendar per JSON file."""

    def __init__(self, root: Path, epoch: str) -> None:
        self.root = root
        self.epoch = epoch
        self._lock = threading.Lock()
        self._calendars: dict[str, _Calendar] = {}

    def ids(self) -> list[str]:
        """Give the calendar ids (file stems), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name[: -len(".json")] for p in self.root.iterdir() if p.name.endswith(".json"))

    def snapshot(self, calendar_id: str) -> CalendarSnapshot:
        """Give the current state of a calendar; GoogleError 404 when there is no such file."""
        path = self.root / f"{calendar_id}.json"
        if "/" in calendar_id or calendar_id.startswith(".") or not path.is_file():
            raise GoogleError(404, "notFound", "Not Found")
        with self._lock:
            cal = self._calendars.setdefault(calendar_id, _Calendar())
            stamp = stamp_of(path)
            if stamp != cal.stamp:
                _reload(cal, path)
                cal.stamp = stamp
            rows = sorted(cal.events.values(), key=lambda e: e.order)
            return CalendarSnapshot(calendar_id, cal.version, cal.time_zone, cal.summary, rows)


def _reload(cal: _Calendar, path: Path) -> None:
    """Re-read a calendar file, giving changed, new and vanished events the next version number."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise DataError(f"{path} has no `items` array", 'write an events.list answer: {"items": [...]}')
    cal.time_zone = str(data.get("timeZone") or "UTC")
    cal.summary = str(data.get("summary") or path.name[: -len(".json")])
    tz = _zone(cal.time_zone, path)
    version = cal.version + 1
    changed = False
    seen = set()
    for pos, item in enumerate(data["items"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise DataError(f"{path} item #{pos} has no string `id`", "fix or regenerate the calendar file")
        seen.add(item["id"])
        text = dump(item if "kind" in item else {"kind": "calendar#event", **item})
        old = cal.events.get(item["id"])
        if old is not None and old.text == text and not old.deleted:
            continue
        order = old.order if old is not None else (version, pos)
        cal.events[item["id"]] = _row(item, text, tz, path, version, order)
        changed = True
    for event_id, old in list(cal.events.items()):
        if event_id not in seen and not old.deleted:
            cal.events[event_id] = _tombstone(old, version)
            changed = True
    if changed:
        cal.version = version


def _zone(name: str, path: Path) -> ZoneInfo:
    """Give the calendar's time zone; DataError names the file when the zone is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise DataError(f"{path} names an unknown timeZone {name!r}", "use an IANA zone name") from err


def _row(
    item: dict[str, Any], text: str, tz: ZoneInfo, path: Path, seq: int, order: tuple[int, int]
) -> _Event:
    """Give the row of one event item."""
    where = f"{path} event {item['id']}"
    return _Event(
        id=item["id"],
        text=text,
        start=_when(item.get("start"), tz, where),
        end=_when(item.get("end"), tz, where),
        updated=str(item.get("updated") or ""),
        status=str(item.get("status") or "confirmed"),
        recurring=bool(item.get("recurringEventId")),
        ical_uid=item.get("iCalUID"),
        event_type=str(item.get("eventType") or "default"),
        seq=seq,
        order=order,
    )


def _when(value: object, tz: ZoneInfo, where: str) -> float | None:
    """Give an event time ({dateTime} or all-day {date}, read in the calendar's zone) as epoch seconds."""
    if not isinstance(value, dict):
        return None
    try:
        if "dateTime" in value:
            moment = datetime.fromisoformat(str(value["dateTime"]))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(str(value.get("timeZone") or tz.key)))
            return moment.timestamp()
        if "date" in value:
            return datetime.fromisoformat(str(value["date"])).replace(tzinfo=tz).timestamp()
    except (ValueError, ZoneInfoNotFoundError) as err:
        raise DataError(
            f"{where} has a malformed time {value!r}", "use RFC 3339 dateTime or YYYY-MM-DD date"
        ) from err
    return None


def _tombstone(old: _Event, seq: int) -> _Event:
    """Give the cancelled stub Google reports for an event that was deleted."""
    obj = json.loads(old.text)
    stub = {k: obj[k] for k in ("kind", "etag", "id", "recurringEventId", "originalStartTime") if k in obj}
    stub["status"] = "cancelled"
    return _Event(
        old.id,
        dump(stub),
        None,
        None,
        rfc3339(time.time()),
        "cancelled",
        old.recurring,
        None,
        old.event_type,
        seq,
        old.order,
        deleted=True,
    )


# ---------------------------------------------------------------------------------------------- methods


def _resolve(settings: ServerSettings, calendar_id: str) -> str:
    """Give the calendar id a request names, with `primary` meaning the token user's calendar."""
    if calendar_id == "primary":
        if not settings.google_user:
            raise GoogleError(404, "notFound", "Not Found")
        return settings.google_user
    return calendar_id


def calendar_list(store: CalendarStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of the calendars the token can read: every calendar file of the workspace."""
    if params.get("syncToken"):
        # The sandbox never issues calendarList sync tokens, so any token is unknown.
        raise GoogleError(410, "fullSyncRequired", _FULL_SYNC)
    ids = store.ids()
    minimum = params.get("minAccessRole") or "freeBusyReader"
    if minimum not in _ROLE_RANK:
        raise invalid("minAccessRole")
    if _ROLE_RANK[minimum] > _ROLE_RANK["reader"]:  # only the token user's own calendar is more than readable
        ids = [i for i in ids if i == settings.google_user]
    size = page_size(settings, "calendar.calendarList.list", params, "maxResults")
    start = page_offset(params, "calendarList", store.epoch, "Invalid page token value")
    page = ids[start : start + size]
    items = [dump(_list_entry(store.snapshot(i), settings)) for i in page]
    tail: dict[str, Any] = {}
    if start + size < len(ids):
        tail["nextPageToken"] = encode_token({"t": "calendarList", "e": store.epoch, "o": start + size})
    head = {"kind": "calendar#calendarList", "etag": f'"{len(ids)}"'}
    return respond(head, "items", items, tail, params.get("fields"))


def _list_entry(cal: CalendarSnapshot, settings: ServerSettings) -> dict[str, Any]:
    """Give the calendarList entry of a calendar."""
    owner = cal.id == settings.google_user
    entry: dict[str, Any] = {
        "kind": "calendar#calendarListEntry",
        "etag": f'"{cal.version}"',
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "accessRole": "owner" if owner else "reader",
        "defaultReminders": [],
    }
    if owner:
        entry["primary"] = True
    return entry


def events_list(store: CalendarStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of a calendar's events: a full listing, or the changes since a syncToken."""
    cal = store.snapshot(_resolve(settings, params.get("calendarId", "")))
    single = flag(params, "singleEvents")
    order_by = params.get("orderBy") or ""
    if order_by not in ("", "startTime", "updated"):
        raise invalid("orderBy")
    if order_by == "startTime" and not single:
        raise GoogleError(
            400, "badRequest", "The requested ordering is not available for the particular query."
        )
    page_token = _page_token(params, cal, store.epoch)
    if params.get("syncToken"):
        rows, window = _changes(cal, params, store.epoch)
    else:
        window = (_opt_time(params, "timeMin"), _opt_time(params, "timeMax"))
        rows = _listing(cal, params, window, single)
    keyed = sorted(((_sort_key(e, order_by), e) for e in rows), key=lambda ke: ke[0])
    after = tuple(page_token["k"]) if page_token else None
    if after is not None:
        keyed = [ke for ke in keyed if ke[0] > after]
    size = page_size(settings, "calendar.events.list", params, "maxResults")
    page, more = keyed[:size], len(keyed) > size
    base_version = int(page_token["v"]) if page_token else cal.version
    tail: dict[str, Any] = {}
    if more:
        tail["nextPageToken"] = encode_token(
            {"t": "events", "e": store.epoch, "c": cal.id, "v": base_version, "k": list(page[-1][0])}
        )
    else:
        tail["nextSyncToken"] = encode_token(
            {"t": "sync", "e": store.epoch, "c": cal.id, "v": base_version, "w": list(window)}
        )
    return respond(
        _events_head(cal, settings), "items", [e.text for _, e in page], tail, params.get("fields")
    )


def _events_head(cal: CalendarSnapshot, settings: ServerSettings) -> dict[str, Any]:
    """Give the calendar-level fields of an events.list answer."""
    updated = max((e.updated for e in cal.events if e.updated), default="") or rfc3339(time.time())
    return {
        "kind": "calendar#events",
        "etag": f'"{cal.version}"',
        "summary": cal.summary,
        "description": "",
        "updated": updated,
        "timeZone": cal.time_zone,
        "accessRole": "owner" if cal.id == settings.google_user else "reader",
        "defaultReminders": [],
    }


def _page_token(params: Mapping[str, str], cal: CalendarSnapshot, epoch: str) -> dict[str, Any] | None:
    """Give the payload of an events.list page token, None without one; 400 for a foreign token."""
    raw = params.get("pageToken")
    if not raw:
        return None
    token = decode_token(raw)
    if (
        not token
        or token.get("t") != "events"
        or token.get("e") != epoch
        or token.get("c") != cal.id
        or not isinstance(token.get("k"), list)
    ):
        raise invalid("pageToken", "Invalid page token value")
    return token


def _opt_time(params: Mapping[str, str], name: str) -> float | None:
    """Give an optional RFC 3339 time parameter as epoch seconds."""
    raw = params.get(name)
    return parse_time(name, raw) if raw else None


def _changes(
    cal: CalendarSnapshot, params: Mapping[str, str], epoch: str
) -> tuple[list[_Event], tuple[float | None, float | None]]:
    """Give the rows changed since the request's syncToken and the time window the token remembers."""
    for name in _NOT_WITH_SYNC:
        if params.get(name):
            raise invalid(name, f"The syncToken parameter cannot be combined with {name}")
    token = decode_token(params["syncToken"])
    if (
        not token
        or token.get("t") != "sync"
        or token.get("e") != epoch
        or token.get("c") != cal.id
        or not isinstance(token.get("v"), int)
        or token["v"] > cal.version
    ):
        raise GoogleError(410, "fullSyncRequired", _FULL_SYNC)
    lo, hi = (token.get("w") or [None, None])[:2]
    window = (lo, hi)
    # Deletions and cancellations are always reported; other changes only inside the original window.
    rows = [
        e
        for e in cal.events
        if e.seq > token["v"] and (e.deleted or e.status == "cancelled" or _in_window(e, window))
    ]
    return rows, window


def _listing(
    cal: CalendarSnapshot, params: Mapping[str, str], window: tuple[float | None, float | None], single: bool
) -> list[_Event]:
    """Give the rows of a full listing after Google's filters."""
    show_deleted = flag(params, "showDeleted")
    updated_min = _opt_time(params, "updatedMin")
    ical_uid = params.get("iCalUID")
    types = {t for t in (params.get("eventTypes") or "").split(",") if t}
    terms = (params.get("q") or "").lower().split()
    out = []
    for e in cal.events:
        if e.deleted or not _in_window(e, window):
            continue
        # Google keeps cancelled instances when showDeleted and singleEvents are both false, else only on ask.
        if e.status == "cancelled" and not (show_deleted or (not single and e.recurring)):
            continue
        if ical_uid and e.ical_uid != ical_uid:
            continue
        if types and e.event_type not in types:
            continue
        if updated_min is not None and (not e.updated or parse_time("updated", e.updated) < updated_min):
            continue
        if terms and not _matches(e, terms):
            continue
        out.append(e)
    return out


def _in_window(e: _Event, window: tuple[float | None, float | None]) -> bool:
    """Tell whether an event overlaps the window: end after timeMin, start before timeMax (both exclusive)."""
    lo, hi = window
    if lo is None and hi is None:
        return True
    if e.start is None or e.end is None:
        return False
    return (lo is None or e.end > lo) and (hi is None or e.start < hi)


def _matches(e: _Event, terms: list[str]) -> bool:
    """Tell whether every search term occurs in the fields Google's `q` searches."""
    obj = json.loads(e.text)
    people = [obj.get("organizer") or {}, *(obj.get("attendees") or [])]
    texts = [obj.get("summary"), obj.get("description"), obj.get("location")]
    texts += [p.get(k) for p in people if isinstance(p, dict) for k in ("email", "displayName")]
    haystack = " ".join(str(t) for t in texts if t).lower()
    return all(t in haystack for t in terms)


def _sort_key(e: _Event, order_by: str) -> tuple[Any, ...]:
    """Give an event's position key for the requested ordering (also what page tokens carry)."""
    if order_by == "startTime":
        return (e.start if e.start is not None else -1e18, e.id)  # a finite stand-in keeps tokens valid JSON
    if order_by == "updated":
        return (e.updated, e.id)
    return e.order
