"""Distributed execution on Dask (prefect-dask's DaskTaskRunner): the task runner, and detection fanned out.

`meetintel run --executor dask --dask-scheduler tcp://HOST:8786` runs the flow's fanned-out tasks on an
existing Dask cluster; `--workers N` starts a local one (N worker processes, one thread each). The stages
stay on the coordinator, which holds the state file: collection commits there, and correlation and
aggregation read the dataset with DuckDB there. Detection fans out per partition: the channels with new
messages are split into parts of about equal size; a worker reads its part's Slack partitions straight
from the Parquet dataset (or gets them from the coordinator for a single-file state), runs the same SQL
detection in its own in-memory DuckDB, and hands back the evidence, which the coordinator commits at
once. Threads never cross channels, so the parts give the evidence one scan gives.

On two shared cores Dask is slower than the thread pool for these small tasks (BENCHMARKS.md says by how
much); it pays on a cluster, where the parts' reading and regex work spreads over many machines.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import duckdb
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.states import Completed, State

from checkpoints import StageStat, StateStore
from checkpoints.dataset import open_storage
from core.errors import ConfigurationError
from core.tables import RAW_TABLES
from intelligence import detect_evidence

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.task_runners import TaskRunner

Executor = Literal["local", "dask"]
F = TypeVar("F", bound="Flow[Any, Any]")
PARTS_PER_WORKER = 2  # parts per worker thread: keeps every worker busy when parts differ in size


def task_runner(executor: str, scheduler: str | None = None, workers: int | None = None) -> TaskRunner[Any]:
    """Give the flow's task runner: the thread pool, or Dask (a running scheduler or a local cluster)."""
    from prefect.task_runners import ThreadPoolTaskRunner

    if executor == "local":
        if scheduler or workers:
            raise ConfigurationError(
                "--dask-scheduler and --workers need --executor dask", "add --executor dask or drop them"
            )
        return ThreadPoolTaskRunner()
    if executor != "dask":
        raise ConfigurationError(f"unknown executor {executor!r}", "use --executor local or --executor dask")
    if scheduler and workers:
        raise ConfigurationError(
            "both --dask-scheduler and --workers were given",
            "pass --dask-scheduler tcp://HOST:8786 for a running cluster, or --workers N for a local one",
        )
    from prefect_dask import DaskTaskRunner

    if scheduler:
        return DaskTaskRunner(address=scheduler)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": workers or 2,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": None,
        },
    )


def on_dask() -> bool:
    """Give whether the running flow's task runner is Dask."""
    context = FlowRunContext.get()
    return context is not None and type(context.task_runner).__name__ == "DaskTaskRunner"


def fans_out(state: str) -> bool:
    """Give whether detection of `state` runs in parts: on Dask, or when its raw tables are remote (each
    part then reads only its channels, so memory stays bounded without a cluster)."""
    if on_dask():
        return True
    with StateStore(Path(state)) as store:
        return store.dataset is not None and store.dataset.fs.type_name != "local"


def worker_threads() -> int:
    """Give how many task threads the running flow's Dask cluster has (2 when it cannot tell)."""
    context = FlowRunContext.get()
    client = getattr(context.task_runner, "_client", None) if context is not None else None
    if client is None:
        return 2
    return max(1, sum(client.nthreads().values()))


@dataclass(frozen=True)
class DetectPart:
    """What one worker needs to detect evidence in a group of channels."""

    channels: list[str]
    pending: pa.Table  # (channel_id, ts) of the messages to scan
    users: pa.Table  # slack_users
    messages: pa.Table | None  # the channels' messages (single-file state) …
    storage: str | None = None  # … or where to read them: the dataset's URI,
    root: str | None = None  # its root for this state,
    files: tuple[str, ...] = ()  # and the channels' partition files (relative to the root)


def plan_detection(store: StateStore, parts: int) -> list[DetectPart]:
    """Split the channels with messages awaiting detection into at most `parts` groups of about equal
    message counts (largest first onto the lightest group)."""
    counts = store.con.execute(
        "SELECT channel_id, count(*) AS n FROM slack_messages SEMI JOIN "
        "(SELECT DISTINCT channel_id FROM pending_detection) USING (channel_id) "
        "GROUP BY channel_id ORDER BY n DESC, channel_id"
    ).fetchall()
    groups: list[list[str]] = [[] for _ in range(max(1, min(parts, len(counts))))]
    loads = [0] * len(groups)
    for channel, n in counts:
        lightest = loads.index(min(loads))
        groups[lightest].append(channel)
        loads[lightest] += int(n)
    users = store.con.sql("SELECT * FROM slack_users").to_arrow_table()
    return [_part(store, sorted(g), users) for g in groups if g]


def _part(store: StateStore, channels: list[str], users: pa.Table) -> DetectPart:
    pending = store.con.sql(
        "SELECT DISTINCT channel_id, ts FROM pending_detection WHERE list_contains(?, channel_id)",
        params=[channels],
    ).to_arrow_table()
    dataset = store.dataset
    if dataset is None or "slack_messages" not in dataset.tables:
        messages = store.con.sql(
            "SELECT * FROM slack_messages WHERE list_contains(?, channel_id)", params=[channels]
        ).to_arrow_table()
        return DetectPart(channels, pending, users, messages)
    scopes = dataset.scope_partitions("slack_messages", set[str | None](channels))
    parts = dataset.current.tables.get("slack_messages", {})
    files = tuple(sorted(parts[p].path for p in scopes))
    return DetectPart(channels, pending, users, None, dataset.uri, dataset.root, files)


def detect_part(part: DetectPart) -> pa.Table:
    """Give the evidence of a part's pending messages, from its channels' messages (on a worker)."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        messages = part.messages if part.messages is not None else _read_messages(part)
        con.register("slack_messages", messages)
        con.register("slack_users", part.users)
        con.register("_pending", part.pending)
        con.execute(
            "CREATE TEMP VIEW new_slack_messages AS SELECT m.* FROM slack_messages m "
            "SEMI JOIN _pending p ON m.channel_id = p.channel_id AND m.ts = p.ts"
        )
        return detect_evidence(con, "new_slack_messages")
    finally:
        con.close()


def _read_messages(part: DetectPart) -> pa.Table:
    """Read a part's Slack partitions from the dataset (a worker reaches the storage itself)."""
    import pyarrow.dataset as pads

    if part.storage is None or part.root is None:
        raise ConfigurationError("a detection part names no storage", "report it as a bug")
    fs, _ = open_storage(part.storage)
    schema = RAW_TABLES["slack_messages"].schema
    paths = [f"{part.root}/{p}" for p in part.files]
    return pads.dataset(paths, schema=schema, format="parquet", filesystem=fs).to_table()


@task(name="detect-partition", task_run_name="detect {org}: {label}", cache_policy=NO_CACHE, retries=2)
def detect_partition_task(part: DetectPart, label: str, org: str = "default") -> pa.Table:
    """Detect evidence in one part's channels (runs on a Dask worker)."""
    return detect_part(part)


def detect_fanned(state: str, org: str = "default") -> State:
    """Run detection fanned out over the flow's Dask workers; give the stage's figures as a task state."""
    started = time.perf_counter()
    with StateStore(Path(state)) as store:
        pending = store.pending_view()
        if pending == 0 and store.has_table("evidence"):
            stat = StageStat(
                stage="detect", seconds=time.perf_counter() - started, skipped=True, note="no new messages"
            )
            return Completed(data=stat)
        plan = plan_detection(store, worker_threads() * PARTS_PER_WORKER)
    labels = [f"part {i + 1}/{len(plan)} ({len(p.channels)} channels)" for i, p in enumerate(plan)]
    futures = detect_partition_task.map(plan, labels, org)
    found = [f.result() for f in futures]
    schema = found[0].schema if found else None
    with StateStore(Path(state)) as store:
        store.pending_view()
        evidence = pa.concat_tables(found) if found else _no_evidence(store)
        store.commit_detection(evidence if schema is None else evidence.cast(schema))
    stat = StageStat(
        stage="detect",
        seconds=time.perf_counter() - started,
        rows_in=pending,
        rows_out=evidence.num_rows,
        note=f"{len(plan)} parts {'on Dask' if on_dask() else 'in threads'}",
    )
    return Completed(data=stat)


def _no_evidence(store: StateStore) -> pa.Table:
    """Give the (empty) evidence of an empty message queue, with its schema."""
    return detect_evidence(store.con, "new_slack_messages")


def record_storage(state: Path, storage: str | None) -> None:
    """Open the state once with `storage`, so it records where its raw tables live (a no-op without one)."""
    if storage:
        StateStore(state, storage=storage).close()


@dataclass(frozen=True)
class ScaleOut:
    """How a run scales out: its executor (and Dask scheduler or local workers) and its raw storage URI."""

    executor: str = "local"  # local | dask
    scheduler: str | None = None
    workers: int | None = None
    storage: str | None = None  # the full URI, an S3 endpoint already applied (checkpoints.storage_uri)

    def prepare(self, state: Path) -> None:
        """Check the options fit together and let the state record its storage (before Prefect starts)."""
        if self.workers is not None and self.workers < 1:
            raise ConfigurationError(f"--workers must be at least 1, got {self.workers}", "pass 1 or more")
        task_runner(self.executor, self.scheduler, self.workers)
        record_storage(state, self.storage)

    def flow(self, flow: F) -> F:
        """Give `flow` with this executor's task runner (unchanged for the local executor)."""
        if self.executor == "local":
            return flow
        return cast(
            F, flow.with_options(task_runner=task_runner(self.executor, self.scheduler, self.workers))
        )


__all__ = [
    "DetectPart",
    "Executor",
    "ScaleOut",
    "detect_fanned",
    "detect_part",
    "fans_out",
    "on_dask",
    "plan_detection",
    "record_storage",
    "task_runner",
]
