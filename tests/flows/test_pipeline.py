"""The meeting_intelligence flow end to end on a generated org, under one Prefect test server."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from checkpoints import StateStore
from flows.pipeline import meeting_intelligence
from sandbox import generate_workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

PEOPLE, DAYS, MORE_DAYS, SEED = 20, 4, 6, 3


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small org, the same org with two more days, and a state and output folder."""
    root = tmp_path_factory.mktemp("org")
    generate_workspace(root / "short", people=PEOPLE, days=DAYS, seed=SEED)
    generate_workspace(root / "long", people=PEOPLE, days=MORE_DAYS, seed=SEED)
    shutil.copytree(root / "short", root / "ws")
    return {
        "root": root,
        "ws": root / "ws",
        "short": root / "short",
        "long": root / "long",
        "state": root / "state.duckdb",
        "out": root / "out",
    }


def _truth(ws: Path) -> dict:
    return json.loads((ws / "truth.json").read_text())


def _run(org: dict[str, Path], full_refresh: bool = False):
    return meeting_intelligence(
        workspace=str(org["ws"]), out=str(org["out"]), state=str(org["state"]), full_refresh=full_refresh
    )


def _calendar_meetings(truth: dict) -> dict[str, str]:
    return {m["calendar_event_id"]: m["status"] for m in truth["meetings"] if m["calendar_event_id"]}


def test_first_run_finds_every_calendar_meeting_once(org: dict[str, Path]) -> None:
    truth = _truth(org["short"])
    record = _run(org)
    assert record.status == "completed"
    assert record.rows_read["slack_messages"] == truth["counts"]["messages"]
    assert record.rows_read["calendar_events"] == truth["counts"]["event_rows"]
    meetings = json.loads((org["out"] / "meetings.json").read_text())
    found = [m["calendar_event_id"] for m in meetings if m["calendar_event_id"]]
    assert len(found) == len(set(found)), "a calendar event became more than one meeting"
    assert {
        m["calendar_event_id"]: m["status"] for m in meetings if m["calendar_event_id"]
    } == _calendar_meetings(truth)
    not_meetings = {n["calendar_event_id"] for n in truth["not_meetings"]}
    assert not not_meetings & set(found)
    people = json.loads((org["out"] / "people.json").read_text())
    internal = {p["email"] for p in people if p["internal"]}
    # An ambiguous name stays unmapped by design: those Slack accounts are people of their own, at the
    # company domain, so internal.
    unmapped = {p["slack_email"] for p in truth["people"] if p["quirk"] == "ambiguous_name"}
    assert len(unmapped) == 2
    assert internal == {p["email"] for p in truth["people"] if p["internal"]} | unmapped
    assert {p["email"]: p["match"] for p in people if p["email"] in unmapped} == dict.fromkeys(
        unmapped, "unmatched"
    )
    slack_ids = {p["email"]: p["slack_user_id"] for p in people if p["slack_user_id"]}
    ambiguous = {p["email"]: p["slack_email"] for p in truth["people"] if p["quirk"] == "ambiguous_name"}
    expected = {uid: ambiguous.get(email, email) for uid, email in truth["slack_user_emails"].items()}
    assert {slack_ids[e]: e for e in slack_ids} == expected
    for name in ("meetings", "participants", "evidence", "documents", "people"):
        assert (org["out"] / f"{name}.csv").exists(), name


def test_second_run_with_no_new_data_reads_and_changes_nothing(org: dict[str, Path]) -> None:
    before = (org["out"] / "meetings.json").read_bytes()
    record = _run(org)
    assert record.status == "completed"
    assert sum(record.rows_read.values()) == 0
    assert [(s.stage, s.skipped) for s in record.stages] == [
        ("collect", False),
        ("detect", True),
        ("correlate", True),
        ("aggregate", True),
        ("export", True),
    ]
    assert record.stages[0].note == "0 files changed"
    assert (org["out"] / "meetings.json").read_bytes() == before


def test_new_days_are_read_alone_and_processed(org: dict[str, Path]) -> None:
    short, long = _truth(org["short"]), _truth(org["long"])
    shutil.copytree(org["long"], org["ws"], dirs_exist_ok=True)
    record = _run(org)
    assert record.rows_read["slack_messages"] == long["counts"]["messages"] - short["counts"]["messages"]
    with StateStore(org["state"]) as store:
        assert store.count("slack_messages") == long["counts"]["messages"]
        assert store.count("pending_detection") == 0
    meetings = json.loads((org["out"] / "meetings.json").read_text())
    assert {
        m["calendar_event_id"]: m["status"] for m in meetings if m["calendar_event_id"]
    } == _calendar_meetings(long)


def test_full_refresh_rebuilds_the_same_reports(org: dict[str, Path]) -> None:
    before = json.loads((org["out"] / "meetings.json").read_text())
    record = _run(org, full_refresh=True)
    assert (record.mode, record.status) == ("full-refresh", "completed")
    assert record.rows_read["slack_messages"] == _truth(org["long"])["counts"]["messages"]
    assert json.loads((org["out"] / "meetings.json").read_text()) == before


def test_flow_run_and_artifacts_are_readable_through_the_prefect_api(org: dict[str, Path]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter
    from prefect.client.schemas.sorting import FlowRunSort

    async def read() -> tuple:
        async with get_client() as client:
            # The newest run is this module's last (the server is shared with other modules' flows).
            runs = await client.read_flow_runs(limit=20, sort=FlowRunSort.START_TIME_DESC)
            run = next(r for r in runs if r.name and r.state and r.state.is_completed())
            tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [run.id]}))
            arts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
            return run, tasks, arts

    run, tasks, arts = asyncio.run(read())
    assert sorted(t.task_key.split("-")[0] for t in tasks) == sorted(
        ["collect_task", "detect_task", "correlate_task", "aggregate_task", "export_task"]
    )
    kinds = {a.type: a for a in arts}
    assert kinds["progress"].data == 100.0
    assert "# meetintel run" in kinds["markdown"].data
    assert "| collect |" in kinds["markdown"].data
    assert "[meetintel.html](file://" in kinds["markdown"].data
    top = json.loads(kinds["table"].data) if isinstance(kinds["table"].data, str) else kinds["table"].data
    hours = [row["person_hours"] for row in top]
    assert len(top) == 10
    assert hours == sorted(hours, reverse=True)
