"""A day's calendar: recurring instances, one-off meetings and the blocks that are not meetings.

Everything of day d comes from an RNG seeded with (seed, "calendar", d). A few features are
guaranteed on given weekdays (a cancelled and a moved instance, an out-of-office day, an all-day
event...) so that even a 12-person, 5-day workspace shows every kind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from . import _text as text
from ._common import day_bounds, drive_id, event_id, local_epoch, next_date, rng_for, stoch_round
from ._events import (
    CONFERENCE_KINDS,
    CONFERENCE_WEIGHTS,
    DURATION_WEIGHTS,
    DURATIONS,
    LATEST_END,
    RESPONSE_WEIGHTS,
    RESPONSES,
    Attendee,
    Event,
    etag_for,
    internal_attendee,
    meeting_slots,
    pick_conference,
)
from ._org import DOC, DriveFile, Org
from ._series import Series, cancel, decline_absent, instance, move

MONDAY, TUESDAY, WEDNESDAY, THURSDAY = 0, 1, 2, 3


@dataclass
class DayCalendar:
    """The events of one day, the Drive files created for them, and who is out of office."""

    events: list[Event] = field(default_factory=list)
    files: list[DriveFile] = field(default_factory=list)
    absent: set[int] = field(default_factory=set)


def plan_day(org: Org, series: tuple[Series, ...], seed: int, day: date) -> DayCalendar:
    """Give the calendar of `day`: empty on weekends, otherwise meetings and personal blocks."""
    plan = DayCalendar()
    if day.weekday() >= 5:
        return plan
    rng = rng_for(seed, "calendar", day.isoformat())
    staff = [p.index for p in org.people if not p.suspended]
    plan.events += _out_of_office(rng, org, day, staff, plan.absent)
    present = [p for p in staff if p not in plan.absent]
    plan.events += _recurring(rng, org, series, day, plan.absent)
    plan.events += _one_offs(rng, org, day, present, plan)
    plan.events += _focus_time(rng, org, day, present)
    plan.events += _solo(rng, org, day, present)
    plan.events += _all_day(rng, org, day, present)
    plan.events.sort(key=lambda e: (e.start, e.id))
    return plan


def _recurring(
    rng: random.Random, org: Org, series: tuple[Series, ...], day: date, absent: set[int]
) -> list[Event]:
    """Give the day's instances; some are cancelled (Wednesdays at least one) or moved (Tuesdays)."""
    events = [instance(s, org, day) for s in series if s.occurs_on(day)]
    for e in events:
        decline_absent(e, absent)
    cancelled = _pick(rng, events, org.profile.cancel_rate, force=day.weekday() == WEDNESDAY)
    for e in cancelled:
        cancel(rng, e, _changed_ms(rng, day, e.start))
    remaining = [e for e in events if e.status == "confirmed"]
    for e in _pick(rng, remaining, org.profile.move_rate, force=day.weekday() == TUESDAY):
        shift = _shift(rng, day, e)
        if shift:
            move(rng, e, shift, _changed_ms(rng, day, e.start))
    return events


def _pick(rng: random.Random, events: list[Event], rate: float, force: bool) -> list[Event]:
    """Give a random share of `events`; when forced, include one that has a Slack channel."""
    picked = rng.sample(events, min(len(events), stoch_round(rng, len(events) * rate)))
    if force and not any(e.channel for e in picked):
        chosen = {id(e) for e in picked}
        candidates = [e for e in events if e.channel and id(e) not in chosen]
        if candidates:
            picked.append(rng.choice(candidates))
    return picked


def _shift(rng: random.Random, day: date, event: Event) -> int:
    """Give minutes to move an instance by, staying inside the day's evidence-safe hours (0: none)."""
    lo, _ = day_bounds(day)
    options = [
        m
        for m in (60, 30, -30, 90, 120, -60)
        if lo + 3600 <= event.start + m * 60 and event.end + m * 60 <= lo + LATEST_END + 1800
    ]
    return rng.choice(options) if options else 0


def _changed_ms(rng: random.Random, day: date, start: int) -> int:
    """Give when a change was made: 30 min to 3 h before the planned start, within the same day."""
    lo, _ = day_bounds(day)
    return max(lo + 900, start - rng.randint(1800, 3 * 3600)) * 1000 + rng.randrange(1000)


@dataclass(frozen=True)
class _Traits:
    """What sets a one-off meeting apart: its tool, outside guests, cancellation, attachments."""

    conference: str
    external: bool
    cancelled: bool
    attach: bool


@dataclass(frozen=True)
class _Host:
    """Who sent the invite: an employee or, for some customer calls, the customer."""

    email: str
    name: str | None
    tz: str
    external: bool


def _one_offs(rng: random.Random, org: Org, day: date, present: list[int], plan: DayCalendar) -> list[Event]:
    """Give the day's one-off meetings with a guaranteed mix of tools, externals and attachments."""
    n = max(4, stoch_round(rng, len(present) * org.profile.one_offs_per_person))
    kinds = ["meet", "zoom", "teams"] + rng.choices(CONFERENCE_KINDS, CONFERENCE_WEIGHTS, k=n - 3)
    rng.shuffle(kinds)
    flags = [(rng.random() < 0.12, rng.random() < 0.04, rng.random() < 0.15) for _ in range(n)]
    ext, cancelled, attach = (list(col) for col in zip(*flags, strict=True))
    ext[rng.randrange(n)] = True
    attach[rng.randrange(n)] = True
    if day.weekday() == THURSDAY:
        cancelled[rng.randrange(n)] = True
    traits = [_Traits(kinds[i], ext[i], cancelled[i], attach[i]) for i in range(n)]
    return [_one_off(rng, org, day, present, plan, t) for t in traits]


def _one_off(
    rng: random.Random, org: Org, day: date, present: list[int], plan: DayCalendar, traits: _Traits
) -> Event:
    """Give one scheduled one-off meeting with 2-8 attendees."""
    organizer = rng.choice(present)
    people = _invitees(rng, org, organizer, present)
    guests = _external_guests(rng, org) if traits.external else []
    host = _host(rng, org, organizer, guests)
    start, tz = _slot(rng, day, host.tz, org.people[organizer].tz)
    minutes = rng.choices(DURATIONS, DURATION_WEIGHTS)[0]
    title = _one_off_title(rng, org, organizer, guests)
    conference = pick_conference(rng, traits.conference)
    attendees = _attendee_list(rng, org, organizer, people, guests, host.external, plan.absent)
    if conference.room:
        attendees.append(Attendee(conference.room_email or "", conference.room, "accepted", resource=True))
    created_ms = (start - rng.randint(3600, 14 * 86400)) * 1000
    updated_ms = created_ms + rng.randrange(max(1, start * 1000 - created_ms - 600_000))
    event = Event(
        id=event_id(rng),
        kind="one_off",
        status="cancelled" if traits.cancelled else "confirmed",
        title=title,
        start=start,
        end=start + minutes * 60,
        tz=tz,
        organizer=host.email,
        organizer_name=host.name,
        calendars=[a.person for a in attendees if a.person is not None],
        created_ms=created_ms,
        updated_ms=updated_ms,
        etag=etag_for(rng, updated_ms),
        attendees=attendees,
        conference=conference,
        description=_description(rng),
        channel=_evidence_channel(org, organizer, people),
        sequence=1 if traits.cancelled else 0,
    )
    if traits.attach:
        event.attachments = _attachments(rng, org, day, event, org.people[organizer].email, plan)
    return event


def _host(rng: random.Random, org: Org, organizer: int, guests: list[int]) -> _Host:
    """Give who sent the invite: the organizer, or for a fifth of customer calls the first guest."""
    if guests and rng.random() < 0.2:
        guest = org.externals[guests[0]]
        return _Host(guest.email, guest.name, guest.tz, True)
    owner = org.people[organizer]
    return _Host(owner.email, owner.full_name if owner.named_in_calendar else None, owner.tz, False)


def _slot(rng: random.Random, day: date, tz: str, fallback_tz: str) -> tuple[int, str]:
    """Give a start in `tz` working hours that keeps evidence in the day (else in `fallback_tz`)."""
    if not meeting_slots(day, tz):
        tz = fallback_tz
    hour, minute = rng.choice(meeting_slots(day, tz))
    return local_epoch(day, hour, minute, tz), tz


def _invitees(rng: random.Random, org: Org, organizer: int, present: list[int]) -> list[int]:
    """Give the other internal invitees: mostly the organizer's team or one of their projects."""
    owner = org.people[organizer]
    roll = rng.random()
    if roll < 0.5:
        pool = list(org.colleagues.get(owner.department, ()))
    elif roll < 0.85 and organizer in org.person_channels:
        channels = [org.channels[ci] for ci in org.person_channels[organizer][0]]
        projects = [c for c in channels if c.kind == "project"] or channels
        pool = list(rng.choice(projects).people)
    else:
        pool = present
    pool = [p for p in pool if p != organizer]
    k = rng.choices((1, 2, 3, 4, 5, 6, 7), (0.3, 0.25, 0.18, 0.12, 0.07, 0.05, 0.03))[0]
    return (
        rng.sample(pool, min(k, len(pool))) if pool else rng.sample([p for p in present if p != organizer], 1)
    )


def _external_guests(rng: random.Random, org: Org) -> list[int]:
    """Give one to three contacts of the same outside company."""
    company = rng.choice(text.COMPANIES)[1]
    pool = [i for i, e in enumerate(org.externals) if e.company == company]
    return rng.sample(pool, min(len(pool), rng.randint(1, 3)))


def _attendee_list(
    rng: random.Random,
    org: Org,
    organizer: int,
    people: list[int],
    guests: list[int],
    by_external: bool,
    absent: set[int],
) -> list[Attendee]:
    """Give the attendee entries, organizer first; people out of office have declined."""

    def answer(person: int | None) -> str:
        return "declined" if person in absent else rng.choices(RESPONSES, RESPONSE_WEIGHTS)[0]

    inside = [internal_attendee(org, organizer, "accepted")]
    inside += [internal_attendee(org, p, answer(p), optional=rng.random() < 0.08) for p in people]
    outside = [
        Attendee(org.externals[g].email, org.externals[g].name if rng.random() < 0.7 else None, answer(None))
        for g in guests
    ]
    if by_external:
        outside[0] = Attendee(outside[0].email, outside[0].name, "accepted")
        inside[0] = internal_attendee(org, organizer, answer(organizer))
        return outside[:1] + inside + outside[1:]
    return inside + outside


def _one_off_title(rng: random.Random, org: Org, organizer: int, guests: list[int]) -> str:
    """Give a plausible meeting title for the organizer's context."""
    if guests:
        company = org.externals[guests[0]].company
        product = rng.choice(text.CLIENT_PRODUCTS)
        return rng.choice(
            (
                f"{company} {product} call",
                f"Customer call: {company}",
                f"{company} <> Acme: {product}",
                f"{product.capitalize()} follow-up with {company}",
            )
        )
    topic = rng.choice(text.TOPICS).removeprefix("the ")
    topic_cap = topic[:1].upper() + topic[1:]
    dept = org.people[organizer].department
    return rng.choice(
        (
            f"{topic_cap} review",
            f"Sync on {topic}",
            f"{topic_cap} kickoff",
            f"{dept} planning",
            f"Brainstorm: {topic}",
            f"{topic_cap} working session",
            "Interview debrief",
            "Hiring committee",
            f"Quick sync re {topic}",
            f"{topic_cap} decision",
            "Coffee chat",
            f"Lunch & learn: {topic}",
        )
    )


def _description(rng: random.Random) -> str | None:
    """Give an event description: sometimes an agenda, sometimes a line, often nothing."""
    roll = rng.random()
    if roll < 0.4:
        items = rng.sample(text.AGENDA_ITEMS, 3)
        return "Agenda:\n" + "\n".join(f"- {item}" for item in items)
    if roll < 0.55:
        return rng.choice(
            (
                "Context in the doc.",
                "Let's decide on next steps.",
                "30 min to align.",
                "Please come with questions.",
            )
        )
    return None


def _evidence_channel(org: Org, organizer: int, people: list[int]) -> str | None:
    """Give the channel where the attendees talk about the meeting: a shared project or team channel."""
    if organizer not in org.person_channels:
        return None
    group = {organizer, *people}
    best, best_share = None, 0.5
    for ci in org.person_channels[organizer][0]:
        channel = org.channels[ci]
        if channel.kind not in ("project", "team", "external"):
            continue
        share = sum(1 for p in group if p in channel.people) / len(group)
        if share > best_share:
            best, best_share = channel.id, share
    return best


def _attachments(
    rng: random.Random, org: Org, day: date, event: Event, owner: str, plan: DayCalendar
) -> list[DriveFile]:
    """Give one or two Drive files for the event: an existing doc or a notes doc made that day."""
    out = []
    if rng.random() < 0.5:
        out.append(rng.choice(org.files))
    created = max(day_bounds(day)[0] + 60, event.start - rng.randint(1800, 4 * 3600)) * 1000
    notes = DriveFile(
        drive_id(rng),
        f"{event.title} - notes {day.isoformat()}",
        DOC,
        owner,
        created,
        created + rng.randint(60, 6 * 3600) * 1000,
    )
    plan.files.append(notes)
    out.append(notes)
    return out


def _focus_time(rng: random.Random, org: Org, day: date, present: list[int]) -> list[Event]:
    """Give focus-time blocks: only the owner, eventType focusTime."""
    out = []
    for person in rng.sample(present, min(len(present), max(1, stoch_round(rng, len(present) * 0.1)))):
        p = org.people[person]
        start = local_epoch(day, rng.choice((9, 10, 13, 14)), rng.choice((0, 30)), p.tz)
        title = rng.choice(("Focus time", "Focus time", "Deep work", "🎧 Focus", "No meetings - focus"))
        out.append(
            _personal(
                rng,
                org,
                person,
                "focus_time",
                title,
                start,
                start + rng.choice((60, 120, 180)) * 60,
                event_type="focusTime",
            )
        )
    return out


def _solo(rng: random.Random, org: Org, day: date, present: list[int]) -> list[Event]:
    """Give one-person events: reminders and personal blocks with no other attendee."""
    out = []
    for person in rng.sample(present, min(len(present), max(1, stoch_round(rng, len(present) * 0.08)))):
        p = org.people[person]
        hour, minute = rng.choice(meeting_slots(day, p.tz) or ((12, 0),))
        start = local_epoch(day, hour, minute, p.tz)
        title = rng.choice(
            (
                "Lunch",
                "Prep for customer call",
                "Dentist",
                "Gym",
                "Pick up kids",
                "Write performance reviews",
                "Block",
                "Commute",
                "Doctor appointment",
                "Reminder: submit expenses",
                "Read the PRD",
                "Inbox zero",
            )
        )
        event = _personal(rng, org, person, "solo", title, start, start + rng.choice((30, 45, 60)) * 60)
        if rng.random() < 0.5:  # Google lists the owner as the only attendee when they added themselves
            event.attendees = [internal_attendee(org, person, "accepted")]
        event.transparency = "transparent" if rng.random() < 0.3 else None
        out.append(event)
    return out


def _out_of_office(
    rng: random.Random, org: Org, day: date, staff: list[int], absent: set[int]
) -> list[Event]:
    """Give out-of-office days (Thursdays at least one) and record who is away."""
    count = stoch_round(rng, len(staff) * 0.015)
    if day.weekday() == THURSDAY:
        count = max(1, count)
    out = []
    for person in rng.sample(staff[1:], min(len(staff) - 1, count)):  # the CEO is never away here
        absent.add(person)
        p = org.people[person]
        start, end = local_epoch(day, 0, 0, p.tz), local_epoch(next_date(day), 0, 0, p.tz)
        title = rng.choice(("Out of office", "OOO", "Vacation", "Sick day", "Out of office - personal"))
        out.append(_personal(rng, org, person, "out_of_office", title, start, end, event_type="outOfOffice"))
    return out


def _all_day(rng: random.Random, org: Org, day: date, present: list[int]) -> list[Event]:
    """Give all-day events (date, not dateTime), some shared with a team; Mondays at least one."""
    count = stoch_round(rng, len(present) * 0.01)
    if day.weekday() == MONDAY:
        count = max(1, count)
    out = []
    for person in rng.sample(present, min(len(present), count)):
        p = org.people[person]
        title = rng.choice(
            (
                "Company offsite prep",
                "Working from Lisbon",
                "Conference: KubeCon",
                "Public holiday (office closed)",
                "Team offsite",
                "Hackathon",
            )
        )
        start, end = local_epoch(day, 0, 0, p.tz), local_epoch(next_date(day), 0, 0, p.tz)
        event = _personal(rng, org, person, "all_day", title, start, end)
        event.all_day = day
        event.transparency = "transparent"
        if title in ("Company offsite prep", "Team offsite", "Hackathon"):
            here = set(present)
            team = org.reports.get(p.manager, ()) if p.manager is not None else ()
            mates = [q for q in team if q != person and q in here][:6]
            event.attendees = [internal_attendee(org, person, "accepted")] + [
                internal_attendee(org, q, "accepted") for q in mates
            ]
            event.calendars = [person, *mates]
        out.append(event)
    return out


def _personal(
    rng: random.Random,
    org: Org,
    person: int,
    kind: str,
    title: str,
    start: int,
    end: int,
    event_type: str = "default",
) -> Event:
    """Give a block on one person's own calendar (they are organizer and creator)."""
    p = org.people[person]
    created_ms = (start - rng.randint(3600, 10 * 86400)) * 1000
    return Event(
        id=event_id(rng),
        kind=kind,
        status="confirmed",
        title=title,
        start=start,
        end=end,
        tz=p.tz,
        organizer=p.email,
        organizer_name=None,
        calendars=[person],
        created_ms=created_ms,
        updated_ms=created_ms,
        etag=etag_for(rng, created_ms),
        event_type=event_type,
    )
