"""The state store: idempotent upserts, chunk and cursor in one transaction, ledger, reset."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from checkpoints import RunRecord, StageStat, StateStore, discard, prepare_refresh, swap_in
from collectors.files import Chunk, FileStamp
from collectors.models import DRIVE_FILES, SLACK_MESSAGES, SLACK_USERS
from core.chunks import LiveChunk


def _messages(rows: list[tuple[str, str, str]]) -> pa.Table:
    cols = {f.name: [None] * len(rows) for f in SLACK_MESSAGES}
    cols["channel_id"] = [r[0] for r in rows]
    cols["ts"] = [r[1] for r in rows]
    cols["text"] = [r[2] for r in rows]
    return pa.table(cols, schema=SLACK_MESSAGES)


def _chunk(rows: list[tuple[str, str, str]], path: str = "slack/general/2026-09-07.json") -> Chunk:
    return Chunk(table="slack_messages", batch=_messages(rows), files=[FileStamp(path, 10, "1")])


def _files(rows: list[dict[str, object]]) -> LiveChunk:
    cols = {f.name: [r.get(f.name) for r in rows] for f in DRIVE_FILES}
    return LiveChunk("drive_files", pa.table(cols, schema=DRIVE_FILES), source="drive")


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    s = StateStore(tmp_path / "state.duckdb")
    yield s
    s.close()


def test_upsert_is_idempotent_and_last_row_per_key_wins(store: StateStore) -> None:
    store.commit_chunk(_chunk([("C1", "1.000001", "a"), ("C1", "1.000002", "b")]), "r1")
    store.commit_chunk(_chunk([("C1", "1.000001", "a edited"), ("C1", "1.000001", "a edited twice")]), "r1")
    rows = store.con.execute("SELECT ts, text FROM slack_messages ORDER BY ts").fetchall()
    assert rows == [("1.000001", "a edited twice"), ("1.000002", "b")]


def test_a_removed_file_stub_keeps_the_stored_fields_but_an_update_replaces_them(store: StateStore) -> None:
    """Drive reports a removed file as its id alone (trashed, no name): the stored name, owners and link stay.
    A real update of another file replaces every field, nulls and empty lists included."""
    full = {"name": "Plan", "mime_type": "text/plain", "owner_emails": ["ann@acme.example"], "trashed": False}
    store.commit_live(_files([{"file_id": "f1", **full}, {"file_id": "f2", **full}]), "r1")
    store.commit_live(
        _files(
            [{"file_id": "f1", "trashed": True}, {"file_id": "f2", "name": "Plan v2", "owner_emails": []}]
        ),
        "r2",
    )
    rows = store.con.execute(
        "SELECT file_id, name, mime_type, owner_emails, trashed FROM drive_files ORDER BY file_id"
    ).fetchall()
    assert rows == [
        ("f1", "Plan", "text/plain", ["ann@acme.example"], True),
        ("f2", "Plan v2", None, [], None),
    ]


def test_chunk_records_the_stamps_of_its_files(store: StateStore) -> None:
    store.commit_chunk(_chunk([("C1", "1.000001", "a")], "slack/general/d1.json"), "r1")
    assert store.file_stamps() == {"slack/general/d1.json": FileStamp("slack/general/d1.json", 10, "1")}


def test_failed_chunk_leaves_neither_rows_nor_stamps(store: StateStore) -> None:
    bad = Chunk(
        table="slack_users", batch=_messages([("C1", "1.0", "x")]), files=[FileStamp("u.json", 1, "1")]
    )
    with pytest.raises(Exception):  # noqa: B017 - any DuckDB error; what matters is the rollback
        store.commit_chunk(bad, "r1")
    assert store.count("slack_users") == 0
    assert store.file_stamps() == {}
    assert SLACK_USERS.names[0] == "user_id"


def test_pending_detection_covers_only_messages_not_yet_detected(store: StateStore) -> None:
    store.commit_chunk(_chunk([("C1", "1.000001", "a"), ("C1", "1.000002", "b")]), "r1")
    assert store.pending_view() == 2
    store.commit_detection(pa.table({"channel_id": ["C1"], "ts": ["1.000001"], "kind": ["agenda"]}))
    assert store.pending_view() == 0
    store.commit_chunk(_chunk([("C1", "1.000003", "c")], "slack/general/d2.json"), "r2")
    assert store.pending_view() == 1
    assert store.con.execute("SELECT channel_id, ts, kind FROM evidence").fetchall() == [
        ("C1", "1.000001", "agenda")
    ]


def test_runs_ledger_round_trips_a_run(store: StateStore) -> None:
    run_id = store.start_run("incremental")
    record = RunRecord(
        run_id=run_id,
        status="completed",
        rows_read={"slack_messages": 3},
        stages=[StageStat(stage="collect", seconds=1.5, rows_in=3, rows_out=3)],
    )
    store.finish_run(record)
    [back] = store.runs()
    assert (back.run_id, back.mode, back.status, back.rows_read) == (
        run_id,
        "incremental",
        "completed",
        {"slack_messages": 3},
    )
    assert back.stages[0].rows_per_second == 2.0
    assert back.ended_at is not None


@pytest.mark.parametrize("folder", ["plain", "o'brien's reports"])
def test_full_refresh_builds_beside_the_state_and_swaps_in_whole(tmp_path: Path, folder: str) -> None:
    """A refresh state starts empty but for the ledger; the old state is untouched until the swap. A quote
    in the state's path reaches DuckDB's ATTACH as a quoted literal, not as SQL."""
    (tmp_path / folder).mkdir()
    state = tmp_path / folder / "state.duckdb"
    with StateStore(state) as store:
        run_id = store.start_run("full-refresh")
        store.commit_chunk(_chunk([("C1", "1.000001", "old")]), "r1")
    work = prepare_refresh(state)
    with StateStore(work) as fresh:
        assert (fresh.count("slack_messages"), [r.run_id for r in fresh.runs()]) == (0, [run_id])
        fresh.commit_chunk(_chunk([("C1", "1.000002", "new")]), run_id)
    with StateStore(state) as old:
        assert old.con.execute("SELECT text FROM slack_messages").fetchall() == [("old",)]
    swap_in(work, state)
    with StateStore(state) as swapped:
        assert swapped.con.execute("SELECT text FROM slack_messages").fetchall() == [("new",)]
    assert not work.exists()


def test_a_discarded_refresh_leaves_no_file(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    StateStore(state).close()
    work = prepare_refresh(state)
    discard(work)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.duckdb"]


def test_a_file_that_is_not_duckdb_gets_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "state.duckdb"
    bad.write_bytes(b"not a database at all" * 100)
    from core.errors import DataError

    with pytest.raises(DataError, match="state.duckdb"):
        StateStore(bad)
