"""The Prefect flow `meeting_intelligence`: collect → detect → correlate → aggregate → export.

A run holds the state's Prefect global concurrency slot (one per state file) and the store's writer lock, so
runs on one state queue instead of colliding. It emits `meetintel.*` events (see `flows.events`), ends in a
`Completed` state named `Partial` when a source was skipped, and keeps each stage's result in Prefect's
result store under a key made of the state's data version, so a repeated or retried run skips the stages
whose inputs did not change.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar, cast
from uuid import UUID

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import INPUTS, TASK_SOURCE, CachePolicy
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext
from prefect.states import Completed, State
from pydantic import BaseModel

from aggregation import top_meetings
from checkpoints import RunRecord, SourceStatus, StageStat, StateStore, discard, prepare_refresh, swap_in
from checkpoints.store import hold_state
from core.chunks import QUARANTINE_RULES
from core.errors import ConfigurationError, FatalError, MeetintelError, RetriableError
from core.tables import MEETING_RECORDS, PEOPLE_RECORDS, REPORT_MEETINGS
from flows import _dask, _dask_collect, events, monitor, stages
from flows._progress import ArtifactFeed, LatestSender, current
from flows._resources import ResourceSampler, resources_markdown
from flows.params import ExportOptions, LiveEndpoints
from flows.settings import Settings

if TYPE_CHECKING:  # the live clients load only when a live run uses them
    from collectors import LiveSources


class Collected(BaseModel):
    """What the collect task hands back: its figures and, for live runs, each source's outcome."""

    stat: StageStat
    sources: list[SourceStatus] = []


STAGES = ("collect", "detect", "correlate", "aggregate", "export")

# The longest each task may run before Prefect stops it (seconds). Live collection is paced by the
# vendors' rate limits, so it gets the most.
TIMEOUTS = {"collect": 4 * 3600, "detect": 3600, "correlate": 3600, "aggregate": 3600, "export": 1800}
RETRIES, RETRY_DELAYS = 2, [2.0, 10.0]
# How long a run waits for the state's concurrency slot before it gives up (the run before it may be a
# long live collection).
SLOT_WAIT_SECONDS = 6 * 3600.0
CACHE_DAYS = 14


def _store(state: str) -> StateStore:
    return StateStore(Path(state))


def _transient(_task: object, _run: object, state: State) -> bool:
    """Retry a task only for infrastructure faults; a data or configuration error, or a timeout, is final."""
    try:
        state.result(raise_on_failure=True)
    except TimeoutError:  # the task ran out of time: a retry would too
        return False
    except (RetriableError, OSError):
        return True
    except Exception:  # noqa: BLE001 - every other failure is final
        return False
    return False


def _flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


class _BreakerChange(Protocol):
    """What a collector's breaker tells of a state change (`collectors` stays free of Prefect)."""

    @property
    def source(self) -> str: ...
    @property
    def old(self) -> str: ...
    @property
    def new(self) -> str: ...
    @property
    def last_error(self) -> str | None: ...


def _announce_breakers(sources: LiveSources, org: str, run_id: str) -> None:
    """Emit `meetintel.source.breaker-opened` / `-closed` whenever a source's breaker changes state."""

    def told(change: _BreakerChange) -> None:
        name = {"open": events.BREAKER_OPENED, "closed": events.BREAKER_CLOSED}.get(change.new)
        if name is None:  # half-open: a trial call decides which of the two follows
            return
        payload = {"run_id": run_id, "source": change.source, "from": change.old, "to": change.new}
        events.emit(name, org, payload | {"last_error": change.last_error})

    for guard in sources.guards().values():
        guard.on_change.append(told)


P = ParamSpec("P")
R = TypeVar("R")

# Stage results are kept by Prefect under a key of the task's inputs and code; the inputs carry the state's
# data version, so a stage whose data did not change since it last finished is not run again.
CACHE_POLICY = INPUTS + TASK_SOURCE
# An export's run id names its folder but does not change what it writes: it stays out of the key.
EXPORT_CACHE_POLICY = (INPUTS - "run_id") + TASK_SOURCE


def _stage_task(
    name: str, cache_policy: CachePolicy = CACHE_POLICY
) -> Callable[[Callable[P, R]], Task[P, R]]:
    """Give the task decorator of a stage after collect: named after the org, with its timeout, retries on
    transient faults, and its result kept by Prefect under `cache_policy`."""
    return task(
        name=name,
        task_run_name=f"{name} {{org}}",
        timeout_seconds=TIMEOUTS[name],
        retries=RETRIES,
        retry_delay_seconds=RETRY_DELAYS,
        retry_condition_fn=_transient,
        cache_policy=cache_policy,
        persist_result=True,
        cache_expiration=timedelta(days=CACHE_DAYS),
    )


# Chunks commit with their cursors, so a retried collect resumes where the failed attempt stopped. It is
# never cached: what is new in the workspace or the APIs is what it finds out.
@task(
    name="collect",
    task_run_name="collect {org}: {source}",
    timeout_seconds=TIMEOUTS["collect"],
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=_transient,
)
def collect_task(
    state: str, source: str, run_id: str, live: LiveEndpoints, full_refresh: bool, org: str = "default"
) -> Collected:
    """Collect new data into the state store, from workspace files or from the live APIs."""
    logger = get_run_logger()
    with _store(state) as store:
        if live.enabled:
            settings = live.settings()
            from collectors import build_live_sources  # the API clients load only for a live run

            sources = build_live_sources(settings.live_config())
            _announce_breakers(sources, org, run_id)
            for note in monitor.apply_overrides(sources.guards(), Path(state)):  # `meetintel breaker`
                logger.warning("%s", note)
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


@_stage_task("detect")
def detect_task(state: str, version: str, org: str = "default") -> StageStat:
    """Detect meeting evidence in newly collected messages (`version`: the state's data version, the key)."""
    with _store(state) as store:
        return stages.detect(store)


@_stage_task("correlate")
def correlate_task(state: str, version: str, org: str = "default") -> StageStat:
    """Map people and link evidence to meetings."""
    with _store(state) as store:
        return stages.correlate_stage(store)


@_stage_task("aggregate")
def aggregate_task(state: str, version: str, org: str = "default") -> StageStat:
    """Build meeting records, metrics and report tables."""
    with _store(state) as store:
        return stages.aggregate(store)


@_stage_task("export", EXPORT_CACHE_POLICY)
def export_task(
    state: str,
    out: str,
    run_id: str,
    options: ExportOptions,
    version: str,
    published: str,
    org: str = "default",
) -> StageStat:
    """Write JSON, CSV, Excel and HTML reports into a run folder and publish it.

    `version` and `published` (what `out` holds now) make the cache key; `run_id` does not, so a run that
    finds the reports current reuses the last export's figures.
    """
    with _store(state) as store:
        stat, _paths = stages.export(store, Path(out), run_id, options, current().progress("export"))
        return stat


REPORT_FILES = ("meetintel.html", "meetintel.xlsx", "meetings.json", "people.json", "meetings.csv")


def report_links(out: Path, run_id: str | None = None) -> str:
    """Give markdown links to the published reports, through `latest/` (file URLs, for this machine).

    `latest` is not resolved: a run folder is compressed into `runs/<id>.tar.gz` by a later run, while
    `latest/` always holds the newest reports. With `run_id`, also say where this run's own copy is kept.
    """
    latest = Path(out).absolute() / "latest"
    links = [f"[{name}]({(latest / name).as_uri()})" for name in REPORT_FILES if (latest / name).exists()]
    if not links:
        return f"none published yet in `{out}`"
    kept = f"; this run's copy: `runs/{run_id}/` (later `runs/{run_id}.tar.gz`)" if run_id else ""
    return ", ".join(links) + kept


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
    published = any(s.stage == "export" and not s.skipped for s in record.stages)
    lines = [
        f"# meetintel run `{record.run_id}`",
        "",
        f"- mode: **{record.mode}**, status: **{record.status}**",
        f"- meetings: **{meetings}**, people: **{people}**, people unmatched: **{unmatched}**",
        "- reports: " + report_links(Path(out), record.run_id if published else None),
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


def limit_name(state: str | Path) -> str:
    """Give the name of the Prefect global concurrency limit of a state file (one slot per state).

    The file's name makes it readable in the UI; a digest of its absolute path keeps two states of the same
    name in different folders apart.
    """
    path = Path(state).absolute()
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return f"meetintel-state-{events.org_slug(path.stem)}-{digest}"


@contextmanager
def state_slot(state: str, wait_seconds: float = SLOT_WAIT_SECONDS) -> Iterator[None]:
    """Hold the state's one concurrency slot for the block; a second run on the state waits here."""
    name = limit_name(state)
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(name, 1)
    slot = ExitStack()
    try:  # only waiting for the slot is caught here, never what the run itself raises
        slot.enter_context(concurrency(name, occupy=1, timeout_seconds=wait_seconds, strict=True))
    except TimeoutError as exc:
        raise RetriableError(
            f"waited {wait_seconds:.0f} s for the concurrency limit {name} of {state}: another run holds it",
            "see the flow runs on this state in the Prefect UI (Concurrency page); run again once it ends",
        ) from exc
    with slot:
        yield


_PLACEHOLDER = re.compile(r"\{\{\s*\$(\w+)\s*\}\}")


def require_rendered(parameters: dict[str, str | None]) -> None:
    """Refuse parameters still holding prefect.yaml's `{{ $VAR }}`: the variable was unset at deploy time."""
    for name, value in parameters.items():
        found = _PLACEHOLDER.search(value or "")
        if found:
            var = found.group(1)
            raise ConfigurationError(
                f"the deployment's parameter {name} is {value!r}: {var} was not set at deploy time",
                f"export {var} and run `prefect --no-prompt deploy --all` again",
            )


class CacheCount(BaseModel):
    """How many of a run's cacheable stages Prefect found in its result store."""

    hits: int = 0
    lookups: int = 0

    def ratio(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0


@flow(name="meeting_intelligence", log_prints=False)
def meeting_intelligence(
    out: str,
    state: str,
    workspace: str | None = None,
    full_refresh: bool = False,
    live: LiveEndpoints | None = None,
    export: ExportOptions | None = None,
    org: str | None = None,
) -> RunRecord:
    """Run the pipeline and write reports to `out`.

    Sources are the workspace snapshot at `workspace`, or the live APIs when `live.enabled` (tokens come
    from MEETINTEL_* environment variables or Prefect Secret blocks, never from parameters). A full refresh
    builds a new state beside the old one and swaps it in only when every stage succeeded. `org` names the
    organisation in events and artifact keys (default: MEETINTEL_ORG, else the state file's name).

    A run waits for the state's concurrency slot, so runs on one state go one after another. A run with a
    skipped source ends in a `Completed` state named `Partial`.
    """
    live = live or LiveEndpoints()
    require_rendered({"out": out, "state": state, "workspace": workspace, "org": org})
    if not live.enabled and not workspace:
        raise ConfigurationError("no source given", "pass a workspace folder or enable live collection")
    name = events.org_of(org or os.environ.get("MEETINTEL_ORG"), state)
    with state_slot(state), hold_state(Path(state), f"flow run {_flow_run_id() or 'outside Prefect'}"):
        record = _run(out, state, workspace, full_refresh, live, export, name)
    if record.status != "partial":
        return record
    reasons = "; ".join(f"{s.source} {s.status}: {s.reason}" for s in record.sources if s.status != "ok")
    # A returned state becomes the run's final state; a direct caller still gets its data, the record.
    return cast(RunRecord, Completed(name="Partial", message=f"run {record.run_id}: {reasons}", data=record))


def _run(
    out: str,
    state: str,
    workspace: str | None,
    full_refresh: bool,
    live: LiveEndpoints,
    export: ExportOptions | None,
    org: str,
) -> RunRecord:
    logger = get_run_logger()
    mode = "full-refresh" if full_refresh else "incremental"
    with _store(state) as store:
        record = RunRecord(run_id=store.start_run(mode), mode=mode)
        # `meetintel serve` reads the snapshot while the run holds the state.
        monitor.publish_snapshot(store.con, Path(state))
    source = workspace or "live APIs"
    events.emit(events.RUN_STARTED, org, {"run_id": record.run_id, "mode": mode, "source": source})
    work = str(prepare_refresh(Path(state))) if full_refresh else state
    progress = cast(  # called from a sync flow, so Prefect runs it and returns the id
        UUID,
        create_progress_artifact(
            progress=0.0, key=f"meetintel-{org}-progress", description=f"meetintel pipeline progress ({org})"
        ),
    )
    current().begin(record.run_id)
    sender = LatestSender(lambda share, text: update_progress_artifact(progress, share, text))
    cache = CacheCount()
    try:
        with current().listening(ArtifactFeed(sender)), closing(sender):
            _run_stages(record, source, out, work, live, full_refresh, export, org, cache)
        record.status = "partial" if any(s.status != "ok" for s in record.sources) else "completed"
        if full_refresh:
            swap_in(Path(work), Path(state))
    except Exception as exc:
        record.status = "failed"
        record.errors.append(str(exc) if isinstance(exc, MeetintelError) else f"{type(exc).__name__}: {exc}")
        record.error_classes.append(type(exc).__name__ if isinstance(exc, MeetintelError) else "Exception")
        if full_refresh:
            discard(Path(work))
        raise
    finally:
        _close(record, state, out, org, cache)
        logger.info(
            "run %s %s; stage cache: %d of %d found", record.run_id, record.status, cache.hits, cache.lookups
        )
    return record


def _published(out: str) -> str:
    """Give what `out` holds now (the published run and its data version), for the export's cache key."""
    from exports import latest_run
    from exports.health import CURRENT_MARKER

    marker = Path(out) / CURRENT_MARKER
    return f"{latest_run(Path(out))}:{marker.read_text() if marker.exists() else ''}"


def _version(state: str) -> str:
    with _store(state) as store:
        return store.data_version()


def _cached_stage(state: State, cache: CacheCount) -> StageStat:
    """Give a stage's figures from its task state; a result found in the cache counts as skipped."""
    stat = cast(StageStat, state.result())
    cache.lookups += 1
    if state.name != "Cached":
        return stat
    cache.hits += 1
    note = (
        f"result cached by an earlier run ({stat.note})" if stat.note else "result cached by an earlier run"
    )
    return stat.model_copy(update={"skipped": True, "seconds": 0.0, "note": note})


def _run_stages(
    record: RunRecord,
    source: str,
    out: str,
    state: str,
    live: LiveEndpoints,
    full_refresh: bool,
    export: ExportOptions | None,
    org: str,
    cache: CacheCount,
) -> None:
    board = current()  # what the CLI draws and the progress artifact shows
    sampler = ResourceSampler([Path(out), Path(state).parent])
    record.resources = sampler.peaks  # filled as each stage ends, so a failed run keeps what it measured
    with board.stage("collect"), sampler.stage("collect"):
        if not live.enabled and _dask_collect.fans_out_collection(state):
            # Day files in batches on the Dask workers, committed here (flows._dask_collect).
            collected = Collected(stat=_dask_collect.collect_fanned(state, source, record.run_id, org))
        else:
            collected = collect_task(state, source, record.run_id, live, full_refresh, org)
        board.finish(collected.stat)
    record.stages.append(collected.stat)
    record.rows_read = dict(collected.stat.by_table)
    record.sources = collected.sources
    _require_a_source(record.sources)
    options = export or ExportOptions()
    # The data version moves only in collect and detect (`StateStore.mark_raw_changed`): the stages after
    # detect share one reading of it (each reading opens the state, ~35 ms at L).
    settled = functools.cache(functools.partial(_version, state))
    steps = {
        # On Dask (or with remote raw tables) detection runs in parts, per partition (flows._dask).
        "detect": lambda: (
            _dask.detect_fanned(state, org)
            if _dask.fans_out(state)
            else detect_task(state, _version(state), org, return_state=True)
        ),
        "correlate": lambda: correlate_task(state, settled(), org, return_state=True),
        "aggregate": lambda: aggregate_task(state, settled(), org, return_state=True),
        "export": lambda: export_task(
            state, out, record.run_id, options, settled(), _published(out), org, return_state=True
        ),
    }
    for name, step in steps.items():
        with board.stage(name), sampler.stage(name):
            stat = _cached_stage(step(), cache)
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


def _close(record: RunRecord, state: str, out: str, org: str, cache: CacheCount) -> None:
    with _store(state) as store:
        store.finish_run(record)
        monitor.publish_snapshot(store.con, Path(state))
        meetings, people = store.count(MEETING_RECORDS), store.count(PEOPLE_RECORDS)
        unmatched = stages.unmatched_people(store)
        quarantined = store.quarantine_counts(record.run_id)
        top = top_meetings(store.con) if store.has_table(REPORT_MEETINGS) else None
    summary = summary_markdown(record, out, meetings, people, unmatched, quarantined)
    if record.resources:  # peaks per stage: CPU, RSS, free disk, network
        summary += "\n" + "\n".join(resources_markdown(record.resources))
    if cache.lookups:
        summary += f"\n\nStage cache: {cache.hits} of {cache.lookups} stages found in Prefect's result store."
    create_markdown_artifact(
        markdown=summary,
        key=f"meetintel-{org}-run-summary",
        description=f"meetintel run {record.run_id} ({org})",
    )
    if top is not None and top.num_rows:
        create_table_artifact(
            table=top.to_pylist(),
            key=f"meetintel-{org}-top-meetings",
            description=f"Held meetings with the most person-hours ({org})",
        )
    _announce_run(record, out, org, meetings, people, cache)


def _announce_run(
    record: RunRecord, out: str, org: str, meetings: int, people: int, cache: CacheCount
) -> None:
    """Emit `meetintel.reports.published` when this run published reports, then the run's final event."""
    latest = Path(out).absolute() / "latest"
    files = [str(latest / name) for name in REPORT_FILES if (latest / name).exists()]
    exported = any(s.stage == "export" and not s.skipped for s in record.stages)
    if exported and record.status != "failed":
        published = {"run_id": record.run_id, "out": str(Path(out).absolute()), "latest": str(latest)}
        events.emit(events.REPORTS_PUBLISHED, org, published | {"reports": files})
    reasons = list(record.errors) + [
        f"{s.source} {s.status}: {s.reason}" for s in record.sources if s.status != "ok"
    ]
    payload = {
        "run_id": record.run_id,
        "mode": record.mode,
        "status": record.status,
        "meetings": meetings,
        "people": people,
        "rows_read": record.rows_read,
        "rows_written": record.rows_written,
        "reasons": reasons,
        "reports": files,
        "cache_hits": cache.hits,
        "cache_lookups": cache.lookups,
    }
    events.emit(events.RUN_EVENTS.get(record.status, events.RUN_FAILED), org, payload)
