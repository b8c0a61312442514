"""`meetintel run` as a person sees it: in a terminal (a pseudo-terminal read by pyte), piped, and --json."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

MEETINTEL = str(Path(sys.executable).with_name("meetintel"))
STAGES = ("collect", "detect", "correlate", "aggregate", "export")
COLUMNS, ROWS = 160, 45
PREFECT_NOTICE = "for more information on running a dedicated Prefect server"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a small generated workspace (12 people, 3 days)."""
    root = tmp_path_factory.mktemp("terminal") / "ws"
    command = [MEETINTEL, "sandbox", "generate", str(root), "--people", "12", "--days", "3", "--seed", "3"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return root


def _env(tmp: Path) -> dict[str, str]:
    """Give the environment of a run as a user has it: Prefect's default INFO level, a fresh home."""
    # COLUMNS and LINES (pytest-xdist sets them to 80 x 24) would override the terminal's own size.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEETINTEL_", "PREFECT_"))}
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    env |= {"PREFECT_HOME": str(tmp / "prefect"), "PREFECT_LOGGING_LEVEL": "INFO", "DO_NOT_TRACK": "1"}
    env |= {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "TERM": "xterm-256color"}
    return env


def _run_args(workspace: Path, tmp: Path) -> list[str]:
    return ["run", "-w", str(workspace), "-o", str(tmp / "out"), "-s", str(tmp / "state.duckdb")]


def run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 240) -> tuple[int, list[str]]:
    """Run the CLI in a COLUMNS x ROWS pseudo-terminal; give its exit code and the final screen's lines."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: size its terminal before anything asks for it, then become the CLI
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        os.execve(MEETINTEL, [MEETINTEL, *args], env)
    screen = pyte.Screen(COLUMNS, ROWS)
    stream = pyte.ByteStream(screen)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        stream.feed(data)
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), [line.rstrip() for line in screen.display]


@pytest.mark.slow
def test_a_terminal_shows_a_line_per_stage_with_counts_logs_above_and_the_stage_table(
    workspace: Path, tmp_path: Path
) -> None:
    code, screen = run_in_terminal(_run_args(workspace, tmp_path), _env(tmp_path))
    text = "\n".join(screen)
    assert code == 0, text
    progress = [
        line for line in screen if re.match(r"^[✓✗–·⠀-⣿] (collect|detect|correl|aggreg|export)", line)
    ]
    assert [line.split()[1] for line in progress] == list(STAGES), text
    for line in progress:
        assert line.startswith("✓ "), line  # every stage finished
        assert re.search(r"\d[\d,]* rows in, \d[\d,]* rows out", line), line
        assert "INFO" not in line and "WARNING" not in line and " | " not in line, line  # no log text
    assert "files changed" in progress[0]
    logs = [line for line in screen if re.search(r"\b(INFO|WARNING|ERROR)\b", line)]
    assert logs, text  # meetintel's own INFO lines show ...
    assert all(screen.index(line) < screen.index(progress[0]) for line in logs)  # ... above the progress
    assert not any(re.search(r"(✓|⠋).*(collect|export).*INFO", line) for line in screen)
    assert PREFECT_NOTICE not in text and "Beginning flow run" not in text  # Prefect's chatter is quiet
    table = screen.index(next(line for line in screen if re.match(r"^┃ stage\s+┃ seconds", line)))
    assert table > screen.index(progress[-1])
    rows = [line.split("│")[1].strip() for line in screen[table + 2 : table + 7]]
    assert rows == list(STAGES)
    assert re.search(r"Log in .*/runs/\S+/run\.log", text)


PLAIN_LINES = [rf"{stage}: started|{stage}: (done|skipped) in \d+\.\d\d s; .+" for stage in STAGES]


@pytest.mark.slow
def test_piped_output_is_a_plain_line_per_stage_start_and_end_and_json_is_one_object(
    workspace: Path, tmp_path: Path
) -> None:
    plain = subprocess.run(
        [MEETINTEL, *_run_args(workspace, tmp_path / "plain")],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    expected = [line for stage in STAGES for line in (f"{stage}: started", f"{stage}: ended")]
    assert len(lines) > len(expected)
    for got, want in zip(lines, expected, strict=False):
        stage, what = want.split(": ")
        if what == "started":
            assert got == want
        else:
            assert re.fullmatch(
                rf"{stage}: done in \d+\.\d\d s; [\d,]+ rows in, [\d,]+ rows out(; .+)?", got
            ), got
    assert "\x1b" not in plain.stdout and "\r" not in plain.stdout  # no animation, no colour
    assert PREFECT_NOTICE not in plain.stdout + plain.stderr

    as_json = subprocess.run(
        [MEETINTEL, *_run_args(workspace, tmp_path / "json"), "--json", "-v"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert as_json.returncode == 0, as_json.stderr
    summary = json.loads(as_json.stdout)  # the whole of stdout is one JSON object
    assert as_json.stdout.strip().count("\n") == 0
    assert PREFECT_NOTICE in as_json.stderr  # -v shows Prefect's INFO lines, on stderr
    assert {"status", "run_id", "counts", "stages", "reports", "quarantined", "log"} <= summary.keys()
    assert summary["status"] == "completed"
    assert [s["stage"] for s in summary["stages"]] == list(STAGES)
    # The same workspace from a fresh state gives the same figures in both forms.
    for stage, line in zip(summary["stages"], lines[1:10:2], strict=True):
        assert f"{stage['rows_in']:,} rows in, {stage['rows_out']:,} rows out" in line
    # The count is the meetings.json the run published, and what the aggregate stage wrote.
    published = json.loads((tmp_path / "json" / "out" / "latest" / "meetings.json").read_text())
    assert summary["counts"]["meetings"] == summary["stages"][-2]["rows_out"] == len(published)
    assert len(published) == len(
        json.loads((tmp_path / "plain" / "out" / "latest" / "meetings.json").read_text())
    )
    assert any(path.endswith("meetings.json") for path in summary["reports"])
    log = Path(summary["log"])
    assert log.name == "run.log" and log.parent.name == summary["run_id"]
    assert PREFECT_NOTICE in log.read_text()  # the full log keeps what the terminal left out
