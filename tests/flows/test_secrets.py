"""A live run with distinctive tokens leaks them nowhere, and hostile text in the sources stays inert in HTML.

One flow run collects a generated org from the sandbox with tokens no other test uses, after markup payloads
were written into message texts, event titles and Drive file names. Then every log record (Python logging
and the Prefect API's log store), every export file (XLSX unzipped), every table of the state file, and the
flow run's parameters and artifacts are searched for the tokens; the HTML report is opened in Chromium.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zipfile
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogWorker

from checkpoints import StateStore
from flows.params import LiveEndpoints
from flows.pipeline import meeting_intelligence
from sandbox import SandboxServer, ServerSettings, generate_workspace
from tests.exports.test_html import browse

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]
SLACK_TOKEN = "xoxb-7331-LEAKCANARY-slack-2f9d"
GOOGLE_TOKEN = "ya29.LEAKCANARY-google-8c1e"
CANARIES = (SLACK_TOKEN, GOOGLE_TOKEN, "LEAKCANARY")
# Each payload marks the page if it ever runs.
XSS_MESSAGE = '<img src=x onerror="document.documentElement.dataset.pwned=1">'
XSS_TITLE = "</script><script>document.documentElement.dataset.pwned=2</script>"
XSS_FILE = '<svg onload="document.documentElement.dataset.pwned=3">'


def _poison(ws: Path) -> dict[str, str]:
    """Append payloads to every message text, calendar event title and Drive file name; give one of each
    that reached the files (for the test to find them in the reports)."""
    for day in sorted((ws / "slack").glob("*/*.json")):
        messages = json.loads(day.read_text())
        for m in messages:
            if m.get("text"):
                m["text"] += " " + XSS_MESSAGE
        day.write_text(json.dumps(messages))
    for cal in sorted((ws / "google" / "calendar").glob("*.json")):
        dump = json.loads(cal.read_text())
        for item in dump["items"]:
            if "summary" in item:
                item["summary"] = XSS_TITLE + item["summary"]
        cal.write_text(json.dumps(dump))
    drive = ws / "google" / "drive" / "files.json"
    data = json.loads(drive.read_text())
    for f in data["files"]:
        f["name"] = XSS_FILE + f["name"]
    drive.write_text(json.dumps(data))
    return {"message": XSS_MESSAGE, "title": XSS_TITLE, "file": XSS_FILE}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("secrets") / "ws"
    generate_workspace(ws, people=10, days=2, seed=9)
    _poison(ws)
    return ws


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETINTEL_SLACK_TOKEN", SLACK_TOKEN)
    monkeypatch.setenv("MEETINTEL_GOOGLE_TOKEN", GOOGLE_TOKEN)
    monkeypatch.setenv("MEETINTEL_SLACK_TIER2_PER_MINUTE", "1200")
    monkeypatch.setenv("MEETINTEL_SLACK_TIER3_PER_MINUTE", "3000")


async def _prefect_records(flow_run_id: UUID) -> dict[str, str]:
    """Give the flow run's parameters, its log lines and its artifacts, as stored by the Prefect API."""
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {
        "parameters": json.dumps(run.parameters, default=str),
        "logs": "\n".join(log.message for log in logs),
        "artifacts": "\n".join(json.dumps(a.data, default=str) + (a.description or "") for a in artifacts),
        "log_count": str(len(logs)),
        "artifact_count": str(len(artifacts)),
    }


def _export_texts(out: Path) -> dict[str, str]:
    texts = {}
    for path in sorted((out / "latest").resolve().iterdir()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                texts[path.name] = "\n".join(book.read(n).decode() for n in book.namelist())
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def _state_texts(state: Path) -> dict[str, str]:
    """Give every table of the state file rendered as text (raw, derived, cursors, meta, runs ledger)."""
    with StateStore(state) as store:
        names = [r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: repr(store.con.execute(f"SELECT * FROM {n}").fetchall()) for n in names}


def test_tokens_appear_in_no_log_export_state_table_parameter_or_artifact(
    workspace: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server_settings = ServerSettings(time_scale=60, slack_token=SLACK_TOKEN, google_token=GOOGLE_TOKEN)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="prefect")  # conftest keeps Prefect at WARNING; ship every line
    with SandboxServer(workspace, server_settings) as server:
        live = LiveEndpoints(
            enabled=True, slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url
        )
        state = meeting_intelligence(
            out=str(tmp_path / "out"), state=str(tmp_path / "state.duckdb"), live=live, return_state=True
        )
        auth_failures = server.stats.auth_failures
    record: Any = state.result()
    assert (record.status, auth_failures) == ("completed", {})
    APILogWorker.drain_all()
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    prefect = asyncio.run(_prefect_records(flow_run_id))
    places = {
        **{f"log: {r.name}: {r.getMessage()[:60]}": r.getMessage() for r in caplog.records},
        **{f"export: {name}": text for name, text in _export_texts(tmp_path / "out").items()},
        **{f"state table: {name}": text for name, text in _state_texts(tmp_path / "state.duckdb").items()},
        **{f"prefect: {name}": text for name, text in prefect.items()},
    }
    leaks = sorted(place for place, text in places.items() if any(c in text for c in CANARIES))
    assert leaks == []
    # The scan saw the things it claims to have searched.
    # The scan saw what it claims: every run-logger line reached the Prefect API, and both artifacts.
    run_loggers = ("prefect.flow_runs", "prefect.task_runs")
    shipped = [
        r for r in caplog.records if r.name.startswith(run_loggers) and getattr(r, "send_to_api", True)
    ]
    assert (int(prefect["log_count"]), int(prefect["artifact_count"])) == (len(shipped), 3)
    reports = {
        "meetings.json",
        "people.json",
        "meetintel.xlsx",
        "meetintel.html",
        "meetings.csv",
        "people.csv",
    }
    assert {f"export: {name}" for name in reports} <= set(places)
    assert {"state table: slack_messages", "state table: runs", "state table: cursors"} <= set(places)


def test_markup_in_messages_titles_and_file_names_stays_inert_in_the_html_report(
    workspace: Path, tmp_path: Path
) -> None:
    """The payloads travel from the source files to the reports as text and never run in the browser."""
    server_settings = ServerSettings(time_scale=60, slack_token=SLACK_TOKEN, google_token=GOOGLE_TOKEN)
    with SandboxServer(workspace, server_settings) as server:
        live = LiveEndpoints(
            enabled=True, slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url
        )
        meeting_intelligence(out=str(tmp_path / "out"), state=str(tmp_path / "state.duckdb"), live=live)
    meetings = json.loads((tmp_path / "out" / "meetings.json").read_text())
    titles = [m["title"] for m in meetings if m["calendar_event_id"]]
    assert [t for t in titles if not t.startswith(XSS_TITLE)] == []
    assert any(d["name"].startswith(XSS_FILE) for m in meetings for d in m["documents"])
    with StateStore(tmp_path / "state.duckdb") as store:
        # Every message text carries the payload into the state (evidence shows only the matched phrase).
        stored = store.con.execute(
            "SELECT count(*) FILTER (WHERE ends_with(text, ?)), count(*) FILTER (WHERE text <> '') "
            "FROM slack_messages",
            [" " + XSS_MESSAGE],
        ).fetchall()
    assert stored[0][0] == stored[0][1]
    page = (tmp_path / "out" / "latest" / "meetintel.html").resolve()
    opened = [m["meeting_id"] for m in meetings if m["documents"]][:1] + [meetings[0]["meeting_id"]]
    for meeting_id in opened:
        dom = browse(page, tmp_path, {"open": meeting_id})
        (html,) = dom.find("html")
        assert "data-pwned" not in html.attrs
        assert [(n.tag, k) for n in dom.walk() for k in n.attrs if k.startswith("on")] == []
        assert len(dom.find("script")) == 2
