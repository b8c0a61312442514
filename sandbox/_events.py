"""Calendar building blocks shared by planning and rendering: conferences, attendees, events, slots."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from . import _text as text
from ._common import day_bounds, local_epoch
from ._org import DriveFile, Org

# A meeting's UTC start stays in this part of its UTC day, so evidence before and after it (and a
# DST shift of a recurring slot) never spills into the neighbouring day's Slack files.
EARLIEST_START = 2 * 3600
LATEST_START = 20 * 3600 + 1800
LATEST_END = 22 * 3600

MEETING_KINDS = ("recurring", "one_off")


@dataclass(frozen=True)
class Conference:
    """How people join: a video link (and where the link sits in the event) or a room."""

    kind: str  # meet | zoom | teams | webex | room
    uri: str | None
    placement: str  # hangout | conference_data | location | description | room
    room: str | None = None  # resource room for in-person meetings

    @property
    def room_email(self) -> str | None:
        """Give the resource calendar address of the room, if any."""
        if not self.room:
            return None
        return f"c_{abs(hash_room(self.room)):016x}@resource.calendar.google.com"


def hash_room(name: str) -> int:
    """Give a stable number for a room name (Python's hash() varies between processes)."""
    value = 1469598103934665603
    for ch in name.encode():
        value = ((value ^ ch) * 1099511628211) % (1 << 64)
    return value


@dataclass(frozen=True)
class Attendee:
    """One attendee entry: who, their answer, and whether they are optional or a room."""

    email: str
    name: str | None
    response: str  # accepted | tentative | needsAction | declined
    optional: bool = False
    resource: bool = False
    person: int | None = None  # internal person index; None for externals and rooms


@dataclass
class Event:
    """One calendar event (or recurring instance) of a day, before it is rendered per calendar."""

    id: str
    kind: str  # recurring | one_off | focus_time | out_of_office | solo | all_day
    status: str  # confirmed | cancelled
    title: str
    start: int
    end: int
    tz: str
    organizer: str
    organizer_name: str | None
    calendars: list[int]  # internal people whose calendar file lists the event
    created_ms: int
    updated_ms: int
    etag: str
    attendees: list[Attendee] = field(default_factory=list)
    conference: Conference | None = None
    description: str | None = None
    attachments: list[DriveFile] = field(default_factory=list)
    recurring_id: str | None = None
    original_start: int | None = None
    stub: bool = False  # a cancelled recurring instance: Google keeps only id, status and times
    all_day: date | None = None
    event_type: str = "default"
    transparency: str | None = None
    sequence: int = 0
    channel: str | None = None  # where its Slack evidence goes, if anywhere

    @property
    def is_meeting(self) -> bool:
        """Give whether the event is a meeting (held or cancelled) rather than a personal block."""
        return self.kind in MEETING_KINDS

    @property
    def ical_uid(self) -> str:
        """Give the iCalUID: the series id for instances, the event id otherwise."""
        return f"{self.recurring_id or self.id}@google.com"

    def participants(self) -> list[str]:
        """Give the emails of the people who took part: everyone invited who did not decline."""
        return [a.email for a in self.attendees if not a.resource and a.response != "declined"]


def internal_attendee(org: Org, person: int, response: str, optional: bool = False) -> Attendee:
    """Give the attendee entry of an employee (with a displayName when their calendar shows one)."""
    p = org.people[person]
    return Attendee(p.email, p.full_name if p.named_in_calendar else None, response, optional, False, person)


def etag_for(rng: random.Random, updated_ms: int) -> str:
    """Give a Google-style etag: a quoted number that grows with `updated`."""
    return f'"{updated_ms * 2000 + rng.randrange(2000)}"'


@lru_cache(maxsize=4096)
def meeting_slots(day: date, tz: str) -> tuple[tuple[int, int], ...]:
    """Give the local (hour, minute) slots of `day` in `tz` whose UTC start keeps evidence in the day."""
    lo, _ = day_bounds(day)
    out = []
    for hour in range(9, 17):
        for minute in (0, 30):
            start = local_epoch(day, hour, minute, tz) - lo
            if EARLIEST_START <= start <= LATEST_START:
                out.append((hour, minute))
    return tuple(out)


def pick_conference(rng: random.Random, kind: str) -> Conference:
    """Give a conference of `kind` with a fresh link placed where that tool usually puts it."""
    if kind == "room":
        floor = rng.choice(("2nd", "3rd", "4th", "5th"))
        return Conference("room", None, "room", f"{rng.choice(text.ROOMS)} ({floor} floor)")
    uri = text.conference_url(rng, kind)
    if kind == "meet":
        return Conference(kind, uri, "hangout")
    if kind == "webex":
        return Conference(kind, uri, "location")
    if kind == "zoom":  # the add-on, a pasted link, or the invitation text pasted in the description
        return Conference(kind, uri, rng.choice(("conference_data", "location", "description")))
    return Conference(kind, uri, rng.choice(("conference_data", "description")))


CONFERENCE_KINDS = ("meet", "zoom", "teams", "webex", "room")
CONFERENCE_WEIGHTS = (0.55, 0.22, 0.1, 0.05, 0.08)
DURATIONS = (15, 25, 30, 45, 50, 60, 90)
DURATION_WEIGHTS = (0.08, 0.1, 0.35, 0.15, 0.1, 0.17, 0.05)
RESPONSES = ("accepted", "tentative", "needsAction", "declined")
RESPONSE_WEIGHTS = (0.72, 0.08, 0.12, 0.08)
