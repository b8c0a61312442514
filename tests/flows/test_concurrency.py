"""Runs on one state never collide: the store refuses a second writer, a full refresh keeps the ledger rows
written while it ran, and three runs started at once on the Prefect server queue on the state's concurrency
limit and all complete, one after another."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checkpoints import RunRecord, StateStore, prepare_refresh, swap_in
from checkpoints.store import hold_state, writer_lock_path
from core.errors import RetriableError
from flows.pipeline import limit_name
from sandbox import generate_workspace
from tests.conftest import REPO


def test_a_second_writer_is_refused_with_who_holds_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    with hold_state(state, "flow run 1111"):
        with pytest.raises(RetriableError) as refused, hold_state(state, "flow run 2222"):
            pytest.fail("a second writer got the state")
        assert "is being written by flow run 1111 (pid " in str(refused.value)
        assert "wait for that run to finish" in str(refused.value)
    with hold_state(state, "flow run 3333"):  # released at the end of the block
        assert writer_lock_path(state).read_text().startswith("flow run 3333 (pid ")
    assert writer_lock_path(state).read_text() == ""


def test_a_writer_in_another_process_is_refused_and_its_death_releases_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from checkpoints.store import hold_state\n"
         "with hold_state(Path(sys.argv[1]), 'flow run other'):\n"
         "    print('held', flush=True); time.sleep(60)", str(state)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RetriableError, match="being written by flow run other"), hold_state(state, "me"):
            pytest.fail("a second writer got the state")
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with hold_state(state, "me"):
        assert writer_lock_path(state).read_text().startswith("me (pid ")


def test_a_full_refresh_keeps_ledger_rows_written_while_it_ran(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    with StateStore(state) as store:
        before = store.start_run("incremental")
        refresh = store.start_run("full-refresh")
    work = prepare_refresh(state)
    with StateStore(state) as store:  # what the issue saw: a run writes to the old state meanwhile
        during = store.start_run("incremental")
        store.finish_run(RunRecord(run_id=during, mode="incremental", status="completed"))
    swap_in(work, state)
    with StateStore(state) as store:
        ledger = {r.run_id: r.status for r in store.runs(10)}
    assert ledger == {before: "running", refresh: "running", during: "completed"}


def test_the_limit_is_named_after_the_state_file() -> None:
    name = limit_name("/srv/meetintel/Acme State.duckdb")
    assert name.startswith("meetintel-state-acme-state-")
    assert len(name) == len("meetintel-state-acme-state-") + 8
    assert name != limit_name("/srv/other/Acme State.duckdb")
    assert name == limit_name("/srv/meetintel/./Acme State.duckdb".replace("/./", "/"))


RUN = """
import sys
from flows.pipeline import meeting_intelligence
ws, out, state, full = sys.argv[1:5]
record = meeting_intelligence(workspace=ws, out=out, state=state, full_refresh=full == "full", org="acme")
print(record.run_id, record.status)
"""


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_server")
def test_three_runs_at_once_on_one_state_complete_one_after_another(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    generate_workspace(ws, people=10, days=2, seed=3)
    state, out = tmp_path / "state.duckdb", tmp_path / "out"
    from prefect.settings import PREFECT_API_URL

    # The session's test server, which holds the state's concurrency limit for all three processes.
    env = os.environ | {"PYTHONPATH": str(REPO), "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    modes = ("incremental", "full", "incremental")
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN, str(ws), str(out), str(state), mode],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for mode in modes
    ]
    started = time.monotonic()
    results = [p.communicate(timeout=240) for p in runs]
    for p, (_stdout, stderr) in zip(runs, results, strict=True):
        assert p.returncode == 0, f"a run failed instead of waiting its turn:\n{stderr[-3000:]}"
    printed = dict(line.split() for line, _ in results)
    assert sorted(printed.values()) == ["completed"] * 3
    with StateStore(state) as store:
        ledger = sorted(store.runs(10), key=lambda r: r.started_at or 0)
    assert sorted(r.run_id for r in ledger) == sorted(printed)
    assert [r.status for r in ledger] == ["completed"] * 3
    assert sorted(r.mode for r in ledger) == ["full-refresh", "incremental", "incremental"]
    for earlier, later in zip(ledger, ledger[1:], strict=False):
        assert earlier.ended_at is not None and later.started_at is not None
        assert earlier.ended_at <= later.started_at, f"runs {earlier.run_id} and {later.run_id} overlapped"
    assert time.monotonic() - started < 240


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_server")
def test_a_run_that_waits_too_long_for_the_slot_says_which_limit_holds_it(tmp_path: Path) -> None:
    from prefect.concurrency.sync import concurrency

    from flows.pipeline import state_slot

    state = str(tmp_path / "busy.duckdb")
    # The first run holds the one slot; the second gives up after a second.
    with state_slot(state), pytest.raises(RetriableError) as waited, state_slot(state, wait_seconds=1):
        pytest.fail("a second run got the state's slot")
    assert f"waited 1 s for the concurrency limit {limit_name(state)} of {state}" in str(waited.value)
    # The slot is free again once the first run's block ended: a third taker gets it at once.
    started = time.monotonic()
    with concurrency(limit_name(state), occupy=1, timeout_seconds=5, strict=True):
        assert time.monotonic() - started < 5
