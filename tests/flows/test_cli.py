"""The command line: help on every command, clear errors for bad settings, status from the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoints import RunRecord, StateStore
from flows import cli
from flows.cli import EXIT_FAILED, app
from flows.monitor import publish_snapshot

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give tables room so cells are not truncated by the 80-column default of a non-terminal."""
    monkeypatch.setattr(cli.console, "width", 200)


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["status"], ["query"], ["export"], ["evaluate"], ["archive"], ["archive", "list"],
     ["archive", "prune"], ["quarantine"], ["quarantine", "list"], ["sandbox"], ["sandbox", "generate"],
     ["sandbox", "serve"]],
)  # fmt: skip
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_run_without_a_workspace_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEETINTEL_WORKSPACE", raising=False)
    result = runner.invoke(app, ["run", "--state", str(tmp_path / "s.duckdb"), "--out", str(tmp_path / "o")])
    assert result.exit_code == EXIT_FAILED
    assert "no workspace given" in result.output
    assert "--workspace" in result.output


def test_run_on_a_missing_folder_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = runner.invoke(app, ["run", "--workspace", str(missing), "--state", str(tmp_path / "s.duckdb")])
    assert result.exit_code == EXIT_FAILED
    assert "nowhere" in result.output
    assert "is not a folder" in result.output


def test_status_lists_runs_from_the_ledger(tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    with StateStore(state) as store:
        run_id = store.start_run("incremental")
        store.finish_run(RunRecord(run_id=run_id, status="completed", rows_read={"slack_messages": 12}))
    result = runner.invoke(app, ["status", "--state", str(state)])
    assert result.exit_code == 0
    assert run_id in result.output
    assert "completed" in result.output
    assert "slack_messages: 0" in result.output


@contextmanager
def _held(state: Path) -> Iterator[None]:
    """Hold `state` open in another process, as a run's stage does, for the block."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("", timeout=30)


HOLD = (
    "import sys; from checkpoints import StateStore; s = StateStore(sys.argv[1]); "
    "print('held', flush=True); sys.stdin.read()"
)


def test_status_while_a_run_holds_the_state_shows_the_snapshot_it_published(tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    with StateStore(state) as store:
        run_id = store.start_run("full")
        store.finish_run(RunRecord(run_id=run_id, mode="full", status="completed"))
        published = publish_snapshot(store.con, state)
    with _held(state):
        shown = runner.invoke(app, ["status", "--state", str(state)])
        as_json = runner.invoke(app, ["status", "--state", str(state), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert "A run holds" in shown.output and f"{published.written_at:%H:%M:%S} UTC" in shown.output
    assert run_id in shown.output and "completed" in shown.output
    assert "slack_messages: 0, calendar_events: 0, meeting_records: 0" in shown.output
    figures = json.loads(as_json.output)
    assert [r["run_id"] for r in figures["runs"]] == [run_id]
    assert figures["snapshot_at"] == published.written_at.isoformat()
    # With the state free again, the ledger itself is read and no snapshot time is given.
    assert "snapshot_at" not in json.loads(
        runner.invoke(app, ["status", "--state", str(state), "-f", "json"]).output
    )


def test_status_while_a_run_holds_a_state_without_a_snapshot_says_to_wait(tmp_path: Path) -> None:
    state = tmp_path / "s.duckdb"
    with StateStore(state) as store:
        store.start_run("full")
    with _held(state):
        shown = runner.invoke(app, ["status", "--state", str(state)])
    assert shown.exit_code == EXIT_FAILED
    assert "is in use by another process" in shown.output
    assert "wait for the other meetintel process to finish" in " ".join(shown.output.split())


def test_status_without_state_file_fails_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--state", str(tmp_path / "none.duckdb")])
    assert result.exit_code == EXIT_FAILED
    assert "run `meetintel run` first" in result.output
