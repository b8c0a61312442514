"""SIGKILL of a whole `meetintel run --storage DIR` (the CLI, its Prefect flow and everything in its process
group) in the middle of collection: the dataset opens at a valid generation, `meetintel doctor` finds the
state healthy, and the next `meetintel run` completes with the reports of an uninterrupted run.

The killed run uses a Prefect home of its own: a killed run's slot on the state's concurrency limit stays
taken until its lease (300 s in Prefect 3.8) runs out, so a rerun on the same Prefect server would wait that
long first (docs/scale-out.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoints import StateStore
from checkpoints.dataset import MANIFESTS
from collectors import workspace_paths
from flows.cli import app
from flows.pipeline import meeting_intelligence
from sandbox import generate_workspace
from tests.flows.test_dask import normalised

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

MEETINTEL = Path(sys.executable).with_name("meetintel")
QUIET = {"PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def run_args(ws: Path, root: Path) -> list[str]:
    return [str(MEETINTEL), "run", "--workspace", str(ws), "--state", str(root / "state.duckdb")] + [
        "--out", str(root / "out"), "--storage", str(root / "lake"), "--json"
    ]  # fmt: skip


def wait_for_generation(lake: Path, generation: int, child: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll the dataset's manifests until generation `generation` is committed (collection is under way)."""
    name = f"{generation:012d}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any((d / MANIFESTS / name).exists() for d in lake.glob("*")):
            return
        if child.poll() is not None:
            raise AssertionError(f"the run ended ({child.returncode}) before generation {generation}")
        time.sleep(0.01)
    raise AssertionError(f"no manifest generation {generation} within {timeout} s")


def test_a_run_killed_mid_collection_leaves_a_healthy_state_the_next_run_completes(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    generate_workspace(ws, people=12, days=240, seed=3)
    reference = meeting_intelligence(
        workspace=str(ws), out=str(tmp_path / "ref"), state=str(tmp_path / "ref.duckdb")
    )
    assert reference.status == "completed"

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | QUIET
    env["PREFECT_HOME"] = str(tmp_path / "prefect-killed")  # its own temporary server, killed with it
    child = subprocess.Popen(
        run_args(ws, tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_generation(tmp_path / "lake", 2, child, timeout=180)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    doctor = CliRunner().invoke(app, ["doctor", "--state", str(tmp_path / "state.duckdb")])
    assert doctor.exit_code == 0, doctor.output
    with StateStore(tmp_path / "state.duckdb") as store:
        assert store.dataset is not None and store.dataset.verify() == []
        stamped = len(store.file_stamps())
        generation = store.dataset.committed.generation
    assert stamped < len(workspace_paths(ws)) == 1325  # the kill came in the middle of collection
    assert 2 <= generation < 6

    from prefect.settings import PREFECT_API_URL

    env = os.environ | QUIET | {"PREFECT_API_URL": str(PREFECT_API_URL.value())}
    rerun = subprocess.run(run_args(ws, tmp_path), env=env, capture_output=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr.decode()[-3000:]
    assert normalised(tmp_path / "out") == normalised(tmp_path / "ref")
    assert len(normalised(tmp_path / "ref")["meetings"]) == 997
    with StateStore(tmp_path / "state.duckdb") as store:
        assert len(store.file_stamps()) == 1325
        assert store.count("slack_messages") == 31567
