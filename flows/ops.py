"""Operations figures from a monitoring snapshot: component health, grouped errors, trends and alerts.

Pure functions over `flows.monitor.MonitorSnapshot`, the breaker overrides and a few machine readings, so
`meetintel serve`, `meetintel health` and `meetintel errors` say the same thing.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import psutil
from pydantic import BaseModel, Field

from checkpoints import RunRecord
from core.chunks import QUARANTINE_RULES
from flows.monitor import BreakerOverrides, MonitorSnapshot, state_in_use

Color = Literal["green", "yellow", "red"]
_RANK: dict[str, int] = {"green": 0, "yellow": 1, "red": 2}
MIB = 1024 * 1024

# What each error class means and what to do: the service's /api/errors and docs/troubleshooting.md.
CLASS_HINTS: dict[str, str] = {
    "RetriableError": "a transient fault (rate limit, 5xx, timeout); the next run retries by itself — act "
    "only if it repeats",
    "TransientError": "a rate limit, 5xx or timeout that retries did not get past; the next run continues "
    "from the saved cursor",
    "BreakerOpenError": "the source's circuit breaker is open after repeated failures; it lets a trial call "
    "through after MEETINTEL_BREAKER_RESET_SECONDS, or `meetintel breaker close SOURCE` forces it",
    "FatalError": "retrying cannot fix it (credentials refused, access revoked): fix the token or access, "
    "then run again",
    "AuthError": "the credentials were refused: renew the token or grant the missing scope",
    "Unreadable": "a channel or calendar cannot be read with these credentials: invite the app or share it",
    "ConfigurationError": "a setting, path or option is missing or wrong: `meetintel config show` lists the "
    "effective settings",
    "DataError": "input data is malformed; the message names the file or record: fix or re-export it",
    "ResyncRequired": "the service dropped a sync token (HTTP 410); the run listed everything again",
    "MeetintelError": "see the message's hint",
    "Exception": "an unclassified failure (a bug): the run's log has the traceback; report it",
}


class Policy(BaseModel):
    """Thresholds for health and alerts (the MEETINTEL_HEALTH_* and MEETINTEL_ALERT_* settings)."""

    run_interval_minutes: float = 60.0  # the schedule: a run is expected this often
    stale_factor: float = 2.0  # yellow when the last run is older than this many intervals
    dead_factor: float = 6.0  # red when older than this many
    disk_yellow_mb: float = 2048.0
    disk_red_mb: float = 512.0
    memory_yellow_percent: float = 85.0
    memory_red_percent: float = 95.0
    partial_runs: int = 3  # alert after this many partial runs in a row
    error_rate: float = 0.05  # alert when a run's quarantined share of rows read is above this
    breaker_open_minutes: float = 60.0  # alert when a breaker stays open longer than this
    disk_free_mb: float = 1024.0  # alert when a disk has less free
    trend_runs: int = 20  # runs the trends and the anomaly test look at


class Readings(BaseModel):
    """What the machine says at one instant: free disk per named path, memory use, the Prefect API."""

    disk_free_bytes: dict[str, int] = Field(default_factory=dict)  # label -> bytes free
    memory_percent: float = 0.0
    prefect: tuple[Color, str] = ("green", "no Prefect API configured; each run starts a temporary server")
    state_note: tuple[Color, str] | None = None  # how the state store was read (None: fresh, green)
    writer_active: bool | None = None  # whether a run holds the state now (None: not known)


class Component(BaseModel):
    name: str
    status: Color
    reason: str


class Health(BaseModel):
    status: Color
    checked_at: datetime
    components: list[Component]


def worst(colors: Sequence[str]) -> Color:
    """Give the worst of some colours (green when there are none)."""
    top = max((_RANK[c] for c in colors), default=0)
    return ("green", "yellow", "red")[top]


def _ago(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def finished_runs(snap: MonitorSnapshot | None) -> list[RunRecord]:
    """Give the runs that ended, newest first."""
    return [r for r in (snap.runs if snap else []) if r.status != "running"]


# ---- machine readings ----


def disk_free(path: Path) -> int:
    """Give the bytes free on the file system holding `path` (or its nearest existing parent)."""
    probe = path.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return int(psutil.disk_usage(str(probe)).free)


def prefect_status(api_url: str | None) -> tuple[Color, str]:
    """Give the Prefect API's colour: green when its /health answers, red when it does not."""
    if not api_url:
        return ("green", "no Prefect API configured (PREFECT_API_URL); each run starts a temporary server")
    import httpx

    try:
        answer = httpx.get(api_url.rstrip("/") + "/health", timeout=1.0)
    except httpx.HTTPError as exc:
        return ("red", f"Prefect API at {api_url} unreachable: {type(exc).__name__}")
    if answer.status_code != 200:
        return ("red", f"Prefect API at {api_url} answered HTTP {answer.status_code}")
    return ("green", f"Prefect API at {api_url} healthy")


def machine_readings(out: Path, state: Path, prefect_api_url: str | None) -> Readings:
    """Give free disk under `out` and the state's folder, memory use and the Prefect API's health now."""
    return Readings(
        disk_free_bytes={"out": disk_free(out), "state": disk_free(state.parent)},
        memory_percent=psutil.virtual_memory().percent,
        prefect=prefect_status(prefect_api_url),
        writer_active=state_in_use(state),
    )


# ---- health --------------------------------------------------------------------------------------


def health(
    snap: MonitorSnapshot | None,
    overrides: BreakerOverrides,
    readings: Readings,
    policy: Policy,
    now: datetime,
) -> Health:
    """Give each component's colour and reason, and the overall colour (the worst of them)."""
    parts = [_state(snap, readings), _last_run(snap, policy, now, readings.writer_active)]
    parts += _sources(snap, overrides, policy, now)
    parts.append(Component(name="prefect_api", status=readings.prefect[0], reason=readings.prefect[1]))
    parts += [_disk(label, free, policy) for label, free in sorted(readings.disk_free_bytes.items())]
    parts.append(_memory(readings.memory_percent, policy))
    return Health(status=worst([p.status for p in parts]), checked_at=now, components=parts)


def _state(snap: MonitorSnapshot | None, readings: Readings) -> Component:
    if readings.state_note is not None:
        return Component(name="state_store", status=readings.state_note[0], reason=readings.state_note[1])
    if snap is None:
        return Component(name="state_store", status="red", reason="no state and no snapshot to read")
    rows = ", ".join(f"{k} {v}" for k, v in snap.counts.items())
    return Component(
        name="state_store", status="green", reason=f"read at {snap.written_at:%H:%M:%S UTC}; {rows}"
    )


def _last_run(snap: MonitorSnapshot | None, policy: Policy, now: datetime, writer: bool | None) -> Component:
    runs = snap.runs if snap else []
    if not runs:
        return Component(
            name="last_run", status="yellow", reason="no run yet: start one with `meetintel run`"
        )
    last = runs[0]
    if last.status == "running":
        since = now - (last.started_at or now)
        if writer is False and since > timedelta(minutes=1):
            return Component(
                name="last_run",
                status="yellow",
                reason=f"run {last.run_id} started {_ago(since)} ago and never ended, and no process holds "
                "the state: it was stopped or killed; the next run carries on from its checkpoints",
            )
        return Component(
            name="last_run", status="green", reason=f"run {last.run_id} running for {_ago(since)}"
        )
    ended = last.ended_at or last.started_at or now
    age = now - ended
    interval = timedelta(minutes=policy.run_interval_minutes)
    what = f"run {last.run_id} {last.status} {_ago(age)} ago"
    if last.status == "failed":
        return Component(name="last_run", status="red", reason=what + ": " + "; ".join(last.errors)[:300])
    if age > interval * policy.dead_factor:
        return Component(name="last_run", status="red", reason=f"{what}; expected every {_ago(interval)}")
    if age > interval * policy.stale_factor:
        return Component(name="last_run", status="yellow", reason=f"{what}; expected every {_ago(interval)}")
    if last.status == "partial":
        return Component(name="last_run", status="yellow", reason=what + ": a source was skipped or failed")
    return Component(name="last_run", status="green", reason=what)


def last_success(snap: MonitorSnapshot | None) -> dict[str, datetime]:
    """Give when each source last collected successfully (from the ledger rows in the snapshot)."""
    seen: dict[str, datetime] = {}
    for run in finished_runs(snap):
        for s in run.sources:
            if s.status == "ok" and s.source not in seen and run.ended_at is not None:
                seen[s.source] = run.ended_at
    return seen


def _sources(
    snap: MonitorSnapshot | None, overrides: BreakerOverrides, policy: Policy, now: datetime
) -> list[Component]:
    """Give one component per source a run ever used, or that has a breaker or an override."""
    latest: dict[str, tuple[RunRecord, str, str | None]] = {}
    for run in finished_runs(snap):
        for s in run.sources:
            latest.setdefault(s.source, (run, s.status, s.reason))
    breakers = snap.breakers if snap else {}
    names = sorted(set(latest) | set(breakers) | set(overrides.sources))
    ok = last_success(snap)
    stale = timedelta(minutes=policy.run_interval_minutes * policy.stale_factor)
    found = []
    for name in names:
        colors: list[Color] = []
        notes: list[str] = []
        mode = overrides.mode(name)
        breaker = breakers.get(name)
        if mode == "force-open":
            colors.append("red")
            notes.append("breaker forced open by an operator (the next run skips the source)")
        elif mode == "force-closed":
            colors.append("yellow")
            notes.append("breaker forced closed by an operator")
        elif breaker is not None and breaker.state != "closed":
            colors.append("red" if breaker.state == "open" else "yellow")
            notes.append(f"breaker {breaker.state}")
        else:
            notes.append("breaker closed")
        if name in ok:
            age = now - ok[name]
            notes.append(f"last success {_ago(age)} ago")
            if age > stale:
                colors.append("yellow")
        else:
            colors.append("yellow")
            notes.append("no successful collection yet")
        if name in latest and latest[name][1] != "ok":
            colors.append("red" if latest[name][1] == "failed" else "yellow")
            notes.append(f"last run: {latest[name][1]}: {latest[name][2] or 'no reason given'}")
        found.append(Component(name=f"source:{name}", status=worst(colors), reason="; ".join(notes)))
    return found


def _disk(label: str, free: int, policy: Policy) -> Component:
    mb = free / MIB
    status: Color = "red" if mb < policy.disk_red_mb else "yellow" if mb < policy.disk_yellow_mb else "green"
    return Component(name=f"disk:{label}", status=status, reason=f"{mb:,.0f} MiB free")


def _memory(percent: float, policy: Policy) -> Component:
    status: Color = (
        "red"
        if percent >= policy.memory_red_percent
        else "yellow"
        if percent >= policy.memory_yellow_percent
        else "green"
    )
    return Component(name="memory", status=status, reason=f"{percent:.0f}% of the machine's memory in use")


# ---- errors --------------------------------------------------------------------------------------


class ErrorGroup(BaseModel):
    """Errors of one class from one source: how many, when first and last seen, and what to do."""

    error_class: str
    source: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    message: str  # the latest message
    hint: str


def _split(text: str) -> tuple[str, str]:
    """Give (message, hint) of a ledger error written as `message — hint`."""
    message, _, hint = text.partition(" — ")
    return message, hint


def error_groups(snap: MonitorSnapshot | None) -> list[ErrorGroup]:
    """Give the errors of the ledger's runs, sources and quarantine grouped by class and source."""
    groups: dict[tuple[str, str], ErrorGroup] = {}

    def add(cls: str, source: str, at: datetime | None, message: str, hint: str, n: int = 1) -> None:
        key = (cls, source)
        g = groups.get(key)
        if g is None:
            groups[key] = ErrorGroup(
                error_class=cls,
                source=source,
                count=n,
                first_seen=at,
                last_seen=at,
                message=message,
                hint=hint or CLASS_HINTS.get(cls, CLASS_HINTS["MeetintelError"]),
            )
            return
        g.count += n
        g.first_seen = min((t for t in (g.first_seen, at) if t is not None), default=None)
        if at is not None and (g.last_seen is None or at >= g.last_seen):
            g.last_seen, g.message = at, message
            g.hint = hint or g.hint

    for run in reversed(finished_runs(snap)):  # oldest first, so the latest message wins
        at = run.ended_at or run.started_at
        classes = list(run.error_classes) + ["MeetintelError"] * (len(run.errors) - len(run.error_classes))
        for text, cls in zip(run.errors, classes, strict=False):
            message, hint = _split(text)
            add(cls, "run", at, message, hint)
        for s in run.sources:
            if s.status == "skipped_breaker_open":
                add("BreakerOpenError", s.source, at, s.reason or "breaker open", "")
            elif s.status == "failed":
                message, hint = _split(s.reason or "the source failed")
                add(
                    "AuthError" if "refused" in message.lower() else "RetriableError",
                    s.source,
                    at,
                    message,
                    hint,
                )
    if snap is not None:
        for source, rules in snap.quarantine_by_source.items():
            for rule, n in rules.items():
                meaning = QUARANTINE_RULES.get(rule, rule)
                message, hint = _split(meaning)
                add(
                    "DataError",
                    source,
                    None,
                    f"quarantined ({rule}): {message}",
                    hint + "; see `meetintel quarantine list`",
                    n,
                )
    return sorted(groups.values(), key=lambda g: (-g.count, g.error_class, g.source))


# ---- trends --------------------------------------------------------------------------------------


class TrendPoint(BaseModel):
    run_id: str
    started_at: datetime | None
    seconds: float
    rows_in: int
    throughput: float  # rows in per second
    error_rate: float  # share of the run's rows that were quarantined (collect), else 0
    throughput_anomaly: bool = False
    error_rate_anomaly: bool = False
    seconds_anomaly: bool = False


class StageTrend(BaseModel):
    stage: str
    median_throughput: float
    median_seconds: float
    points: list[TrendPoint]  # oldest first


def anomalies(values: Sequence[float], k: float = 3.0) -> list[bool]:
    """Flag the values more than `k` median absolute deviations from the median (needs 3 values or more).

    With a MAD of zero (most values equal) any value off the median is flagged.
    """
    if len(values) < 3:
        return [False] * len(values)
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    tolerance = 1e-9 * max(1.0, abs(med))
    return [abs(v - med) > max(k * mad, tolerance) for v in values]


def trends(snap: MonitorSnapshot | None, last: int = 20) -> list[StageTrend]:
    """Give per-stage throughput, seconds and error rate over the last `last` finished runs, with flags."""
    runs = list(reversed(finished_runs(snap)[:last]))
    quarantined = snap.quarantine_by_run if snap else {}
    by_stage: dict[str, list[TrendPoint]] = {}
    for run in runs:
        read = max(sum(run.rows_read.values()), 1)
        for s in run.stages:
            if s.skipped:
                continue
            rate = quarantined.get(run.run_id, 0) / read if s.stage == "collect" else 0.0
            point = TrendPoint(
                run_id=run.run_id,
                started_at=run.started_at,
                seconds=round(s.seconds, 4),
                rows_in=s.rows_in,
                throughput=round(s.rows_per_second, 2),
                error_rate=round(rate, 6),
            )
            by_stage.setdefault(s.stage, []).append(point)
    result = []
    for stage, points in by_stage.items():
        flags = zip(
            anomalies([p.throughput for p in points]),
            anomalies([p.error_rate for p in points]),
            anomalies([p.seconds for p in points]),
            strict=True,
        )
        for p, (tp, er, sec) in zip(points, flags, strict=True):
            p.throughput_anomaly, p.error_rate_anomaly, p.seconds_anomaly = tp, er, sec
        result.append(
            StageTrend(
                stage=stage,
                median_throughput=statistics.median(p.throughput for p in points),
                median_seconds=statistics.median(p.seconds for p in points),
                points=points,
            )
        )
    return result


# ---- alerts --------------------------------------------------------------------------------------


class Alert(BaseModel):
    """An alert that holds now; `key` stays the same while the same condition lasts."""

    key: str
    kind: Literal["run_failed", "partial_runs", "stage_slow", "error_rate", "breaker_open", "disk_low"]
    severity: Literal["warning", "critical"]
    message: str
    since: datetime | None = None


def alerts(
    snap: MonitorSnapshot | None,
    overrides: BreakerOverrides,
    readings: Readings,
    policy: Policy,
    now: datetime,
) -> list[Alert]:
    """Give the alerts whose thresholds (`policy`) are crossed now."""
    found: list[Alert] = []
    runs = finished_runs(snap)
    if runs and runs[0].status == "failed":
        last = runs[0]
        found.append(
            Alert(
                key=f"run_failed:{last.run_id}",
                kind="run_failed",
                severity="critical",
                message=f"run {last.run_id} failed: " + "; ".join(last.errors)[:500],
                since=last.ended_at,
            )
        )
    streak = 0
    for run in runs:
        if run.status != "partial":
            break
        streak += 1
    if streak >= policy.partial_runs:
        found.append(
            Alert(
                key=f"partial_runs:{runs[streak - 1].run_id}",
                kind="partial_runs",
                severity="warning",
                message=f"the last {streak} runs were partial (threshold {policy.partial_runs})",
                since=runs[streak - 1].ended_at,
            )
        )
    found += _trend_alerts(snap, runs, policy)
    found += _breaker_alerts(snap, overrides, policy, now)
    for label, free in sorted(readings.disk_free_bytes.items()):
        if free / MIB < policy.disk_free_mb:
            found.append(
                Alert(
                    key=f"disk_low:{label}",
                    kind="disk_low",
                    severity="critical",
                    message=f"{label}: {free / MIB:,.0f} MiB free (threshold {policy.disk_free_mb:,.0f})",
                    since=now,
                )
            )
    return found


def _trend_alerts(snap: MonitorSnapshot | None, runs: list[RunRecord], policy: Policy) -> list[Alert]:
    if not runs:
        return []
    last = runs[0]
    found = []
    for trend in trends(snap, policy.trend_runs):
        point = trend.points[-1]
        if point.run_id == last.run_id and point.seconds_anomaly and point.seconds > trend.median_seconds:
            found.append(
                Alert(
                    key=f"stage_slow:{trend.stage}:{last.run_id}",
                    kind="stage_slow",
                    severity="warning",
                    message=f"stage {trend.stage} took {point.seconds:.2f} s in run {last.run_id}, "
                    f"against a median of {trend.median_seconds:.2f} s",
                    since=last.ended_at,
                )
            )
    read = sum(last.rows_read.values())
    quarantined = snap.quarantine_by_run.get(last.run_id, 0) if snap else 0
    if read and quarantined / read > policy.error_rate:
        found.append(
            Alert(
                key=f"error_rate:{last.run_id}",
                kind="error_rate",
                severity="warning",
                message=f"run {last.run_id} quarantined {quarantined} of {read} rows "
                f"({quarantined / read:.1%}, threshold {policy.error_rate:.1%})",
                since=last.ended_at,
            )
        )
    return found


def _breaker_alerts(
    snap: MonitorSnapshot | None, overrides: BreakerOverrides, policy: Policy, now: datetime
) -> list[Alert]:
    found = []
    limit = timedelta(minutes=policy.breaker_open_minutes)
    opened: dict[str, datetime] = {}
    for name, b in (snap.breakers if snap else {}).items():
        if b.state == "open" and b.opened_at is not None and overrides.mode(name) != "force-closed":
            opened[name] = b.opened_at
    for name, o in overrides.sources.items():
        if o.mode == "force-open" and o.set_at is not None:
            opened[name] = min(opened.get(name, o.set_at), o.set_at)
    for name, since in sorted(opened.items()):
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        if now - since > limit:
            found.append(
                Alert(
                    key=f"breaker_open:{name}",
                    kind="breaker_open",
                    severity="critical",
                    message=f"{name}: circuit breaker open for {_ago(now - since)} (threshold {_ago(limit)})",
                    since=since,
                )
            )
    return found
