"""The pipeline's stages as plain functions over the state store; Prefect tasks wrap them thinly."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from aggregation import build_reports, create_analyst_views
from checkpoints import SourceStatus, StageStat, StateStore
from collectors import (
    CHUNK_FILES,
    FingerprintCache,
    InputBounds,
    collect_workspace,
    reuse_fingerprints,
    workspace_paths,
)
from core.ahead import read_ahead
from core.errors import ConfigurationError
from core.sql import has_columns, lit
from core.tables import MEETING_RECORDS, PEOPLE_RECORDS, REPORT_PREFIX, report_table
from exports import (
    apply_retention,
    compress_runs,
    export_reports,
    latest_run,
    link_current,
    publish,
    start_run_dir,
    write_html,
    write_manifest,
    write_workbook,
)
from exports.archive import RUNS, EarlyArchive, manifest_inputs
from exports.health import CURRENT_MARKER
from exports.privacy import pseudonymise
from exports.tabular import Reuse
from flows._progress import NoProgress, StageProgress
from flows.params import ExportOptions
from intelligence import calendar_cache_tables, context_evidence, correlate, detect_evidence, map_people

if TYPE_CHECKING:  # the live clients load only when a live run uses them
    from collectors import BreakerSnapshot, LiveSources

Progress = StageProgress  # counts as they grow; calling it as `progress(label, rows)` adds rows

# Files an export writes; the flow re-exports when any is missing.
JSON_REPORTS = {"meetings": MEETING_RECORDS, "people": PEOPLE_RECORDS}


_noop: Progress = NoProgress()


def collect(
    store: StateStore,
    workspace: Path,
    run_id: str,
    progress: Progress = _noop,
    chunk_files: int = CHUNK_FILES,
    bounds: InputBounds | None = None,
) -> StageStat:
    """Read new and changed files of the workspace into the store, `chunk_files` files a chunk at most.

    Files gone from the workspace take their rows with them first (`StateStore.forget_files`). Reading
    stays within `bounds` (the MEETINTEL_* input bounds); bad records are quarantined and counted in the note.
    """
    if not workspace.exists():
        raise ConfigurationError(
            f"workspace {workspace} does not exist",
            "pass --workspace pointing at a folder with slack/ and google/ (see README)",
        )
    started = time.perf_counter()
    read: dict[str, int] = {}
    files = 0
    present = workspace_paths(workspace)
    removed = store.forget_files(present)
    seen = store.file_stamps()
    # On a first run every file is read, so the total is known; later runs read only the changed ones.
    progress.total(len(present) if not seen else None, "files")
    # Every file is stamped on every run; one whose status is unchanged keeps the last run's CRC32. Each
    # chunk commits with its stamps; the state file is checkpointed once, at the end. The next chunk is
    # read on a thread while the current one commits (DuckDB lets go of the GIL in both).
    fingerprints = FingerprintCache(store.file_fingerprints())
    as_of = datetime.now(UTC)
    with (
        reuse_fingerprints(fingerprints),
        store.bulk_load(),
        read_ahead(
            lambda: collect_workspace(workspace, seen, chunk_files=chunk_files, bounds=bounds, as_of=as_of)
        ) as chunks,
    ):
        for chunk in chunks:
            rows = store.commit_chunk(chunk, run_id)
            read[chunk.table] = read.get(chunk.table, 0) + rows
            files += len(chunk.files)
            progress(chunk.table, rows)
            progress.advance(len(chunk.files))
    if fingerprints.changed:
        store.keep_fingerprints(fingerprints.kept)
    stat = StageStat(
        stage="collect",
        seconds=time.perf_counter() - started,
        rows_in=sum(read.values()),
        rows_out=sum(read.values()),
        note=f"{files} files changed"
        + (f", {len(removed)} removed" if removed else "")
        + quarantine_note(store.quarantine_counts(run_id)),
        by_table=read,
    )
    return stat


def quarantine_note(counts: dict[str, int]) -> str:
    """Give "; quarantined N (rule n, ...)" for a stage note, or "" when nothing was quarantined."""
    if not counts:
        return ""
    return f"; quarantined {sum(counts.values())} (" + ", ".join(f"{r} {n}" for r, n in counts.items()) + ")"


def collect_from_apis(
    store: StateStore,
    sources: LiveSources,
    run_id: str,
    full_refresh: bool,
    progress: Progress = _noop,
    bounds: InputBounds | None = None,
) -> tuple[StageStat, list[SourceStatus]]:
    """Collect from the live APIs from the stored cursors; give the stage figures and each source's outcome.

    Breaker states persist in the store, so a source whose breaker opened stays skipped across processes
    until its reset timeout passes. Texts are cut to `bounds`; bad records are quarantined and counted in
    the note.
    """
    from collectors import collect_live  # the API clients load only for a live run

    started = time.perf_counter()
    saved = store.get_meta("breakers")
    if saved:
        sources.restore_breakers({name: _snapshot(snap) for name, snap in json.loads(saved).items()})
    read: dict[str, int] = {}
    collection = collect_live(sources, store.cursors(), full_refresh=full_refresh, bounds=bounds)
    progress.watch(collection.progress)  # displays read the sources' figures whenever they draw
    try:
        for chunk in collection:
            rows = store.commit_live(chunk, run_id)
            read[chunk.table] = read.get(chunk.table, 0) + rows
            progress(chunk.table, rows)
            progress.sources(collection.progress())
    finally:
        collection.close()
        progress.watch(None)
        progress.sources(collection.progress())
    store.set_meta("breakers", json.dumps({n: _snapshot_json(b) for n, b in sources.breakers().items()}))
    outcomes = [SourceStatus.model_validate(o.as_dict()) for o in collection.outcomes()]
    bad = [o for o in outcomes if o.status != "ok"]
    stat = StageStat(
        stage="collect",
        seconds=time.perf_counter() - started,
        rows_in=sum(read.values()),
        rows_out=sum(read.values()),
        by_table=read,
        note=("; ".join(f"{o.source} {o.status}: {o.reason}" for o in bad) or "all sources ok")
        + quarantine_note(store.quarantine_counts(run_id)),
    )
    return stat, outcomes


def _snapshot(data: dict[str, Any]) -> BreakerSnapshot:
    from collectors import BreakerSnapshot

    opened = data.get("opened_at")
    return BreakerSnapshot(
        state=str(data["state"]),
        fail_counter=int(data["fail_counter"]),
        opened_at=datetime.fromisoformat(opened) if opened else None,
    )


def _snapshot_json(snap: BreakerSnapshot) -> dict[str, object]:
    return {
        "state": snap.state,
        "fail_counter": snap.fail_counter,
        "opened_at": snap.opened_at.isoformat() if snap.opened_at else None,
    }


# Detection scans at most this many pending messages in one query: a larger backlog (a first run at 10^7
# messages) is scanned in ranges of (channel, ts), so the query's memory stays bounded under the store's
# limit. A row depends only on its message, its thread and the users; a thread never leaves its channel,
# so each range looks threads up in its own channels' messages only (its work stays proportional to the
# range) and the ranges together give one scan's rows.
DETECT_BATCH_MESSAGES = 500_000
EVIDENCE_ORDER = [("channel_id", "ascending"), ("ts", "ascending")]  # detect_evidence's own order


def detect(store: StateStore, batch_messages: int = DETECT_BATCH_MESSAGES) -> StageStat:
    """Detect meeting evidence in the messages collected since the last detection."""
    started = time.perf_counter()
    pending = store.pending_view()
    if pending == 0 and store.has_table("evidence"):
        return StageStat(
            stage="detect", seconds=time.perf_counter() - started, skipped=True, note="no new messages"
        )
    if pending <= batch_messages:
        evidence = detect_evidence(store.con, "new_slack_messages")
        note = ""
    else:
        starts = range_starts(store, batch_messages)
        evidence = pa.concat_tables(_detect_range(store, starts, i) for i in range(len(starts)))
        evidence = evidence.sort_by(EVIDENCE_ORDER)
        note = f"{len(starts)} ranges of <= {batch_messages:,} pending messages"
    store.commit_detection(evidence)
    return StageStat(
        stage="detect",
        seconds=time.perf_counter() - started,
        rows_in=pending,
        rows_out=evidence.num_rows,
        note=note,
    )


def _detect_range(store: StateStore, starts: list[tuple[str, str]], i: int) -> pa.Table:
    """Give the evidence of the pending messages from `starts[i]` up to the next start.

    Pending keys are deduplicated within the range (the store's pending view would deduplicate the whole
    backlog at each of the query's references), and threads are looked up in the range's channels only:
    up to the next range's channel, and in it when the next range starts inside it.
    """
    where, channels = f"NOT {_before(*starts[i])}", f"channel_id >= {lit(starts[i][0])}"
    if i + 1 < len(starts):
        channel, ts = starts[i + 1]
        where += f" AND {_before(channel, ts)}"
        channels += f" AND channel_id {'<=' if ts else '<'} {lit(channel)}"
    store.con.execute(
        "CREATE OR REPLACE TEMP VIEW new_slack_messages_part AS SELECT m.* FROM slack_messages m "
        f"SEMI JOIN (SELECT DISTINCT channel_id, ts FROM pending_detection WHERE {where}) p "
        f"ON m.channel_id = p.channel_id AND m.ts = p.ts WHERE {where}; "
        f"CREATE OR REPLACE TEMP VIEW slack_messages_part AS SELECT * FROM slack_messages WHERE {channels}"
    )
    return detect_evidence(store.con, "new_slack_messages_part", "slack_messages_part")


def _before(channel: str, ts: str) -> str:
    """SQL true for a message before (channel, ts) in key order."""
    return f"(channel_id < {lit(channel)} OR (channel_id = {lit(channel)} AND ts < {lit(ts)}))"


def range_starts(store: StateStore, batch_messages: int) -> list[tuple[str, str]]:
    """Give the first (channel_id, ts) of each range of at most about `batch_messages` pending messages, in
    key order: whole channels together while they fit, a larger channel cut at quantiles of its ts (no
    sort of the whole backlog, which would not fit the store's memory either)."""
    # The queue's own rows count (a message queued twice counts twice and only makes its range smaller):
    # counting the pending view would deduplicate the whole backlog.
    counts = store.con.execute(
        "SELECT channel_id, count(*) FROM pending_detection GROUP BY channel_id ORDER BY channel_id"
    ).fetchall()
    starts: list[tuple[str, str]] = []
    size = batch_messages  # the first channel opens a range
    for channel, n in counts:
        if n > batch_messages:
            cuts = -(-n // batch_messages)  # ranges this channel needs
            bounds = store.con.execute(
                f"SELECT quantile_disc(ts, [{', '.join(str(i / cuts) for i in range(1, cuts))}]) "
                f"FROM (SELECT DISTINCT ts FROM pending_detection WHERE channel_id = {lit(channel)})"
            ).fetchone()
            inner = sorted(set(bounds[0])) if bounds else []
            starts += [(channel, "")] + [(channel, str(t)) for t in inner]
            size = batch_messages  # the next channel opens a range of its own
        elif size + n > batch_messages:
            starts.append((channel, ""))
            size = n
        else:
            size += n
    return starts


def _up_to_date(store: StateStore, key: str) -> bool:
    return store.get_meta(key) == store.get_meta("raw_version", "0")


def meeting_talk(store: StateStore) -> str:
    """Give the name of a view of every message found to be meeting talk: the detector's evidence, plus
    the context evidence correlation adds (when a run has stored any)."""
    if not store.has_table("context_evidence"):
        return "evidence"
    store.con.execute(
        "CREATE OR REPLACE TEMP VIEW meeting_talk AS"
        " SELECT * FROM evidence UNION ALL BY NAME SELECT * FROM context_evidence"
    )
    return "meeting_talk"


def correlate_stage(store: StateStore) -> StageStat:
    """Map people and link evidence to meetings; skipped when no raw data changed."""
    started = time.perf_counter()
    if _up_to_date(store, "correlated_version"):
        return StageStat(
            stage="correlate", seconds=time.perf_counter() - started, skipped=True, note="no new data"
        )
    version = store.get_meta("raw_version", "0")
    unmatched = _map_people(store, version)
    # Events after the run's time are not held meetings yet.
    as_of = datetime.now(UTC)
    with store.working_memory():  # joins over the whole state: DuckDB's memory grows with it past L
        cache = _calendar_cache(store, as_of)
        context = context_evidence(store.con, as_of=as_of, calendar_cache=cache)
        store.replace_tables({"context_evidence": context}, version)
        result = correlate(
            store.con, evidence=meeting_talk(store), people="people", as_of=as_of, calendar_cache=cache
        )
    store.replace_tables(
        {
            "meetings": result.meetings,
            "meeting_participants": result.participants,
            "meeting_evidence": result.links,
            "meeting_documents": result.documents,
        },
        version,
    )
    store.set_meta("correlated_version", version)
    return StageStat(
        stage="correlate",
        seconds=time.perf_counter() - started,
        rows_in=store.count("evidence"),
        rows_out=result.meetings.num_rows,
        note=f"people unmatched: {unmatched}",
    )


# What people mapping reads: when none of it changed, the stored people and identity links stand.
PEOPLE_INPUTS = ("directory_users", "slack_users", "calendar_events")
# Prefix of the stored calendar side of correlation (events, calendar meetings, attendees).
CALENDAR_CACHE = "cache_calendar_"


def _map_people(store: StateStore, version: str) -> int:
    """Map people unless their inputs are unchanged since the stored mapping; give the unmatched count."""
    inputs = store.fingerprint(*PEOPLE_INPUTS)
    stored = all(store.has_table(name) for name in ("people", "identity_links"))
    if store.get_meta("people_inputs") != inputs or not stored:
        people = map_people(store.con)
        store.replace_tables({"people": people.people, "identity_links": people.links}, version)
        store.set_meta("people_inputs", inputs)
    return int(store.con.execute("SELECT count(*) FROM people WHERE match = 'unmatched'").fetchall()[0][0])


def _calendar_cache(store: StateStore, as_of: datetime) -> str:
    """Give the prefix of the calendar side correlation may reuse, dropping it first when stale.

    It stays while `calendar_events` and `people` hold what they held when it was built and no event
    started between that run's time and `as_of` (such an event would have turned from future to held).
    """
    names = calendar_cache_tables(CALENDAR_CACHE)
    key = store.fingerprint("calendar_events", "people")
    saved = json.loads(store.get_meta("calendar_cache") or "{}")
    fresh = saved.get("inputs") == key and all(store.has_table(n) for n in names)
    if fresh:
        crossed = store.con.execute(
            f"SELECT count(*) FROM {names[0]} WHERE start > ?::TIMESTAMPTZ AND start <= ?::TIMESTAMPTZ",
            [saved["as_of"], as_of.isoformat()],
        ).fetchall()[0][0]
        fresh = crossed == 0
    if not fresh:
        for name in names:
            store.con.execute(f"DROP TABLE IF EXISTS {name}")
        store.set_meta("calendar_cache", json.dumps({"inputs": key, "as_of": as_of.isoformat()}))
    return CALENDAR_CACHE


def aggregate(store: StateStore) -> StageStat:
    """Build the report tables (meeting records, people, flat tables); skipped when up to date."""
    started = time.perf_counter()
    if _up_to_date(store, "aggregated_version"):
        return StageStat(
            stage="aggregate", seconds=time.perf_counter() - started, skipped=True, note="no new data"
        )
    version = store.get_meta("raw_version", "0")
    reports = build_reports(store.con, evidence=meeting_talk(store))
    tables = {MEETING_RECORDS: reports.meeting_records, PEOPLE_RECORDS: reports.people_records}
    tables |= {report_table(name): table for name, table in reports.tables.items()}
    store.replace_tables(tables, version)
    create_analyst_views(store.con)
    store.set_meta("aggregated_version", version)
    return StageStat(
        stage="aggregate",
        seconds=time.perf_counter() - started,
        rows_in=store.count("meetings"),
        rows_out=reports.meeting_records.num_rows,
    )


def unmatched_people(store: StateStore) -> int:
    """Give how many people.json records no directory person was matched to (0 before any report)."""
    if not has_columns(store.con, PEOPLE_RECORDS, ("match",)):
        return 0
    rows = store.con.execute(f"SELECT count(*) FROM {PEOPLE_RECORDS} WHERE match = 'unmatched'").fetchall()
    return int(rows[0][0])


def report_tables(store: StateStore) -> dict[str, str]:
    """Give the CSV tables to export, `{file stem: table}`."""
    rows = store.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'report\\_%' ESCAPE '\\' "
        "AND NOT temporary AND database_name = current_database() AND schema_name = current_schema() "
        "ORDER BY table_name"
    ).fetchall()
    return {r[0].removeprefix(REPORT_PREFIX): r[0] for r in rows}


def write_all(
    store: StateStore,
    folder: Path,
    options: ExportOptions,
    progress: Progress = _noop,
    reuse: Reuse | None = None,
) -> list[Path]:
    """Write JSON, CSV, Excel and HTML into `folder`, pseudonymised when the options ask for it; JSON and
    CSV files whose rows did not change since the run `reuse` names are linked from it."""
    tables = report_tables(store)
    progress.total(3, "formats")
    with ExitStack() as stack:
        if options.pseudonymise:
            stack.enter_context(pseudonymise(store.con, options.salt(), options.redact_text))
        written = export_reports(store.con, folder, JSON_REPORTS, tables, reuse)
        progress("files", len(written))
        progress.advance()
        written.append(write_workbook(store.con, folder / "meetintel.xlsx", tz=options.tz))
        progress("files", 1)
        progress.advance()
        written.append(write_html(store.con, folder / "meetintel.html", tz=options.tz))
        progress("files", 1)
        progress.advance()
    return written


def export(
    store: StateStore,
    out: Path,
    run_id: str,
    options: ExportOptions | None = None,
    progress: Progress = _noop,
) -> tuple[StageStat, list[Path]]:
    """Write every report format into `out/runs/<run-id>/`, publish it as `latest`, apply retention.

    Skipped when the published reports already reflect the stored data. The run folder gets its manifest
    (checksums) once every file is written and is published only then, so `latest` never points at a
    half-written export.
    """
    options = options or ExportOptions()
    started = time.perf_counter()
    # The state's own id, not its path: a refreshed or rebuilt state file must never look current.
    # The privacy mode is part of the version: a plain export after a pseudonymised one is not current.
    version = store.data_version() + options.privacy_tag()
    marker = out / CURRENT_MARKER
    current = latest_run(out)
    if current and marker.exists() and marker.read_text() == version:
        return StageStat(
            stage="export", seconds=time.perf_counter() - started, skipped=True, note="reports are current"
        ), []
    run_dir = start_run_dir(out, run_id)
    before = out / RUNS / current if current else None
    reuse = Reuse(before, manifest_inputs(before) if before else {})
    # The published run is packed once this one replaces it; its archive is written meanwhile.
    early = EarlyArchive(before) if before is not None and before.is_dir() else None
    try:
        written = write_all(store, run_dir, options, progress, reuse)
        write_manifest(run_dir, written, version, reuse.after)
        publish(out, run_id)
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    link_current(out, [p.name for p in written])
    if early is not None:
        early.finish()
    compress_runs(out)
    removed = apply_retention(out, options.keep_runs, options.keep_days, datetime.now(UTC))
    marker.write_text(version)
    note = f"published runs/{run_id}" + (f"; retention removed {len(removed)} old runs" if removed else "")
    note += f"; {len(reuse.linked)} unchanged reports linked" if reuse.linked else ""
    return StageStat(
        stage="export",
        seconds=time.perf_counter() - started,
        rows_in=store.count(MEETING_RECORDS),
        rows_out=len(written),
        note=note,
    ), written
