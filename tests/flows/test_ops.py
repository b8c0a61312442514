"""Health, grouped errors, trends with MAD anomalies and alerts, from snapshots built case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checkpoints import RunRecord, SourceStatus, StageStat
from flows.monitor import BreakerOverrides, BreakerState, MonitorSnapshot, Override
from flows.ops import CLASS_HINTS, Policy, Readings, alerts, anomalies, error_groups, health, trends

NOW = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)
GB = 1024**3


def run(
    n: int, status: str = "completed", collect_seconds: float = 10.0, rows: int = 1000, **extra: object
) -> RunRecord:
    """Give run number `n` (newer runs have higher numbers), ended `n` hours before NOW's reference."""
    ended = NOW - timedelta(hours=100 - n)
    return RunRecord.model_validate(
        {
            "run_id": f"r{n:02d}",
            "status": status,
            "started_at": ended - timedelta(minutes=1),
            "ended_at": ended,
            "rows_read": {"slack_messages": rows},
            "stages": [
                StageStat(stage="collect", seconds=collect_seconds, rows_in=rows, rows_out=rows),
                StageStat(stage="detect", seconds=1.0, rows_in=rows, rows_out=10),
            ],
            **extra,
        }
    )


def snap(runs: list[RunRecord], **extra: object) -> MonitorSnapshot:
    """Give a snapshot holding `runs` (given oldest first; the snapshot keeps them newest first)."""
    return MonitorSnapshot.model_validate(
        {"written_at": NOW, "state": "s.duckdb", "runs": runs[::-1], **extra}
    )


READINGS = Readings(disk_free_bytes={"out": 50 * GB, "state": 50 * GB}, memory_percent=40.0)
HOURLY = Policy(run_interval_minutes=60)


@pytest.mark.parametrize(
    ("values", "flags"),
    [
        ([10, 11, 10, 12, 11, 10, 40], [False] * 6 + [True]),  # median 11, MAD 1: 40 is 29 MADs off
        ([10, 11, 10, 12, 11, 10, 14], [False] * 7),  # 14 is 3 MADs off: not more than 3
        ([10, 11, 10, 12, 11, 10, 14.5], [False] * 6 + [True]),
        ([5, 5, 5, 5, 6], [False] * 4 + [True]),  # MAD 0: anything off the median is flagged
        ([5, 500], [False, False]),  # fewer than three values: nothing to compare with
    ],
)
def test_anomalies_are_values_more_than_three_mads_from_the_median(
    values: list[float], flags: list[bool]
) -> None:
    assert anomalies(values) == flags


def test_trends_flag_the_slow_stage_and_alerts_say_so() -> None:
    runs = [run(i, collect_seconds=10 + (i % 2) * 0.5) for i in range(1, 8)] + [run(8, collect_seconds=60)]
    (collect, detect) = trends(snap(runs))
    assert (collect.stage, len(collect.points), collect.median_seconds) == ("collect", 8, 10.5)
    assert [p.seconds_anomaly for p in collect.points] == [False] * 7 + [True]
    assert [p.throughput_anomaly for p in collect.points] == [False] * 7 + [True]
    assert not any(p.seconds_anomaly for p in detect.points)
    (slow,) = alerts(snap(runs), BreakerOverrides(), READINGS, HOURLY, NOW - timedelta(hours=92))
    assert (slow.kind, slow.key) == ("stage_slow", "stage_slow:collect:r08")
    assert slow.message == "stage collect took 60.00 s in run r08, against a median of 10.50 s"


def test_trends_keep_the_last_n_runs_only() -> None:
    runs = [run(i) for i in range(1, 31)]
    assert [p.run_id for p in trends(snap(runs), last=5)[0].points] == ["r26", "r27", "r28", "r29", "r30"]


def test_health_colours_the_last_run_by_age_and_status() -> None:
    recent = snap([run(99)])  # ended an hour before NOW
    assert health(recent, BreakerOverrides(), READINGS, HOURLY, NOW).status == "green"
    assert health(recent, BreakerOverrides(), READINGS, HOURLY, NOW + timedelta(hours=2)).status == "yellow"
    assert health(recent, BreakerOverrides(), READINGS, HOURLY, NOW + timedelta(hours=6)).status == "red"
    failed = snap([run(99, status="failed", errors=["boom — fix it"])])
    result = health(failed, BreakerOverrides(), READINGS, HOURLY, NOW)
    (last,) = [c for c in result.components if c.name == "last_run"]
    assert (result.status, last.reason) == ("red", "run r99 failed 60 min ago: boom — fix it")


def test_health_colours_sources_by_breaker_override_and_last_success() -> None:
    sources = [SourceStatus(source="slack", status="ok"), SourceStatus(source="drive", status="ok")]
    skipped = [
        SourceStatus(source="slack", status="skipped_breaker_open", reason="slack circuit breaker is open"),
        SourceStatus(source="drive", status="ok"),
    ]
    s = snap(
        [run(98, sources=sources), run(99, status="partial", sources=skipped)],
        breakers={"slack": BreakerState(state="open", fail_counter=5, opened_at=NOW - timedelta(minutes=70))},
    )
    overrides = BreakerOverrides(sources={"drive": Override(mode="force-closed", set_at=NOW)})
    result = health(s, overrides, READINGS, HOURLY, NOW)
    parts = {c.name: (c.status, c.reason) for c in result.components}
    assert parts["source:slack"] == (
        "red",
        "breaker open; last success 2.0 h ago; last run: skipped_breaker_open: slack circuit breaker is open",
    )
    assert parts["source:drive"] == (
        "yellow",
        "breaker forced closed by an operator; last success 60 min ago",
    )
    assert parts["last_run"][0] == "yellow"
    found = alerts(s, overrides, READINGS, HOURLY.model_copy(update={"partial_runs": 1}), NOW)
    assert sorted(a.key for a in found) == ["breaker_open:slack", "partial_runs:r99"]


def test_disk_and_memory_thresholds() -> None:
    low = Readings(disk_free_bytes={"out": 300 * 1024**2, "state": 50 * GB}, memory_percent=90.0)
    result = health(snap([run(99)]), BreakerOverrides(), low, HOURLY, NOW)
    parts = {c.name: (c.status, c.reason) for c in result.components}
    assert parts["disk:out"] == ("red", "300 MiB free")
    assert parts["memory"] == ("yellow", "90% of the machine's memory in use")
    (disk,) = alerts(snap([run(99)]), BreakerOverrides(), low, HOURLY, NOW)
    assert (disk.key, disk.message) == ("disk_low:out", "out: 300 MiB free (threshold 1,024)")


def test_run_failed_and_error_rate_alerts() -> None:
    failed = snap(
        [run(99, status="failed", errors=["state locked — wait"], error_classes=["ConfigurationError"])]
    )
    (alert,) = alerts(failed, BreakerOverrides(), READINGS, HOURLY, NOW)
    assert (alert.kind, alert.severity, alert.message) == (
        "run_failed",
        "critical",
        "run r99 failed: state locked — wait",
    )
    noisy = snap([run(99, rows=1000)], quarantine_by_run={"r99": 80})
    (rate,) = alerts(noisy, BreakerOverrides(), READINGS, HOURLY, NOW)
    assert rate.message == "run r99 quarantined 80 of 1000 rows (8.0%, threshold 5.0%)"


def test_errors_are_grouped_by_class_and_source_with_first_and_last_seen() -> None:
    failing = SourceStatus(
        source="calendar", status="failed", reason="Calendar: HTTP 503 — the next run retries"
    )
    s = snap(
        [
            run(
                97, status="failed", errors=["lock held — wait for it"], error_classes=["ConfigurationError"]
            ),
            run(98, status="partial", sources=[failing]),
            run(
                99,
                status="failed",
                errors=["lock still held — stop the other run"],
                error_classes=["ConfigurationError"],
            ),
        ],
        quarantine_by_source={"slack": {"missing_key": 3}},
    )
    groups = {(g.error_class, g.source): g for g in error_groups(s)}
    assert list(groups) == [
        ("DataError", "slack"),
        ("ConfigurationError", "run"),
        ("RetriableError", "calendar"),
    ]
    config = groups[("ConfigurationError", "run")]
    assert (config.count, config.message, config.hint) == (2, "lock still held", "stop the other run")
    assert (config.first_seen, config.last_seen) == (run(97).ended_at, run(99).ended_at)
    data = groups[("DataError", "slack")]
    assert data.count == 3
    assert data.message.startswith("quarantined (missing_key): the record has no key")


def test_troubleshooting_covers_every_error_class() -> None:
    """docs/troubleshooting.md has a section per class of core.errors and per class /api/errors names."""
    from pathlib import Path

    import core.errors

    text = (Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    sections = {
        line.removeprefix("## ").split(" ")[0] for line in text.splitlines() if line.startswith("## ")
    }
    classes = {n for n, v in vars(core.errors).items() if isinstance(v, type) and issubclass(v, Exception)}
    classes -= {"Exception"}
    assert classes <= sections
    assert set(CLASS_HINTS) <= sections


def test_a_run_left_running_with_no_process_on_the_state_is_yellow() -> None:
    started = run(99).model_copy(update={"status": "running", "ended_at": None})
    s = snap([run(98), started])
    for writer, status in ((True, "green"), (None, "green"), (False, "yellow")):
        readings = READINGS.model_copy(update={"writer_active": writer})
        (last,) = [
            c for c in health(s, BreakerOverrides(), readings, HOURLY, NOW).components if c.name == "last_run"
        ]
        assert last.status == status
    assert last.reason == (
        "run r99 started 61 min ago and never ended, and no process holds the state: it was stopped or "
        "killed; the next run carries on from its checkpoints"
    )
