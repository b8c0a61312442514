"""The flow collecting live through the real Slack and Google clients from the sandbox server over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkpoints import StateStore
from flows.params import LiveEndpoints
from flows.pipeline import meeting_intelligence
from sandbox import FaultSpec, SandboxServer, ServerSettings, generate_workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]
SCALE = 60


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("live") / "ws"
    generate_workspace(ws, people=12, days=3, seed=5)
    return ws


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sandbox tokens from the environment, and fast retries so fault tests stay short."""
    defaults = ServerSettings()
    monkeypatch.setenv("MEETINTEL_SLACK_TOKEN", defaults.slack_token)
    monkeypatch.setenv("MEETINTEL_GOOGLE_TOKEN", defaults.google_token)
    monkeypatch.setenv("MEETINTEL_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("MEETINTEL_RETRY_BASE_DELAY", "0.01")
    monkeypatch.setenv("MEETINTEL_BREAKER_FAIL_MAX", "1")
    monkeypatch.setenv("MEETINTEL_BREAKER_RESET_SECONDS", "0")
    # Slack's tiers scaled 60x on both sides (server windows of 1 s), as the benchmarks do.
    monkeypatch.setenv("MEETINTEL_SLACK_TIER2_PER_MINUTE", str(20 * SCALE))
    monkeypatch.setenv("MEETINTEL_SLACK_TIER3_PER_MINUTE", str(50 * SCALE))


def _run(server: SandboxServer, root: Path):
    live = LiveEndpoints(enabled=True, slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url)
    return meeting_intelligence(out=str(root / "out"), state=str(root / "state.duckdb"), live=live)


def test_live_run_collects_what_the_files_hold(workspace: Path, tmp_path: Path) -> None:
    truth = json.loads((workspace / "truth.json").read_text())
    with SandboxServer(workspace, ServerSettings(time_scale=SCALE)) as server:
        record = _run(server, tmp_path)
        requests = sum(server.stats.requests.values())
    assert record.status == "completed"
    assert record.rows_read["slack_messages"] == truth["counts"]["messages"]
    assert record.rows_read["directory_users"] == truth["counts"]["directory_users"]
    assert {s.source: s.status for s in record.sources} == {
        "directory": "ok",
        "slack": "ok",
        "calendar": "ok",
        "drive": "ok",
    }
    assert sum(s.requests for s in record.sources) == requests
    with StateStore(tmp_path / "state.duckdb") as store:
        events = store.con.execute("SELECT count(DISTINCT event_id) FROM calendar_events").fetchall()[0][0]
    assert events == truth["counts"]["unique_events"]
    meetings = json.loads((tmp_path / "out" / "meetings.json").read_text())
    held = {m["calendar_event_id"]: m["status"] for m in meetings if m["calendar_event_id"]}
    assert held == {m["calendar_event_id"]: m["status"] for m in truth["meetings"] if m["calendar_event_id"]}


def test_a_failing_source_makes_the_run_partial_and_the_next_run_catches_up(
    workspace: Path, tmp_path: Path
) -> None:
    truth = json.loads((workspace / "truth.json").read_text())
    broken = ServerSettings(
        time_scale=SCALE, faults={"drive.files.list": FaultSpec(error_rate=1.0, statuses=(503,))}
    )
    with SandboxServer(workspace, broken) as server:
        first = _run(server, tmp_path)
    assert first.status == "partial"
    drive = next(s for s in first.sources if s.source == "drive")
    assert (drive.status, drive.breaker_state) == ("failed", "open")
    assert drive.retries == 1
    assert "drive" not in first.rows_read
    with StateStore(tmp_path / "state.duckdb") as store:
        [ledger] = store.runs(1)
        assert ledger.status == "partial"
        assert [s.status for s in ledger.sources if s.source == "drive"] == ["failed"]
    with SandboxServer(workspace, ServerSettings(time_scale=SCALE)) as server:
        second = _run(server, tmp_path)
    assert second.status == "completed"
    assert second.rows_read["drive_files"] == truth["counts"]["drive_files"]
    assert second.rows_read.get("slack_messages", 0) == 0
