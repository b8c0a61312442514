"""One UTC day of Slack: unique `ts` per channel, threads, reactions and edits, and the day files.

Every message is posted through `SlackDay.post`/`reply`, which records its label on the side
(evidence of a meeting, or noise) so nothing in the message itself marks it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import _text as text
from ._common import TEAM_ID, client_msg_id, day_bounds, dumps
from ._org import Bot, DriveFile, Org

SLACKBOT = "USLACKBOT"


@dataclass
class Meeting:
    """The ground truth of one meeting, filled while its evidence is posted."""

    kind: str  # recurring | one_off | huddle | adhoc_call
    status: str  # held | cancelled
    title: str
    start: int
    end: int
    participants: list[str]
    calendar_event_id: str | None = None
    evidence: list[tuple[str, str, str, str]] = field(default_factory=list)  # channel, ts, kind, role
    documents: list[str] = field(default_factory=list)

    def add_document(self, file_id: str) -> None:
        """Record a Drive file linked to the meeting (once)."""
        if file_id not in self.documents:
            self.documents.append(file_id)


@dataclass(frozen=True)
class Label:
    """What a posted message is, for truth.json only: evidence of a meeting, or noise."""

    meeting: Meeting | None = None
    kind: str = ""
    role: str = ""
    why: str | None = None  # set for hard negatives


NOISE = Label()


class SlackDay:
    """The messages of one UTC day, per channel, with the labels truth.json needs."""

    def __init__(self, org: Org, day: date, rng: random.Random) -> None:
        self.org = org
        self.day = day
        self.rng = rng
        self.lo, self.hi = day_bounds(day)
        self.channels: dict[str, list[dict[str, object]]] = {}
        self.used: dict[str, set[str]] = {}
        self.threads: dict[int, tuple[dict[str, object], list[dict[str, object]]]] = {}
        self.noise: list[tuple[str, str]] = []
        self.hard: list[tuple[str, str, str]] = []
        self.top_level = 0
        self.replies = 0

    def fits(self, sec: int, margin: int = 600) -> bool:
        """Give whether `sec` lies in this day with room left for replies after it."""
        return self.lo + 60 <= sec <= self.hi - margin

    def _ts(self, channel: str, sec: int) -> str:
        """Give a fresh `ts` in `channel` at second `sec` (six decimals, unique in the channel)."""
        used = self.used.setdefault(channel, set())
        micro = self.rng.randrange(1_000_000)
        ts = f"{sec}.{micro:06d}"
        while ts in used:
            micro = (micro + 1) % 1_000_000
            ts = f"{sec}.{micro:06d}"
        used.add(ts)
        return ts

    def _label(self, channel: str, ts: str, label: Label) -> None:
        """Record the message under its meeting, or as noise (and as a hard negative when it is one)."""
        if label.meeting is not None:
            label.meeting.evidence.append((channel, ts, label.kind, label.role))
            return
        self.noise.append((channel, ts))
        if label.why:
            self.hard.append((channel, ts, label.why))

    def post(self, channel: str, sec: int, user: str, body: str, label: Label = NOISE) -> dict[str, object]:
        """Post a top-level message by `user` and give it (callers may add fields)."""
        ts = self._ts(channel, sec)
        msg: dict[str, object] = {
            "client_msg_id": client_msg_id(self.rng),
            "type": "message",
            "text": body,
            "user": user,
            "ts": ts,
            "team": TEAM_ID,
        }
        self.channels.setdefault(channel, []).append(msg)
        self._label(channel, ts, label)
        self.top_level += 1
        return msg

    def post_raw(
        self, channel: str, sec: int, msg: dict[str, object], label: Label = NOISE
    ) -> dict[str, object]:
        """Post a prepared message (bots, huddles); `ts` is filled in here."""
        msg["ts"] = self._ts(channel, sec)
        self.channels.setdefault(channel, []).append(msg)
        self._label(channel, str(msg["ts"]), label)
        self.top_level += 1
        return msg

    def reply(
        self, channel: str, parent: dict[str, object], sec: int, user: str, body: str, label: Label = NOISE
    ) -> dict[str, object]:
        """Post a thread reply to `parent` (at least one second after it) and give it."""
        sec = max(sec, int(str(parent["ts"]).split(".")[0]) + 1)
        ts = self._ts(channel, sec)
        msg: dict[str, object] = {
            "client_msg_id": client_msg_id(self.rng),
            "type": "message",
            "text": body,
            "user": user,
            "ts": ts,
            "team": TEAM_ID,
            "thread_ts": parent["ts"],
            "parent_user_id": parent.get("user", SLACKBOT),
        }
        self.channels.setdefault(channel, []).append(msg)
        self.threads.setdefault(id(parent), (parent, []))[1].append(msg)
        self._label(channel, ts, label)
        self.replies += 1
        return msg

    def decorate(
        self, channel: str, msg: dict[str, object], sec: int, reactions: float, edits: float
    ) -> None:
        """Add reactions and an edit to `msg` with the given chances."""
        members = self.org.channels[self.org.channel_index[channel]].people
        if self.rng.random() < reactions and members:
            self.react(msg, members)
        if self.rng.random() < edits:
            msg["edited"] = {
                "user": msg["user"],
                "ts": f"{min(sec + self.rng.randint(15, 900), self.hi - 1)}.000000",
            }

    def react(self, msg: dict[str, object], members: tuple[int, ...]) -> None:
        """Add one to three reactions by channel members."""
        out = []
        for name in self.rng.sample(text.REACTIONS, self.rng.randint(1, 3)):
            users = [
                self.org.people[p].slack_id
                for p in self.rng.sample(members, min(len(members), self.rng.randint(1, 4)))
            ]
            out.append({"name": name, "users": users, "count": len(users)})
        msg["reactions"] = out

    def finish_threads(self) -> None:
        """Give each thread parent its reply summary fields, as exports carry them."""
        for parent, replies in self.threads.values():
            replies.sort(key=lambda m: str(m["ts"]))
            users: list[str] = []
            for r in replies:
                if r["user"] not in users:
                    users.append(str(r["user"]))
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = len(replies)
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = replies[-1]["ts"]
            parent["reply_users"] = users[:5]
            parent["replies"] = [{"user": r["user"], "ts": r["ts"]} for r in replies]
            parent["is_locked"] = False
            parent["subscribed"] = False

    def write(self, slack_dir: Path) -> int:
        """Write one file per channel with messages today, sorted by ts; give the message count."""
        self.finish_threads()
        name = self.day.isoformat()
        total = 0
        for channel in self.org.channels:
            messages = self.channels.get(channel.id)
            if not messages:
                continue
            messages.sort(key=lambda m: str(m["ts"]))
            folder = slack_dir / channel.name
            folder.mkdir(exist_ok=True)
            (folder / f"{name}.json").write_text(dumps(messages), encoding="utf-8")
            total += len(messages)
        return total


def bot_message(bot: Bot, body: str, attachment: dict[str, object]) -> dict[str, object]:
    """Give an app's post: a bot_message with its bot profile and one attachment (ts added on posting)."""
    return {
        "type": "message",
        "subtype": "bot_message",
        "text": body,
        "user": bot.user_id,
        "bot_id": bot.bot_id,
        "app_id": bot.app_id,
        "username": bot.name,
        "attachments": [attachment],
        "bot_profile": {"id": bot.bot_id, "name": bot.name, "app_id": bot.app_id, "deleted": False},
    }


class MessageContext:
    """Fills template fields for messages in one channel: mentions of its members, channel links, docs."""

    def __init__(
        self,
        day: SlackDay,
        channel: str,
        meeting: Meeting | None = None,
        docs: tuple[DriveFile, ...] = (),
        mentionable: tuple[str, ...] = (),
        author: str = "",
    ) -> None:
        self.day = day
        self.author = author
        self.rng = day.rng
        self.channel = channel
        self.meeting = meeting
        self.docs = docs
        self.mentionable = mentionable

    def mention(self) -> str:
        """Give a mention of someone in the channel (or among the meeting's people), rarely the author."""
        user = self._someone()
        if user == self.author:  # one more draw: people seldom mention themselves
            user = self._someone()
        return f"<@{user}>"

    def _someone(self) -> str:
        """Give the Slack id of a random mentionable person."""
        if self.mentionable:
            return self.rng.choice(self.mentionable)
        members = self.day.org.channel_of(self.channel).people or (0,)
        return self.day.org.people[self.rng.choice(members)].slack_id or ""

    def channel_ref(self) -> str:
        """Give a link to another channel, `<#C…|name>`."""
        c = self.rng.choice(self.day.org.channels)
        return f"<#{c.id}|{c.name}>"

    def doc(self) -> str:
        """Give a Drive link; inside meeting evidence the file becomes one of the meeting's documents."""
        org = self.day.org
        f = self.rng.choice(self.docs) if self.docs else self.rng.choice(org.files)
        if self.meeting is not None:
            self.meeting.add_document(f.id)
        return text.slack_link(self.rng, text.drive_url(self.rng, f.id, f.mime), f.name)

    def meeting_doc(self) -> str:
        """Give a link to a document about meetings (a policy page, a template)."""
        f = self.day.org.files[self.rng.choice(self.day.org.meeting_docs)]
        return text.slack_link(self.rng, text.drive_url(self.rng, f.id, f.mime), f.name)
