"""`meetintel doctor`: each kind of damage to the state or the reports is found, named and repaired."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from checkpoints import StateStore
from exports import latest_run
from flows import stages
from flows.doctor import EXIT_FIXED, EXIT_HEALTHY, EXIT_PROBLEMS, diagnose, format_health, repair
from sandbox import generate_workspace

# Each test damages a copy of one run of the stages on a generated org, and many repairs run them again.
pytestmark = pytest.mark.slow

SEED_RUN = "20260101T000000Z-seed00"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete run of a small org: workspace, state and published reports (built once)."""
    root = tmp_path_factory.mktemp("doctor")
    generate_workspace(root / "ws", people=10, days=2, seed=11)
    with StateStore(root / "state.duckdb") as store:
        stages.collect(store, root / "ws", SEED_RUN)
        stages.detect(store)
        stages.correlate_stage(store)
        stages.aggregate(store)
        stages.export(store, root / "out", SEED_RUN)
    return root


@pytest.fixture
def copy(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built run to damage."""
    shutil.copytree(built, tmp_path / "c", symlinks=True)
    return tmp_path / "c"


def _sql(root: Path, *statements: str) -> list[tuple]:
    con = duckdb.connect(str(root / "state.duckdb"))
    try:
        rows: list[tuple] = []
        for sql in statements:
            rows = con.execute(sql).fetchall()
        return rows
    finally:
        con.close()


def _codes(root: Path) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for f in diagnose(root / "state.duckdb", root / "out").findings]


def test_a_complete_run_is_healthy(copy: Path) -> None:
    health = diagnose(copy / "state.duckdb", copy / "out")
    assert (health.findings, health.exit_code) == ([], EXIT_HEALTHY)
    assert format_health(health).endswith("healthy (0 problems, 0 notes)")


def test_a_truncated_state_is_moved_aside_and_replaced_by_a_fresh_one(copy: Path) -> None:
    state = copy / "state.duckdb"
    half = state.stat().st_size // 2
    os.truncate(state, half)
    found = diagnose(state).findings
    assert [(f.severity, f.code) for f in found] == [("error", "state-damaged")]
    assert "cannot be read whole" in found[0].what and "Could not read enough bytes" in found[0].what
    health = repair(state)
    assert (health.codes(), health.exit_code) == ([], EXIT_FIXED)
    [aside] = [p for p in copy.iterdir() if p.name.startswith("state.duckdb.damaged-")]
    assert aside.stat().st_size == half
    with StateStore(state) as store:
        assert store.count("slack_messages") == 0  # the next run re-collects everything


def test_a_file_that_is_not_duckdb_is_reported_and_kept(copy: Path) -> None:
    state = copy / "state.duckdb"
    with state.open("r+b") as handle:
        handle.write(b"\0garbage" * 8)
    found = diagnose(state).findings
    assert [(f.code, "not a valid DuckDB database" in f.what) for f in found] == [("state-damaged", True)]
    repair(state)
    [aside] = [p for p in copy.iterdir() if p.name.startswith("state.duckdb.damaged-")]
    assert aside.read_bytes()[:16] == b"\0garbage\0garbage"


def _damage_block_of(state: Path, table: str) -> None:
    """Overwrite the middle of the first data block DuckDB stores for `table` (found by trial)."""
    con = duckdb.connect(str(state), read_only=True)
    blocks = con.execute(
        "SELECT DISTINCT block_id FROM pragma_storage_info(?) WHERE block_id >= 0 ORDER BY 1", [table]
    ).fetchall()
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    con.close()
    # Block n starts after the 3 header blocks of 4 KiB; its checksum covers the whole block.
    offset = 3 * 4096 + blocks[0][0] * block_size + block_size // 2
    with state.open("r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(4096))


def test_a_damaged_derived_table_is_dropped_and_rebuilt_while_raw_data_stays(copy: Path) -> None:
    state = copy / "state.duckdb"
    messages = _sql(copy, "SELECT count(*) FROM slack_messages")[0][0]
    _damage_block_of(state, "report_participants")
    found = diagnose(state).findings
    assert [(f.severity, f.code, f.keys) for f in found] == [
        ("error", "derived-damaged", ("report_participants",))
    ]
    assert "does not match stored checksum" in found[0].what
    assert repair(state).exit_code == EXIT_FIXED
    with StateStore(state) as store:
        assert stages.aggregate(store).skipped is False
        assert store.count("slack_messages") == messages
    assert diagnose(state).findings == []


def test_a_damaged_raw_table_moves_the_whole_state_aside(copy: Path) -> None:
    state = copy / "state.duckdb"
    _damage_block_of(state, "slack_messages")
    assert [f.code for f in diagnose(state).findings] == ["state-damaged"]


def test_a_missing_state_is_reported(tmp_path: Path) -> None:
    health = diagnose(tmp_path / "none.duckdb")
    assert [(f.severity, f.code) for f in health.findings] == [("warning", "state-missing")]
    assert health.exit_code == EXIT_PROBLEMS


def test_stamps_of_day_files_whose_messages_are_gone_are_dropped_and_the_files_read_again(copy: Path) -> None:
    before = _sql(copy, "SELECT count(*) FROM slack_messages")[0][0]
    channel, name = _sql(copy, "SELECT channel_id, name FROM slack_channels WHERE name = 'general'")[0]
    days = _sql(copy, f"SELECT count(*) FROM file_stamps WHERE path LIKE 'slack/{name}/%'")[0][0]
    _sql(copy, f"DELETE FROM slack_messages WHERE channel_id = '{channel}'")
    [finding] = diagnose(copy / "state.duckdb").findings
    assert (finding.code, len(finding.keys), days) == ("stamps-without-rows", days, 2)
    assert finding.what.startswith(
        f"{days} Slack day files are stamped as stored but their channel has no message"
    )
    assert repair(copy / "state.duckdb").exit_code == EXIT_FIXED
    with StateStore(copy / "state.duckdb") as store:
        stat = stages.collect(store, copy / "ws", "r2")
        assert (stat.note, store.count("slack_messages")) == (f"{days} files changed", before)


def test_stamps_of_an_emptied_table_are_dropped(copy: Path) -> None:
    _sql(copy, "DELETE FROM drive_files")
    [finding] = diagnose(copy / "state.duckdb").findings
    assert (finding.code, finding.keys) == ("stamps-without-rows", ("table:drive_files",))
    repair(copy / "state.duckdb")
    assert _sql(copy, "SELECT count(*) FROM file_stamps WHERE table_name = 'drive_files'") == [(0,)]


def test_queued_messages_that_are_not_stored_are_removed_from_the_queue(copy: Path) -> None:
    _sql(copy, "INSERT INTO pending_detection VALUES ('CGONE', '1.000001'), ('CGONE', '1.000002')")
    [finding] = diagnose(copy / "state.duckdb").findings
    assert (finding.severity, finding.code, finding.what) == (
        "warning",
        "pending-without-message",
        "2 messages are queued for detection but not stored",
    )
    assert repair(copy / "state.duckdb").exit_code == EXIT_FIXED
    assert _sql(copy, "SELECT count(*) FROM pending_detection") == [(0,)]


def test_derived_data_behind_the_raw_data_is_reported_and_cleared(copy: Path) -> None:
    raw = int(_sql(copy, "SELECT value FROM state_meta WHERE key = 'raw_version'")[0][0])
    _sql(copy, f"UPDATE state_meta SET value = '{raw + 1}' WHERE key = 'raw_version'")
    [finding] = diagnose(copy / "state.duckdb").findings
    assert (finding.code, f"raw version {raw + 1}" in finding.what) == ("derived-stale", True)
    repair(copy / "state.duckdb")
    assert _sql(copy, "SELECT count(*) FROM state_meta WHERE key LIKE '%ed_version'") == [(0,)]


def test_a_derived_table_missing_while_marked_current_is_rebuilt(copy: Path) -> None:
    _sql(copy, "DROP TABLE meetings")
    [finding] = diagnose(copy / "state.duckdb").findings
    assert (finding.code, finding.what.endswith("but missing: meetings")) == ("derived-missing", True)
    repair(copy / "state.duckdb")
    with StateStore(copy / "state.duckdb") as store:
        assert stages.correlate_stage(store).skipped is False
        assert store.has_table("meetings")


def test_missing_evidence_requeues_every_message(copy: Path) -> None:
    messages = _sql(copy, "SELECT count(*) FROM slack_messages")[0][0]
    _sql(copy, "DROP TABLE evidence")
    codes = _codes(copy)
    assert ("error", "evidence-missing") in codes
    repair(copy / "state.duckdb", copy / "out")
    assert _sql(copy, "SELECT count(*) FROM pending_detection") == [(messages,)]


def test_a_cursor_past_missing_messages_is_dropped(copy: Path) -> None:
    _sql(
        copy,
        "INSERT INTO cursors VALUES ('slack', 'CNOPE', '1.5', 'r', now()), "
        "('slack', 'CNOPE/threads', '1.5', 'r', now())",
    )
    [finding] = diagnose(copy / "state.duckdb").findings
    assert (finding.code, finding.keys) == ("cursor-without-rows", ("slack:CNOPE", "slack:CNOPE/threads"))
    repair(copy / "state.duckdb")
    assert _sql(copy, "SELECT count(*) FROM cursors") == [(0,)]


def test_an_interrupted_run_is_a_note_and_repair_closes_it_in_the_ledger(copy: Path) -> None:
    with StateStore(copy / "state.duckdb") as store:
        run_id = store.start_run("incremental")
    health = diagnose(copy / "state.duckdb")
    assert ([(f.severity, f.code, f.keys) for f in health.findings], health.exit_code) == (
        [("info", "run-interrupted", (run_id,))],
        EXIT_HEALTHY,
    )
    assert repair(copy / "state.duckdb").exit_code == EXIT_FIXED
    assert _sql(copy, f"SELECT status FROM runs WHERE run_id = '{run_id}'") == [("failed",)]


def _second_run(out: Path, run_id: str) -> None:
    """Copy the published run under an older id, so there is another intact run to fall back on."""
    shutil.copytree(out / "runs" / SEED_RUN, out / "runs" / run_id)


def test_latest_pointing_at_a_missing_run_is_republished_to_the_newest_intact_run(copy: Path) -> None:
    out = copy / "out"
    _second_run(out, "20251231T000000Z-older0")
    shutil.rmtree(out / "runs" / SEED_RUN)
    assert _codes(copy) == [("error", "latest-missing-run")]
    health = repair(copy / "state.duckdb", out)
    assert (health.exit_code, latest_run(out)) == (EXIT_FIXED, "20251231T000000Z-older0")
    assert not (out / ".meetintel-version").exists()  # the next run exports afresh
    assert (out / "meetings.json").read_bytes() == (
        out / "runs" / "20251231T000000Z-older0" / "meetings.json"
    ).read_bytes()


def test_a_missing_latest_is_reported_and_republished(copy: Path) -> None:
    out = copy / "out"
    (out / "latest").unlink()
    (out / "LATEST").unlink()
    assert _codes(copy) == [("error", "not-published")]
    assert (repair(copy / "state.duckdb", out).exit_code, latest_run(out)) == (EXIT_FIXED, SEED_RUN)


def test_a_published_report_that_fails_its_checksum_is_found_and_set_aside(copy: Path) -> None:
    out = copy / "out"
    with (out / "runs" / SEED_RUN / "people.csv").open("a") as handle:
        handle.write("tampered\n")
    [finding] = diagnose(copy / "state.duckdb", out).findings
    assert (finding.code, finding.what) == (
        "report-damaged",
        f"the published run {SEED_RUN} is not intact: {out / 'runs' / SEED_RUN / 'people.csv'} "
        "does not match its checksum in manifest.json",
    )
    health = repair(copy / "state.duckdb", out)
    assert (health.exit_code, latest_run(out)) == (EXIT_FIXED, None)
    assert (out / "runs" / f".damaged-{SEED_RUN}" / "people.csv").exists()
    with StateStore(copy / "state.duckdb") as store:
        stat, _ = stages.export(store, out, "20260102T000000Z-again0")
    assert (stat.skipped, latest_run(out), _codes(copy)) == (False, "20260102T000000Z-again0", [])


def test_an_interrupted_export_folder_is_moved_aside(copy: Path) -> None:
    out = copy / "out"
    (out / "runs" / "20260103T000000Z-killed").mkdir()
    (out / "runs" / "20260103T000000Z-killed" / "meetings.json").write_text("[{")
    assert _codes(copy) == [("warning", "run-incomplete")]
    repair(copy / "state.duckdb", out)
    assert (out / "runs" / ".incomplete-20260103T000000Z-killed" / "meetings.json").read_text() == "[{"
    assert latest_run(out) == SEED_RUN and _codes(copy) == []


def test_a_damaged_run_archive_is_moved_aside(copy: Path) -> None:
    out = copy / "out"
    (out / "runs" / "20251201T000000Z-old000.tar.gz").write_bytes(b"not gzip")
    assert _codes(copy) == [("warning", "archive-damaged")]
    repair(copy / "state.duckdb", out)
    assert (out / "runs" / ".damaged-20251201T000000Z-old000.tar.gz").read_bytes() == b"not gzip"


def test_a_leftover_refresh_file_is_a_note(copy: Path) -> None:
    (copy / "state.duckdb.refresh").write_bytes(b"")
    health = diagnose(copy / "state.duckdb")
    assert ([f.code for f in health.findings], health.exit_code) == (["refresh-leftover"], EXIT_HEALTHY)
