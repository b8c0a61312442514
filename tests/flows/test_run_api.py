"""`meetintel run` and the Prefect API it talks to: its own temporary server, and no heartbeat thread.

Without PREFECT_API_URL the CLI starts Prefect's temporary server as a process of its own while it imports
the pipeline, instead of letting Prefect import the server's modules into the run's process at the flow's
first call (1.1 s and 75 MB per run); the run stops it at the end. A run started from the CLI runs without
Prefect's heartbeat thread, whose join costs up to a second per run, unless the user sets the frequency.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest

from core.errors import RetriableError
from flows.cli import RunApi, _without_heartbeats
from sandbox import generate_workspace

REPO = Path(__file__).resolve().parents[2]
# Runs `meetintel run` in this interpreter the way the console script does, then reports what it left.
PROBE = """
import json, os, sys
import psutil
from flows.cli import app
try:
    app(sys.argv[1:], prog_name="meetintel")
except SystemExit as exc:
    code = exc.code
print(json.dumps({
    "exit": code,
    "server_modules": "prefect.server.api.server" in sys.modules,
    "breaker_modules": sorted({"pybreaker", "redis"} & set(sys.modules)),
    "api_url": os.environ.get("PREFECT_API_URL"),
    "children": [p.cmdline()[-12:] for p in psutil.Process().children(recursive=True)],
}))
"""


@pytest.mark.slow
def test_a_run_without_a_prefect_api_starts_its_own_server_and_stops_it(tmp_path: Path) -> None:
    generate_workspace(tmp_path / "ws", people=12, days=3, seed=13, start=date(2026, 9, 7))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)  # a user's first run: no server configured
    # The server boots in ~3.5 s alone; beside the other xdist worker on a loaded machine it once took
    # over Prefect's default 20 s. The test is about starting and stopping it, not how fast it boots.
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
    for name in ("MEETINTEL_SLACK_TOKEN", "MEETINTEL_GOOGLE_TOKEN", "MEETINTEL_PSEUDONYM_SALT"):
        env.pop(name, None)
    args = ["run", "-w", str(tmp_path / "ws"), "-o", str(tmp_path / "out"), "-s", str(tmp_path / "s.duckdb")]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    summary, probe = json.loads(lines[-2]), json.loads(lines[-1])
    assert probe["exit"] == 0, done.stderr[-2000:]
    assert summary["status"] == "completed"
    assert probe["server_modules"] is False  # the server ran in its own process
    assert probe["breaker_modules"] == []  # no token, no salt: nothing to redact, no resilience code
    assert probe["api_url"] is None  # the run's server URL does not outlive the run
    assert probe["children"] == []  # and neither does the server


def test_a_cli_run_has_no_heartbeat_unless_the_user_sets_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import get_current_settings

    monkeypatch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", raising=False)
    default = get_current_settings().flows.heartbeat_frequency
    before = get_current_settings().model_dump()
    with _without_heartbeats():
        assert get_current_settings().flows.heartbeat_frequency is None
        after = get_current_settings().model_dump()  # every other setting as it was
        assert after | {"flows": before["flows"]} == before
        assert after["flows"] == before["flows"] | {"heartbeat_frequency": None}
    assert get_current_settings().flows.heartbeat_frequency == default
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "60")
    with _without_heartbeats():  # the user's choice stands: the settings are left as they are
        assert get_current_settings().flows.heartbeat_frequency == default


def test_a_temporary_server_that_exits_is_a_retriable_error_with_what_it_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = "import sys; print('port 1 refused', file=sys.stderr); sys.exit(1)"
    monkeypatch.setattr(RunApi, "url", "http://127.0.0.1:9/api")
    log = tempfile.TemporaryFile()  # noqa: SIM115 - RunApi.stop closes it
    monkeypatch.setattr(RunApi, "_log", log)
    monkeypatch.setattr(RunApi, "_started", time.monotonic())
    monkeypatch.setattr(RunApi, "process", subprocess.Popen([sys.executable, "-c", said], stderr=log))
    try:
        with pytest.raises(RetriableError) as caught:
            RunApi.wait()
    finally:
        RunApi.stop()
    assert caught.value.message == (
        "Prefect's temporary API server at http://127.0.0.1:9/api exited with code 1 before it answered "
        "within 20 s: port 1 refused"
    )
    assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in (caught.value.hint or "")
    assert RunApi.process is None
