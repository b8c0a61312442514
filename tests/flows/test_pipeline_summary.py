"""The run summary the flow publishes as its Prefect markdown artifact (built without Prefect running)."""

from __future__ import annotations

from pathlib import Path

from checkpoints import RunRecord, StageStat
from core.chunks import QUARANTINE_RULES
from flows.pipeline import summary_markdown


def _record() -> RunRecord:
    record = RunRecord(run_id="r1", mode="incremental", status="completed")
    record.stages.append(
        StageStat(stage="collect", seconds=1.0, rows_in=10, rows_out=10, note="3 files changed")
    )
    return record


def test_the_summary_counts_quarantined_records_by_rule_with_what_each_rule_means(tmp_path: Path) -> None:
    """One table row per rule, sorted by rule, with its count and meaning; the total points at the CLI."""
    text = summary_markdown(_record(), str(tmp_path), 5, 3, 0, {"unreadable_time": 2, "end_before_start": 1})
    assert "Quarantined records: 3 (see `meetintel quarantine list`)" in text
    rows = [
        line for line in text.splitlines() if line.startswith(("| end_before_start", "| unreadable_time"))
    ]
    assert rows == [
        f"| end_before_start | 1 | {QUARANTINE_RULES['end_before_start']} |",
        f"| unreadable_time | 2 | {QUARANTINE_RULES['unreadable_time']} |",
    ]


def test_the_summary_has_no_quarantine_section_when_nothing_was_quarantined(tmp_path: Path) -> None:
    assert "Quarantined" not in summary_markdown(_record(), str(tmp_path), 5, 3, 0, {})
