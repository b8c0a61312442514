"""The Prefect flow `meeting_intelligence`: collect → detect → correlate → aggregate → export."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.states import State

from checkpoints import RunRecord, StageStat, StateStore
from collectors.errors import MeetintelError, RetriableError
from flows import stages

STAGES = ("collect", "detect", "correlate", "aggregate", "export")


def _store(state: str) -> StateStore:
    return StateStore(Path(state))


def _transient(_task: object, _run: object, state: State) -> bool:
    """Retry a task only for infrastructure faults; a data or configuration error fails at once."""
    try:
        state.result(raise_on_failure=True)
    except (RetriableError, OSError):
        return True
    except Exception:  # noqa: BLE001 - every other failure is final
        return False
    return False


# Chunks commit with their cursors, so a retried collect resumes where the failed attempt stopped.
@task(
    name="collect",
    task_run_name="collect {workspace}",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_transient,
)
def collect_task(state: str, workspace: str, run_id: str) -> StageStat:
    """Read new and changed workspace files into the state store."""
    logger = get_run_logger()
    with _store(state) as store:
        stat = stages.collect(
            store,
            Path(workspace),
            run_id,
            progress=lambda table, rows: logger.debug("stored %d rows of %s", rows, table),
        )
    logger.info("collected %d rows (%s)", stat.rows_in, stat.note)
    return stat


@task(name="detect")
def detect_task(state: str) -> StageStat:
    """Detect meeting evidence in newly collected messages."""
    with _store(state) as store:
        return stages.detect(store)


@task(name="correlate")
def correlate_task(state: str) -> StageStat:
    """Map people and link evidence to meetings."""
    with _store(state) as store:
        return stages.correlate_stage(store)


@task(name="aggregate")
def aggregate_task(state: str) -> StageStat:
    """Build meeting records, metrics and report tables."""
    with _store(state) as store:
        return stages.aggregate(store)


@task(name="export")
def export_task(state: str, out: str) -> StageStat:
    """Write the JSON and CSV reports."""
    with _store(state) as store:
        stat, _paths = stages.export(store, Path(out))
        return stat


def summary_markdown(record: RunRecord, out: str, meetings: int, people: int) -> str:
    """Give the run summary shown as a Prefect artifact and printed by the CLI."""
    lines = [
        f"# meetintel run `{record.run_id}`",
        "",
        f"- mode: **{record.mode}**, status: **{record.status}**",
        f"- meetings: **{meetings}**, people: **{people}**",
        f"- reports: `{out}` (meetings.json, people.json, CSV tables)",
        "",
        "| stage | seconds | rows in | rows out | rows/s | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for s in record.stages:
        note = "skipped: " + s.note if s.skipped else s.note
        rate = f"{s.rows_per_second:,.0f}"
        lines.append(f"| {s.stage} | {s.seconds:.2f} | {s.rows_in} | {s.rows_out} | {rate} | {note} |")
    if record.rows_read:
        lines += ["", "Rows read: " + ", ".join(f"{k} {v}" for k, v in sorted(record.rows_read.items()))]
    if record.errors:
        lines += ["", "Errors:", *[f"- {e}" for e in record.errors]]
    return "\n".join(lines)


@flow(name="meeting_intelligence", log_prints=False)
def meeting_intelligence(workspace: str, out: str, state: str, full_refresh: bool = False) -> RunRecord:
    """Run the pipeline over a workspace snapshot and write reports to `out`."""
    logger = get_run_logger()
    with _store(state) as store:
        if full_refresh:
            store.reset()
        record = RunRecord(
            run_id=store.start_run("full-refresh" if full_refresh else "incremental"),
            mode="full-refresh" if full_refresh else "incremental",
        )
    progress = create_progress_artifact(
        progress=0.0, key="meetintel-progress", description="meetintel pipeline progress"
    )
    try:
        _run_stages(record, workspace, out, state, progress)
        record.status = "completed"
    except Exception as exc:
        record.status = "failed"
        record.errors.append(str(exc) if isinstance(exc, MeetintelError) else f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _close(record, state, out)
        logger.info("run %s %s", record.run_id, record.status)
    return record


def _run_stages(record: RunRecord, workspace: str, out: str, state: str, progress: UUID | None) -> None:
    steps = [
        lambda: collect_task(state, workspace, record.run_id),
        lambda: detect_task(state),
        lambda: correlate_task(state),
        lambda: aggregate_task(state),
        lambda: export_task(state, out),
    ]
    for i, step in enumerate(steps, start=1):
        stat = step()
        record.stages.append(stat)
        if stat.stage == "collect":
            record.rows_read = dict(stat.by_table)
        else:
            record.rows_written[stat.stage] = stat.rows_out
        if progress is not None:
            update_progress_artifact(progress, progress=100.0 * i / len(steps))


def _close(record: RunRecord, state: str, out: str) -> None:
    with _store(state) as store:
        store.finish_run(record)
        meetings, people = store.count("meeting_records"), store.count("people_records")
    create_markdown_artifact(
        markdown=summary_markdown(record, out, meetings, people),
        key="meetintel-run-summary",
        description=f"meetintel run {record.run_id}",
    )
