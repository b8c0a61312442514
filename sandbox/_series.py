"""Recurring series (team syncs, standups, 1:1s, project and partner syncs) and their daily instances.

Series come from the org RNG; an instance of day d is decided by day d's RNG alone, and series are
only expanded on generated days, so a longer run keeps every earlier instance byte for byte.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from ._common import compact_utc, event_id, local_epoch, rng_for
from ._events import Attendee, Conference, Event, etag_for, internal_attendee, meeting_slots, pick_conference
from ._org import EXECUTIVE, Org, Team


@dataclass(frozen=True)
class Series:
    """A weekly (or bi-weekly) recurring meeting as its organizer set it up."""

    base_id: str
    kind: str  # team_sync | standup | one_on_one | project_sync | partner_sync
    title: str
    organizer: int
    attendees: tuple[Attendee, ...]  # organizer first
    weekdays: tuple[int, ...]
    interval: int  # weeks between occurrences
    anchor: date  # Monday of the week the series began
    hour: int
    minute: int
    minutes: int
    tz: str
    channel: str | None
    conference: Conference
    description: str | None
    created_ms: int
    updated_ms: int
    etag: str

    def occurs_on(self, day: date) -> bool:
        """Give whether the series has an occurrence on local date `day`."""
        if day < self.anchor or day.weekday() not in self.weekdays:
            return False
        return ((day - self.anchor).days // 7) % self.interval == 0


def build_series(org: Org, seed: int) -> tuple[Series, ...]:
    """Give every recurring series of the org, in a fixed order."""
    rng = rng_for(seed, "series", len(org.people))
    channel_of_dept = {c.department: c.id for c in org.channels if c.kind == "team"}
    out: list[Series] = []
    for team in org.teams:
        out += _team_series(rng, org, team, channel_of_dept.get(team.department))
    for manager, report in _one_on_one_pairs(org):
        out.append(_one_on_one(rng, org, manager, report))
    for channel in org.channels:
        if channel.kind == "project" and len(channel.people) >= 3:
            out.append(_project_sync(rng, org, channel.id))
    partner = next(c for c in org.channels if c.kind == "external")
    out.append(_partner_sync(rng, org, partner.id))
    return tuple(out)


@dataclass(frozen=True)
class _Spec:
    """What a series' organizer decides: who, when, how long, where to talk about it."""

    kind: str
    title: str
    organizer: int
    people: tuple[int, ...]
    weekdays: tuple[int, ...]
    minutes: int
    channel: str | None
    externals: tuple[int, ...] = ()
    interval: int = 1
    conference: str | None = None


def _new(rng: random.Random, org: Org, spec: _Spec) -> Series:
    """Give a series with a slot in the organizer's zone, a conference and series-level answers."""
    owner = org.people[spec.organizer]
    hour, minute = rng.choice(meeting_slots(org.start, owner.tz))
    anchor, created_ms, updated_ms = _history(rng, org, owner.tz)
    conf, attendees = _invitation(rng, org, spec)
    return Series(
        base_id=event_id(rng),
        kind=spec.kind,
        title=spec.title,
        organizer=spec.organizer,
        attendees=attendees,
        weekdays=spec.weekdays,
        interval=spec.interval,
        anchor=anchor,
        hour=hour,
        minute=minute,
        minutes=spec.minutes,
        tz=owner.tz,
        channel=spec.channel,
        conference=conf,
        description=_series_description(rng, spec.kind),
        created_ms=created_ms,
        updated_ms=updated_ms,
        etag=etag_for(rng, updated_ms),
    )


def _history(rng: random.Random, org: Org, tz: str) -> tuple[date, int, int]:
    """Give the Monday the series began, when it was created and when it was last edited (before day one)."""
    anchor = org.start - timedelta(days=org.start.weekday() + 7 * rng.randint(0, 30))
    created_ms = (local_epoch(anchor, 9, 0, tz) - rng.randint(86400, 20 * 86400)) * 1000
    updated_ms = created_ms + rng.randint(0, 40 * 86400) * 1000
    return anchor, created_ms, min(updated_ms, (local_epoch(org.start, 0, 0, tz) - 3600) * 1000)


def _invitation(rng: random.Random, org: Org, spec: _Spec) -> tuple[Conference, tuple[Attendee, ...]]:
    """Give the series' conference and its attendees (organizer first, a room resource if in person)."""
    kind = spec.conference or rng.choices(("meet", "zoom", "teams", "room"), (0.62, 0.22, 0.08, 0.08))[0]
    attendees = [internal_attendee(org, spec.organizer, "accepted")]
    attendees += [internal_attendee(org, p, _answer(rng)) for p in spec.people if p != spec.organizer]
    attendees += [_external(org, e, _answer(rng)) for e in spec.externals]
    conf = pick_conference(rng, kind)
    if conf.room:
        attendees.append(Attendee(conf.room_email or "", conf.room, "accepted", resource=True))
    return conf, tuple(attendees)


def _external(org: Org, index: int, response: str) -> Attendee:
    """Give the attendee entry of a partner or client contact."""
    e = org.externals[index]
    return Attendee(e.email, e.name, response)


def _answer(rng: random.Random) -> str:
    """Give a series-level RSVP: mostly accepted."""
    return rng.choices(("accepted", "tentative", "needsAction"), (0.85, 0.05, 0.1))[0]


def _team_series(rng: random.Random, org: Org, team: Team, channel: str | None) -> list[Series]:
    """Give a team's weekly sync and, for engineering teams, a daily standup."""
    people = tuple(p for p in (team.manager, *team.members)[:14] if not org.people[p].suspended)
    if len(people) < 3:
        return []
    name, lead = team.name, team.manager
    if team.department == EXECUTIVE:
        title = rng.choice(("Leadership staff meeting", "Exec weekly", "Leadership sync"))
        return [_new(rng, org, _Spec("team_sync", title, lead, people, (0,), 60, None))]
    title = rng.choice((f"{name} sync", f"{name} weekly", f"Weekly {name} sync", f"{name} team meeting"))
    weekday, minutes = rng.randint(0, 3), rng.choice((30, 45, 60))
    out = [_new(rng, org, _Spec("team_sync", title, lead, people, (weekday,), minutes, channel))]
    if team.department == "Engineering":
        title = rng.choice((f"{name} standup", f"Daily standup - {name}", f"{name} daily"))
        spec = _Spec("standup", title, lead, people, (0, 1, 2, 3, 4), 15, channel, conference="meet")
        out.append(_new(rng, org, spec))
    return out


def _one_on_one_pairs(org: Org) -> list[tuple[int, int]]:
    """Give (manager, report) pairs of active people, which meet weekly or every other week."""
    return [
        (p.manager, p.index)
        for p in org.people
        if p.manager is not None and not p.suspended and not org.people[p.manager].suspended
    ]


def _one_on_one(rng: random.Random, org: Org, manager: int, report: int) -> Series:
    """Give a 1:1 between a manager and a report (no public channel evidence)."""
    a, b = org.people[manager].given, org.people[report].given
    title = rng.choice((f"{a} / {b} 1:1", f"{b} <> {a}", f"1:1 {a} & {b}", f"{b}:{a} weekly"))
    weekday, interval = rng.randint(0, 4), rng.choice((1, 1, 2))
    return _new(
        rng, org, _Spec("one_on_one", title, manager, (report,), (weekday,), 30, None, interval=interval)
    )


def _project_sync(rng: random.Random, org: Org, channel_id: str) -> Series:
    """Give the weekly sync of a project channel's members."""
    channel = org.channel_of(channel_id)
    word = channel.name.removeprefix("proj-").replace("-", " ").title()
    title = rng.choice((f"Project {word} sync", f"{word} weekly check-in", f"{word} status"))
    people = channel.people[:10]
    organizer, weekday, minutes = rng.choice(people), rng.randint(0, 3), rng.choice((30, 45))
    return _new(rng, org, _Spec("project_sync", title, organizer, people, (weekday,), minutes, channel_id))


def _partner_sync(rng: random.Random, org: Org, channel_id: str) -> Series:
    """Give the weekly Acme <> Partnerco sync with the partner's people as external attendees."""
    channel = org.channel_of(channel_id)
    partner = tuple(i for i, e in enumerate(org.externals) if e.company == "Partnerco")[:3]
    title = rng.choice(("Acme <> Partnerco weekly", "Partnerco integration sync", "Partner sync: Partnerco"))
    spec = _Spec(
        "partner_sync",
        title,
        channel.people[0],
        channel.people,
        (3,),
        30,
        channel_id,
        partner,
        conference="zoom",
    )
    return _new(rng, org, spec)


def _series_description(rng: random.Random, kind: str) -> str | None:
    """Give a standing description for a series, or none."""
    if rng.random() < 0.5:
        return None
    return {
        "team_sync": "Weekly team sync. Add topics to the running notes doc.",
        "standup": "Yesterday / today / blockers. Keep it short.",
        "one_on_one": "Standing 1:1.",
        "project_sync": "Status, risks, decisions.",
        "partner_sync": "Integration status with Partnerco.",
    }[kind]


def instance(series: Series, org: Org, day: date) -> Event:
    """Give the series' occurrence on `day` as Google lists it with singleEvents=true."""
    start = local_epoch(day, series.hour, series.minute, series.tz)
    organizer = org.people[series.organizer]
    return Event(
        id=f"{series.base_id}_{compact_utc(start)}",
        kind="recurring",
        status="confirmed",
        title=series.title,
        start=start,
        end=start + series.minutes * 60,
        tz=series.tz,
        organizer=organizer.email,
        organizer_name=organizer.full_name if organizer.named_in_calendar else None,
        calendars=[a.person for a in series.attendees if a.person is not None],
        created_ms=series.created_ms,
        updated_ms=series.updated_ms,
        etag=series.etag,
        attendees=list(series.attendees),
        conference=series.conference,
        description=series.description,
        recurring_id=series.base_id,
        original_start=start,
        channel=series.channel,
    )


def decline_absent(event: Event, absent: set[int]) -> None:
    """Mark the attendees who are out of office that day as having declined."""
    event.attendees = [
        replace(a, response="declined") if a.person in absent and a.person is not None else a
        for a in event.attendees
    ]


def move(rng: random.Random, event: Event, shift_minutes: int, changed_ms: int) -> None:
    """Move an instance by `shift_minutes`; its id and originalStartTime keep the planned slot."""
    event.start += shift_minutes * 60
    event.end += shift_minutes * 60
    event.updated_ms = changed_ms
    event.etag = etag_for(rng, changed_ms)
    event.sequence = 1


def cancel(rng: random.Random, event: Event, changed_ms: int) -> None:
    """Cancel an instance: Google then lists only a stub with id, status and originalStartTime."""
    event.status = "cancelled"
    event.stub = True
    event.updated_ms = changed_ms
    event.etag = etag_for(rng, changed_ms)
