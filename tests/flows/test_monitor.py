"""The monitoring snapshot beside the state, and breaker overrides that a live collection honours."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pydantic import SecretStr

from checkpoints import RunRecord, StateStore
from collectors import build_live_sources
from core.errors import ConfigurationError
from flows import stages
from flows.monitor import (
    apply_overrides,
    build_snapshot,
    overrides_path,
    publish_snapshot,
    read_overrides,
    read_snapshot,
    set_override,
    snapshot_from_state,
    snapshot_path,
    state_in_use,
)
from flows.settings import Settings
from sandbox import SandboxServer, ServerSettings, generate_workspace

HOLD = """
import sys, time
from pathlib import Path
from checkpoints import StateStore
with StateStore(Path(sys.argv[1])) as store:
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_the_snapshot_holds_the_ledger_breakers_and_quarantine(tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    with StateStore(state) as store:
        ids = [store.start_run("incremental") for _ in range(3)]
        store.finish_run(RunRecord(run_id=ids[0], status="completed", errors=[]))
        store.finish_run(
            RunRecord(run_id=ids[1], status="failed", errors=["x — y"], error_classes=["DataError"])
        )
        store.set_meta(
            "breakers", json.dumps({"slack": {"state": "open", "fail_counter": 5, "opened_at": None}})
        )
        published = publish_snapshot(store.con, state)
    assert snapshot_path(state) == tmp_path / "s.duckdb.monitor.json"
    read = read_snapshot(state)
    assert read == published
    assert read is not None
    assert read.runs_by_status == {"completed": 1, "failed": 1, "running": 1}
    assert {r.run_id: r.status for r in read.runs} == {
        ids[0]: "completed",
        ids[1]: "failed",
        ids[2]: "running",
    }
    failed = next(r for r in read.runs if r.run_id == ids[1])
    assert (failed.errors, failed.error_classes) == (["x — y"], ["DataError"])
    assert read.breakers["slack"].state == "open"
    assert read.counts["slack_messages"] == 0


def test_a_state_under_write_is_not_opened_but_its_snapshot_is_read(tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    with StateStore(state) as store:
        store.start_run("incremental")
        publish_snapshot(store.con, state)
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        with pytest.raises(ConfigurationError, match="is in use by a run"):
            snapshot_from_state(state)
        published = read_snapshot(state)
        assert published is not None and published.runs_by_status == {"running": 1}
    finally:
        assert writer.stdin is not None
        writer.stdin.write("\n")
        writer.stdin.close()
        writer.wait(timeout=30)
    assert snapshot_from_state(state).runs_by_status == {"running": 1}  # free again: read directly
    with pytest.raises(ConfigurationError, match="no state file"):
        snapshot_from_state(tmp_path / "none.duckdb")


def test_a_snapshot_of_a_state_without_a_ledger_is_empty(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "bare.duckdb"))
    snap = build_snapshot(con, tmp_path / "bare.duckdb")
    con.close()
    assert (snap.runs, snap.breakers, snap.quarantine, snap.counts) == ([], {}, {}, {})


def test_overrides_are_written_beside_the_state_and_refused_when_unknown(tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    set_override(state, "slack", "force-open", "cli tester")
    set_override(state, "drive", "force-closed", "cli tester")
    set_override(state, "drive", "auto", "cli tester")
    assert overrides_path(state) == tmp_path / "s.duckdb.breakers.json"
    overrides = read_overrides(state)
    assert {k: v.mode for k, v in overrides.sources.items()} == {"slack": "force-open"}
    assert overrides.sources["slack"].set_by == "cli tester"
    # A full refresh works on STATE.refresh: it reads the same overrides.
    assert read_overrides(tmp_path / "s.duckdb.refresh") == overrides
    with pytest.raises(ConfigurationError, match="unknown source 'fax'"):
        set_override(state, "fax", "auto", "x")
    with pytest.raises(ConfigurationError, match="unknown breaker mode 'sometimes'"):
        set_override(state, "slack", "sometimes", "x")


def test_a_live_collection_skips_a_source_forced_open_and_says_why(tmp_path: Path) -> None:
    generate_workspace(tmp_path / "ws", people=10, days=1, seed=3)
    state = tmp_path / "state.duckdb"
    set_override(state, "slack", "force-open", "cli tester")
    set_override(state, "calendar", "force-closed", "cli tester")
    server_settings = ServerSettings(time_scale=60)
    with SandboxServer(tmp_path / "ws", server_settings) as server:
        settings = Settings(
            slack_token=SecretStr(server_settings.slack_token),
            google_token=SecretStr(server_settings.google_token),
            slack_base_url=f"{server.url}/api/",
            google_api_endpoint=server.url,
            slack_tier2_per_minute=1200,
            slack_tier3_per_minute=3000,
        )
        sources = build_live_sources(settings.live_config())
        notes = apply_overrides(sources.guards(), state)
        with StateStore(state) as store:
            _stat, outcomes = stages.collect_from_apis(store, sources, "r1", False)
        requests = server.stats.requests
    set_at = {k: f"{v.set_at:%Y-%m-%d %H:%M UTC}" for k, v in read_overrides(state).sources.items()}
    assert notes == [
        f"calendar: circuit breaker force-closed by an operator override (set {set_at['calendar']} by cli "
        "tester); the source is collected whatever its breaker says",
        f"slack: circuit breaker force-open by an operator override (set {set_at['slack']} by cli tester); "
        "the source is skipped",
    ]
    status = {o.source: o.status for o in outcomes}
    assert status == {"directory": "ok", "slack": "skipped_breaker_open", "calendar": "ok", "drive": "ok"}
    reason = next(o.reason for o in outcomes if o.source == "slack")
    assert reason is not None
    assert reason.startswith("slack circuit breaker is forced open by an operator override set ")
    assert reason.endswith("; `meetintel breaker auto slack` lifts it")
    assert [e for e in requests if e.startswith("slack")] == []  # not one call to Slack
    assert [e for e in requests if e.startswith("directory")] == ["directory.users.list"]


def test_state_in_use_sees_another_process_holding_the_state(tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    StateStore(state).close()
    assert state_in_use(state) is False
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert state_in_use(state) is True
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert state_in_use(state) is False


def test_a_parquet_state_counts_its_raw_rows_from_the_manifest_without_reading_data_files(
    tmp_path: Path,
) -> None:
    generate_workspace(tmp_path / "ws", people=12, days=3, seed=5)
    state = tmp_path / "state.duckdb"
    with StateStore(state, storage=str(tmp_path / "lake")) as store:
        stages.collect(store, tmp_path / "ws", "run-1")
        counted = {t: store.count(t) for t in ("slack_messages", "calendar_events")}
    assert counted == {"slack_messages": 530, "calendar_events": 94}
    for data in (tmp_path / "lake").rglob("*.parquet"):  # the figures must come from the manifest alone
        data.unlink()
    snap = snapshot_from_state(state)
    assert snap.counts == {**counted, "drive_files": 23, "directory_users": 12}
