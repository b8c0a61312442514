"""Meetings with no calendar event: Slack huddles and "quick call?" threads that end in a call link."""

from __future__ import annotations

import random

from . import _text as text
from ._common import TEAM_ID, client_msg_id, pick_time, slack_id, stoch_round, work_window
from ._org import Channel, Org
from ._slack import SLACKBOT, Label, Meeting, MessageContext, SlackDay

TUESDAY, THURSDAY = 1, 3


def _talk_channels(org: Org, present: set[int]) -> list[Channel]:
    """Give the team and project channels with at least two people around today."""
    return [
        c
        for c in org.channels
        if c.kind in ("team", "project") and sum(1 for p in c.people if p in present) >= 2
    ]


def huddles(day: SlackDay, present: set[int]) -> list[Meeting]:
    """Post the day's huddles (weekdays at least one; Tuesdays and Thursdays one carries `room` only)."""
    rng = day.rng
    channels = _talk_channels(day.org, present)
    if day.day.weekday() >= 5 or not channels:
        return []
    count = max(1, stoch_round(rng, len(present) * 0.035))
    bare = [rng.random() < day.org.profile.bare_huddle_share for _ in range(count)]
    if day.day.weekday() in (TUESDAY, THURSDAY) and not any(bare):
        bare[rng.randrange(count)] = True
    return [m for m in (_huddle(day, rng.choice(channels), present, b) for b in bare) if m is not None]


def _huddle(day: SlackDay, channel: Channel, present: set[int], bare: bool) -> Meeting | None:
    """Post one huddle message with its `room`, plus a few thread replies; give its truth."""
    rng, org = day.rng, day.org
    people = [p for p in channel.people if p in present]
    group = rng.sample(people, min(len(people), rng.randint(2, 5)))
    creator = org.people[group[0]]
    lo, hi = work_window(day.day, creator.tz)
    start = pick_time(rng, (lo, min(hi, day.hi - 3 * 3600)))
    end = start + rng.randint(5, 60) * 60
    if not day.fits(start) or not day.fits(end):
        return None
    ids = [org.people[p].slack_id or "" for p in group]
    meeting = Meeting(
        "huddle", "held", f"Huddle in #{channel.name}", start, end, [org.people[p].email for p in group]
    )
    msg: dict[str, object] = {
        "type": "message",
        "subtype": "huddle_thread",
        "text": "A huddle started" if rng.random() < 0.7 else "",
        "user": SLACKBOT,
        "team": TEAM_ID,
        "room": None,
        "no_notifications": True,
    }
    if bare:
        del msg["subtype"]
    posted = day.post_raw(channel.id, start, msg, Label(meeting, "huddle", "signal"))
    room = _room(rng, channel, str(posted["ts"]), ids, start, end)
    posted["room"] = room
    posted["permalink"] = f"https://acme.slack.com/call/{room['id']}"
    posted["edited"] = {"user": SLACKBOT, "ts": f"{end}.000000"}
    _huddle_replies(day, channel, posted, meeting, ids)
    return meeting


# Fields of an ended huddle's room that do not vary here (the real payload carries them all).
_ROOM_FLAGS: dict[str, object] = {
    "participants_camera_on": [],
    "participants_camera_off": [],
    "participants_screenshare_on": [],
    "participants_screenshare_off": [],
    "is_dm_call": False,
    "was_rejected": False,
    "was_missed": False,
    "was_accepted": False,
    "has_ended": True,
    "background_id": "GRADIENT_06",
    "canvas_background": "GRADIENT_06",
    "is_prewarmed": False,
    "is_scheduled": False,
    "attached_file_ids": [],
    "media_backend_type": "free_willy",
    "display_id": "",
    "app_id": "A00",
    "call_family": "huddle",
    "pending_invitees": {},
    "last_invite_status_by_user": {},
    "knocks": {},
}


def _room(
    rng: random.Random, channel: Channel, ts: str, ids: list[str], start: int, end: int
) -> dict[str, object]:
    """Give the huddle `room` object as Slack attaches it to the message."""
    uid = client_msg_id(rng)
    return {
        "id": slack_id(rng, "R"),
        "name": "",
        "media_server": "",
        "created_by": ids[0],
        "date_start": start,
        "date_end": end,
        "participants": [],
        "participant_history": ids,
        "canvas_thread_ts": ts,
        "thread_root_ts": ts,
        "channels": [channel.id],
        **_ROOM_FLAGS,
        "external_unique_id": uid,
        "huddle_link": f"https://app.slack.com/huddle/{TEAM_ID}/{channel.id}",
    }


def _huddle_replies(
    day: SlackDay, channel: Channel, parent: dict[str, object], meeting: Meeting, ids: list[str]
) -> None:
    """Post up to three replies in the huddle thread: during it, or notes right after."""
    rng = day.rng
    ctx = MessageContext(day, channel.id, meeting, mentionable=tuple(ids))
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        after = rng.random() < 0.5
        sec = meeting.end + rng.randint(30, 900) if after else rng.randint(meeting.start + 30, meeting.end)
        if not day.fits(sec, margin=60):
            continue
        label = Label(meeting, "recap", "post") if after else Label(meeting, "during", "during")
        day.reply(
            channel.id,
            parent,
            sec,
            rng.choice(ids),
            text.fill(rng, rng.choice(text.bank(day.org.profile, "HUDDLE_REPLIES")), ctx),
            label,
        )


def adhoc_calls(day: SlackDay, present: set[int]) -> list[Meeting]:
    """Post the day's "quick call?" exchanges that end with a call link (weekdays at least one)."""
    rng = day.rng
    channels = _talk_channels(day.org, present)
    if day.day.weekday() >= 5 or not channels:
        return []
    count = max(1, stoch_round(rng, len(present) * 0.02))
    return [
        m for m in (_adhoc_call(day, rng.choice(channels), present) for _ in range(count)) if m is not None
    ]


def _adhoc_call(day: SlackDay, channel: Channel, present: set[int]) -> Meeting | None:
    """Post a call request and the link that answers it (thread or channel); give the call's truth."""
    rng, org = day.rng, day.org
    a, b = (org.people[p] for p in rng.sample([p for p in channel.people if p in present], 2))
    lo, hi = work_window(day.day, a.tz)
    asked = pick_time(rng, (lo, min(hi, day.hi - 3 * 3600)))
    linked = asked + rng.randint(30, 600)
    if not day.fits(asked) or not day.fits(linked + 1800):
        return None
    start, end = linked, linked + rng.randint(10, 35) * 60
    if day.org.profile.hard:
        kind = rng.choices(("meet", "zoom", "teams", "webex"), (0.45, 0.3, 0.15, 0.1))[0]
    else:
        kind = rng.choices(("meet", "zoom", "teams"), (0.55, 0.35, 0.1))[0]
    title = rng.choice(("Quick call", "Ad hoc call", "Call"))
    meeting = Meeting("adhoc_call", "held", f"{title} in #{channel.name}", start, end, [a.email, b.email])
    ctx = MessageContext(day, channel.id, meeting, mentionable=(b.slack_id or "",))
    ask = day.post(
        channel.id,
        asked,
        a.slack_id or "",
        text.fill(rng, rng.choice(text.bank(day.org.profile, "QUICK_CALL")), ctx),
        Label(meeting, "joining", "pre"),
    )
    uri = text.conference_url(rng, kind)
    answer = text.fill(rng, rng.choice(text.bank(org.profile, "CALL_ANSWER")), ctx, url=uri, link=f"<{uri}>")
    who = rng.choice((a, b))
    if rng.random() < 0.6:
        day.reply(channel.id, ask, linked, who.slack_id or "", answer, Label(meeting, "call_link", "signal"))
    else:
        day.post(channel.id, linked, who.slack_id or "", answer, Label(meeting, "call_link", "signal"))
    if rng.random() < 0.35 and day.fits(end + 600):
        thanks = rng.choice(text.bank(org.profile, "CALL_THANKS"))
        day.reply(
            channel.id,
            ask,
            end + rng.randint(30, 600),
            a.slack_id or "",
            thanks,
            Label(meeting, "recap", "post"),
        )
    return meeting
