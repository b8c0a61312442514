"""The flow on Dask: a `distributed` scheduler and two worker processes on loopback, raw tables as Parquet
on an S3-compatible server (moto) on loopback; the reports equal the local executor's, also when a
worker dies in the middle of its task and Dask runs the task again elsewhere."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows._dask import record_storage, task_runner
from flows.pipeline import meeting_intelligence
from sandbox import generate_workspace
from tests.checkpoints.moto_s3 import LocalS3, local_s3

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

PEOPLE, DAYS, SEED = 20, 4, 3


def normalised(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Give meetings.json and people.json, records ordered by their ids (their order is not a contract)."""
    meetings = json.loads((out / "latest" / "meetings.json").read_text())
    people = json.loads((out / "latest" / "people.json").read_text())
    return {
        "meetings": sorted(meetings, key=lambda m: m["meeting_id"]),
        "people": sorted(people, key=lambda p: p["person_id"]),
    }


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small org and its reports from the local executor with a single-file state."""
    root = tmp_path_factory.mktemp("dask-org")
    generate_workspace(root / "ws", people=PEOPLE, days=DAYS, seed=SEED)
    record = meeting_intelligence(
        workspace=str(root / "ws"), out=str(root / "out"), state=str(root / "state.duckdb")
    )
    assert record.status == "completed"
    return {"root": root, "ws": root / "ws", "local": normalised(root / "out")}


@pytest.fixture(scope="module")
def cluster(s3: LocalS3) -> Iterator[Any]:
    """A scheduler and two single-thread worker processes (with nannies) on 127.0.0.1, started with the
    S3 server's test keys in their environment: workers write partition files with their own keys."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as running:
        yield running


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    with local_s3() as server:
        yield server


def run_on_dask(org: dict[str, Any], name: str, scheduler: str, storage: str | None) -> Any:
    state = org["root"] / f"{name}.duckdb"
    record_storage(state, storage)
    flow = meeting_intelligence.with_options(task_runner=task_runner("dask", scheduler=scheduler))
    return flow(workspace=str(org["ws"]), out=str(org["root"] / f"out-{name}"), state=str(state))


def test_meetintel_run_on_dask_with_parquet_on_s3_gives_the_local_reports(
    org: dict[str, Any], cluster: Any, s3: LocalS3
) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    root = org["root"]
    args = [
        "run",
        "--workspace",
        str(org["ws"]),
        "--state",
        str(root / "s3.duckdb"),
        "--out",
        str(root / "out-s3"),
    ]
    args += ["--executor", "dask", "--dask-scheduler", cluster.scheduler_address]
    args += ["--storage", "s3://meetintel/orgs/dask", "--s3-endpoint", f"http://{s3.endpoint}", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed"
    detect = next(s for s in summary["stages"] if s["stage"] == "detect")
    assert (detect["rows_in"], detect["note"]) == (1186, "4 parts on Dask")
    assert normalised(root / "out-s3") == org["local"]
    assert len(org["local"]["meetings"]) == 53
    assert any(k.endswith(".parquet") for k in s3.keys("orgs/dask"))


def kill_once(marker: str) -> Any:
    """Give a worker plugin: the first worker to start a detection task dies by SIGKILL (once: a marker
    file). Built here so `distributed` loads only in this test; cloudpickle ships the class by value."""
    from distributed import WorkerPlugin

    class KillOnce(WorkerPlugin):
        def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
            if finish == "executing" and "detect_partition" in str(key) and not os.path.exists(marker):
                Path(marker).write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)

    return KillOnce()


def test_a_worker_killed_mid_run_is_replaced_and_the_reports_are_the_same(
    org: dict[str, Any], cluster: Any, tmp_path: Path
) -> None:
    from distributed import Client

    marker = tmp_path / "killed-worker.pid"
    with Client(cluster.scheduler_address) as client:
        before = set(client.run(os.getpid).values())
        client.register_plugin(kill_once(str(marker)), name="kill-once")
        try:
            record = run_on_dask(org, "dask-killed", cluster.scheduler_address, str(tmp_path / "lake"))
        finally:
            client.unregister_worker_plugin("kill-once")
        client.wait_for_workers(2, timeout=60)
        after = set(client.run(os.getpid).values())
    killed = int(marker.read_text())
    assert killed in before and killed not in after  # the nanny started a new worker process
    assert len(after) == 2
    assert record.status == "completed"
    assert normalised(org["root"] / "out-dask-killed") == org["local"]


def test_the_local_executor_with_raw_tables_on_s3_detects_in_parts_and_gives_the_local_reports(
    org: dict[str, Any], s3: LocalS3
) -> None:
    state = org["root"] / "threads-s3.duckdb"
    record_storage(state, s3.uri("orgs/threads"))
    record = meeting_intelligence(
        workspace=str(org["ws"]), out=str(org["root"] / "out-threads"), state=str(state)
    )
    detect = next(s for s in record.stages if s.stage == "detect")
    # Remote raw tables: parts bound the memory of detection without a cluster (2 threads → 4 parts).
    assert (detect.rows_in, detect.note) == (1186, "4 parts in threads")
    assert normalised(org["root"] / "out-threads") == org["local"]
