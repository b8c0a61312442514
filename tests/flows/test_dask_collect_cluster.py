"""`meetintel run --executor dask --storage DIR` on a `distributed` scheduler with two worker processes on
loopback: the day and calendar files are collected in batches on the workers (task runs
`collect <org>: batch k/n` in the Prefect API), and the reports equal the local executor's, on a first run
and after the export changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.pipeline import meeting_intelligence
from sandbox import generate_workspace
from tests.flows.test_dask import normalised
from tests.flows.test_dask_collect import add_and_change_day_files

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

PEOPLE, DAYS, SEED = 20, 4, 3


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as running:
        yield running


def run_cli(ws: Path, root: Path, name: str, scheduler: str) -> dict[str, Any]:
    args = ["run", "--workspace", str(ws), "--state", str(root / f"{name}.duckdb"), "--out", str(root / name)]
    args += ["--executor", "dask", "--dask-scheduler", scheduler, "--storage", str(root / "lake"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def run_local(ws: Path, root: Path) -> Any:
    return meeting_intelligence(workspace=str(ws), out=str(root / "local"), state=str(root / "local.duckdb"))


def batch_runs(org: str) -> list[tuple[str, str]]:
    """Give the (name, state) of the collect batch task runs of `org` in the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=f"collect {org}: batch"))
        )
    return sorted((r.name, r.state_type.value if r.state_type else "") for r in runs)


def test_day_files_are_collected_in_batches_on_the_workers_and_the_reports_equal_the_local_ones(
    tmp_path: Path, cluster: Any
) -> None:
    ws = tmp_path / "ws"
    generate_workspace(ws, people=PEOPLE, days=DAYS, seed=SEED)
    local = run_local(ws, tmp_path)
    assert local.status == "completed"

    summary = run_cli(ws, tmp_path, "fanned", cluster.scheduler_address)
    collect = next(s for s in summary["stages"] if s["stage"] == "collect")
    workers = collect["note"].split("batches on ")[1].split(" ")[0]
    assert collect["note"] == f"63 files changed; 4 batches on {workers} Dask workers"
    assert workers in {"1", "2"}  # Dask places the tasks; both workers are idle at first
    assert collect["rows_in"] == next(s for s in local.stages if s.stage == "collect").rows_in
    assert batch_runs("fanned") == [
        ("collect fanned: batch 1/4 (3 folders, 3 calendars)", "COMPLETED"),
        ("collect fanned: batch 2/4 (1 folder, 8 calendars)", "COMPLETED"),
        ("collect fanned: batch 3/4 (3 folders, 4 calendars)", "COMPLETED"),
        ("collect fanned: batch 4/4 (3 folders, 4 calendars)", "COMPLETED"),
    ]
    assert normalised(tmp_path / "fanned") == normalised(tmp_path / "local")
    assert len(normalised(tmp_path / "local")["meetings"]) == 53

    # The same state after the export changed: the batches merge into the stored partitions.
    add_and_change_day_files(ws)
    again = run_cli(ws, tmp_path, "fanned", cluster.scheduler_address)
    collect = next(s for s in again["stages"] if s["stage"] == "collect")
    assert (collect["rows_in"], collect["note"].split(";")[0]) == (26, "3 files changed")
    assert run_local(ws, tmp_path).status == "completed"
    assert normalised(tmp_path / "fanned") == normalised(tmp_path / "local")
