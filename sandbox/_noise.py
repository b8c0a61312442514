"""The bulk of Slack: chatter, questions, code talk, links, file shares, bot notifications, threads with
replies, reactions, edits, and hard negatives that talk about meetings without being one.

This is the hot loop of large runs (about 10^6 messages at size L), so it sticks to cheap calls:
cumulative-weight choices, lazily filled templates and plain dicts.
"""

from __future__ import annotations

import random

from . import _text as text
from ._calendar import DayCalendar
from ._common import TEAM_ID, pick_time, slack_id, stoch_round, work_window
from ._org import Channel, DriveFile
from ._slack import Label, MessageContext, SlackDay, bot_message

TOP_LEVEL_PER_PERSON = 7.8  # top-level messages per person on a weekday; threads add about as many
WEEKEND_FACTOR = 0.08
THREAD_SHARE = 0.28
REPLY_COUNTS = (1, 2, 3, 4, 5, 7, 10)
REPLY_WEIGHTS = (0.26, 0.22, 0.17, 0.13, 0.1, 0.08, 0.04)
_FILETYPES = {
    "application/vnd.google-apps.document": ("gdoc", "Google Docs"),
    "application/vnd.google-apps.spreadsheet": ("gsheet", "Google Sheets"),
    "application/vnd.google-apps.presentation": ("gpres", "Google Slides"),
    "application/pdf": ("pdf", "PDF"),
}


def post_noise(day: SlackDay, present: set[int]) -> None:
    """Post the day's ordinary traffic by the people who are around."""
    rng, org = day.rng, day.org
    posters = [p for p in org.person_channels if p in present]
    if not posters:
        return
    factor = WEEKEND_FACTOR if day.day.weekday() >= 5 else 1.0
    factor *= org.profile.noise_factor
    count = stoch_round(rng, len(posters) * TOP_LEVEL_PER_PERSON * factor * rng.uniform(0.85, 1.15))
    for _ in range(count):
        person = rng.choice(posters)
        channels, cum = org.person_channels[person]
        channel = org.channels[rng.choices(channels, cum_weights=cum)[0]]
        author = org.people[person]
        sec = pick_time(rng, work_window(day.day, author.tz))
        _one_message(day, channel, author.slack_id or "", sec)
    _guest_messages(day, factor)


def _guest_messages(day: SlackDay, factor: float) -> None:
    """Post a few messages by partner guests in the shared channel."""
    rng, org = day.rng, day.org
    for channel in org.channels:
        for g in channel.guests:
            guest = org.externals[g]
            for _ in range(stoch_round(rng, 2.0 * factor)):
                _one_message(
                    day, channel, guest.slack_id or "", pick_time(rng, work_window(day.day, guest.tz))
                )


def _one_message(day: SlackDay, channel: Channel, user: str, sec: int) -> None:
    """Post one top-level message of a random flavour, maybe with a thread, reactions and an edit."""
    rng = day.rng
    ctx = MessageContext(day, channel.id, author=user)
    roll = rng.random()
    technical = channel.kind in ("team", "project")
    profile = day.org.profile
    shift = profile.hard_negative_share - 0.025  # 0.0 in the standard profile: the bands stay put
    if roll < profile.hard_negative_share:
        template, why = rng.choice(text.hard_negatives(profile))
        msg = day.post(channel.id, sec, user, text.fill(rng, template, ctx), Label(why=why))
    elif roll < 0.05 + shift and technical:
        msg = day.post_raw(channel.id, sec, _bot_notice(rng, day))
    elif roll < 0.08 + shift:
        msg = _file_share(day, channel, user, sec, ctx)
    elif roll < 0.2 + shift and technical:
        msg = day.post(channel.id, sec, user, text.fill(rng, rng.choice(text.bank(profile, "CODE")), ctx))
    else:
        msg = day.post(channel.id, sec, user, text.fill(rng, rng.choice(text.bank(profile, "CHATTER")), ctx))
    if "user" in msg and msg.get("subtype") is None:
        day.decorate(channel.id, msg, sec, reactions=0.16, edits=0.06)
    if rng.random() < THREAD_SHARE:
        _thread(day, channel, msg, sec, ctx)


def _thread(
    day: SlackDay, channel: Channel, parent: dict[str, object], sec: int, ctx: MessageContext
) -> None:
    """Post replies under `parent` by channel members, spaced out but inside the day."""
    rng, org = day.rng, day.org
    if not channel.people:
        return
    for _ in range(rng.choices(REPLY_COUNTS, REPLY_WEIGHTS)[0]):
        sec += rng.randint(20, 1800)
        if not day.fits(sec, margin=60):
            return
        user = org.people[rng.choice(channel.people)].slack_id or ""
        body = text.fill(rng, rng.choice(text.bank(org.profile, "REPLIES")), ctx)
        reply = day.reply(channel.id, parent, sec, user, body)
        if rng.random() < 0.03:  # "also send to #channel"
            reply["subtype"] = "thread_broadcast"
        day.decorate(channel.id, reply, sec, reactions=0.1, edits=0.03)


def _file_share(
    day: SlackDay, channel: Channel, user: str, sec: int, ctx: MessageContext
) -> dict[str, object]:
    """Post a message sharing a Drive file (external file object) or an uploaded screenshot."""
    rng = day.rng
    if rng.random() < 0.7:
        f = rng.choice(day.org.files)
        body = rng.choice(("", "here you go", "latest version", f"see {f.name}", "comments welcome"))
        msg = day.post(channel.id, sec, user, body)
        msg["files"] = [_drive_file_object(rng, f, user, sec)]
        return msg
    body = text.fill(rng, rng.choice(("", "like this", "{thing} right now")), ctx)
    msg = day.post(channel.id, sec, user, body)
    msg["files"] = [_screenshot(rng, day, user, sec)]
    msg["upload"] = True
    return msg


def _screenshot(rng: random.Random, day: SlackDay, user: str, sec: int) -> dict[str, object]:
    """Give the `files[]` entry of an uploaded screenshot."""
    name = f"Screenshot {day.day.isoformat()} at {rng.randint(9, 18)}.{rng.randint(10, 59)}.png"
    fid = slack_id(rng, "F")
    return {
        "id": fid,
        "created": sec,
        "timestamp": sec,
        "name": name,
        "title": name,
        "mimetype": "image/png",
        "filetype": "png",
        "pretty_type": "PNG",
        "user": user,
        "mode": "hosted",
        "editable": False,
        "is_external": False,
        "external_type": "",
        "size": rng.randint(40_000, 900_000),
        "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{fid}/screenshot.png",
        "permalink": f"https://acme.slack.com/files/{user}/{fid}/screenshot.png",
        "is_public": True,
    }


def _drive_file_object(rng: random.Random, f: DriveFile, user: str, sec: int) -> dict[str, object]:
    """Give the `files[]` entry Slack makes for a shared Google Drive file."""
    filetype, pretty = _FILETYPES[f.mime]
    fid = slack_id(rng, "F")
    return {
        "id": fid,
        "created": sec,
        "timestamp": sec,
        "name": f.name,
        "title": f.name,
        "mimetype": f.mime,
        "filetype": filetype,
        "pretty_type": pretty,
        "user": user,
        "mode": "external",
        "editable": False,
        "is_external": True,
        "external_type": "gdrive",
        "size": 0,
        "url_private": text.drive_url(rng, f.id, f.mime),
        "permalink": f"https://acme.slack.com/files/{user}/{fid}/{f.name.lower().replace(' ', '_')}",
        "is_public": True,
    }


def _bot_notice(rng: random.Random, day: SlackDay) -> dict[str, object]:
    """Give a GitHub or Jira notification (a bot_message with an attachment)."""
    if rng.random() < 0.6:
        return bot_message(day.org.bots["github"], "", _github_attachment(rng))
    return bot_message(day.org.bots["jira"], "", _jira_attachment(rng))


def _github_attachment(rng: random.Random) -> dict[str, object]:
    """Give a pull-request notification attachment."""
    repo, pr = rng.choice(text.REPOS), rng.randint(120, 9800)
    action = rng.choice(("opened", "merged", "closed", "review requested"))
    title = f"#{pr} {rng.choice(text.TASKS).capitalize()} for {rng.choice(text.TOPICS).removeprefix('the ')}"
    return {
        "fallback": f"[acme/{repo}] Pull request {action}: {title}",
        "pretext": f"Pull request {action}",
        "title": title,
        "title_link": f"https://github.com/acme/{repo}/pull/{pr}",
        "color": "36a64f",
        "footer": f"acme/{repo}",
        "id": 1,
    }


def _jira_attachment(rng: random.Random) -> dict[str, object]:
    """Give an issue transition notification attachment."""
    key = f"{rng.choice(text.TICKET_PREFIXES)}-{rng.randint(100, 4999)}"
    status = rng.choice(("To Do → In Progress", "In Progress → In Review", "In Review → Done"))
    return {
        "fallback": f"{key} {status}",
        "title": f"{key}: {rng.choice(text.THINGS)} follow-up",
        "title_link": f"https://acme.atlassian.net/browse/{key}",
        "text": status,
        "color": "#0052cc",
        "footer": "Jira Cloud",
        "id": 1,
    }


def post_bursts(day: SlackDay, plan: DayCalendar, present: set[int], rng: random.Random) -> None:
    """Post bursts of unrelated chatter by channel members around held meetings (hard profile only).

    The messages land in the meeting's channel from 30 minutes before its start to 30 minutes after
    its end, by the very people who attend, so time and channel alone cannot tell evidence from noise.
    """
    org = day.org
    for event in plan.events:
        if not event.is_meeting or event.status != "confirmed" or not event.channel:
            continue
        if rng.random() >= org.profile.burst_share:
            continue
        channel = org.channel_of(event.channel)
        people = [p for p in channel.people if p in present]
        if not people:
            continue
        for _ in range(rng.randint(2, 6)):
            sec = rng.randint(event.start - 1800, event.end + 1800)
            if day.fits(sec):
                author = org.people[rng.choice(people)].slack_id or ""
                _burst_message(day, channel, author, sec, rng)


def _burst_message(day: SlackDay, channel: Channel, user: str, sec: int, rng: random.Random) -> None:
    """Post one burst message: chatter, code talk or a near miss, now and then with replies."""
    ctx = MessageContext(day, channel.id, author=user)
    roll = rng.random()
    if roll < 0.2:
        template, why = rng.choice(text.near_misses(day.org.profile))
        day.post(channel.id, sec, user, text.fill(day.rng, template, ctx), Label(why=why))
        return
    bank = text.bank(day.org.profile, "CODE" if roll < 0.45 else "CHATTER")
    msg = day.post(channel.id, sec, user, text.fill(day.rng, rng.choice(bank), ctx))
    if rng.random() < 0.2:
        _thread(day, channel, msg, sec, ctx)
