"""Slack evidence around calendar meetings: agendas, calendar-bot posts, join signals, chatter during
the call, recaps and action items, reschedules and cancellations.

Only some meetings get evidence, at random; the first held meeting of a weekday with a channel gets
every kind, so small workspaces still show them all.
"""

from __future__ import annotations

import random

from . import _text as text
from ._calendar import DayCalendar
from ._common import html_link, local_clock
from ._events import Event
from ._org import Channel
from ._slack import Label, Meeting, MessageContext, SlackDay, bot_message

EVIDENCE_SHARE = 0.45  # meetings with a channel that get any evidence
CHANCES = {
    "agenda": 0.35,
    "calendar_bot": 0.3,
    "joining": 0.4,
    "call_link": 0.15,
    "during": 0.25,
    "recap": 0.3,
}


def calendar_meetings(day: SlackDay, plan: DayCalendar) -> list[Meeting]:
    """Give the truth of every calendar meeting of the day, posting evidence for some of them."""
    meetings = []
    showcase = _showcase(day, plan)
    announced: set[str] = set()
    for event in plan.events:
        if not event.is_meeting:
            continue
        meeting = Meeting(
            kind=event.kind,
            status="cancelled" if event.status == "cancelled" else "held",
            title=event.title,
            start=event.start,
            end=event.end,
            participants=_unique(event.participants()),
            calendar_event_id=event.id,
        )
        for f in event.attachments:
            meeting.add_document(f.id)
        if event.channel:
            _post_evidence(day, plan, event, meeting, event is showcase, announced)
        meetings.append(meeting)
    return meetings


def _unique(emails: list[str]) -> list[str]:
    """Give `emails` without repeats, in order."""
    return list(dict.fromkeys(emails))


def _showcase(day: SlackDay, plan: DayCalendar) -> Event | None:
    """Give the day's first held meeting that has a channel and people there to post."""
    for event in plan.events:
        if (
            event.is_meeting
            and event.status == "confirmed"
            and event.channel
            and event.conference
            and event.conference.uri
            and _authors(day, event, plan.absent)
        ):
            return event
    return None


def _authors(day: SlackDay, event: Event, absent: set[int]) -> list[tuple[str, str]]:
    """Give (Slack id, time zone) of attendees who can post in the event's channel, organizer first."""
    org = day.org
    channel = org.channel_of(event.channel or "")
    guests = {org.externals[g].email: org.externals[g] for g in channel.guests}
    out = []
    for a in event.attendees:
        if a.response == "declined":
            continue
        if a.person is not None:
            p = org.people[a.person]
            if p.posts and a.person in channel.people and a.person not in absent:
                out.append((p.slack_id or "", p.tz))
        elif a.email in guests and guests[a.email].slack_id:
            out.append((guests[a.email].slack_id or "", guests[a.email].tz))
    return out


def _post_evidence(
    day: SlackDay, plan: DayCalendar, event: Event, meeting: Meeting, showcase: bool, announced: set[str]
) -> None:
    """Post the evidence of one meeting into its channel."""
    authors = _authors(day, event, plan.absent)
    if not authors:
        return
    channel = day.org.channel_of(event.channel or "")
    ctx = MessageContext(day, channel.id, meeting, tuple(event.attachments), tuple(a for a, _ in authors))
    rng = day.rng
    if event.status == "cancelled":
        if _announce(announced, "cancel", rng):
            _cancellation(day, event, meeting, ctx, authors)
        return
    moved = event.original_start is not None and event.original_start != event.start
    if moved and _announce(announced, "move", rng):
        _reschedule(day, event, meeting, ctx, authors)
    if not showcase and rng.random() > EVIDENCE_SHARE:
        return
    kinds = [k for k, p in CHANCES.items() if showcase or rng.random() < p]
    for kind in kinds:
        _POSTERS[kind](day, event, meeting, ctx, authors, channel)


def _announce(announced: set[str], key: str, rng: random.Random) -> bool:
    """Give whether to announce a change in Slack: always the day's first of its kind, else 3 in 4."""
    if key in announced and rng.random() >= 0.75:
        return False
    announced.add(key)
    return True


def _organizer_first(authors: list[tuple[str, str]]) -> tuple[str, str]:
    """Give the first author (the organizer when they can post)."""
    return authors[0]


def _agenda(
    day: SlackDay,
    event: Event,
    meeting: Meeting,
    ctx: MessageContext,
    authors: list[tuple[str, str]],
    channel: Channel,
) -> None:
    """Post the agenda one to four hours before, sometimes with a question in its thread."""
    rng = day.rng
    user, tz = _organizer_first(authors)
    sec = next(
        (s for s in (event.start - rng.randint(3600, 4 * 3600), event.start - 1200) if day.fits(s)), None
    )
    if sec is None:
        return
    body = text.fill(
        rng,
        rng.choice(text.bank(day.org.profile, "AGENDA")),
        ctx,
        title=event.title,
        clock=local_clock(event.start, tz),
    )
    msg = day.post(channel.id, sec, user, body, Label(meeting, "agenda", "pre"))
    day.decorate(channel.id, msg, sec, reactions=0.4, edits=0.15)
    if len(authors) > 1 and rng.random() < 0.3:
        other, _ = rng.choice(authors[1:])
        reply = text.fill(rng, rng.choice(text.bank(day.org.profile, "AGENDA_REPLIES")), ctx)
        day.reply(channel.id, msg, sec + rng.randint(60, 1800), other, reply, Label(meeting, "agenda", "pre"))


def _calendar_bot(
    day: SlackDay,
    event: Event,
    meeting: Meeting,
    ctx: MessageContext,
    authors: list[tuple[str, str]],
    channel: Channel,
) -> None:
    """Post the calendar app's reminder, whose attachment links the event (eid = id + calendar)."""
    rng = day.rng
    lead = rng.choice((10, 10, 5, 15))
    sec = event.start - lead * 60
    if not day.fits(sec):
        return
    calendar = day.org.people[event.calendars[0]].email
    prefix = rng.choice(text.CALENDAR_BOT).format(minutes=lead)
    body = f"{prefix} *{event.title}*" if rng.random() < 0.5 else prefix
    msg = bot_message(day.org.bots["calendar"], body, _reminder_attachment(event, prefix, calendar))
    day.post_raw(channel.id, sec, msg, Label(meeting, "calendar_bot", "pre"))


def _reminder_attachment(event: Event, prefix: str, calendar: str) -> dict[str, object]:
    """Give the calendar app's attachment: title, event link, time range and where to join."""
    clock = f"{local_clock(event.start, event.tz)} – {local_clock(event.end, event.tz)}"
    conf = event.conference
    where = (conf.uri or conf.room or "") if conf else ""
    return {
        "fallback": f"{prefix} {event.title}",
        "title": event.title,
        "title_link": html_link(event.id, calendar),
        "text": clock + (f" | {where}" if where else ""),
        "color": "#1a73e8",
        "footer": "Google Calendar",
        "mrkdwn_in": ["text"],
        "id": 1,
    }


def _joining(
    day: SlackDay,
    event: Event,
    meeting: Meeting,
    ctx: MessageContext,
    authors: list[tuple[str, str]],
    channel: Channel,
) -> None:
    """Post "joining now <link>" or "running 5 min late" around the start."""
    rng = day.rng
    sec = event.start + rng.randint(-180, 300)
    if not day.fits(sec):
        return
    uri = event.conference.uri if event.conference else None
    options = [
        t for t in text.bank(day.org.profile, "JOINING") if uri or ("{url}" not in t and "{link}" not in t)
    ]
    user, _ = rng.choice(authors)
    body = text.fill(rng, rng.choice(options), ctx, url=uri or "", link=f"<{uri}>", title=event.title)
    day.post(channel.id, sec, user, body, Label(meeting, "joining", "signal"))


def _call_link(
    day: SlackDay,
    event: Event,
    meeting: Meeting,
    ctx: MessageContext,
    authors: list[tuple[str, str]],
    channel: Channel,
) -> None:
    """Post the call link itself just before the start."""
    rng = day.rng
    uri = event.conference.uri if event.conference else None
    sec = event.start - rng.randint(0, 240)
    if not uri or not day.fits(sec):
        return
    user, _ = _organizer_first(authors)
    template = rng.choice(text.bank(day.org.profile, "CALL_LINK"))
    body = text.fill(rng, template, ctx, url=uri, link=f"<{uri}>", title=event.title)
    day.post(channel.id, sec, user, body, Label(meeting, "call_link", "signal"))


def _during(
    day: SlackDay,
    event: Event,
    meeting: Meeting,
    ctx: MessageContext,
    authors: list[tuple[str, str]],
    channel: Channel,
) -> None:
    """Post one to three short messages by attendees while the meeting runs."""
    rng = day.rng
    if event.end - event.start < 600:
        return
    for _ in range(rng.randint(1, 3)):
        sec = rng.randint(event.start + 120, event.end - 60)
        if day.fits(sec):
            user, _ = rng.choice(authors)
            day.post(
                channel.id,
                sec,
                user,
                text.fill(rng, rng.choice(text.bank(day.org.profile, "DURING")), ctx),
                Label(meeting, "during", "during"),
            )


def _recap(
    day: SlackDay,
    event: Event,
    meeting: Meeting,
    ctx: MessageContext,
    authors: list[tuple[str, str]],
    channel: Channel,
) -> None:
    """Post a recap after the meeting and, often, action items (in its thread or on their own)."""
    rng = day.rng
    sec = event.end + rng.randint(300, 2 * 3600)
    if not day.fits(sec, margin=1800):
        sec = event.end + 120
        if not day.fits(sec, margin=1800):
            return
    user, _ = _organizer_first(authors)
    body = text.fill(rng, rng.choice(text.bank(day.org.profile, "RECAP")), ctx, title=event.title)
    msg = day.post(channel.id, sec, user, body, Label(meeting, "recap", "post"))
    day.decorate(channel.id, msg, sec, reactions=0.5, edits=0.1)
    if rng.random() < 0.6:
        items = text.fill(rng, rng.choice(text.bank(day.org.profile, "ACTION_ITEMS")), ctx, title=event.title)
        label = Label(meeting, "action_items", "post")
        if rng.random() < 0.5:
            day.reply(channel.id, msg, sec + rng.randint(30, 900), user, items, label)
        else:
            day.post(channel.id, sec + rng.randint(30, 900), user, items, label)


def _shift_phrase(event: Event) -> str:
    """Give how a moved instance moved, in words ("an hour", "30 min earlier", "to 3pm")."""
    minutes = (event.start - (event.original_start or event.start)) // 60
    later = {60: "an hour", 30: "30 min", 90: "90 min", 120: "two hours"}
    if minutes in later:
        return later[minutes]
    return f"{abs(minutes)} min earlier" if minutes < 0 else f"{minutes} min"


def _reschedule(
    day: SlackDay, event: Event, meeting: Meeting, ctx: MessageContext, authors: list[tuple[str, str]]
) -> None:
    """Post that the instance moved, when the change was made (before the planned start)."""
    rng = day.rng
    sec = event.updated_ms // 1000 + rng.randint(0, 240)
    if not day.fits(sec):
        return
    user, tz = _organizer_first(authors)
    shift = _shift_phrase(event) if rng.random() < 0.7 else f"to {local_clock(event.start, tz)}"
    template = rng.choice(text.bank(day.org.profile, "RESCHEDULE"))
    if shift.startswith("to ") or shift.endswith("earlier"):
        template = rng.choice(text.bank(day.org.profile, "RESCHEDULE_TO"))
    day.post(
        event.channel or "",
        sec,
        user,
        text.fill(rng, template, ctx, title=event.title, shift=shift),
        Label(meeting, "reschedule", "pre"),
    )


def _cancellation(
    day: SlackDay, event: Event, meeting: Meeting, ctx: MessageContext, authors: list[tuple[str, str]]
) -> None:
    """Post that the meeting is off, at the time it was cancelled (or a while before the start)."""
    rng = day.rng
    sec = event.updated_ms // 1000 + rng.randint(0, 240)
    if not day.fits(sec) or sec >= event.start:
        sec = event.start - rng.randint(1800, 3 * 3600)
    if not day.fits(sec):
        return
    user, _ = _organizer_first(authors)
    body = text.fill(rng, rng.choice(text.bank(day.org.profile, "CANCELLATION")), ctx, title=event.title)
    msg = day.post(event.channel or "", sec, user, body, Label(meeting, "cancellation", "pre"))
    day.decorate(event.channel or "", msg, sec, reactions=0.5, edits=0.0)


_POSTERS = {
    "agenda": _agenda,
    "calendar_bot": _calendar_bot,
    "joining": _joining,
    "call_link": _call_link,
    "during": _during,
    "recap": _recap,
}
