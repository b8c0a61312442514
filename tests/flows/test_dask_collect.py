"""Collection in batches of channel folders and calendar buckets: each batch read and written as partition
files on its own (as a Dask worker does), committed by the coordinator; the dataset and the ledger equal the
local collect's, on a first run and an incremental one (a calendar replaced, a stub), and files of a batch
never committed are removed when the state opens."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from checkpoints import StateStore
from collectors import InputBounds, collect_workspace, workspace_paths
from flows._dask_collect import collect_batch, commit_batch, plan_collection
from flows.stages import collect
from sandbox import generate_workspace

PEOPLE, DAYS, SEED = 20, 4, 3


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batches") / "ws"
    generate_workspace(root, people=PEOPLE, days=DAYS, seed=SEED)
    return root


def collect_in_batches(store: StateStore, ws: Path, run_id: str, limit: int) -> list[int]:
    """Collect `ws` as the coordinator of a fanned-out run does, the batches run here in turn; give each
    batch's row count."""
    store.forget_files(workspace_paths(ws))
    seen = store.file_stamps()
    for chunk in collect_workspace(ws, seen, day_folders=set(), calendar_files=set()):
        store.commit_chunk(chunk, run_id)
    plan = plan_collection(store, ws, seen, limit, InputBounds(), run_id)
    results = [collect_batch(batch) for batch in plan]
    for result in results:
        assert result.worker == "coordinator"
        commit_batch(store, result, run_id)
    return [r.rows for r in results]


def contents(store: StateStore) -> dict[str, object]:
    """Give what a collect leaves: every raw row, the file stamps, the detection queue and the quarantine."""
    con = store.con
    rows = {
        t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("slack_messages", "slack_users", "slack_channels", "calendar_events", "directory_users")
    }
    stamps = con.execute("SELECT path, size, fingerprint, table_name, rows FROM file_stamps ORDER BY path")
    pending = con.execute("SELECT DISTINCT channel_id, ts FROM pending_detection ORDER BY ALL").fetchall()
    quarantine = con.execute("SELECT file, record_key, rule FROM quarantine ORDER BY ALL").fetchall()
    return {"rows": rows, "stamps": stamps.fetchall(), "pending": pending, "quarantine": quarantine}


def add_and_change_day_files(ws: Path) -> None:
    """Change one day file (a message edited, one added), add a day to another channel, and change a
    calendar (an event renamed, one gone, one cancelled as a stub that keeps the stored fields)."""
    folders = sorted(p for p in (ws / "slack").iterdir() if p.is_dir())
    first = sorted(folders[0].glob("*.json"))[0]
    messages = json.loads(first.read_text())
    messages[0]["text"] = "moved: sync at 15:00 instead"
    messages.append({"type": "message", "user": messages[0].get("user"), "ts": "1788850000.000100",
                     "text": "standup in 5 min"})  # fmt: skip
    first.write_text(json.dumps(messages))
    second = sorted(folders[1].glob("*.json"))[-1]
    (second.parent / "2026-09-30.json").write_text(
        json.dumps([{"type": "message", "user": "U0001", "ts": "1790760000.000200", "text": "retro today"}])
    )
    calendar = sorted((ws / "google" / "calendar").glob("*.json"))[0]
    dump = json.loads(calendar.read_text())
    dump["items"][0]["summary"] = "Renamed review"
    dump["items"][1] = {"id": dump["items"][1]["id"], "status": "cancelled"}
    dump["items"].pop()
    calendar.write_text(json.dumps(dump))


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_batches_commit_the_rows_stamps_and_queue_the_local_collect_gives(
    workspace: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(workspace, ws)
    with (
        StateStore(tmp_path / "local.duckdb", storage=str(tmp_path / "lake-local")) as local,
        StateStore(tmp_path / "batched.duckdb", storage=str(tmp_path / "lake-batched")) as batched,
    ):
        collect(local, ws, "run-1")
        sizes = collect_in_batches(batched, ws, "run-1", limit=3)
        assert sizes == [501, 311, 537]
        assert contents(batched) == contents(local)
        assert batched.count("slack_messages") == 1186
        assert batched.dataset is not None and local.dataset is not None
        assert batched.dataset.stats()["slack_messages"] == {
            **local.dataset.stats()["slack_messages"],
            "bytes": batched.dataset.stats()["slack_messages"]["bytes"],
        }

        add_and_change_day_files(ws)
        collect(local, ws, "run-2")
        assert collect_in_batches(batched, ws, "run-2", limit=3) == [21, 4, 1]
        assert contents(batched) == contents(local)
        assert batched.count("slack_messages") == 1188


def test_a_batch_never_committed_leaves_the_previous_generation_and_its_files_go_at_the_next_open(
    workspace: Path, tmp_path: Path
) -> None:
    lake = str(tmp_path / "lake")
    with StateStore(tmp_path / "s.duckdb", storage=lake) as store:
        seen = store.file_stamps()
        for chunk in collect_workspace(workspace, seen, day_folders=set(), calendar_files=set()):
            store.commit_chunk(chunk, "run-1")
        assert store.dataset is not None
        generation = store.dataset.committed.generation
        [batch] = plan_collection(store, workspace, seen, 1, InputBounds())
        written = collect_batch(batch)  # the worker wrote its files; the coordinator dies before commit
    assert sorted(Path(lake).rglob("part-*.parquet")) != []
    assert written.calendar is not None
    paths = {f.path for f in written.files.values()} | {f.path for f in written.calendar.files.values()}
    assert (len(written.files), len(written.calendar.files)) == (10, 23)
    with StateStore(tmp_path / "s.duckdb") as again:
        assert again.dataset is not None
        assert again.dataset.committed.generation == generation
        assert (again.count("slack_messages"), again.count("calendar_events")) == (0, 0)
        left = {p.relative_to(Path(again.dataset.root)).as_posix() for p in Path(lake).rglob("*.parquet")}
        assert not left & paths
        assert again.file_stamps().keys().isdisjoint({s.path for c in written.chunks for s in c.files})
