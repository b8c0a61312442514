"""Generate a synthetic workspace snapshot (Slack export, calendars, Drive, directory) and its truth.

`generate_workspace` is deterministic by seed and prefix-stable: day d is built only from the org
(seeded by (seed, "org")) and an RNG seeded by (seed, d), every thread stays inside its parent's
UTC day, and recurring series are expanded only on generated days. So a run of D+K days writes
the first D days' Slack files byte for byte like a run of D days, and its calendar files hold every
event of the shorter run unchanged. Files are written day by day; memory stays flat with the days.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from core.errors import ConfigurationError

from ._adhoc import adhoc_calls, huddles
from ._calendar import plan_day
from ._calendar_files import CalendarWriter
from ._common import rng_for
from ._evidence import calendar_meetings
from ._noise import post_bursts, post_noise
from ._org import DriveFile, Org, build_org
from ._profile import PROFILES
from ._series import Series, build_series
from ._slack import SlackDay
from ._snapshot import write_drive_files, write_org_files
from ._text import PHRASINGS
from ._truth import NOISE_LISTING_LIMIT, Truth

SIZES: dict[str, tuple[int, int]] = {"S": (50, 20), "M": (150, 60), "L": (600, 150)}
MIN_PEOPLE, MAX_PEOPLE = 10, 5000
MAX_DAYS = 3660


@dataclass(frozen=True)
class GenerationSummary:
    """What a generation wrote: record counts and where the files are."""

    out: Path
    messages: int
    top_level: int
    replies: int
    users: int
    channels: int
    calendars: int
    event_rows: int
    unique_events: int
    meetings: int
    files: int
    directory_users: int
    slack_dir: Path
    calendar_dir: Path
    drive_file: Path
    directory_file: Path
    truth_file: Path


@dataclass
class _Tally:
    """Running counts while the workspace is written (the `counts` block of truth.json)."""

    messages: int = 0
    top_level: int = 0
    replies: int = 0
    slack_users: int = 0
    channels: int = 0
    calendars: int = 0
    event_rows: int = 0
    unique_events: int = 0
    drive_files: int = 0
    directory_users: int = 0


def generate_workspace(
    out: Path,
    people: int,
    days: int,
    seed: int,
    start: date = date(2026, 9, 7),
    profile: str = "standard",
    phrasing: str | None = None,
) -> GenerationSummary:
    """Give the summary of a freshly generated workspace snapshot under `out`, truth.json included.

    `phrasing` "a" or "b" draws every message from that half of the phrase banks (None: both halves).
    """
    out = Path(out)
    _check(out, people, days, profile, phrasing)
    _prepare(out)
    org = build_org(seed, people, start, replace(PROFILES[profile], phrasing=phrasing))
    series = build_series(org, seed)
    tally = _Tally()
    tally.slack_users, tally.channels, tally.directory_users = write_org_files(org, out)
    calendars = CalendarWriter(out / "google" / "calendar", org)
    truth = Truth(list_noise=people * days <= NOISE_LISTING_LIMIT)
    files = list(org.files)
    for offset in range(days):
        _generate_day(org, series, seed, start + timedelta(days=offset), out, calendars, truth, files, tally)
    tally.calendars, tally.event_rows = calendars.finish(), calendars.rows
    tally.drive_files = write_drive_files(org, files, out)
    generator: dict[str, object] = {
        "seed": seed,
        "people": people,
        "days": days,
        "start": start.isoformat(),
        "profile": profile,
    }
    if phrasing is not None:  # recorded only when set, so a default run's truth.json keeps its bytes
        generator["phrasing"] = phrasing
    truth.write(out / "truth.json", {"generator": generator, "counts": asdict(tally)}, org)
    return _summary(out, tally, len(truth.meetings))


def _summary(out: Path, tally: _Tally, meetings: int) -> GenerationSummary:
    """Give the summary of a finished run."""
    return GenerationSummary(
        out=out,
        messages=tally.messages,
        top_level=tally.top_level,
        replies=tally.replies,
        users=tally.slack_users,
        channels=tally.channels,
        calendars=tally.calendars,
        event_rows=tally.event_rows,
        unique_events=tally.unique_events,
        meetings=meetings,
        files=tally.drive_files,
        directory_users=tally.directory_users,
        slack_dir=out / "slack",
        calendar_dir=out / "google" / "calendar",
        drive_file=out / "google" / "drive" / "files.json",
        directory_file=out / "google" / "directory" / "users.json",
        truth_file=out / "truth.json",
    )


def _generate_day(
    org: Org,
    series: tuple[Series, ...],
    seed: int,
    day: date,
    out: Path,
    calendars: CalendarWriter,
    truth: Truth,
    files: list[DriveFile],
    tally: _Tally,
) -> None:
    """Generate, write and record one day: calendar first, then Slack evidence, ad hoc meetings, noise."""
    plan = plan_day(org, series, seed, day)
    slack = SlackDay(org, day, rng_for(seed, "slack", day.isoformat()))
    present = {p.index for p in org.people if p.posts and p.index not in plan.absent}
    meetings = calendar_meetings(slack, plan)
    meetings += huddles(slack, present)
    meetings += adhoc_calls(slack, present)
    post_noise(slack, present)
    if org.profile.hard:
        post_bursts(slack, plan, present, rng_for(seed, "burst", day.isoformat()))
    tally.messages += slack.write(out / "slack")
    tally.top_level += slack.top_level
    tally.replies += slack.replies
    tally.unique_events += len(plan.events)
    calendars.add(plan.events)
    files += plan.files
    truth.add_day(plan.events, meetings, slack)


def _check(out: Path, people: int, days: int, profile: str, phrasing: str | None) -> None:
    """Raise ConfigurationError for arguments the generator cannot honour."""
    if not MIN_PEOPLE <= people <= MAX_PEOPLE:
        raise ConfigurationError(
            f"people={people} is out of range", f"choose between {MIN_PEOPLE} and {MAX_PEOPLE} people"
        )
    if not 1 <= days <= MAX_DAYS:
        raise ConfigurationError(f"days={days} is out of range", f"choose between 1 and {MAX_DAYS} days")
    if profile not in PROFILES:
        raise ConfigurationError(f"unknown profile {profile!r}", f"use one of: {', '.join(PROFILES)}")
    if phrasing is not None and phrasing not in PHRASINGS:
        raise ConfigurationError(
            f"unknown phrasing {phrasing!r}", f"use one of: {', '.join(PHRASINGS)}, or leave it out for both"
        )
    if out.exists() and not out.is_dir():
        raise ConfigurationError(f"{out} exists and is not a directory", "pass a directory path")


def _prepare(out: Path) -> None:
    """Make `out` ready: create it, or clear a workspace this generator wrote before.

    A non-empty directory without our truth.json is refused, so nobody loses unrelated files.
    """
    if out.exists() and any(out.iterdir()):
        if not _is_generated(out / "truth.json"):
            raise ConfigurationError(
                f"{out} is not empty and was not written by the generator",
                "pass an empty or new directory, or delete it first",
            )
        for name in ("slack", "google"):
            shutil.rmtree(out / name, ignore_errors=True)
        (out / "truth.json").unlink()
    (out / "slack").mkdir(parents=True, exist_ok=True)
    (out / "google" / "calendar").mkdir(parents=True, exist_ok=True)


def _is_generated(truth: Path) -> bool:
    """Give whether `truth` is a truth.json this generator wrote (it starts with the generator block)."""
    try:
        with open(truth, encoding="utf-8") as f:
            head = f.read(200)
    except OSError:
        return False
    return head.startswith('{"generator":{"seed":')
