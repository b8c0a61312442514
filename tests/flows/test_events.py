"""The flow's `meetintel.*` events, its `Partial` state, its artifact keys and its stage cache, on real runs
under the session's Prefect test server (events captured by Prefect's asserting events client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.events.clients import AssertingEventsClient
from prefect.events.schemas.events import Event
from prefect.events.worker import EventsWorker

from flows.params import LiveEndpoints
from flows.pipeline import meeting_intelligence
from sandbox import FaultSpec, SandboxServer, ServerSettings, generate_workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]
SCALE = 60


class Captured:
    def __init__(self, worker: EventsWorker) -> None:
        self.worker = worker

    def meetintel(self) -> list[Event]:
        """Give the `meetintel.*` events emitted so far, and forget them."""
        self.worker.wait_until_empty()
        client = AssertingEventsClient.last
        found = [e for e in getattr(client, "events", []) if e.event.startswith("meetintel.")]
        if client is not None and hasattr(client, "events"):
            client.events.clear()
        return found


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    AssertingEventsClient.reset()
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    try:
        yield Captured(worker)
    finally:
        worker.drain()


@pytest.fixture(scope="module")
def seed3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("seed3") / "ws"
    generate_workspace(ws, people=20, days=4, seed=3)
    return ws


def test_a_run_announces_its_start_its_reports_and_its_end(
    seed3: Path, tmp_path: Path, captured: Captured
) -> None:
    out, state = tmp_path / "out", tmp_path / "Acme.duckdb"
    record = meeting_intelligence(workspace=str(seed3), out=str(out), state=str(state))
    started, published, completed = captured.meetintel()
    assert [e.event for e in (started, published, completed)] == [
        "meetintel.run.started",
        "meetintel.reports.published",
        "meetintel.run.completed",
    ]
    assert {e.resource.id for e in (started, published, completed)} == {"meetintel.org.acme"}
    assert started.payload == {"run_id": record.run_id, "mode": "incremental", "source": str(seed3)}
    latest = out.absolute() / "latest"
    assert published.payload["latest"] == str(latest)
    assert [Path(p).name for p in published.payload["reports"]] == [
        "meetintel.html", "meetintel.xlsx", "meetings.json", "people.json", "meetings.csv"
    ]  # fmt: skip
    meetings = json.loads((out / "meetings.json").read_text())
    assert completed.payload["meetings"] == len(meetings)
    assert (completed.payload["run_id"], completed.payload["status"]) == (record.run_id, "completed")
    assert completed.payload["rows_read"] == record.rows_read
    assert completed.payload["reasons"] == []
    assert [r.role for r in completed.related] == ["flow-run", "flow"]


def test_repeated_runs_find_their_stages_in_the_cache(
    seed3: Path, tmp_path: Path, captured: Captured
) -> None:
    """Seed 3: after the first run, repeated runs over unchanged data take their stages from the cache."""
    out, state = tmp_path / "out", tmp_path / "state.duckdb"
    hits = []
    for _ in range(5):
        meeting_intelligence(workspace=str(seed3), out=str(out), state=str(state), org="acme")
        [end] = [e for e in captured.meetintel() if e.event == "meetintel.run.completed"]
        hits.append((end.payload["cache_hits"], end.payload["cache_lookups"]))
    # Run 2 re-detects nothing new (its version moved on) and exports "current" once; then all hit.
    assert hits == [(0, 4), (2, 4), (4, 4), (4, 4), (4, 4)]
    repeated = hits[1:]
    ratio = sum(h for h, _ in repeated) / sum(n for _, n in repeated)
    assert ratio == 14 / 16  # 87.5 % of repeated stage operations served from the cache


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = ServerSettings()
    monkeypatch.setenv("MEETINTEL_SLACK_TOKEN", defaults.slack_token)
    monkeypatch.setenv("MEETINTEL_GOOGLE_TOKEN", defaults.google_token)
    monkeypatch.setenv("MEETINTEL_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("MEETINTEL_RETRY_BASE_DELAY", "0.01")
    monkeypatch.setenv("MEETINTEL_BREAKER_FAIL_MAX", "1")
    monkeypatch.setenv("MEETINTEL_BREAKER_RESET_SECONDS", "0")
    monkeypatch.setenv("MEETINTEL_SLACK_TIER2_PER_MINUTE", str(20 * SCALE))
    monkeypatch.setenv("MEETINTEL_SLACK_TIER3_PER_MINUTE", str(50 * SCALE))


@pytest.mark.usefixtures("credentials")
def test_a_skipped_source_ends_in_a_completed_state_named_partial_with_breaker_events(
    tmp_path: Path, captured: Captured
) -> None:
    ws = tmp_path / "ws"
    generate_workspace(ws, people=10, days=2, seed=5)
    broken = ServerSettings(
        time_scale=SCALE, faults={"drive.files.list": FaultSpec(error_rate=1.0, statuses=(503,))}
    )
    with SandboxServer(ws, broken) as server:
        live = LiveEndpoints(
            enabled=True, slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url
        )
        state = meeting_intelligence(
            out=str(tmp_path / "out"),
            state=str(tmp_path / "s.duckdb"),
            live=live,
            org="Acme",
            return_state=True,
        )
    assert (state.type.value, state.name) == ("COMPLETED", "Partial")
    record = state.result()
    assert record.status == "partial"
    assert state.message is not None and state.message.startswith(f"run {record.run_id}: drive failed: ")
    found = captured.meetintel()
    names = [e.event for e in found]
    assert names.count("meetintel.source.breaker-opened") == 1
    assert names[0] == "meetintel.run.started" and names[-1] == "meetintel.run.partial"
    [opened] = [e for e in found if e.event == "meetintel.source.breaker-opened"]
    assert opened.resource.id == "meetintel.org.acme"
    assert (opened.payload["source"], opened.payload["from"], opened.payload["to"]) == (
        "drive",
        "closed",
        "open",
    )
    drive = next(s for s in record.sources if s.source == "drive")
    assert found[-1].payload["reasons"] == [f"drive failed: {drive.reason}"]
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        keys = {a.key for a in client.read_artifacts() if a.flow_run_id == run.id}
    assert run.state is not None and run.state.name == "Partial"
    assert keys == {"meetintel-acme-progress", "meetintel-acme-run-summary", "meetintel-acme-top-meetings"}
    with SandboxServer(ws, ServerSettings(time_scale=SCALE)) as server:
        live = LiveEndpoints(
            enabled=True, slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url
        )
        again = meeting_intelligence(
            out=str(tmp_path / "out"), state=str(tmp_path / "s.duckdb"), live=live, org="Acme"
        )
    assert again.status == "completed"
    closed = [e for e in captured.meetintel() if e.event == "meetintel.source.breaker-closed"]
    assert [(e.payload["source"], e.payload["to"]) for e in closed] == [("drive", "closed")]


def test_a_run_after_a_failed_export_resumes_after_the_last_finished_stage(
    seed3: Path, tmp_path: Path, captured: Captured
) -> None:
    (tmp_path / "blocked").write_text("a file where the report folder's parent should be")
    state = tmp_path / "state.duckdb"
    with pytest.raises(Exception, match="blocked"):
        meeting_intelligence(workspace=str(seed3), out=str(tmp_path / "blocked" / "out"), state=str(state))
    [failed] = [e for e in captured.meetintel() if e.event == "meetintel.run.failed"]
    assert (failed.payload["cache_hits"], failed.payload["cache_lookups"]) == (0, 3)  # export never finished
    record = meeting_intelligence(workspace=str(seed3), out=str(tmp_path / "out"), state=str(state))
    cached = {s.stage for s in record.stages if s.note.startswith("result cached by an earlier run")}
    assert cached == {"correlate", "aggregate"}  # detect ran again and found nothing new; export ran
    assert [s.stage for s in record.stages if not s.skipped] == ["collect", "export"]
