"""The Prefect flow `meeting_intelligence`: collect → detect → correlate → aggregate → export."""

from __future__ import annotations

from pathlib import Path
from typing import cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.states import State
from pydantic import BaseModel

from aggregation import top_meetings
from checkpoints import RunRecord, SourceStatus, StageStat, StateStore, discard, prepare_refresh, swap_in
from collectors import build_live_sources
from core.chunks import QUARANTINE_RULES
from core.errors import ConfigurationError, FatalError, MeetintelError, RetriableError
from core.tables import MEETING_RECORDS, PEOPLE_RECORDS, REPORT_MEETINGS
from flows import stages
from flows._progress import ArtifactFeed, current
from flows.params import ExportOptions, LiveEndpoints
from flows.settings import Settings


class Collected(BaseModel):
    """What the collect task hands back: its figures and, for live runs, each source's outcome."""

    stat: StageStat
    sources: list[SourceStatus] = []


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
    task_run_name="collect {source}",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_transient,
)
def collect_task(state: str, source: str, run_id: str, live: LiveEndpoints, full_refresh: bool) -> Collected:
    """Collect new data into the state store, from workspace files or from the live APIs."""
    logger = get_run_logger()
    with _store(state) as store:
        if live.enabled:
            settings = live.settings()
            sources = build_live_sources(settings.live_config())
            bounds = settings.input_bounds()  # MEETINTEL_* bounds, read at the edge
            progress = current().progress("collect")
            stat, outcomes = stages.collect_from_apis(store, sources, run_id, full_refresh, progress, bounds)
            for o in outcomes:
                logger.info(
                    "source %s: %s (%s requests, %s retries, %s rate-limited, breaker %s)%s",
                    o.source,
                    o.status,
                    o.requests,
                    o.retries,
                    o.rate_limited,
                    o.breaker_state,
                    f": {o.reason}" if o.reason else "",
                )
        else:
            bounds = Settings.from_cli().input_bounds()  # MEETINTEL_* bounds, read at the edge
            progress = current().progress("collect")
            stat, outcomes = stages.collect(store, Path(source), run_id, progress, bounds=bounds), []
    logger.info("collected %d rows (%s)", stat.rows_in, stat.note)
    return Collected(stat=stat, sources=outcomes)


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
def export_task(state: str, out: str, run_id: str, options: ExportOptions) -> StageStat:
    """Write JSON, CSV, Excel and HTML reports into a run folder and publish it."""
    with _store(state) as store:
        stat, _paths = stages.export(store, Path(out), run_id, options, current().progress("export"))
        return stat


REPORT_FILES = ("meetintel.html", "meetintel.xlsx", "meetings.json", "people.json", "meetings.csv")


def report_links(out: Path) -> str:
    """Give markdown links to the published reports (file URLs, so the UI opens them on this machine)."""
    latest = (out / "latest").resolve()
    links = [f"[{name}]({(latest / name).as_uri()})" for name in REPORT_FILES if (latest / name).exists()]
    return ", ".join(links) if links else f"none published yet in `{out}`"


def summary_markdown(
    record: RunRecord,
    out: str,
    meetings: int,
    people: int,
    unmatched: int = 0,
    quarantined: dict[str, int] | None = None,
) -> str:
    """Give the run summary shown as a Prefect artifact and printed by the CLI.

    `unmatched` counts the people tied to no directory person (people.json `match` is `unmatched`).
    """
    lines = [
        f"# meetintel run `{record.run_id}`",
        "",
        f"- mode: **{record.mode}**, status: **{record.status}**",
        f"- meetings: **{meetings}**, people: **{people}**, people unmatched: **{unmatched}**",
        "- reports: " + report_links(Path(out)),
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
    if record.sources:
        lines += [
            "",
            "| source | status | requests | retries | rate-limited | breaker | reason |",
            "|---|---|---:|---:|---:|---|---|",
        ]
        lines += [
            f"| {o.source} | {o.status} | {o.requests} | {o.retries} | {o.rate_limited} | "
            f"{o.breaker_state} | {o.reason or ''} |"
            for o in record.sources
        ]
    if quarantined:
        total = sum(quarantined.values())
        lines += [
            "",
            f"Quarantined records: {total} (see `meetintel quarantine list`)",
            "",
            "| rule | records | what it means |",
            "|---|---:|---|",
        ]
        lines += [f"| {r} | {n} | {QUARANTINE_RULES.get(r, '')} |" for r, n in sorted(quarantined.items())]
    if record.errors:
        lines += ["", "Errors:", *[f"- {e}" for e in record.errors]]
    return "\n".join(lines)


@flow(name="meeting_intelligence", log_prints=False)
def meeting_intelligence(
    out: str,
    state: str,
    workspace: str | None = None,
    full_refresh: bool = False,
    live: LiveEndpoints | None = None,
    export: ExportOptions | None = None,
) -> RunRecord:
    """Run the pipeline and write reports to `out`.

    Sources are the workspace snapshot at `workspace`, or the live APIs when `live.enabled` (tokens come
    from MEETINTEL_* environment variables or Prefect Secret blocks, never from parameters). A full refresh
    builds a new state beside the old one and swaps it in only when every stage succeeded.
    """
    logger = get_run_logger()
    live = live or LiveEndpoints()
    if not live.enabled and not workspace:
        raise ConfigurationError("no source given", "pass a workspace folder or enable live collection")
    mode = "full-refresh" if full_refresh else "incremental"
    with _store(state) as store:
        record = RunRecord(run_id=store.start_run(mode), mode=mode)
    work = str(prepare_refresh(Path(state))) if full_refresh else state
    progress = cast(  # called from a sync flow, so Prefect runs it and returns the id
        UUID,
        create_progress_artifact(
            progress=0.0, key="meetintel-progress", description="meetintel pipeline progress"
        ),
    )
    current().begin(record.run_id)
    feed = ArtifactFeed(lambda share, text: update_progress_artifact(progress, share, text))
    try:
        with current().listening(feed):
            _run_stages(record, workspace or "live APIs", out, work, live, full_refresh, export)
        record.status = "partial" if any(s.status != "ok" for s in record.sources) else "completed"
        if full_refresh:
            swap_in(Path(work), Path(state))
    except Exception as exc:
        record.status = "failed"
        record.errors.append(str(exc) if isinstance(exc, MeetintelError) else f"{type(exc).__name__}: {exc}")
        if full_refresh:
            discard(Path(work))
        raise
    finally:
        _close(record, state, out)
        logger.info("run %s %s", record.run_id, record.status)
    return record


def _run_stages(
    record: RunRecord,
    source: str,
    out: str,
    state: str,
    live: LiveEndpoints,
    full_refresh: bool,
    export: ExportOptions | None,
) -> None:
    board = current()  # what the CLI draws and the progress artifact shows
    with board.stage("collect"):
        collected = collect_task(state, source, record.run_id, live, full_refresh)
        board.finish(collected.stat)
    record.stages.append(collected.stat)
    record.rows_read = dict(collected.stat.by_table)
    record.sources = collected.sources
    _require_a_source(record.sources)
    steps = {
        "detect": lambda: detect_task(state),
        "correlate": lambda: correlate_task(state),
        "aggregate": lambda: aggregate_task(state),
        "export": lambda: export_task(state, out, record.run_id, export or ExportOptions()),
    }
    for name, step in steps.items():
        with board.stage(name):
            stat = step()
            board.finish(stat)
        record.stages.append(stat)
        record.rows_written[stat.stage] = stat.rows_out


def _require_a_source(sources: list[SourceStatus]) -> None:
    """Fail the run when every live source failed: nothing was collected, so nothing is rebuilt or
    published (a full refresh would otherwise publish empty reports)."""
    if not sources or any(s.status == "ok" for s in sources):
        return
    reasons = "; ".join(f"{s.source} {s.status}: {s.reason or 'no reason given'}" for s in sources)
    raise FatalError(
        f"every source failed ({reasons})",
        "nothing was collected and the published reports are unchanged; fix what each reason names "
        "(token, endpoint, network) and run again",
    )


def _close(record: RunRecord, state: str, out: str) -> None:
    with _store(state) as store:
        store.finish_run(record)
        meetings, people = store.count(MEETING_RECORDS), store.count(PEOPLE_RECORDS)
        unmatched = stages.unmatched_people(store)
        quarantined = store.quarantine_counts(record.run_id)
        top = top_meetings(store.con) if store.has_table(REPORT_MEETINGS) else None
    create_markdown_artifact(
        markdown=summary_markdown(record, out, meetings, people, unmatched, quarantined),
        key="meetintel-run-summary",
        description=f"meetintel run {record.run_id}",
    )
    if top is not None and top.num_rows:
        create_table_artifact(
            table=top.to_pylist(),
            key="meetintel-top-meetings",
            description="Held meetings with the most person-hours",
        )
