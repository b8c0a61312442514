"""The checks `meetintel doctor` runs on an open state database: each gives findings, none writes."""

from __future__ import annotations

import re

import duckdb

from core.health import ERROR, INFO, WARNING, Finding
from core.tables import MEETING_RECORDS, PEOPLE_RECORDS, RAW_TABLES

# Derived tables the stages rebuild, and the version marker each stage keeps.
DERIVED = ("evidence", "people", "meetings", MEETING_RECORDS, PEOPLE_RECORDS)
VERSIONS = ("derived_version", "correlated_version", "aggregated_version")
# A Slack day file's stamp: "<label><folder>/<YYYY-MM-DD>.json" (label "slack/", "slack.zip!" or "").
_DAY_FILE = re.compile(r"(?:^|.*[/!])([^/!]+)/(\d{4}-\d{2}-\d{2})\.json$")
EXAMPLES = 3
REREAD = "run `meetintel doctor --repair`: it drops those stamps so the next run reads the files again"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in _rows(con, "SELECT table_name FROM duckdb_tables() WHERE NOT temporary")}


def _examples(keys: list[str]) -> str:
    shown = ", ".join(keys[:EXAMPLES])
    return shown + (f" and {len(keys) - EXAMPLES} more" if len(keys) > EXAMPLES else "")


def unreadable_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Give (table, error) for each table whose rows cannot all be read (a damaged block fails a checksum)."""
    bad = []
    for table in sorted(_tables(con)):
        try:
            _rows(con, f'SELECT count(*), sum(hash(t)) FROM "{table}" t')
        except duckdb.Error as exc:
            bad.append((table, str(exc).splitlines()[0]))
    return bad


def stamp_findings(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Find file stamps that say a file was stored while its rows are not there."""
    findings = []
    counts = {t: int(_rows(con, f"SELECT count(*) FROM {t}")[0][0]) for t in RAW_TABLES}
    stamped = _rows(con, "SELECT table_name, sum(rows), count(*) FROM file_stamps GROUP BY 1 ORDER BY 1")
    for table, rows, files in stamped:
        if table in counts and int(rows or 0) > 0 and counts[table] == 0:
            findings.append(
                Finding(
                    ERROR,
                    "stamps-without-rows",
                    f"{files} source files are stamped as stored in {table} ({rows} rows), "
                    f"but {table} is empty",
                    REREAD,
                    (f"table:{table}",),
                )
            )
    missing = _missing_days(con)
    if missing and counts["slack_messages"]:
        findings.append(
            Finding(
                ERROR,
                "stamps-without-rows",
                f"{len(missing)} Slack day files are stamped as stored but their channel has no message that "
                f"day: {_examples(missing)}",
                REREAD,
                tuple(missing),
            )
        )
    return findings


def _missing_days(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Give stamped Slack day files with no message of their channel within a day of their date.

    A day file is named by the exporter's local date, so a message may sit a UTC day either side.
    """
    channels = _rows(con, "SELECT channel_id, name FROM slack_channels")
    by_folder = {cid: cid for cid, _ in channels} | {name: cid for cid, name in channels if name}
    days = []
    for (path,) in _rows(con, "SELECT path FROM file_stamps WHERE table_name = 'slack_messages' ORDER BY 1"):
        match = _DAY_FILE.match(path)
        if match and match.group(1) in by_folder:
            days.append((path, by_folder[match.group(1)], match.group(2)))
    if not days:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE _doctor_days (path VARCHAR, channel_id VARCHAR, day DATE)")
    con.executemany("INSERT INTO _doctor_days VALUES (?, ?, ?)", days)
    rows = _rows(
        con,
        "SELECT d.path FROM _doctor_days d WHERE NOT EXISTS (SELECT 1 FROM slack_messages m "
        "WHERE m.channel_id = d.channel_id AND m.posted_at >= d.day - INTERVAL 1 DAY "
        "AND m.posted_at < d.day + INTERVAL 2 DAY) ORDER BY 1",
    )
    con.execute("DROP TABLE _doctor_days")
    return [r[0] for r in rows]


def cursor_findings(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Find live-collection cursors past data the state does not hold (so the next run would skip it)."""
    rows = _rows(
        con,
        "SELECT c.source, c.key FROM cursors c WHERE c.source = 'slack' AND NOT EXISTS (SELECT 1 FROM "
        "slack_messages m WHERE m.channel_id = split_part(c.key, '/', 1)) "
        "UNION ALL SELECT source, key FROM cursors WHERE source = 'drive' "
        "AND NOT EXISTS (SELECT 1 FROM drive_files) ORDER BY 1, 2",
    )
    if not rows:
        return []
    keys = [f"{s}:{k}" for s, k in rows]
    return [
        Finding(
            ERROR,
            "cursor-without-rows",
            f"{len(keys)} live-collection cursors point past data the state does not hold: {_examples(keys)}",
            "run `meetintel doctor --repair`: it drops those cursors so the next live run fetches it again",
            tuple(keys),
        )
    ]


def pending_findings(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Find messages queued for detection that are not stored, and stored messages never detected."""
    findings = []
    orphans = int(
        _rows(
            con,
            "SELECT count(*) FROM pending_detection p WHERE NOT EXISTS (SELECT 1 FROM slack_messages m "
            "WHERE m.channel_id = p.channel_id AND m.ts = p.ts)",
        )[0][0]
    )
    if orphans:
        findings.append(
            Finding(
                WARNING,
                "pending-without-message",
                f"{orphans} messages are queued for detection but not stored",
                "run `meetintel doctor --repair`: it removes them from the queue",
            )
        )
    messages = int(_rows(con, "SELECT count(*) FROM slack_messages")[0][0])
    pending = int(_rows(con, "SELECT count(*) FROM pending_detection")[0][0])
    if messages and not pending and "evidence" not in _tables(con):
        findings.append(
            Finding(
                ERROR,
                "evidence-missing",
                f"{messages} messages are stored and none awaits detection, but there is no evidence table",
                "run `meetintel doctor --repair`: it queues every message for detection again",
            )
        )
    return findings


def derived_findings(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Find derived tables built from older raw data, or missing while marked up to date."""
    meta = dict(_rows(con, "SELECT key, value FROM state_meta"))
    raw = meta.get("raw_version", "0")
    findings = []
    behind = [
        f"{k.removesuffix('_version')} at version {meta[k]}" for k in VERSIONS if k in meta and meta[k] != raw
    ]
    if behind:
        findings.append(
            Finding(
                WARNING,
                "derived-stale",
                f"derived data was built from older raw data (raw version {raw}; {', '.join(behind)}), "
                "as after an interrupted run",
                "run `meetintel run` (it rebuilds them), or `meetintel doctor --repair` to clear them first",
            )
        )
    tables = _tables(con)
    current = meta.get("aggregated_version") == raw or meta.get("correlated_version") == raw
    absent = [t for t in DERIVED if t not in tables and t != "evidence"]
    if current and absent:
        findings.append(
            Finding(
                ERROR,
                "derived-missing",
                f"derived tables are marked current (raw version {raw}) but missing: {', '.join(absent)}",
                "run `meetintel doctor --repair`: it clears the derived versions; the next run rebuilds them",
            )
        )
    return findings


def ledger_findings(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Find runs the ledger still shows as running: killed or crashed before they could close."""
    rows = _rows(con, "SELECT run_id FROM runs WHERE status = 'running' ORDER BY started_at")
    if not rows:
        return []
    ids = [r[0] for r in rows]
    return [
        Finding(
            INFO,
            "run-interrupted",
            f"{len(ids)} runs never finished (killed or crashed): {_examples(ids)}; what they committed is "
            "kept and the next run resumes from it",
            "nothing needed; `meetintel doctor --repair` marks them failed in the ledger",
            tuple(ids),
        )
    ]
