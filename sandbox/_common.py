"""Shared helpers of the generator: seeded RNGs, vendor-shaped ids, clock arithmetic and JSON output."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DOMAIN = "acme.example"
TEAM_ID = "T0ACME7Q2LX"
WORK_START = (8, 30)  # local working window in which people post; meetings use tighter slots
WORK_END = (18, 30)

_SLACK_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_GCAL_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # Google event ids are base32hex
_DRIVE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
_LOWER = "abcdefghijklmnopqrstuvwxyz"

# One encoder for every file: compact, UTF-8 text kept readable, and the C fast path.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def dumps(obj: object) -> str:
    """Give the compact JSON text of `obj` (the one serialisation every generated file uses)."""
    return _ENCODER.encode(obj)


def rng_for(seed: int, *parts: object) -> random.Random:
    """Give a Random seeded from `seed` and `parts`; string seeds hash with SHA-512, so runs agree."""
    return random.Random(":".join(["meetintel", str(seed), *(str(p) for p in parts)]))


def stoch_round(rng: random.Random, x: float) -> int:
    """Give `x` rounded down or up at random so the expected value stays `x`."""
    whole = int(x)
    return whole + (1 if rng.random() < x - whole else 0)


def slack_id(rng: random.Random, prefix: str, length: int = 10) -> str:
    """Give a Slack-style id such as `U07QK3M2ZP1` (prefix U users, C channels, B bots, R rooms, F files)."""
    return prefix + "".join(rng.choices(_SLACK_ALPHABET, k=length))


def event_id(rng: random.Random) -> str:
    """Give a Google Calendar event id (26 base32hex characters)."""
    return "".join(rng.choices(_GCAL_ALPHABET, k=26))


def drive_id(rng: random.Random) -> str:
    """Give a Google Drive file id (44 characters starting with `1`)."""
    return "1" + "".join(rng.choices(_DRIVE_ALPHABET, k=43))


def lower_word(rng: random.Random, length: int) -> str:
    """Give `length` random lowercase letters (Meet codes, passcodes)."""
    return "".join(rng.choices(_LOWER, k=length))


def client_msg_id(rng: random.Random) -> str:
    """Give a random version-4 UUID string, as Slack clients stamp on messages."""
    bits = rng.getrandbits(128)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[bits & 3]}{h[17:20]}-{h[20:32]}"


def html_link(event: str, calendar: str) -> str:
    """Give the Google Calendar event link whose `eid` decodes to `"<event id> <calendar email>"`."""
    raw = base64.urlsafe_b64encode(f"{event} {calendar}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={raw}"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """Give the ZoneInfo of an IANA name (cached: the generator asks for a handful millions of times)."""
    return ZoneInfo(name)


def local_epoch(day: date, hour: int, minute: int, tz: str) -> int:
    """Give the epoch seconds of a wall-clock time on `day` in `tz` (DST-aware)."""
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone(tz)).timestamp())


def rfc3339(epoch: int, tz: str) -> str:
    """Give `epoch` as RFC 3339 with the offset of `tz`, e.g. `2026-09-08T09:30:00-04:00`."""
    return datetime.fromtimestamp(epoch, zone(tz)).isoformat()


def utc_z(epoch: int) -> str:
    """Give `epoch` as `2026-09-08T13:30:00Z`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_ms(epoch_ms: int) -> str:
    """Give milliseconds since the epoch as Google's `2026-09-08T13:30:00.123Z`."""
    stamp = datetime.fromtimestamp(epoch_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{epoch_ms % 1000:03d}Z"


def compact_utc(epoch: int) -> str:
    """Give `epoch` as the `20260908T133000Z` suffix of recurring instance ids."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def day_bounds(day: date) -> tuple[int, int]:
    """Give the UTC epoch seconds of the start of `day` and of the next day."""
    lo = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return lo, lo + 86400


@lru_cache(maxsize=4096)
def work_window(day: date, tz: str) -> tuple[int, int]:
    """Give the seconds of `day` (UTC) in which someone in `tz` posts; empty windows have lo >= hi.

    Everything generated for a day stays inside that UTC day, so the day's Slack files never
    depend on the days after it (prefix stability); a margin keeps replies inside too.
    """
    lo, hi = day_bounds(day)
    start = local_epoch(day, *WORK_START, tz)
    end = local_epoch(day, *WORK_END, tz)
    return max(lo + 120, start), min(hi - 900, end)


def pick_time(rng: random.Random, window: tuple[int, int]) -> int:
    """Give a second drawn uniformly from `window` (its low end when the window is empty)."""
    lo, hi = window
    return lo if hi <= lo else rng.randrange(lo, hi)


def local_clock(epoch: int, tz: str) -> str:
    """Give a casual wall-clock label such as `3pm` or `10:30am` in `tz`."""
    t = datetime.fromtimestamp(epoch, zone(tz))
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour}{suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d}{suffix}"


def next_date(day: date, days: int = 1) -> date:
    """Give the date `days` after `day`."""
    return day + timedelta(days=days)
