"""Slack Web API methods served from a workspace's `slack/` folder (export layout).

Each conversation's day files are indexed on first use and re-indexed when a file's mtime or size
changes, so messages appended while serving show up on the next call. Messages keep the exact JSON text
of the export; only thread parents are re-encoded, with `reply_count`, `reply_users`, `reply_users_count`
and `latest_reply` recomputed from the replies actually present.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

from core.errors import DataError
from sandbox.server._files import Stamp, dump, read_json, splice, stamp_of
from sandbox.server._settings import ServerSettings

REPLY_USERS_SHOWN = 5  # Slack lists at most five repliers in `reply_users`; `reply_users_count` has them all
_READ_ATTEMPTS = 3
_READ_RETRY_S = 0.02

# Conversation list files of an export and the kind of conversation each holds.
CONVERSATION_FILES = {
    "channels.json": "channel",
    "groups.json": "group",
    "mpims.json": "mpim",
    "dms.json": "im",
}
# conversations.list `types` values per kind.
KIND_TYPES = {"channel": "public_channel", "group": "private_channel", "mpim": "mpim", "im": "im"}
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_TRUE = {"1", "true", "True", "TRUE"}


class SlackError(Exception):
    """A Slack API error answer: `{"ok": false, "error": ...}` with its HTTP status (200 for most)."""

    def __init__(self, error: str, status: int = 200, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.messages = messages or []

    def body(self) -> dict[str, Any]:
        """Give the JSON answer Slack sends for this error."""
        out: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            out["response_metadata"] = {"messages": self.messages}
        return out


def ts_key(ts: str) -> int:
    """Give a Slack `ts` ("1700000000.000100") as integer microseconds, which orders exactly."""
    sec, _, frac = ts.partition(".")
    if not sec.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a Slack ts: {ts!r}")
    return int(sec) * 1_000_000 + int((frac + "000000")[:6])


def bound_key(value: str) -> int:
    """Give an `oldest`/`latest` argument (Unix seconds, maybe fractional) as integer microseconds."""
    try:
        number = Decimal(value)
    except InvalidOperation as err:
        raise ValueError(value) from err
    if not number.is_finite() or number < 0:
        raise ValueError(value)
    return int(number * 1_000_000)


class _Row(NamedTuple):
    """One message of a day file, with what the index needs and its JSON text."""

    key: int
    ts: str
    thread_ts: str | None  # set for replies only
    actor: str | None
    is_top: bool  # shown by conversations.history (top-level, thread parents, broadcasts)
    text: str


@dataclass(frozen=True)
class Conversation:
    """A conversation of the workspace: its API object and where its day files live."""

    id: str
    kind: str  # channel | group | mpim | im
    is_member: bool
    is_archived: bool
    api: dict[str, Any]
    folder: Path
    members: tuple[str, ...]


@dataclass(frozen=True)
class ChannelIndex:
    """An immutable index of one conversation's messages, safe to read without a lock."""

    top_keys: list[int]
    top_ts: list[str]
    top_json: list[str]
    threads: dict[str, tuple[list[int], list[str]]]  # thread_ts -> reply keys and texts, oldest first
    reply_parent: dict[str, str]  # reply ts -> thread_ts
    size: int

    def top_message(self, ts: str) -> str | None:
        """Give the JSON text of the top-level message with `ts`, if there is one."""
        try:
            key = ts_key(ts)
        except ValueError:
            return None
        i = bisect_left(self.top_keys, key)
        return self.top_json[i] if i < len(self.top_keys) and self.top_keys[i] == key else None


EMPTY_INDEX = ChannelIndex([], [], [], {}, {}, 0)


@dataclass
class _ChannelCache:
    stamps: dict[str, Stamp] = field(default_factory=dict)
    days: dict[str, list[_Row]] = field(default_factory=dict)
    index: ChannelIndex = EMPTY_INDEX


@dataclass(frozen=True)
class _Meta:
    """The workspace-level files, parsed: users, conversations and the team they belong to."""

    users: list[dict[str, Any]]
    user_json: list[str]
    conversations: dict[str, Conversation]
    team: dict[str, Any]


class SlackStore:
    """The `slack/` folder of a workspace, re-read file by file as it changes."""

    def __init__(self, root: Path, settings: ServerSettings) -> None:
        self.root = root
        self._settings = settings
        self._lock = threading.RLock()
        self._meta_stamps: tuple[Stamp | None, ...] | None = None
        self._meta: _Meta | None = None
        self._channels: OrderedDict[str, _ChannelCache] = OrderedDict()

    def meta(self) -> _Meta:
        """Give users, conversations and team, re-read when any workspace-level file changed."""
        names = ["users.json", *CONVERSATION_FILES]
        with self._lock:
            stamps = tuple(stamp_of(self.root / n) for n in names)
            if self._meta is None or stamps != self._meta_stamps:
                self._meta = self._load_meta()
                self._meta_stamps = stamps
            return self._meta

    def conversation(self, channel_id: str | None) -> Conversation:
        """Give the conversation with `channel_id`; SlackError channel_not_found when there is none."""
        conv = self.meta().conversations.get(channel_id or "")
        if conv is None:
            raise SlackError("channel_not_found")
        return conv

    def index(self, conv: Conversation) -> ChannelIndex:
        """Give the message index of `conv`, rebuilt from the day files that changed since the last call."""
        with self._lock:
            cache = self._channels.get(conv.id) or _ChannelCache()
            stamps = _day_stamps(conv.folder)
            if stamps != cache.stamps or conv.id not in self._channels:
                for name in set(cache.days) - set(stamps):
                    del cache.days[name]
                for name, st in stamps.items():
                    if cache.stamps.get(name) != st or name not in cache.days:
                        cache.days[name] = _day_rows(conv.folder / name)
                cache.stamps = stamps
                cache.index = _build_index(cache.days)
            self._channels[conv.id] = cache
            self._channels.move_to_end(conv.id)
            self._evict()
            return cache.index

    def _evict(self) -> None:
        """Drop the least recently used channel indexes while the cache holds too many messages."""
        total = sum(c.index.size for c in self._channels.values())
        while total > self._settings.max_cached_messages and len(self._channels) > 1:
            _, oldest = self._channels.popitem(last=False)
            total -= oldest.index.size

    def _load_meta(self) -> _Meta:
        """Give users, conversations and team parsed from the workspace-level files."""
        users_path = self.root / "users.json"
        users = _load_list(users_path) if users_path.exists() else []
        team = _team_of(users)
        conversations: dict[str, Conversation] = {}
        for filename, kind in CONVERSATION_FILES.items():
            path = self.root / filename
            if not path.exists():
                continue
            for i, raw in enumerate(_load_list(path)):
                if not isinstance(raw.get("id"), str):
                    raise DataError(f"{path} entry #{i} has no string `id`", "fix or re-export the workspace")
                conversations[raw["id"]] = self._conversation(raw, kind, team["id"])
        return _Meta(users, [dump(u) for u in users], conversations, team)

    def _conversation(self, raw: dict[str, Any], kind: str, team_id: str) -> Conversation:
        """Give a conversation of an export list entry, with the app's membership decided."""
        members = tuple(str(m) for m in raw.get("members") or [])
        # Rule: the app is a member of every public channel (as if invited everywhere) unless the settings
        # say it has not joined it, and of a private conversation only when the bot user is in its members.
        joined = raw["id"] not in self._settings.unjoined_channels
        is_member = (kind == "channel" and joined) or self._settings.bot_user_id in members
        # Exports name a conversation's folder after the channel, or after its id for DMs and group DMs.
        folder = self.root / (raw.get("name") or raw["id"])
        if not folder.is_dir() and (self.root / raw["id"]).is_dir():
            folder = self.root / raw["id"]
        api = _api_conversation(raw, kind, team_id, is_member)
        return Conversation(raw["id"], kind, is_member, bool(raw.get("is_archived")), api, folder, members)


def _load_list(path: Path) -> list[dict[str, Any]]:
    """Give the array of objects in a workspace-level file; DataError names the file otherwise."""
    data = read_json(path)
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise DataError(f"{path} is not a JSON array of objects", "fix or re-export the workspace")
    return data


def _team_of(users: list[dict[str, Any]]) -> dict[str, Any]:
    """Give the team.info object derived from the users: their team id and most common email domain."""
    team_ids = Counter(u["team_id"] for u in users if isinstance(u.get("team_id"), str) and u["team_id"])
    domains = Counter(
        str(u["profile"]["email"]).rsplit("@", 1)[-1].lower()
        for u in users
        if not u.get("is_bot")
        and isinstance(u.get("profile"), dict)
        and "@" in str(u["profile"].get("email", ""))
    )
    email_domain = domains.most_common(1)[0][0] if domains else "sandbox.example"
    label = email_domain.split(".")[0]
    return {
        "id": team_ids.most_common(1)[0][0] if team_ids else "T0SANDBOX0",
        "name": label.capitalize(),
        "domain": label,
        "email_domain": email_domain,
        "icon": {"image_default": True, **{f"image_{s}": "" for s in (34, 44, 68, 88, 102, 132, 230)}},
    }


def _api_conversation(raw: dict[str, Any], kind: str, team_id: str, is_member: bool) -> dict[str, Any]:
    """Give the conversation object conversations.list returns for an export entry."""
    if kind == "im":
        return _api_im(raw)
    members = raw.get("members") or []
    name = raw.get("name") or raw["id"]
    return {
        "id": raw["id"],
        "name": name,
        "is_channel": kind in ("channel", "group"),
        "is_group": False,
        "is_im": False,
        "is_mpim": kind == "mpim",
        "is_private": kind != "channel",
        "created": raw.get("created", 0),
        "is_archived": bool(raw.get("is_archived", False)),
        "is_general": bool(raw.get("is_general", name == "general")),
        "unlinked": 0,
        "name_normalized": name.lower(),
        "is_shared": False,
        "is_org_shared": False,
        "is_ext_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": team_id,
        "shared_team_ids": [team_id],
        "pending_connected_team_ids": [],
        "creator": raw.get("creator", ""),
        "is_member": is_member,
        "topic": _text_field(raw.get("topic")),
        "purpose": _text_field(raw.get("purpose")),
        "previous_names": [],
        "num_members": len(members),
    }


def _api_im(raw: dict[str, Any]) -> dict[str, Any]:
    """Give the conversation object of a direct message (dms.json entry: id, created, members)."""
    members = raw.get("members") or []
    return {
        "id": raw["id"],
        "created": raw.get("created", 0),
        "is_im": True,
        "is_org_shared": False,
        "user": raw.get("user") or (members[-1] if members else None),
        "is_user_deleted": False,
        "priority": 0,
    }


def _text_field(value: object) -> dict[str, Any]:
    """Give a topic/purpose object with Slack's three keys, whatever shape the export used."""
    if isinstance(value, dict):
        return {
            "value": value.get("value", ""),
            "creator": value.get("creator", ""),
            "last_set": value.get("last_set", 0),
        }
    return {"value": str(value or ""), "creator": "", "last_set": 0}


def _day_stamps(folder: Path) -> dict[str, Stamp]:
    """Give the stamp of every day file in a conversation folder (empty when the folder is missing)."""
    try:
        with os.scandir(folder) as entries:
            return {
                e.name: (e.stat().st_mtime_ns, e.stat().st_size)
                for e in entries
                if _DAY_FILE.match(e.name) and e.is_file()
            }
    except FileNotFoundError:
        return {}


def _array_items(text: str, path: Path) -> Iterator[tuple[Any, str]]:
    """Yield each element of a JSON array with its exact source text, so messages need no re-encoding."""
    i = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", i):
        raise DataError(f"{path} is not a JSON array of messages", "fix or re-export the channel")
    i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", i):
        return
    while True:
        obj, end = _DECODER.raw_decode(text, i)
        yield obj, text[i:end]
        i = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith("]", i):
            return
        if not text.startswith(",", i):
            raise json.JSONDecodeError("expected ',' or ']'", text, i)
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]


def _day_rows(path: Path) -> list[_Row]:
    """Give the rows of one day file; DataError names the file and message when one is malformed.

    A writer may be mid-append when the stamp changes, so an unparsable file is re-read a few times.
    """
    for attempt in range(_READ_ATTEMPTS):
        try:
            text = path.read_text(encoding="utf-8")
            return [_row(msg, src, path, n) for n, (msg, src) in enumerate(_array_items(text, path))]
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if attempt == _READ_ATTEMPTS - 1:
                raise DataError(f"{path} is not valid JSON ({err})", "fix or re-export the channel") from err
            time.sleep(_READ_RETRY_S)
    raise AssertionError("unreachable")  # the loop either returns or raises


def _row(msg: Any, src: str, path: Path, n: int) -> _Row:
    """Give the index row of one message object."""
    if not isinstance(msg, dict) or not isinstance(msg.get("ts"), str):
        raise DataError(f"{path} message #{n} has no string `ts`", "fix or re-export the channel")
    try:
        key = ts_key(msg["ts"])
    except ValueError as err:
        raise DataError(f"{path} message #{n} has a malformed ts {msg['ts']!r}", "fix the message") from err
    if "type" not in msg:
        src = dump({"type": "message", **msg})
    thread_ts = msg.get("thread_ts")
    is_reply = isinstance(thread_ts, str) and thread_ts != msg["ts"]
    actor = msg.get("user") or msg.get("bot_id")
    is_top = not is_reply or msg.get("subtype") == "thread_broadcast"
    return _Row(key, msg["ts"], thread_ts if is_reply else None, actor, is_top, src)


def _build_index(days: Mapping[str, list[_Row]]) -> ChannelIndex:
    """Give the index of a conversation from its day rows (a later copy of the same ts wins)."""
    rows = sorted((r for name in sorted(days) for r in days[name]), key=lambda r: r.key)
    unique: dict[int, _Row] = {r.key: r for r in rows}
    threads: dict[str, tuple[list[int], list[str]]] = {}
    actors: dict[str, list[str | None]] = {}
    latest: dict[str, str] = {}
    reply_parent: dict[str, str] = {}
    top: list[_Row] = []
    for r in unique.values():
        if r.thread_ts is not None:
            keys, texts = threads.setdefault(r.thread_ts, ([], []))
            keys.append(r.key)
            texts.append(r.text)
            actors.setdefault(r.thread_ts, []).append(r.actor)
            latest[r.thread_ts] = r.ts  # rows are in ts order, so the last one seen is the latest
            reply_parent[r.ts] = r.thread_ts
        if r.is_top:
            top.append(r)
    top_json = [
        _with_thread_summary(r, len(threads[r.ts][0]), actors[r.ts], latest[r.ts])
        if r.ts in threads and r.thread_ts is None
        else r.text
        for r in top
    ]
    return ChannelIndex(
        [r.key for r in top], [r.ts for r in top], top_json, threads, reply_parent, len(unique)
    )


def _with_thread_summary(parent: _Row, count: int, actors: list[str | None], latest: str) -> str:
    """Give a thread parent's JSON with its reply summary computed from the replies present."""
    msg = json.loads(parent.text)
    users = list(dict.fromkeys(a for a in actors if a))
    msg["thread_ts"] = parent.ts
    msg["reply_count"] = count
    msg["reply_users_count"] = len(users)
    msg["reply_users"] = users[:REPLY_USERS_SHOWN]
    msg["latest_reply"] = latest
    return dump(msg)


# ---------------------------------------------------------------------------------------------- methods


def _flag(params: Mapping[str, str], name: str) -> bool:
    """Tell whether a boolean Slack argument is set ("1" or "true", as slack_sdk sends booleans)."""
    return params.get(name, "") in _TRUE


def _limit(settings: ServerSettings, method: str, params: Mapping[str, str]) -> int:
    """Give the page size of a request: its `limit` clamped to the cap, or the method default."""
    raw = params.get("limit")
    if raw in (None, ""):
        return settings.page_size(method, None)
    try:
        value = int(raw)
    except ValueError:
        raise SlackError("invalid_limit") from None
    if value < 0:
        raise SlackError("invalid_limit")
    return settings.page_size(method, value)


def make_cursor(prefix: str, value: str | int) -> str:
    """Give a Slack-style opaque cursor: base64 of `<prefix>:<value>` (e.g. "next_ts:1512085861000543")."""
    return base64.b64encode(f"{prefix}:{value}".encode()).decode("ascii")


def read_cursor(params: Mapping[str, str], prefix: str) -> str | None:
    """Give the value inside the request's cursor, None without one; SlackError invalid_cursor if foreign."""
    raw = params.get("cursor")
    if not raw:
        return None
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    head, sep, value = text.partition(":")
    if head != prefix or not sep or not value:
        raise SlackError("invalid_cursor")
    return value


def _key_cursor(params: Mapping[str, str]) -> int | None:
    """Give the microsecond key a `next_ts` cursor carries, None without a cursor."""
    value = read_cursor(params, "next_ts")
    if value is None:
        return None
    if not value.isdigit():
        raise SlackError("invalid_cursor")
    return int(value)


def _bounds(keys: list[int], params: Mapping[str, str]) -> tuple[int, int]:
    """Give the slice of `keys` inside `oldest`/`latest`: exclusive, or inclusive with `inclusive=true`."""
    inclusive = _flag(params, "inclusive")
    lo, hi = 0, len(keys)
    if params.get("oldest"):
        try:
            oldest = bound_key(params["oldest"])
        except ValueError:
            raise SlackError("invalid_ts_oldest") from None
        lo = bisect_left(keys, oldest) if inclusive else bisect_right(keys, oldest)
    if params.get("latest"):
        try:
            latest = bound_key(params["latest"])
        except ValueError:
            raise SlackError("invalid_ts_latest") from None
        hi = bisect_right(keys, latest) if inclusive else bisect_left(keys, latest)
    return lo, max(lo, hi)


def _readable(store: SlackStore, params: Mapping[str, str]) -> Conversation:
    """Give the conversation the request names if the app may read it."""
    conv = store.conversation(params.get("channel"))
    if not conv.is_member:
        raise SlackError("not_in_channel")
    return conv


def _page_tail(has_more: bool, next_cursor: str) -> dict[str, Any]:
    """Give the paging fields that end a Slack page."""
    return {"has_more": has_more, "response_metadata": {"next_cursor": next_cursor}}


def conversations_history(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of top-level messages, newest first, paging backwards in time."""
    idx = store.index(_readable(store, params))
    limit = _limit(settings, "conversations.history", params)
    lo, hi = _bounds(idx.top_keys, params)
    cursor = _key_cursor(params)
    if cursor is not None:
        hi = max(lo, min(hi, bisect_right(idx.top_keys, cursor)))
    start = max(lo, hi - limit)
    items = idx.top_json[start:hi][::-1]
    has_more = start > lo
    tail = {
        "has_more": has_more,
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {
            "next_cursor": make_cursor("next_ts", idx.top_keys[start - 1]) if has_more else ""
        },
    }
    return splice({"ok": True}, "messages", items, tail)


def conversations_replies(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of a thread, oldest first; the parent leads the first page only."""
    idx = store.index(_readable(store, params))
    ts = params.get("ts")
    if not ts:
        raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: ts"])
    thread_ts = idx.reply_parent.get(ts, ts)
    parent = idx.top_message(thread_ts)
    keys, texts = idx.threads.get(thread_ts, ([], []))
    if parent is None and not keys:
        raise SlackError("thread_not_found")
    limit = _limit(settings, "conversations.replies", params)
    lo, hi = _bounds(keys, params)
    cursor = _key_cursor(params)
    items = []
    if cursor is None and parent is not None:
        items.append(parent)
    else:
        lo = max(lo, bisect_left(keys, cursor)) if cursor is not None else lo
    end = min(hi, lo + limit - len(items))
    items.extend(texts[lo:end])
    has_more = end < hi
    return splice(
        {"ok": True},
        "messages",
        items,
        _page_tail(has_more, make_cursor("next_ts", keys[end]) if has_more else ""),
    )


def _keyed_page(
    ids: list[str], items: list[str], prefix: str, limit: int, params: Mapping[str, str]
) -> tuple[list[str], str]:
    """Give one page of `items` (keyed by `ids`) after the cursor, and the cursor of the next page."""
    start = 0
    after = read_cursor(params, prefix)
    if after is not None:
        try:
            start = ids.index(after)
        except ValueError:
            raise SlackError("invalid_cursor") from None
    end = min(len(ids), start + limit)
    return items[start:end], make_cursor(prefix, ids[end]) if end < len(ids) else ""


def users_list(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of users.json, in file order."""
    meta = store.meta()
    ids = [str(u.get("id")) for u in meta.users]
    page, nxt = _keyed_page(ids, meta.user_json, "user", _limit(settings, "users.list", params), params)
    cache_ts = int(
        max((u.get("updated", 0) for u in meta.users if isinstance(u.get("updated"), int)), default=0)
    )
    return splice(
        {"ok": True}, "members", page, {"cache_ts": cache_ts, "response_metadata": {"next_cursor": nxt}}
    )


def conversations_list(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of the conversations the app can see (every public one), of the requested `types`."""
    types = {t.strip() for t in (params.get("types") or "public_channel").split(",") if t.strip()}
    unknown = types - set(KIND_TYPES.values())
    if unknown:
        raise SlackError("invalid_types", messages=[f"[ERROR] unknown types: {sorted(unknown)}"])
    visible = [
        c
        for c in store.meta().conversations.values()
        if KIND_TYPES[c.kind] in types
        and (c.is_member or c.kind == "channel")
        and not (c.is_archived and _flag(params, "exclude_archived"))
    ]
    ids = [c.id for c in visible]
    texts = [dump(c.api) for c in visible]
    page, nxt = _keyed_page(ids, texts, "team", _limit(settings, "conversations.list", params), params)
    return splice({"ok": True}, "channels", page, {"response_metadata": {"next_cursor": nxt}})


def conversations_info(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give one conversation's object."""
    conv = store.conversation(params.get("channel"))
    if conv.kind != "channel" and not conv.is_member:
        raise SlackError("channel_not_found")  # private conversations are invisible to non-members
    return dump({"ok": True, "channel": conv.api}).encode("utf-8")


def conversations_members(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of a conversation's member ids."""
    conv = _readable(store, params)
    ids = list(conv.members)
    page, nxt = _keyed_page(
        ids, [dump(m) for m in ids], "user", _limit(settings, "conversations.members", params), params
    )
    return splice({"ok": True}, "members", page, {"response_metadata": {"next_cursor": nxt}})


def team_info(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give the team object derived from users.json."""
    return dump({"ok": True, "team": store.meta().team}).encode("utf-8")


def auth_test(store: SlackStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give the identity of the sandbox bot token."""
    team = store.meta().team
    return dump(
        {
            "ok": True,
            "url": f"https://{team['domain']}.slack.com/",
            "team": team["name"],
            "user": "sandbox-bot",
            "team_id": team["id"],
            "user_id": settings.bot_user_id,
            "bot_id": settings.bot_id,
            "is_enterprise_install": False,
        }
    ).encode("utf-8")


SLACK_HANDLERS = {
    "auth.test": auth_test,
    "team.info": team_info,
    "users.list": users_list,
    "conversations.list": conversations_list,
    "conversations.info": conversations_info,
    "conversations.members": conversations_members,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
}
