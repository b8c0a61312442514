"""The evaluation's definitions checked on a hand-made pipeline state and truth."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from core.errors import DataError
from intelligence.evaluate import evaluate, shorten
from intelligence.models import EVIDENCE, MEETING_EVIDENCE, MEETINGS, PEOPLE
from tests.intelligence.raw_builders import store

T = datetime(2026, 9, 8, 13, 0, tzinfo=UTC)


def _rows(schema: pa.Schema, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{f: r.get(f) for f in schema.names} for r in rows], schema=schema)


def _meeting(mid: str, event: str | None, status: str = "held", channels: tuple[str, ...] = ()) -> dict:
    return {
        "meeting_id": mid,
        "calendar_event_id": event,
        "status": status,
        "start": T,
        "end": T.replace(minute=30),
        "channel_ids": list(channels),
    }


TRUTH = {
    "generator": {"seed": 9, "people": 10, "days": 1, "profile": "standard"},
    "meetings": [
        {
            "key": "m-1",
            "calendar_event_id": "e1",
            "status": "held",
            "title": "Sync",
            "start": "2026-09-08T13:00:00Z",
            "end": "2026-09-08T13:30:00Z",
            "slack_evidence": [{"channel_id": "C1", "ts": "1.1"}, {"channel_id": "C1", "ts": "1.2"}],
        },
        {
            "key": "m-2",
            "calendar_event_id": "e2",
            "status": "cancelled",
            "title": "Retro",
            "start": "2026-09-08T15:00:00Z",
            "end": "2026-09-08T15:30:00Z",
            "slack_evidence": [],
        },
        {
            "key": "m-3",
            "calendar_event_id": None,
            "status": "held",
            "title": "Huddle",
            "start": "2026-09-08T13:10:00Z",
            "end": "2026-09-08T13:20:00Z",
            "slack_evidence": [{"channel_id": "C2", "ts": "2.1"}],
        },
        {
            "key": "m-4",
            "calendar_event_id": "e4",
            "status": "held",
            "title": "Demo",
            "start": "2026-09-08T16:00:00Z",
            "end": "2026-09-08T16:30:00Z",
            "slack_evidence": [],
        },
    ],
    "not_meetings": [{"calendar_event_id": "f1", "reason": "focus_time"}],
    "slack_user_emails": {"U1": "ann.lee@acme.example", "U2": "bob.ray@acme.example"},
}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A state where e1 is reported twice, cancelled e2 and focus time f1 as held, e4 missed, one noise
    message linked, one true message linked to the wrong meeting, and Bob mapped to nobody."""
    c = duckdb.connect()
    store(
        c,
        "meetings",
        _rows(
            MEETINGS,
            [
                _meeting("cal:e1", "e1"),
                _meeting("cal:e1b", "e1"),
                _meeting("cal:e2", "e2"),
                _meeting("cal:f1", "f1"),
                _meeting("huddle:C2:2.1", None, channels=("C2",)),
            ],
        ),
    )
    links = [
        ("cal:e1", "C1", "1.1"),
        ("cal:e2", "C1", "1.2"),
        ("huddle:C2:2.1", "C2", "2.1"),
        ("cal:e1", "C1", "9.9"),
    ]
    store(
        c,
        "meeting_evidence",
        _rows(
            MEETING_EVIDENCE, [dict(zip(("meeting_id", "channel_id", "ts"), r, strict=True)) for r in links]
        ),
    )
    store(c, "evidence", _rows(EVIDENCE, [{"channel_id": ch, "ts": ts} for _, ch, ts in links]))
    store(
        c,
        "people",
        _rows(
            PEOPLE,
            [
                {"person_id": "d1", "email": "Ann.Lee@acme.example", "slack_user_ids": ["U1"]},
                {"person_id": "slack:U2", "email": None, "slack_user_ids": ["U2"]},
            ],
        ),
    )
    return c


def test_figures_follow_the_documented_definitions(con: duckdb.DuckDBPyConnection) -> None:
    """Detection 3 of 4 linked are true (3 of 3 found); correlation 2 of 3 right; calendar 2 found of
    4 rows (a duplicate and focus time cost precision), recall 2 of 3; one cancelled and one focus-time
    event held; the huddle found once; people 1 of 2 (case-insensitive)."""
    e = evaluate(con, TRUTH)
    c = e.calendar
    assert (e.detection.tp, e.detection.fp, e.detection.fn, e.detection.precision, e.detection.f1) == (
        3,
        1,
        0,
        0.75,
        0.8571,
    )
    assert (e.correlation_correct, e.correlation_total, e.correlation_accuracy) == (2, 3, 0.6667)
    assert (c.expected, c.reported, c.found, c.duplicates, c.precision, c.recall) == (3, 4, 2, 1, 0.5, 0.6667)
    assert (c.cancelled_as_held, c.not_meetings_as_held, c.focus_time_as_held, c.status_errors) == (
        1,
        1,
        1,
        1,
    )
    assert (e.slack_meetings.tp, e.slack_meetings.fp, e.slack_meetings.fn) == (1, 0, 0)
    assert (e.people.correct, e.people.total, e.people.accuracy) == (1, 2, 0.5)
    assert e.targets()["no duplicate meetings"] is False


def test_truth_without_its_blocks_is_a_data_error(con: duckdb.DuckDBPyConnection) -> None:
    """A truth object missing the meetings block is refused with a hint."""
    with pytest.raises(DataError, match="meetings"):
        evaluate(con, {"generator": {}, "not_meetings": [], "slack_user_emails": {}})


def test_every_mistake_is_listed_with_truth_pipeline_and_reason(con: duckdb.DuckDBPyConnection) -> None:
    """One miss per mistake: the noise message linked, the message linked to the cancelled event, e4 never
    reported, e1 reported twice, focus time f1 reported, cancelled e2 reported held, and Bob unmapped."""
    e = evaluate(con, TRUTH)
    assert [(m.figure, m.what, m.subject) for m in e.misses] == [
        ("detection", "false positive", 'C1 9.9 ""'),
        ("correlation", "wrong meeting", 'C1 1.2 ""'),
        ("calendar", "missed", "event e4"),
        ("calendar", "duplicated", "event e1"),
        ("calendar", "wrong status", "event e2"),
        ("calendar", "extra", "event f1"),
        ("people", "wrong person", "U2"),
    ]
    wrong = e.misses_of("correlation")[0]
    assert (wrong.truth, wrong.pipeline, wrong.reason) == (
        '? (?) of m-1 "Sync" (event e1, 2026-09-08 13:00)',
        '? (?) linked to cal:e2 "" (held)',
        "no rule matched",
    )
    assert e.misses_of("people")[0].pipeline == "slack:U2 (no email) (match ?)"


def test_a_miss_quotes_the_message_shortened_and_without_control_characters() -> None:
    """Escape sequences and control characters go, whitespace folds to single spaces, and a long text is
    cut to 120 characters ending in an ellipsis."""
    assert shorten("join \x1b[31mnow\x1b[0m\n\tplease\x07") == "join now please"
    long = shorten("word " * 40)
    assert (len(long), long[-1]) == (120, "…")
