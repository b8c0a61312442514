"""The Excel workbook: Summary, one sheet per flat report table, and Rollups, streamed from DuckDB.

Cells carry real types (times as Excel dates in the stated time zone, numbers as numbers, booleans as
booleans); headers are styled and frozen with an autofilter; Slack messages, calendar events and Drive files
are hyperlinks. Text obeys the CSV writer's formula rule (`exports.tabular.FORMULA_LEADS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from core.files import atomic_target
from core.sql import columns, ident
from core.tables import ROLLUP_PREFIX
from exports._figures import LINKED, headline
from exports._sql import calendar_links_sql, check_tz, require_reports, rollup_tables, slack_link_sql
from exports._xlsx import MAX_ROWS, Col, Sheet, Style, XlsxBook, letter, width_sql

SHEETS = ["Summary", "Meetings", "Participants", "Evidence", "Documents", "People", "Rollups"]


@dataclass(frozen=True)
class _Spec:
    """A data sheet: its name, the query giving its rows in order, and which columns are links."""

    sheet: str
    select: str
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Written:
    """What a data sheet ended up holding, for the Summary."""

    sheet: str
    rows: int
    note: str


def write_workbook(con: duckdb.DuckDBPyConnection, target: Path, *, tz: str = "UTC") -> Path:
    """Write the report workbook to `target` (through a temporary name); give its path."""
    check_tz(tz)
    require_reports(con)
    rollups = rollup_tables(con)
    names = SHEETS if rollups else SHEETS[:-1]
    with atomic_target(target) as tmp:
        book = XlsxBook(tmp, names)
        try:
            written = [_data_sheet(con, book, spec, tz) for spec in _specs(con)]
            if rollups:
                written.append(_rollups_sheet(con, book, rollups, tz))
            _summary_sheet(con, book, tz, written)
        except BaseException:
            book.abort()
            raise
        book.close()
    return target


def _specs(con: duckdb.DuckDBPyConnection) -> list[_Spec]:
    """Give the data sheets: each flat report table in its report order, with link columns added."""
    slack = slack_link_sql(con)
    calendar = calendar_links_sql(con)
    cal_join = (
        f"LEFT JOIN ({calendar}) cal ON cal.event_id = m.calendar_event_id"
        if calendar
        else "LEFT JOIN (SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS html_link) cal ON false"
    )
    first_message = f"""
        SELECT meeting_id AS _mid, arg_min({slack("channel_id", "ts", "thread_ts")}, posted_at) AS slack_link
        FROM report_evidence WHERE {LINKED} GROUP BY meeting_id"""
    meetings = f"""
        SELECT m.*, cal.html_link AS calendar_link, sl.slack_link
        FROM report_meetings m {cal_join} LEFT JOIN ({first_message}) sl ON sl._mid = m.meeting_id
        ORDER BY m.start, m.meeting_id"""
    evidence = f"""
        SELECT e.*, {slack("e.channel_id", "e.ts", "e.thread_ts")} AS slack_link
        FROM report_evidence e ORDER BY e.posted_at, e.channel_id, e.ts"""
    return [
        _Spec("Meetings", meetings, ("calendar_link", "slack_link")),
        _Spec("Participants", "SELECT * FROM report_participants ORDER BY meeting_id, email, person_id"),
        _Spec("Evidence", evidence, ("slack_link",)),
        _Spec("Documents", "SELECT * FROM report_documents ORDER BY meeting_id, file_id", ("url",)),
        _Spec("People", "SELECT * FROM report_people ORDER BY person_id"),
    ]


def _cols(con: duckdb.DuckDBPyConnection, select: str, tz: str, links: tuple[str, ...] = ()) -> list[Col]:
    """Give the columns of `select`, time columns headed with the time zone they are shown in."""
    return [
        Col(name, dtype, f"{name} ({tz})" if dtype.startswith("TIMESTAMP") else name, name in links)
        for name, dtype in columns(con, select)
    ]


def _widths(con: duckdb.DuckDBPyConnection, select: str, cols: list[Col]) -> list[float]:
    return [float(w) for w in con.execute(f"{width_sql(cols)} FROM ({select})").fetchall()[0]]


def _count(con: duckdb.DuckDBPyConnection, select: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM ({select})").fetchall()[0][0])


def _data_sheet(con: duckdb.DuckDBPyConnection, book: XlsxBook, spec: _Spec, tz: str) -> _Written:
    """Write one table sheet: styled frozen header, autofilter, typed rows, hyperlinks."""
    cols = _cols(con, spec.select, tz, spec.links)
    total = _count(con, spec.select)
    limit = min(total, MAX_ROWS - 1)
    sheet = book.sheet(spec.sheet, len(cols), _widths(con, spec.select, cols), limit + 1, freeze=True)
    sheet.row([c.header for c in cols], Style.HEADER)
    rows = sheet.stream(con, spec.select, cols, tz, limit)
    sheet.autofilter = f"A1:{letter(len(cols) - 1)}{rows + 1}"
    book.finish(sheet)
    return _Written(spec.sheet, rows, _note(total, rows, sheet))


def _note(total: int, rows: int, sheet: Sheet) -> str:
    notes = []
    if rows < total:
        notes.append(f"first {rows:,} of {total:,} rows (Excel's sheet limit); the CSV file has all")
    if sheet.links_dropped:
        notes.append(
            f"links on the first {sheet.links_kept:,} only (Excel's per-sheet limit); later URLs are text"
        )
    return "; ".join(notes)


def _rollups_sheet(con: duckdb.DuckDBPyConnection, book: XlsxBook, tables: list[str], tz: str) -> _Written:
    """Write every report_rollup_* table as a titled block, one under the other."""
    blocks = [(t, f"SELECT * FROM {ident(t)}") for t in tables]
    specs = [(t, sql, _cols(con, sql, tz), _count(con, sql)) for t, sql in blocks]
    ncols = max(len(cols) for _, _, cols, _ in specs)
    widths = [0.0] * ncols
    for _, sql, cols, _ in specs:
        for i, w in enumerate(_widths(con, sql, cols)):
            widths[i] = max(widths[i], w)
    nrows = sum(3 + n for *_, n in specs)
    sheet = book.sheet("Rollups", ncols, widths, nrows, freeze=False)
    rows = 0
    for table, sql, cols, n in specs:
        if sheet.rows + 3 >= MAX_ROWS:
            break
        sheet.row([table.removeprefix(ROLLUP_PREFIX)], Style.TITLE)
        sheet.row([c.header for c in cols], Style.HEADER)
        rows += sheet.stream(con, sql, cols, tz, min(n, MAX_ROWS - sheet.rows - 1))
        sheet.skip()
    book.finish(sheet)
    total = sum(n for *_, n in specs)
    return _Written("Rollups", rows, _note(total, rows, sheet))


def _summary_sheet(con: duckdb.DuckDBPyConnection, book: XlsxBook, tz: str, written: list[_Written]) -> None:
    """Write the Summary: headline figures, then what each sheet holds."""
    figures = headline(con, tz)
    nrows = 5 + len(figures) + 2 + len(written)
    sheet = book.sheet("Summary", 3, [30.0, 20.0, 70.0], nrows, freeze=False)
    now = datetime.now(UTC).astimezone(ZoneInfo(tz))
    sheet.row(["meetintel report"], Style.TITLE)
    sheet.row(["Times shown in", tz, "every date and time in this workbook is wall-clock time in this zone"])
    sheet.row(["Generated", now.replace(tzinfo=None), tz])
    sheet.skip()
    sheet.row(["Figure", "Value", "How it is counted"], Style.HEADER)
    for f in figures:
        style = (
            Style.COUNT if isinstance(f.value, int) else Style.DECIMAL if isinstance(f.value, float) else None
        )
        sheet.row([f.label, f.value, f.note], styles=[Style.DEFAULT, style or Style.DEFAULT, Style.DEFAULT])
    sheet.skip()
    sheet.row(["Sheet", "Rows", "Note"], Style.HEADER)
    for w in written:
        sheet.row([w.sheet, w.rows, w.note or None], styles=[Style.DEFAULT, Style.COUNT, Style.DEFAULT])
    book.finish(sheet)
