"""Hostile input, round two, through the command line: one clear message, the right exit code, and the
published reports and the state left as they were.

The previous reports come from the stages run as plain functions (no Prefect); only the cases that need the
flow start it (marked slow).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoints import StateStore
from checkpoints.ledger import DAMAGED_HINT
from flows import cli
from flows.cli import EXIT_FAILED, app
from sandbox import ServerSettings, generate_workspace
from tests.conftest import REPO
from tests.flows.published import build_and_publish, digest

runner = CliRunner()
ESC = "\x1b"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.console, "width", 200)
    monkeypatch.setattr(cli.err, "width", 400)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a folder with a workspace `ws`, a state `state.duckdb` and published reports in `out`."""
    root = tmp_path_factory.mktemp("published")
    generate_workspace(root / "ws", people=12, days=3, seed=13, start=date(2026, 9, 7))
    build_and_publish(root)
    return root


@pytest.fixture
def copy(published: Path, tmp_path: Path) -> Path:
    """Give a private copy of `published` (tests break and chmod it)."""
    return Path(shutil.copytree(published, tmp_path / "copy", symlinks=True))


def _run(root: Path, *extra: str, out: Path | None = None) -> tuple[int, str]:
    args = ["run", "-w", str(root / "ws"), "-o", str(out or root / "out"), "-s", str(root / "state.duckdb")]
    result = runner.invoke(app, [*args, *extra])
    return result.exit_code, result.output


def _unwritable(copy: Path) -> Path:
    """Give an --out the run cannot write: read-only for a normal user; under a regular file for root,
    whom permissions do not stop."""
    if os.geteuid() == 0:
        return copy / "state.duckdb" / "reports"
    (copy / "out").chmod(0o555)
    return copy / "out"


def test_an_unwritable_out_folder_fails_in_one_line_before_any_run_starts(copy: Path) -> None:
    """Row 9: the folder is named with what to do; no run folder, no ledger entry, reports and state kept."""
    out = _unwritable(copy)
    reports, state = digest(copy / "out"), digest(copy)
    try:
        code, output = _run(copy, out=out)
    finally:
        (copy / "out").chmod(0o755)
    reason = "Not a directory" if os.geteuid() == 0 else "Permission denied"
    assert code == EXIT_FAILED
    assert f"error: cannot write reports to {out} ({reason})\n" in output
    assert f"what to do: make {out} a folder you can write to (create it, or `chmod u+w` it)" in output
    assert "Traceback" not in output
    assert digest(copy / "out") == reports
    assert digest(copy) == state


@pytest.mark.parametrize(
    "out", ["/proc/meetintel-out", "/dev/null/reports"], ids=["under /proc", "under a device"]
)
def test_an_out_folder_that_cannot_exist_fails_in_one_line(copy: Path, out: str) -> None:
    code, output = _run(copy, out=Path(out))
    assert code == EXIT_FAILED
    assert f"error: cannot write reports to {out} (" in output
    assert "Traceback" not in output


def test_a_truncated_state_file_says_what_doctor_says(copy: Path) -> None:
    """Row 10: the run names the damage and the repair, as `meetintel doctor` does; nothing is touched."""
    state = copy / "state.duckdb"
    with state.open("r+b") as f:
        f.truncate(20_000)
    before = digest(copy)
    code, output = _run(copy)
    assert code == EXIT_FAILED
    assert f"error: the state file {state} is damaged: it cannot be opened as a DuckDB database (" in output
    assert f"what to do: {DAMAGED_HINT}" in " ".join(output.split())
    assert "IOException" not in output and "Traceback" not in output
    assert digest(copy) == before
    doctor = runner.invoke(app, ["doctor", "-s", str(state), "-o", str(copy / "out")])
    assert DAMAGED_HINT in " ".join(doctor.output.split())


HOSTILE_TITLE = "Budget\x1b[2J\x1b]8;;https://evil.example\x1b\\review\x1b]8;;\x1b\\\x9b31m\x07 [bold]Q3[/]"


def test_query_writes_no_escape_sequence_of_a_title_to_the_terminal(copy: Path) -> None:
    """Row 11: screen clears, OSC 8 links, C1 and BEL are stripped from table, CSV and JSON output; rich
    markup in the data is printed as text."""
    with StateStore(copy / "state.duckdb") as store:
        store.con.execute("UPDATE report_meetings SET title = ?", [HOSTILE_TITLE])
    for fmt in ("table", "csv", "json"):
        result = runner.invoke(
            app, ["query", "-s", str(copy / "state.duckdb"), "--format", fmt, "--limit", "1"]
        )
        assert result.exit_code == 0, result.output
        assert not {ESC, "\x9b", "\x07", "\x9d"} & set(result.output), fmt
        if fmt != "json":  # JSON escapes them as \u001b: valid data, inert on a terminal
            assert "Budgetreview [bold]Q3[/]" in result.output, fmt


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_server")
def test_a_live_run_where_every_source_fails_is_failed_not_partial(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 12: nothing collected → exit 1 with one line naming each source; reports and state data kept."""
    tokens = ServerSettings()
    monkeypatch.setenv("MEETINTEL_SLACK_TOKEN", tokens.slack_token)
    monkeypatch.setenv("MEETINTEL_GOOGLE_TOKEN", tokens.google_token)
    monkeypatch.setenv("MEETINTEL_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("MEETINTEL_RETRY_BASE_DELAY", "0.01")
    reports = digest(copy / "out")
    with StateStore(copy / "state.duckdb") as store:
        version = store.data_version()
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens
    code, output = _run(copy, "--live", "--slack-base-url", f"{dead}/api/", "--google-endpoint", dead)
    assert code == EXIT_FAILED, output
    assert "error: every source failed (" in output
    assert "what to do: nothing was collected and the published reports are unchanged" in output
    assert digest(copy / "out") == reports
    with StateStore(copy / "state.duckdb") as store:
        assert store.data_version() == version
        assert store.runs(1)[0].status == "failed"


@pytest.mark.slow
def test_a_failed_run_prints_one_error_and_no_traceback_or_leak_report(copy: Path) -> None:
    """Row 13, through a real `meetintel` process: the error, what to do, no Prefect traceback, no
    `nanobind: leaked` lines at exit; the published reports are unchanged."""
    day = sorted((copy / "ws" / "slack").glob("*/*.json"))[0]
    day.write_text("[{broken")
    reports = digest(copy / "out")
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "INFO", "PYTHONPATH": str(REPO)}
    env.pop("PREFECT_API_URL", None)  # its own temporary server, as a user's first run
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "-w", "ws", "-o", "out", "-s", "state.duckdb"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == EXIT_FAILED, output
    shown = day.relative_to(copy)
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert errors == [
        f'error: {shown}: cannot read Slack day files (Malformed JSON in file "{shown}", at byte 2 in '
        "record/value 2: unexpected character.)"
    ]
    assert "what to do: re-export the channel or remove the file" in output
    assert "Traceback" not in output
    assert "nanobind" not in output
    assert digest(copy / "out") == reports
