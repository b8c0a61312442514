"""Rollups per person, team, channel and week on the hand-built organisation of test_metrics, exact values,
and that each rollup adds up to the per-meeting metrics."""

from __future__ import annotations

from datetime import date

import pytest

from aggregation import ROLLUP_TABLES, Reports, build_reports
from tests.aggregation.test_metrics import org_connection


@pytest.fixture(scope="module")
def reports() -> Reports:
    """Give the reports of the hand-built organisation."""
    return build_reports(org_connection())


def rows(reports: Reports, name: str, columns: list[str]) -> list[tuple]:
    """Give the rows of rollup `name` as tuples of `columns`."""
    return [tuple(r[c] for c in columns) for r in reports.tables[name].to_pylist()]


def test_rollups_are_report_tables_with_their_schemas(reports: Reports) -> None:
    """Each rollup is in Reports.tables under rollup_<name> (the flow stores report_rollup_<name>)."""
    for name, schema in ROLLUP_TABLES.items():
        assert reports.tables[name].schema == schema
    assert sorted(ROLLUP_TABLES) == ["rollup_channel", "rollup_person", "rollup_team", "rollup_week"]


def test_person_rollup(reports: Reports) -> None:
    """Per attendee: held meetings, kinds, hours, after hours, conflicts, multitasking; busiest first."""
    cols = ["person_id", "department", "internal", "meetings", "recurring_meetings", "adhoc_meetings"]
    cols += [
        "cancelled_meetings",
        "meeting_hours",
        "after_hours_hours",
        "after_hours_share",
        "conflict_hours",
    ]
    cols += ["multitask_messages", "multitask_hours"]
    assert rows(reports, "rollup_person", cols) == [
        ("d-ann", "Engineering", True, 4, 1, 1, 1, 4.75, 3.75, 0.789, 2.25, 4, 3.75),
        ("d-bob", "Engineering", True, 3, 1, 0, 1, 4.5, 1.0, 0.222, 2.0, 3, 3.5),
        ("d-cat", "Sales", True, 2, 0, 1, 0, 2.25, 2.25, 1.0, 0.5, 1, 2.0),
        ("ext:zoe@client.example", None, False, 1, 0, 0, 0, 2.0, 1.0, 0.5, 0.0, 0, 0.0),
        ("d-dan", "Sales", True, 1, 1, 0, 0, 1.5, 1.5, 1.0, 0.0, 1, 1.5),
    ]


def test_team_rollup(reports: Reports) -> None:
    """Per department; an external attendee without one is its own group."""
    cols = ["team", "people", "meetings", "person_hours", "after_hours_hours", "after_hours_share"]
    cols += ["conflict_hours", "multitask_messages", "multitask_hours"]
    assert rows(reports, "rollup_team", cols) == [
        ("Engineering", 2, 4, 9.25, 4.75, 0.514, 4.25, 7, 7.25),
        ("Sales", 2, 3, 3.75, 3.75, 1.0, 0.5, 2, 3.5),
        ("(external)", 1, 1, 2.0, 1.0, 0.5, 0.0, 0, 0.0),
    ]


def test_channel_rollup(reports: Reports) -> None:
    """Per channel a meeting was discussed in, named from slack_channels; the cancelled one counts apart."""
    cols = ["channel_id", "channel_name", "meetings", "held", "cancelled", "recurring", "adhoc"]
    cols += ["meeting_hours", "person_hours", "evidence_messages", "followups", "action_items"]
    cols += ["median_followup_latency_minutes"]
    assert rows(reports, "rollup_channel", cols) == [
        ("C1", "general", 3, 2, 1, 0, 1, 2.25, 8.5, 9, 2, 1, 45.0),
        ("C4", "planning", 1, 1, 0, 1, 0, 1.5, 4.5, 1, 1, 0, 0.0),
    ]


def test_week_rollup(reports: Reports) -> None:
    """Per ISO week (Monday, UTC) of the start; the median latency is over held meetings with a follow-up."""
    cols = ["week", "meetings", "held", "cancelled", "recurring", "adhoc", "meeting_hours", "person_hours"]
    cols += ["after_hours_person_hours", "after_hours_share", "conflict_hours", "multitask_messages"]
    cols += [
        "multitask_person_hours",
        "followups",
        "action_items",
        "median_followup_latency_minutes",
        "documents",
    ]
    assert rows(reports, "rollup_week", cols) == [
        (date(2026, 9, 7), 4, 3, 1, 1, 1, 3.75, 13.0, 7.5, 0.577, 4.75, 9, 10.75, 3, 1, 22.5, 3),
        (date(2026, 9, 14), 1, 1, 0, 0, 0, 1.0, 2.0, 2.0, 1.0, 0.0, 0, 0.0, 0, 0, None, 0),
    ]


@pytest.mark.parametrize(
    ("rollup", "column", "metric"),
    [
        ("rollup_person", "meeting_hours", "person_hours"),
        ("rollup_person", "after_hours_hours", "after_hours_person_hours"),
        ("rollup_person", "conflict_hours", "conflict_hours"),
        ("rollup_person", "multitask_messages", "multitask_messages"),
        ("rollup_person", "multitask_hours", "multitask_person_hours"),
        ("rollup_team", "person_hours", "person_hours"),
        ("rollup_team", "after_hours_hours", "after_hours_person_hours"),
        ("rollup_team", "conflict_hours", "conflict_hours"),
        ("rollup_week", "person_hours", "person_hours"),
        ("rollup_week", "after_hours_person_hours", "after_hours_person_hours"),
        ("rollup_week", "conflict_hours", "conflict_hours"),
        ("rollup_week", "multitask_messages", "multitask_messages"),
        ("rollup_week", "followups", "followups"),
        ("rollup_week", "documents", "documents"),
    ],
)
def test_rollups_add_up_to_the_meetings(reports: Reports, rollup: str, column: str, metric: str) -> None:
    """Summing a rollup column over its rows gives the sum of the per-meeting metric."""
    total = sum(reports.tables[rollup].column(column).to_pylist())
    expected = sum(reports.tables["meetings"].column(metric).to_pylist())
    assert round(total, 2) == round(expected, 2)
