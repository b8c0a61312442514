"""Rendering events as events.list items per calendar, and writing the calendar files as days go by.

An event is rendered once per internal attendee's calendar: times carry that calendar's UTC offset
(as events.list does by default), `self` marks the owner, and `htmlLink` encodes the owner's email.
Rows are buffered per calendar and spilled to part files, so a long run never holds every event.
"""

from __future__ import annotations

from pathlib import Path

from ._common import dumps, html_link, rfc3339, utc_ms
from ._events import Attendee, Conference, Event
from ._org import DriveFile, Org, Person

_MEET_ICON = "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"
_SOLUTIONS = {
    "meet": ({"type": "hangoutsMeet"}, "Google Meet", _MEET_ICON),
    "zoom": ({"type": "addOn"}, "Zoom Meeting", "https://lh3.googleusercontent.com/zoom-icon"),
    "teams": ({"type": "addOn"}, "Microsoft Teams Meeting", "https://lh3.googleusercontent.com/teams-icon"),
}
_ICON = {
    "application/vnd.google-apps.document": "https://drive-thirdparty.googleusercontent.com/16/type/application/vnd.google-apps.document",
    "application/vnd.google-apps.spreadsheet": "https://drive-thirdparty.googleusercontent.com/16/type/application/vnd.google-apps.spreadsheet",
    "application/vnd.google-apps.presentation": "https://drive-thirdparty.googleusercontent.com/16/type/application/vnd.google-apps.presentation",
    "application/pdf": "https://drive-thirdparty.googleusercontent.com/16/type/application/pdf",
}
SPILL_CHARS = 48_000_000  # buffered row text before rows go to part files (keeps L runs well under 1 GB)


def render_row(event: Event, owner: Person) -> str:
    """Give the events.list item of `event` as read from `owner`'s calendar, as compact JSON."""
    if event.stub:
        return dumps(_stub(event, owner))
    item: dict[str, object] = {
        "kind": "calendar#event",
        "etag": event.etag,
        "id": event.id,
        "status": event.status,
        "htmlLink": html_link(event.id, owner.email),
        "created": utc_ms(event.created_ms),
        "updated": utc_ms(event.updated_ms),
        "summary": event.title,
    }
    _texts(item, event)
    item["creator"] = _party(event.organizer, event.organizer_name, owner)
    item["organizer"] = _party(event.organizer, event.organizer_name, owner)
    item["start"], item["end"] = _times(event, owner)
    if event.recurring_id:
        item["recurringEventId"] = event.recurring_id
        item["originalStartTime"] = _original_start(event, owner)
    if event.transparency:
        item["transparency"] = event.transparency
    item["iCalUID"] = event.ical_uid
    item["sequence"] = event.sequence
    if event.attendees:
        item["attendees"] = [_attendee(a, event.organizer, owner.email) for a in event.attendees]
    _conference(item, event.conference)
    if event.attachments:
        item["attachments"] = [_attachment(f) for f in event.attachments]
    item["reminders"] = {"useDefault": True}
    item["eventType"] = event.event_type
    _type_properties(item, event)
    return dumps(item)


def _stub(event: Event, owner: Person) -> dict[str, object]:
    """Give what Google keeps of a cancelled recurring instance."""
    return {
        "kind": "calendar#event",
        "etag": event.etag,
        "id": event.id,
        "status": "cancelled",
        "recurringEventId": event.recurring_id,
        "originalStartTime": _original_start(event, owner),
    }


def _original_start(event: Event, owner: Person) -> dict[str, str]:
    """Give originalStartTime in the owner's offset with the event's zone."""
    return {"dateTime": rfc3339(event.original_start or event.start, owner.tz), "timeZone": event.tz}


def _attachment(f: DriveFile) -> dict[str, str]:
    """Give an attachments[] entry for a Drive file."""
    return {
        "fileUrl": f"https://drive.google.com/open?id={f.id}",
        "title": f.name,
        "mimeType": f.mime,
        "iconLink": _ICON[f.mime],
        "fileId": f.id,
    }


def _texts(item: dict[str, object], event: Event) -> None:
    """Add the description and location, including where Zoom and Teams put their join links."""
    conf = event.conference
    description, location = event.description, None
    if conf and conf.placement == "description" and conf.uri:
        block = _invitation_text(conf.kind, conf.uri)
        description = f"{description}\n\n{block}" if description else block
        location = "Microsoft Teams Meeting" if conf.kind == "teams" else location
    elif conf and conf.placement == "location" and conf.uri:
        location = conf.uri
    elif conf and conf.room:
        location = conf.room
    if description:
        item["description"] = description
    if location:
        item["location"] = location


def _invitation_text(kind: str, uri: str) -> str:
    """Give the join block Teams or Zoom paste into an event description."""
    if kind == "teams":
        return f"Microsoft Teams meeting\nJoin on your computer, mobile app or room device\n{uri}"
    number = uri.split("/j/")[-1].split("?")[0]
    return f"Join Zoom Meeting\n{uri}\n\nMeeting ID: {number[:3]} {number[3:7]} {number[7:]}"


def _party(email: str, name: str | None, owner: Person) -> dict[str, object]:
    """Give a creator/organizer object, marked `self` on the organizer's own calendar."""
    out: dict[str, object] = {"email": email}
    if name:
        out["displayName"] = name
    if email == owner.email:
        out["self"] = True
    return out


def _times(event: Event, owner: Person) -> tuple[dict[str, str], dict[str, str]]:
    """Give start and end: dates for all-day events, else offsets of the owner's zone plus the event zone."""
    if event.all_day:
        end = event.all_day.fromordinal(event.all_day.toordinal() + 1)
        return {"date": event.all_day.isoformat()}, {"date": end.isoformat()}
    return (
        {"dateTime": rfc3339(event.start, owner.tz), "timeZone": event.tz},
        {"dateTime": rfc3339(event.end, owner.tz), "timeZone": event.tz},
    )


def _attendee(a: Attendee, organizer: str, owner: str) -> dict[str, object]:
    """Give one attendees[] entry in Google's key order."""
    out: dict[str, object] = {"email": a.email}
    if a.name:
        out["displayName"] = a.name
    if a.email == organizer:
        out["organizer"] = True
    if a.email == owner:
        out["self"] = True
    if a.resource:
        out["resource"] = True
    if a.optional:
        out["optional"] = True
    out["responseStatus"] = a.response
    return out


def _conference(item: dict[str, object], conf: Conference | None) -> None:
    """Add hangoutLink and/or conferenceData for Meet links and conferencing add-ons."""
    if conf is None or conf.uri is None:
        return
    if conf.kind == "meet":
        code = conf.uri.rsplit("/", 1)[1]
        item["hangoutLink"] = conf.uri
        key, name, icon = _SOLUTIONS["meet"]
        item["conferenceData"] = {
            "entryPoints": [
                {"entryPointType": "video", "uri": conf.uri, "label": conf.uri.removeprefix("https://")},
                {
                    "entryPointType": "more",
                    "uri": f"https://tel.meet/{code}?pin=1234567890123",
                    "pin": "1234567890123",
                },
            ],
            "conferenceSolution": {"key": key, "name": name, "iconUri": icon},
            "conferenceId": code,
        }
    elif conf.placement == "conference_data" and conf.kind in _SOLUTIONS:
        key, name, icon = _SOLUTIONS[conf.kind]
        item["conferenceData"] = {
            "entryPoints": [{"entryPointType": "video", "uri": conf.uri, "label": conf.uri.split("?")[0]}],
            "conferenceSolution": {"key": key, "name": name, "iconUri": icon},
            "conferenceId": conf.uri.split("/")[-1].split("?")[0][-11:],
        }


def _type_properties(item: dict[str, object], event: Event) -> None:
    """Add the properties Google attaches to focus-time and out-of-office events."""
    if event.event_type == "focusTime":
        item["focusTimeProperties"] = {
            "autoDeclineMode": "declineOnlyNewConflictingInvitations",
            "chatStatus": "doNotDisturb",
        }
    elif event.event_type == "outOfOffice":
        item["outOfOfficeProperties"] = {
            "autoDeclineMode": "declineAllConflictingInvitations",
            "declineMessage": "I'm out of office and will reply when I'm back.",
        }


class CalendarWriter:
    """Collects rendered rows per calendar across days and writes one events.list file per person."""

    def __init__(self, directory: Path, org: Org) -> None:
        self.directory = directory
        self.org = org
        self.parts = directory / ".parts"
        self.buffer: dict[int, list[str]] = {}
        self.buffered = 0
        self.spilled: set[int] = set()
        self.rows = 0

    def add(self, events: list[Event]) -> None:
        """Render `events` into the calendars of their internal attendees."""
        for event in events:
            for person in event.calendars:
                row = render_row(event, self.org.people[person])
                self.buffer.setdefault(person, []).append(row)
                self.buffered += len(row)
                self.rows += 1
        if self.buffered > SPILL_CHARS:
            self._spill()

    def _spill(self) -> None:
        """Append the buffered rows to per-calendar part files and empty the buffer."""
        self.parts.mkdir(parents=True, exist_ok=True)
        for person, rows in self.buffer.items():
            with open(self.parts / f"{person}.jsonl", "a", encoding="utf-8") as f:
                f.write("\n".join(rows) + "\n")
            self.spilled.add(person)
        self.buffer.clear()
        self.buffered = 0

    def finish(self) -> int:
        """Write every calendar file (active people, even with no events) and give how many."""
        calendars = [p for p in self.org.people if not p.suspended]
        for p in calendars:
            rows = self._rows_of(p.index)
            head = dumps(
                {
                    "kind": "calendar#events",
                    "summary": p.email,
                    "timeZone": p.tz,
                    "accessRole": "owner",
                    "defaultReminders": [{"method": "popup", "minutes": 10}],
                }
            )
            with open(self.directory / f"{p.email}.json", "w", encoding="utf-8") as f:
                f.write(head[:-1] + ',"items":[' + ",\n".join(rows) + "]}\n")
        if self.parts.exists():
            for part in self.parts.iterdir():
                part.unlink()
            self.parts.rmdir()
        return len(calendars)

    def _rows_of(self, person: int) -> list[str]:
        """Give all rows of one calendar: spilled ones first, then the buffer."""
        rows: list[str] = []
        if person in self.spilled:
            rows = (self.parts / f"{person}.jsonl").read_text(encoding="utf-8").splitlines()
        return rows + self.buffer.get(person, [])
