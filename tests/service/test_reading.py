"""How the service reads: from the snapshot a run publishes while the run holds the state, from the state
itself (read-only, briefly) when there is no snapshot, never blocking the run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from checkpoints import StateStore
from flows.monitor import snapshot_path
from tests.service.served import build_org, config_for, serve

# A run's grip on the state: the writer lock (naming the holder) and the DuckDB file open for writing.
HOLD = """
import sys
from pathlib import Path
from checkpoints import StateStore
from checkpoints.store import hold_state
state = Path(sys.argv[1])
with hold_state(state, "a test run"), StateStore(state) as store:
    store.start_run("incremental")
    print("holding", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.slow  # several seconds: the full suite runs it, the fast lane does not
def test_without_a_snapshot_the_idle_state_is_read_directly(tmp_path: Path) -> None:
    org = build_org(tmp_path)
    snapshot_path(org.state).unlink()
    time.sleep(2.1)  # the state must have been left alone for 2 s before the service opens it
    with serve(config_for(org)) as s:
        body = s.get("/health").json()
        runs = s.get("/api/runs", org.analyst).json()
    assert body["status"] == "green"
    assert [r["run_id"] for r in runs["items"]] == [org.run_id]
    # It only read: the state is whole and free, and no snapshot was written by the service.
    assert not snapshot_path(org.state).exists()
    with StateStore(org.state) as store:
        assert [r.run_id for r in store.runs(5)] == [org.run_id]


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_a_run_holding_the_state_is_not_blocked_and_the_snapshot_answers(tmp_path: Path) -> None:
    org = build_org(tmp_path)
    run = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(org.state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "holding"
        with serve(config_for(org)) as s:
            body = s.get("/health").json()
            runs = s.get("/api/runs", org.analyst).json()
            meetings = s.get("/api/meetings", org.analyst, limit=1).json()
            assert run.poll() is None  # the run still holds the state: the service never took it
    finally:
        assert run.stdin is not None
        run.stdin.write("\n")
        run.stdin.close()
        assert run.wait(timeout=30) == 0
    state = next(c for c in body["components"] if c["name"] == "state_store")
    assert state["status"] == "green"
    assert state["reason"].startswith("a run is writing the state; figures from its snapshot of ")
    assert [r["run_id"] for r in runs["items"]] == [org.run_id]  # the snapshot's ledger
    assert meetings["total"] > 0 and meetings["reports_run"] == org.run_id
