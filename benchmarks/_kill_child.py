"""The process the kill harness kills: one pipeline run, stage by stage, without Prefect.

It runs what the `meeting_intelligence` flow runs, in the same order and with the same store lifetimes (a
store opened and closed per stage, a full refresh built beside the state and swapped in at the end), so a
trial costs a fork instead of a Prefect start. It appends progress to a trace file, which the harness reads
to tell which stage a kill landed in, and can SIGKILL itself at an exact point (`Job.kill_at`):

    commit:N          just before the N-th COMMIT of the run (inside the open transaction)
    after-commit:N    just after the N-th COMMIT
    before:<point>    at a stage's start (collect, detect, correlate, aggregate, export) or inside the
                      export and the refresh: workbook, manifest, link, marker, swap, finish
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import checkpoints.store as store_module
from checkpoints import RunRecord, StateStore, discard, prepare_refresh, swap_in
from flows import stages
from flows.params import LiveEndpoints

STAGES = ("collect", "detect", "correlate", "aggregate", "export")


@dataclass(frozen=True)
class Job:
    """One pipeline run for the harness: where it reads and writes, and where (if anywhere) it dies."""

    state: str
    out: str
    trace: str
    workspace: str | None = None  # None: collect live from `slack_url` and `google_url`
    slack_url: str | None = None
    google_url: str | None = None
    full_refresh: bool = False
    chunk_files: int = 8
    kill_at: str | None = None
    env: dict[str, str] = field(default_factory=dict)


class _Tracer:
    """Appends progress lines to the trace file and kills the process at the job's kill point."""

    def __init__(self, job: Job) -> None:
        self.kill_at = job.kill_at or ""
        self.handle = open(job.trace, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives until death
        self.stage = "start"
        self.commits = 0

    def line(self, text: str) -> None:
        self.handle.write(text + "\n")

    def die(self, why: str) -> None:
        self.line(f"killed {why} in {self.stage}")
        os.kill(os.getpid(), signal.SIGKILL)

    def point(self, name: str) -> None:
        """Mark reaching `name` (a stage or an inner point); die here when it is the kill point."""
        if name in (*STAGES, "swap", "finish"):
            self.stage = name
            self.line(f"stage {name}")
        if self.kill_at == f"before:{name}":
            self.die(f"before {name}")

    def commit(self, do_commit: Callable[[], None]) -> None:
        self.commits += 1
        if self.kill_at == f"commit:{self.commits}":
            self.die(f"in commit {self.commits}")
        do_commit()
        self.line(f"commit {self.commits} {self.stage}")
        if self.kill_at == f"after-commit:{self.commits}":
            self.die(f"after commit {self.commits}")


def _hook(tracer: _Tracer) -> None:
    """Route every store COMMIT and the export's inner steps through the tracer."""

    def exit_transaction(self: Any, exc_type: object, *rest: object) -> None:
        if exc_type:
            self.con.execute("ROLLBACK")
        else:
            tracer.commit(lambda: self.con.execute("COMMIT"))

    store_module._Transaction.__exit__ = exit_transaction  # type: ignore[method-assign]
    for point, name in (
        ("workbook", "write_workbook"),
        ("manifest", "write_manifest"),
        ("link", "link_current"),
        ("marker", "compress_runs"),
    ):
        setattr(stages, name, _before(tracer, point, getattr(stages, name)))


def _before(tracer: _Tracer, point: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        tracer.point(point)
        return func(*args, **kwargs)

    return wrapped


def run(job: Job) -> None:
    """Run the pipeline once as the flow does (the harness may SIGKILL it, or it kills itself)."""
    os.environ.update(job.env)
    tracer = _Tracer(job)
    _hook(tracer)
    mode = "full-refresh" if job.full_refresh else "incremental"
    with StateStore(Path(job.state)) as store:
        record = RunRecord(run_id=store.start_run(mode), mode=mode)
    work = str(prepare_refresh(Path(job.state))) if job.full_refresh else job.state
    try:
        _stages(job, tracer, record, work)
        record.status = "partial" if any(s.status != "ok" for s in record.sources) else "completed"
        if job.full_refresh:
            tracer.point("swap")
            swap_in(Path(work), Path(job.state))
    except Exception as exc:
        record.status = "failed"
        record.errors.append(f"{type(exc).__name__}: {exc}")
        if job.full_refresh:
            discard(Path(work))
        raise
    finally:
        tracer.point("finish")
        with StateStore(Path(job.state)) as store:
            store.finish_run(record)
        tracer.line(f"done {record.status}")


def _stages(job: Job, tracer: _Tracer, record: RunRecord, state: str) -> None:
    tracer.point("collect")
    with StateStore(Path(state)) as store:
        if job.workspace is None:
            endpoints = LiveEndpoints(
                enabled=True, slack_base_url=job.slack_url, google_api_endpoint=job.google_url
            )
            from collectors import build_live_sources

            sources = build_live_sources(endpoints.settings().live_config())
            stat, record.sources = stages.collect_from_apis(store, sources, record.run_id, job.full_refresh)
        else:
            stat = stages.collect(store, Path(job.workspace), record.run_id, chunk_files=job.chunk_files)
    record.stages.append(stat)
    steps: list[tuple[str, Callable[[StateStore], Any]]] = [
        ("detect", stages.detect),
        ("correlate", stages.correlate_stage),
        ("aggregate", stages.aggregate),
        ("export", lambda s: stages.export(s, Path(job.out), record.run_id)[0]),
    ]
    for name, step in steps:
        tracer.point(name)
        with StateStore(Path(state)) as store:
            record.stages.append(step(store))


if __name__ == "__main__":
    # `python -m benchmarks._kill_child STATE OUT TRACE WORKSPACE [KILL_AT]`: one run from a shell.
    state, out, trace, workspace = sys.argv[1:5]
    run(Job(state, out, trace, workspace=workspace, kill_at=sys.argv[5] if len(sys.argv) > 5 else None))
