"""Raw tables in a partitioned Parquet dataset on a local folder: the same reports as one DuckDB file,
a manifest as the commit point, and a dataset that stays readable whatever a write leaves behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from checkpoints import StateStore, prepare_refresh, swap_in
from checkpoints.dataset import MANIFESTS, RawDataset, partition_of
from core.errors import ConfigurationError
from flows import stages
from sandbox import generate_workspace

pytestmark = pytest.mark.slow  # every test runs the stages on a generated org (1-2 s each)

PEOPLE, DAYS, SEED = 20, 4, 3


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small org (4 days) and the same org two days later (6 days)."""
    root = tmp_path_factory.mktemp("orgs")
    generate_workspace(root / "short", people=PEOPLE, days=DAYS, seed=SEED)
    generate_workspace(root / "long", people=PEOPLE, days=DAYS + 2, seed=SEED)
    return {"short": root / "short", "long": root / "long"}


def run_stages(state: Path, ws: Path, out: Path, storage: str | None = None) -> dict[str, str]:
    """Run every stage (no Prefect) once; give the published meetings.json and people.json."""
    with StateStore(state, storage=storage) as store:
        run_id = store.start_run("incremental")
        stages.collect(store, ws, run_id)
        stages.detect(store)
        stages.correlate_stage(store)
        stages.aggregate(store)
        stages.export(store, out, run_id)
    return {name: (out / "latest" / name).read_text() for name in ("meetings.json", "people.json")}


def parquet_files(lake: Path) -> set[str]:
    return {p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet")}


def test_reports_from_the_dataset_equal_the_single_file_reports(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(orgs["short"], ws)
    plain = run_stages(tmp_path / "plain.duckdb", ws, tmp_path / "out-plain")
    lake = tmp_path / "lake"
    parquet = run_stages(tmp_path / "pq.duckdb", ws, tmp_path / "out-pq", str(lake))
    assert parquet == plain
    assert len(json.loads(plain["meetings.json"])) == 53
    with StateStore(tmp_path / "plain.duckdb") as one, StateStore(tmp_path / "pq.duckdb") as two:
        assert two.dataset is not None and one.dataset is None
        stats = two.dataset.stats()
        assert {t: s["rows"] for t, s in stats.items() if not t.startswith("derived:")} == {
            "calendar_events": one.count("calendar_events"),
            "slack_messages": one.count("slack_messages"),
        }
        # Derived tables worth keeping are whole-table snapshots beside them, one file each.
        assert {t: s["rows"] for t, s in stats.items() if t.startswith("derived:")} == {
            f"derived:{name}": one.count(name)
            for name in (
                "identity_links", "meeting_documents", "meeting_evidence", "meeting_participants",
                "meeting_records", "meetings", "people", "people_records",
            )
        }  # fmt: skip
        assert stats["derived:meeting_records"]["rows"] == 53
        assert (stats["calendar_events"]["rows"], stats["slack_messages"]["rows"]) == (163, 1186)
        # Partitions: a channel-month each; calendars share 64 buckets (by a hash of their id) × month.
        assert (stats["slack_messages"]["partitions"], stats["calendar_events"]["partitions"]) == (10, 23)
        state_id = two.get_meta("state_id")
        for table in ("slack_messages", "calendar_events"):
            # The state file holds views over the dataset, not tables.
            assert two.con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]
            ).fetchall() == [(0,)]
    files = parquet_files(lake / state_id)
    assert len(files) == 41
    assert sum(f.startswith("derived/table=") for f in files) == 8
    channel = sorted(f for f in files if "/table=slack_messages/" in f)[0]
    assert channel.startswith("source=slack/table=slack_messages/channel_id=C")
    assert "/month=2026-09/part-" in channel
    calendar = sorted(f for f in files if "/table=calendar_events/" in f)[0]
    assert calendar.startswith("source=calendar/table=calendar_events/calendar_id_bucket=0")


def test_incremental_runs_and_a_removed_file_give_the_single_file_reports(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(orgs["short"], ws)
    lake = str(tmp_path / "lake")
    states = {"plain": (tmp_path / "plain.duckdb", None), "pq": (tmp_path / "pq.duckdb", lake)}

    def both() -> None:
        got = {k: run_stages(s, ws, tmp_path / f"out-{k}", uri) for k, (s, uri) in states.items()}
        assert got["pq"] == got["plain"]

    both()
    shutil.rmtree(ws)
    shutil.copytree(orgs["long"], ws)
    both()
    day = sorted((ws / "slack").glob("*/2026-09-08.json"))[0]
    day.unlink()
    both()
    with StateStore(tmp_path / "pq.duckdb") as store:
        assert store.dataset is not None
        # Every file on disk is one the manifest names: replaced partitions left nothing behind.
        assert parquet_files(Path(lake) / store.get_meta("state_id")) == {
            f.path for parts in store.dataset.committed.tables.values() for f in parts.values()
        }
        assert store.dataset.verify() == []


def test_a_failed_write_leaves_the_committed_generation_and_no_files(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    run_stages(tmp_path / "pq.duckdb", orgs["short"], tmp_path / "out", str(lake))
    with StateStore(tmp_path / "pq.duckdb") as store:
        assert store.dataset is not None
        before = store.dataset.committed
        files = parquet_files(lake)
        batch = store.con.sql("SELECT * FROM slack_messages ORDER BY channel_id, ts LIMIT 5").to_arrow_table()
        with pytest.raises(RuntimeError, match="stop before the commit"), store.transaction():
            store._upsert(
                "slack_messages", batch.set_column(6, "text", [["changed"] * 5]), ("channel_id", "ts")
            )
            # Inside the transaction the view reads the staged files: the write is visible to itself.
            assert store.con.execute(
                "SELECT count(*) FROM slack_messages WHERE text = 'changed'"
            ).fetchall() == [(5,)]
            raise RuntimeError("stop before the commit")
        assert store.dataset.committed is before
        assert store.con.execute("SELECT count(*) FROM slack_messages WHERE text = 'changed'").fetchall() == [
            (0,)
        ]
        assert parquet_files(lake) == files


def test_files_no_manifest_names_are_removed_when_the_dataset_opens(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    run_stages(tmp_path / "pq.duckdb", orgs["short"], tmp_path / "out", str(lake))
    with StateStore(tmp_path / "pq.duckdb") as store:
        root = lake / store.get_meta("state_id")
        count = store.count("slack_messages")
    stray = root / partition_of("slack_messages", "C999", "2026-09") / "part-left-by-a-killed-write.parquet"
    stray.parent.mkdir(parents=True)
    shutil.copy(next(root.rglob("*.parquet")), stray)
    with StateStore(tmp_path / "pq.duckdb") as store:
        assert not stray.exists()
        assert store.count("slack_messages") == count == 1186


def test_a_damaged_file_fails_its_checksum(orgs: dict[str, Path], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run_stages(tmp_path / "pq.duckdb", orgs["short"], tmp_path / "out", str(lake))
    with StateStore(tmp_path / "pq.duckdb") as store:
        assert store.dataset is not None
        target = sorted(store.dataset.committed.tables["slack_messages"].values(), key=lambda f: f.path)[0]
        path = lake / store.get_meta("state_id") / target.path
        table = pq.read_table(path)
        pq.write_table(table.slice(1), path)  # a valid Parquet file, one row short
        assert store.dataset.verify() == [target.path]


def test_the_state_remembers_its_storage_and_refuses_another(orgs: dict[str, Path], tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    with StateStore(tmp_path / "pq.duckdb", storage=lake) as store:
        assert store.get_meta("raw_storage") == lake
    with StateStore(tmp_path / "pq.duckdb") as store:
        assert store.dataset is not None and store.dataset.uri == lake
    with pytest.raises(ConfigurationError, match="keeps its raw tables under") as err:
        StateStore(tmp_path / "pq.duckdb", storage=str(tmp_path / "elsewhere"))
    assert "new --state" in err.value.hint
    run_stages(tmp_path / "plain.duckdb", orgs["short"], tmp_path / "out", None)
    with pytest.raises(ConfigurationError, match="rows of calendar_events in its DuckDB file"):
        StateStore(tmp_path / "plain.duckdb", storage=lake)


def test_a_full_refresh_builds_a_new_dataset_and_keeps_the_old_until_the_swap(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    state = tmp_path / "pq.duckdb"
    first = run_stages(state, orgs["short"], tmp_path / "out", str(lake))
    with StateStore(state) as store:
        old_id = store.get_meta("state_id")
    work = prepare_refresh(state)
    refreshed = run_stages(work, orgs["short"], tmp_path / "out-refresh")
    with StateStore(work) as fresh:
        new_id = fresh.get_meta("state_id")
        assert fresh.dataset is not None and fresh.dataset.uri == str(lake)
    assert new_id != old_id
    assert len(parquet_files(lake / old_id)) == len(parquet_files(lake / new_id)) == 41
    swap_in(work, state)
    with StateStore(state) as store:
        assert store.get_meta("state_id") == new_id
        assert store.count("slack_messages") == 1186
    assert refreshed == first
    # Two raw commits (messages, events) and three of derived snapshots (people, meetings, reports).
    assert sorted(p.name for p in (lake / new_id / MANIFESTS).iterdir())[-1] == "000000000005.json"


def test_manifests_keep_the_last_three_generations(orgs: dict[str, Path], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run_stages(tmp_path / "pq.duckdb", orgs["short"], tmp_path / "out", str(lake))
    with StateStore(tmp_path / "pq.duckdb") as store:
        assert store.dataset is not None
        for i in range(4):
            batch = store.con.sql(
                "SELECT * FROM slack_messages ORDER BY channel_id, ts LIMIT 1"
            ).to_arrow_table()
            with store.transaction():
                store._upsert(
                    "slack_messages", batch.set_column(6, "text", [[f"edit {i}"]]), ("channel_id", "ts")
                )
        root = lake / store.get_meta("state_id") / MANIFESTS
        assert sorted(p.name for p in root.iterdir()) == [f"{g:012d}.json" for g in (7, 8, 9)]
        reopened = RawDataset(store.con, str(lake), store.get_meta("state_id"))
        assert reopened.committed.generation == 9
        assert store.con.execute("SELECT text FROM slack_messages WHERE text LIKE 'edit%'").fetchall() == [
            ("edit 3",)
        ]


def test_status_counts_the_raw_rows_of_a_dataset_state_from_its_manifest(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    from checkpoints.ledger import read_ledger

    state = tmp_path / "pq.duckdb"
    run_stages(state, orgs["short"], tmp_path / "out", str(tmp_path / "lake"))
    runs, counts = read_ledger(state, 10, ("slack_messages", "calendar_events", "meeting_records"))
    # The raw tables are views over the dataset here: their rows come from the committed manifest.
    assert counts == {"slack_messages": 1186, "calendar_events": 163, "meeting_records": 53}
    assert [r.mode for r in runs] == ["incremental"]


def test_doctor_reads_a_dataset_state_and_finds_a_damaged_file(orgs: dict[str, Path], tmp_path: Path) -> None:
    from checkpoints.doctor import state_findings

    lake = tmp_path / "lake"
    run_stages(tmp_path / "pq.duckdb", orgs["short"], tmp_path / "out", str(lake))
    before = parquet_files(lake)
    # Healthy but for the ledger entry the stage functions leave open (no flow closed it).
    assert [f.code for f in state_findings(tmp_path / "pq.duckdb")] == ["run-interrupted"]
    assert parquet_files(lake) == before  # the doctor writes nothing
    victim = sorted(before)[0]
    (lake / victim).write_bytes(b"not parquet")
    findings = state_findings(tmp_path / "pq.duckdb")
    assert [(f.code, f.keys) for f in findings] == [("dataset-damaged", (victim.split("/", 1)[1],))]
    assert "--full-refresh" in findings[0].todo


def test_a_statement_failing_inside_a_transaction_raises_its_own_error_and_leaves_the_store_usable(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    """DuckDB refuses every statement after a failed one until ROLLBACK; the store rolls back before the
    dataset restores its views, so the caller sees the failure itself (not "transaction is aborted") and
    the next transaction works on the rows committed before."""
    lake = tmp_path / "lake"
    run_stages(tmp_path / "pq.duckdb", orgs["short"], tmp_path / "out", str(lake))
    with StateStore(tmp_path / "pq.duckdb") as store:
        before = store.count("slack_messages")
        with pytest.raises(duckdb.InvalidInputException, match="a failed step"), store.transaction():
            store.con.execute("SELECT error('a failed step')")
        with store.transaction():
            store.set_meta("after_failure", "ok")
        assert (store.count("slack_messages"), store.get_meta("after_failure")) == (before, "ok")


def test_a_bulk_load_keeps_the_stores_memory_limit_for_a_dataset(
    orgs: dict[str, Path], tmp_path: Path
) -> None:
    """A dataset rewrites whole partitions, sorted, in DuckDB: a bulk load lowers the memory limit to
    100 MB only for a single state file."""
    run_stages(tmp_path / "pq.duckdb", orgs["short"], tmp_path / "out", str(tmp_path / "lake"))
    limits = []
    for state in (tmp_path / "pq.duckdb", tmp_path / "plain.duckdb"):
        with StateStore(state) as store, store.bulk_load():
            limits.append(store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    assert limits == ["190.7 MiB", "95.3 MiB"]
