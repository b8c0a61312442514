"""The runs ledger read without the store (`meetintel status`): read-only, older ledgers, bad files."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from checkpoints import RunRecord, StageResources, StageStat, StateStore
from checkpoints.ledger import DAMAGED_HINT, read_ledger
from collectors.files import Chunk, FileStamp
from core.errors import DataError
from tests.checkpoints.test_store import _messages

TABLES = ("slack_messages", "calendar_events", "meeting_records")


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_the_ledger_reads_as_the_store_gives_it_and_the_file_is_not_written(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    with StateStore(state) as store:
        first = store.start_run("full")
        store.commit_chunk(
            Chunk("slack_messages", _messages([("C1", "1.0", "a"), ("C1", "2.0", "b"), ("C2", "1.0", "c")]),
                  [FileStamp("slack/general/2026-09-07.json", 10, "1")]),
            first,
        )  # fmt: skip
        store.finish_run(
            RunRecord(
                run_id=first,
                mode="full",
                status="partial",
                rows_read={"slack_messages": 3},
                stages=[StageStat(stage="collect", seconds=1.5, rows_in=3, rows_out=3)],
                errors=["drive: quota"],
                error_classes=["RetriableError"],
                resources={"collect": StageResources(rss_peak_bytes=120 << 20, samples=4)},
            )
        )
        second = store.start_run("incremental")
        expected = store.runs(10)
    before = _digest(state)

    runs, counts = read_ledger(state, 10, TABLES)

    assert runs == expected
    assert [r.run_id for r in runs] == [second, first]
    assert runs[1].stages[0].rows_out == 3 and runs[1].resources["collect"].rss_peak_bytes == 120 << 20
    assert runs[1].error_classes == ["RetriableError"]
    assert counts == {"slack_messages": 3, "calendar_events": 0, "meeting_records": 0}
    assert [r.run_id for r in read_ledger(state, 1, TABLES)[0]] == [second]
    assert _digest(state) == before
    assert not state.with_name(state.name + ".wal").exists()


def test_a_ledger_written_before_the_later_columns_reads_them_as_empty(tmp_path: Path) -> None:
    state = tmp_path / "old.duckdb"
    with duckdb.connect(str(state)) as con:
        con.execute(
            "CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, mode VARCHAR, started_at TIMESTAMPTZ, "
            "ended_at TIMESTAMPTZ, status VARCHAR, rows_read JSON, rows_written JSON, stages JSON, "
            "errors JSON, sources JSON)"
        )
        con.execute(
            "INSERT INTO runs VALUES ('r1', 'full', ?, NULL, 'completed', '{\"slack_messages\": 5}', NULL, "
            "'[]', '[]', NULL)",
            [datetime(2026, 9, 7, 9, 30, tzinfo=UTC)],
        )
        con.execute("CREATE TABLE slack_messages (channel_id VARCHAR, ts VARCHAR)")
        con.execute("INSERT INTO slack_messages VALUES ('C1', '1.0'), ('C1', '2.0')")

    runs, counts = read_ledger(state, 10, TABLES)

    assert runs == [
        RunRecord(
            run_id="r1",
            mode="full",
            status="completed",
            started_at=datetime(2026, 9, 7, 9, 30, tzinfo=UTC),
            rows_read={"slack_messages": 5},
        )
    ]
    assert runs[0].resources == {} and runs[0].error_classes == [] and runs[0].rows_written == {}
    assert counts == {"slack_messages": 2, "calendar_events": 0, "meeting_records": 0}


def test_a_file_with_no_ledger_has_no_runs(tmp_path: Path) -> None:
    state = tmp_path / "empty.duckdb"
    duckdb.connect(str(state)).close()
    assert read_ledger(state, 10, TABLES) == ([], dict.fromkeys(TABLES, 0))


def test_a_damaged_file_names_itself_and_what_to_do(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    state.write_bytes(b"not a database" * 1000)
    with pytest.raises(DataError) as caught:
        read_ledger(state, 10, TABLES)
    assert str(state) in str(caught.value)
    assert caught.value.hint == DAMAGED_HINT
