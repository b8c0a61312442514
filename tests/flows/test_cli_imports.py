"""`meetintel status` and `--help` import only what they need: no API clients, no Prefect, no report writers.

A structural check, not a timing: each command runs in a fresh interpreter, which then lists the heavy
modules it holds. Before the CLI imported its layers lazily, `status` loaded googleapiclient, slack_sdk,
pybreaker (and redis through it) and took ~0.9 s; BENCHMARKS.md has the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from checkpoints import StateStore

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "googleapiclient",
    "slack_sdk",
    "pybreaker",
    "redis",
    "prefect",
    "tenacity",
    "icalendar",
    "jinja2",
    "aggregation",
    "intelligence",
    "exports",
)
# Runs the CLI in this interpreter the way the console script does, then prints which modules it holds.
PROBE = """
import json, sys
from flows.cli import app
try:
    app(sys.argv[1:], prog_name="meetintel")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted(m for m in sys.modules if "." not in m)}))
"""


def _loaded(*args: str) -> tuple[int, set[str]]:
    """Give the exit code of `meetintel ARGS` and the top-level modules its process imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout.splitlines()[-1])
    return found["exit"], set(found["modules"])


def test_status_imports_no_api_client_prefect_or_report_code(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    with StateStore(state) as store:
        store.start_run("full")
    code, modules = _loaded("status", "--state", str(state))
    assert code == 0
    assert sorted(modules & set(HEAVY)) == []
    assert {"duckdb", "checkpoints"} <= modules  # it did read the state


def test_help_imports_neither_duckdb_nor_arrow_nor_settings() -> None:
    code, modules = _loaded("--help")
    assert code == 0
    assert sorted(modules & {*HEAVY, "duckdb", "pyarrow", "pydantic_settings", "checkpoints"}) == []


@pytest.mark.slow  # a whole run in a child process, 1.75 s: the full suite, not the fast lane
def test_an_offline_run_loads_no_api_client() -> None:
    """The flow's module, as an offline `meetintel run` imports it, holds no Slack or Google client, and no
    iCalendar library until an .ics file is read."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, flows.pipeline; print(' '.join(sorted(sys.modules)))"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {m.split(".")[0] for m in done.stdout.split()}
    heavy = {"googleapiclient", "slack_sdk", "pybreaker", "redis", "icalendar", "recurring_ical_events"}
    assert sorted(modules & heavy) == []
    assert "prefect" in modules  # the flow itself did load
