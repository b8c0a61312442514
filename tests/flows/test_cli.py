"""The command line: help on every command, clear errors for bad settings, status from the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoints import RunRecord, StateStore
from flows import cli
from flows.cli import EXIT_FAILED, app

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


def test_status_without_state_file_fails_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--state", str(tmp_path / "none.duckdb")])
    assert result.exit_code == EXIT_FAILED
    assert "run `meetintel run` first" in result.output
