"""`meetintel doctor`: the health of a state file and its published reports, and repairs that lose nothing.

`diagnose` opens the state read-only and checks, in order: that it opens and every table reads whole (DuckDB
checks each block's checksum as it reads), its schema version, that checkpoints agree with the data (file
stamps and cursors whose rows are missing, queued messages that are not stored, evidence missing), that
derived tables are current, the runs ledger, and, given the output folder, that `latest` names an intact
run (files against the manifest's SHA-256) and every kept run folder and archive is whole.

The state is DuckDB only (no Parquet is written); reports are JSON, CSV, XLSX and HTML files whose
checksums sit in each run folder's manifest.json.

`repair` never deletes data: a damaged state file is moved aside and a fresh one started (the next run
re-collects everything); stamps and cursors of missing data are dropped (the next run re-reads it); derived
versions are cleared (the next run rebuilds); damaged or incomplete run folders are moved aside and the
newest intact run is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from checkpoints import _health_checks as checks
from checkpoints._health_checks import ERROR, INFO, WARNING, Finding
from checkpoints._health_out import complete_runs, output_findings, set_aside
from checkpoints.store import SCHEMA_VERSION, StateStore
from exports import link_current, publish
from exports.archive import MANIFEST, RUNS

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_FIXED = 0, 1, 2
MARKER = ".meetintel-version"  # the export stage's "reports are current" marker
INTERRUPTED = '["interrupted; marked failed by meetintel doctor"]'
_REQUIRED = ("file_stamps", "cursors", "pending_detection", "state_meta", "runs")

__all__ = [
    "EXIT_FIXED",
    "EXIT_HEALTHY",
    "EXIT_PROBLEMS",
    "Finding",
    "Health",
    "diagnose",
    "format_health",
    "repair",
]


@dataclass
class Health:
    """What doctor found (and, after `repair`, what it did and what it had found before)."""

    state: Path
    out: Path | None
    findings: list[Finding] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    found_before: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        """Give the findings that need attention (errors and warnings; info is only information)."""
        return [f for f in self.findings if f.severity in (ERROR, WARNING)]

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """Give 0 when healthy and nothing was repaired, 2 when repairs made it healthy, 1 otherwise."""
        if self.problems:
            return EXIT_PROBLEMS
        return EXIT_FIXED if self.repairs else EXIT_HEALTHY

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def diagnose(state: Path, out: Path | None = None) -> Health:
    """Give the health of the state file `state` and, when given, of the reports under `out`."""
    state, out = Path(state), Path(out) if out is not None else None
    health = Health(state, out)
    health.findings += _state_findings(state)
    if out is not None:
        health.findings += output_findings(out)
    return health


def _state_findings(state: Path) -> list[Finding]:
    if not state.exists():
        todo = "check --state, or run `meetintel run` to collect into a new state"
        return [Finding(WARNING, "state-missing", f"no state file at {state}", todo)]
    refresh = state.with_name(state.name + ".refresh")
    found = []
    if refresh.exists():
        todo = "nothing needed: the old state is whole and the next --full-refresh starts the refresh afresh"
        found.append(
            Finding(INFO, "refresh-leftover", f"{refresh} is left from an interrupted full refresh", todo)
        )
    try:
        con = duckdb.connect(str(state), read_only=True)
    except duckdb.Error as exc:
        return [*found, _open_finding(state, exc)]
    try:
        return found + _database_findings(state, con)
    finally:
        con.close()


def _open_finding(state: Path, exc: duckdb.Error) -> Finding:
    text = str(exc).splitlines()[0]
    if "lock" in text.lower():
        todo = "wait for the other meetintel process to finish, or stop it, then run doctor again"
        return Finding(ERROR, "state-busy", f"{state} is in use by another process ({text})", todo)
    return _damaged(state, f"{state} cannot be opened as a DuckDB database ({text})")


def _damaged(state: Path, what: str) -> Finding:
    todo = (
        "run `meetintel doctor --repair`: it moves the file aside (kept, never deleted) and starts a fresh "
        "state, and the next run re-collects everything from the sources"
    )
    return Finding(ERROR, "state-damaged", what, todo)


def _database_findings(state: Path, con: duckdb.DuckDBPyConnection) -> list[Finding]:
    unreadable = checks.unreadable_tables(con)
    if unreadable:
        detail = "; ".join(f"{t}: {e}" for t, e in unreadable[: checks.EXAMPLES])
        what = f"{state} has {len(unreadable)} tables that cannot be read whole ({detail})"
        names = tuple(t for t, _ in unreadable)
        if any(t in checks.RAW_TABLES or t in _REQUIRED for t in names):
            return [_damaged(state, what)]
        # Only derived tables are hit: the collected data is whole, so rebuilding them loses nothing.
        todo = "run `meetintel doctor --repair`: it drops those tables and the next run rebuilds them"
        return [Finding(ERROR, "derived-damaged", what, todo, names)]
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    missing = [t for t in (*checks.RAW_TABLES, *_REQUIRED) if t not in tables]
    if missing:
        return [_damaged(state, f"{state} is not a meetintel state: tables missing: {', '.join(missing)}")]
    version = dict(con.execute("SELECT key, value FROM state_meta").fetchall()).get("schema_version")
    if version != SCHEMA_VERSION:
        what = f"{state} has schema version {version}, this meetintel writes version {SCHEMA_VERSION}"
        return [Finding(ERROR, "schema-version", what, "use the meetintel version that wrote it")]
    return [
        *checks.stamp_findings(con),
        *checks.cursor_findings(con),
        *checks.pending_findings(con),
        *checks.derived_findings(con),
        *checks.ledger_findings(con),
    ]


# ---- repair ----------------------------------------------------------------------------------------------


def repair(state: Path, out: Path | None = None) -> Health:
    """Fix what `diagnose` finds, losing nothing; give the health afterwards with the repairs made."""
    state, out = Path(state), Path(out) if out is not None else None
    before = diagnose(state, out)
    codes = set(before.codes())
    done: list[str] = []
    if "state-damaged" in codes:
        done += _replace_state(state)
    elif codes & _STATE_FIXES.keys():
        with StateStore(state) as store:
            for finding in before.findings:
                fix = _STATE_FIXES.get(finding.code)
                if fix is not None:
                    done.append(fix(store, finding))
    if out is not None:
        done += _repair_output(out, before.findings)
    after = diagnose(state, out)
    after.repairs, after.found_before = done, before.findings
    return after


def _replace_state(state: Path) -> list[str]:
    """Move a damaged state (and its write-ahead log) aside and start a fresh state in its place."""
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    moved = []
    for path in (state, Path(f"{state}.wal")):
        if path.exists():
            target = path.with_name(f"{path.name}.damaged-{stamp}")
            path.rename(target)
            moved.append(str(target))
    StateStore(state).close()
    return [f"moved the damaged state aside to {', '.join(moved)} and started a fresh state at {state}"]


def _drop_stamps(store: StateStore, finding: Finding) -> str:
    tables = [k.removeprefix("table:") for k in finding.keys if k.startswith("table:")]
    paths = [k for k in finding.keys if not k.startswith("table:")]
    with store.transaction():
        for table in tables:
            store.con.execute("DELETE FROM file_stamps WHERE table_name = ?", [table])
        if paths:
            store.con.executemany("DELETE FROM file_stamps WHERE path = ?", [[p] for p in paths])
    what = f"the stamps of {', '.join(tables)}" if tables else f"{len(paths)} file stamps"
    return f"dropped {what}; the next run reads those files again"


def _drop_cursors(store: StateStore, finding: Finding) -> str:
    keys = [k.split(":", 1) for k in finding.keys]
    with store.transaction():
        store.con.executemany("DELETE FROM cursors WHERE source = ? AND key = ?", keys)
    return f"dropped {len(keys)} cursors; the next live run fetches their data again"


def _drop_orphans(store: StateStore, _finding: Finding) -> str:
    with store.transaction():
        store.con.execute(
            "DELETE FROM pending_detection p WHERE NOT EXISTS (SELECT 1 FROM slack_messages m "
            "WHERE m.channel_id = p.channel_id AND m.ts = p.ts)"
        )
    return "removed queued messages that are not stored"


def _requeue(store: StateStore, _finding: Finding) -> str:
    with store.transaction():
        store.con.execute("INSERT INTO pending_detection SELECT channel_id, ts FROM slack_messages")
        _clear_versions(store)
    return "queued every stored message for detection; the next run rebuilds the evidence"


def _clear_versions(store: StateStore) -> None:
    placeholders = ", ".join("?" for _ in checks.VERSIONS)
    store.con.execute(f"DELETE FROM state_meta WHERE key IN ({placeholders})", list(checks.VERSIONS))


def _drop_damaged(store: StateStore, finding: Finding) -> str:
    with store.transaction():
        for table in finding.keys:
            store.con.execute(f'DROP TABLE IF EXISTS "{table}"')
        if "evidence" in finding.keys:
            store.con.execute("DELETE FROM pending_detection")
            store.con.execute("INSERT INTO pending_detection SELECT channel_id, ts FROM slack_messages")
        _clear_versions(store)
    return f"dropped the damaged derived tables {', '.join(finding.keys)}; the next run rebuilds them"


def _clear_derived(store: StateStore, _finding: Finding) -> str:
    with store.transaction():
        _clear_versions(store)
    return "cleared the derived versions; the next run rebuilds people, meetings and reports"


def _close_runs(store: StateStore, finding: Finding) -> str:
    with store.transaction():
        store.con.executemany(
            "UPDATE runs SET status = 'failed', errors = ? WHERE run_id = ? AND status = 'running'",
            [[INTERRUPTED, run_id] for run_id in finding.keys],
        )
    return f"marked {len(finding.keys)} interrupted runs failed in the ledger"


_STATE_FIXES = {
    "stamps-without-rows": _drop_stamps,
    "cursor-without-rows": _drop_cursors,
    "pending-without-message": _drop_orphans,
    "evidence-missing": _requeue,
    "derived-damaged": _drop_damaged,
    "derived-stale": _clear_derived,
    "derived-missing": _clear_derived,
    "run-interrupted": _close_runs,
}


def _repair_output(out: Path, findings: list[Finding]) -> list[str]:
    """Move damaged and incomplete runs aside; publish the newest intact run when `latest` is not one."""
    done = []
    for f in findings:
        if f.code in ("run-incomplete", "run-damaged", "archive-damaged"):
            label = "incomplete" if f.code == "run-incomplete" else "damaged"
            moved = set_aside(out / RUNS / f.keys[0], label)
            done.append(f"moved {f.keys[0]} aside to {moved}")
    bad_latest = {"not-published", "latest-missing-run", "report-damaged", "latest-disagrees"}
    if not bad_latest & {f.code for f in findings}:
        return done
    for f in findings:
        if f.code == "report-damaged" and f.keys:
            done.append(
                f"moved the damaged published run aside to {set_aside(out / RUNS / f.keys[0], 'damaged')}"
            )
    (out / MARKER).unlink(missing_ok=True)  # the next run must export afresh, whatever the state says
    intact = complete_runs(out)
    if intact:
        run = publish(out, intact[-1])
        link_current(out, sorted(p.name for p in run.iterdir() if p.name != MANIFEST))
        done.append(f"published the newest intact run {intact[-1]}; the next run exports afresh")
    else:
        for name in ("latest", "LATEST"):
            (out / name).unlink(missing_ok=True)
        done.append(
            "no intact run is left to publish; removed the `latest` pointer, the next run exports afresh"
        )
    return done


def format_health(health: Health) -> str:
    """Give the doctor report as plain text: one block per finding, the repairs made, and the verdict."""
    lines = [f"state: {health.state}" + (f"   reports: {health.out}" if health.out else "")]
    if health.repairs:
        lines += ["", f"found {len(health.found_before)} findings; repairs made:"]
        lines += [f"  - {r}" for r in health.repairs]
        lines += ["", "after repair:" if health.findings else "after repair: nothing left to report"]
    for f in health.findings:
        lines += [f"  {f.severity.upper():<8}{f.what}", f"  {'':<8}what to do: {f.todo}"]
    verdict = {EXIT_HEALTHY: "healthy", EXIT_PROBLEMS: "problems found", EXIT_FIXED: "repaired, now healthy"}
    lines += [
        "",
        f"{verdict[health.exit_code]} ({len(health.problems)} problems, "
        f"{sum(f.severity == INFO for f in health.findings)} notes)",
    ]
    return "\n".join(lines)
