"""The Excel workbook: Summary, one sheet per flat report table, and Rollups, streamed from DuckDB.

Cells carry real types (times as Excel dates in the stated time zone, numbers as numbers, booleans as
booleans); headers are styled and frozen with an autofilter; Slack messages, calendar events and Drive files
are hyperlinks. Text obeys the CSV writer's formula rule (`exports.tabular.FORMULA_LEADS`).

`sheet_plan` says what each sheet holds (columns, widths, the SQL of its cell values in order) and
`summary_rows` what the Summary shows; `write_workbook` writes both with the streaming writer of
`exports._xlsx`, and another writer can write the same content from them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from core.files import atomic_target
from core.sql import columns, ident
from core.tables import ROLLUP_PREFIX
from exports._figures import LINKED, headline
from exports._sql import calendar_links_sql, check_tz, require_reports, rollup_tables, slack_link_sql
from exports._xlsx import MAX_ROWS, Col, Sheet, Style, XlsxBook, letter, values_sql, width_sql

SUMMARY = "Summary"
SUMMARY_WIDTHS = (30.0, 20.0, 70.0)
# A cell of a row built in Python (the Summary's): its value and its style.
Cell = tuple[object, Style]


@dataclass(frozen=True)
class Block:
    """A table in a sheet: an optional title row, a header row, then `rows` of its `total` rows.

    `source` is what the rows are read from (SQL after FROM: a table, or a query in parentheses) and
    `order` the columns (or `rowid`, the table's own order) they are sorted by; `select` gives the cells.
    """

    title: str | None
    columns: tuple[Col, ...]
    source: str
    order: tuple[str, ...]
    rows: int
    total: int
    tz: str

    @property
    def select(self) -> str:
        """SQL giving the block's rows in order: each column's cell value v<i>, then each link column's
        followable URL u<i> (NULL: the text stays plain). Text is cleaned and formula-safe but not
        XML-escaped, empty text is NULL, and times are naive wall-clock time in `tz`."""
        return values_sql(self.source, list(self.columns), self.order, self.tz, self.rows)


@dataclass(frozen=True)
class SheetPlan:
    """A sheet: its name, column widths and blocks, and the rows of the report tables behind it.

    A table sheet (`freeze`) has one block whose header is frozen and filtered; Rollups stacks titled
    blocks with a blank row after each; the Summary has no blocks (`summary_rows` gives its rows).
    """

    name: str
    widths: tuple[float, ...]
    blocks: tuple[Block, ...] = ()
    freeze: bool = False
    total: int = 0

    @property
    def last_row(self) -> int:
        """Give the number of the sheet's last row (the blank row after a titled block included)."""
        return sum(b.rows + (3 if b.title is not None else 1) for b in self.blocks)


@dataclass(frozen=True)
class Written:
    """What a sheet ended up holding, for the Summary: its rows and what Excel's limits left out."""

    sheet: str
    rows: int
    note: str = ""


@dataclass(frozen=True)
class _Spec:
    """A table sheet: its name, what its rows are read from, the columns they are sorted by, its links."""

    sheet: str
    source: str
    order: tuple[str, ...]
    links: tuple[str, ...] = ()


def write_workbook(con: duckdb.DuckDBPyConnection, target: Path, *, tz: str = "UTC") -> Path:
    """Write the report workbook to `target` (through a temporary name); give its path."""
    summary, *sheets = sheet_plan(con, tz)
    with atomic_target(target) as tmp:
        book = XlsxBook(tmp, [summary.name, *(s.name for s in sheets)])
        try:
            written = [_write_sheet(con, book, plan) for plan in sheets]
            _summary_sheet(book, summary, summary_rows(con, tz, written))
        except BaseException:
            book.abort()
            raise
        book.close()
    return target


def sheet_plan(con: duckdb.DuckDBPyConnection, tz: str = "UTC") -> list[SheetPlan]:
    """Give the workbook's sheets in order: the Summary, one sheet per flat report table, then Rollups
    when there are `report_rollup_*` tables; times are shown in `tz`."""
    check_tz(tz)
    require_reports(con)
    sheets = [SheetPlan(SUMMARY, SUMMARY_WIDTHS)]
    for spec in _specs(con):
        block = _block(con, spec.source, spec.order, tz, links=spec.links)
        widths = tuple(c.width for c in block.columns)
        sheets.append(SheetPlan(spec.sheet, widths, (block,), freeze=True, total=block.total))
    rollups = rollup_tables(con)
    return [*sheets, _rollups_plan(con, rollups, tz)] if rollups else sheets


def _specs(con: duckdb.DuckDBPyConnection) -> list[_Spec]:
    """Give the table sheets: each flat report table in its report order, with link columns added."""
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
    meetings = f"""(
        SELECT m.*, cal.html_link AS calendar_link, sl.slack_link
        FROM report_meetings m {cal_join} LEFT JOIN ({first_message}) sl ON sl._mid = m.meeting_id)"""
    evidence = f"""(
        SELECT e.*, {slack("e.channel_id", "e.ts", "e.thread_ts")} AS slack_link FROM report_evidence e)"""
    return [
        _Spec("Meetings", meetings, ("start", "meeting_id"), ("calendar_link", "slack_link")),
        _Spec("Participants", "report_participants", ("meeting_id", "email", "person_id")),
        _Spec("Evidence", evidence, ("posted_at", "channel_id", "ts"), ("slack_link",)),
        _Spec("Documents", "report_documents", ("meeting_id", "file_id"), ("url",)),
        _Spec("People", "report_people", ("person_id",)),
    ]


def _block(
    con: duckdb.DuckDBPyConnection,
    source: str,
    order: tuple[str, ...],
    tz: str,
    *,
    links: tuple[str, ...] = (),
    title: str | None = None,
) -> Block:
    """Give the block of `source`: its columns (time columns headed with their time zone) and widths, and
    as many of its rows as a sheet holds under its header."""
    cols = [
        Col(name, dtype, f"{name} ({tz})" if dtype.startswith("TIMESTAMP") else name, name in links)
        for name, dtype in columns(con, f"SELECT * FROM {source}")
    ]
    widths = con.execute(f"{width_sql(cols)} FROM {source}").fetchall()[0]
    cols = [replace(c, width=float(w)) for c, w in zip(cols, widths, strict=True)]
    total = int(con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])
    return Block(title, tuple(cols), source, order, min(total, MAX_ROWS - 1), total, tz)


def _rollups_plan(con: duckdb.DuckDBPyConnection, tables: list[str], tz: str) -> SheetPlan:
    """Give Rollups: every report_rollup_* table as a titled block in its stored order, one under the other,
    as far as Excel's rows reach."""
    blocks = [_block(con, ident(t), ("rowid",), tz, title=t.removeprefix(ROLLUP_PREFIX)) for t in tables]
    widths = tuple(map(max, zip_longest(*([c.width for c in b.columns] for b in blocks), fillvalue=0.0)))
    fitted: list[Block] = []
    used = 0
    for block in blocks:
        room = MAX_ROWS - used - 3  # the title, header and blank rows come with every block
        if room <= 0:
            break
        fitted.append(replace(block, rows=min(block.total, room)))
        used += 3 + fitted[-1].rows
    return SheetPlan("Rollups", widths, tuple(fitted), total=sum(b.total for b in blocks))


def summary_rows(con: duckdb.DuckDBPyConnection, tz: str, written: list[Written]) -> list[list[Cell]]:
    """Give the Summary's rows of (value, style) cells, [] for a blank row: title, time zone and time of
    writing, the headline figures, then what each sheet holds."""
    d, h = Style.DEFAULT, Style.HEADER
    now = datetime.now(UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    zone_note = "every date and time in this workbook is wall-clock time in this zone"
    rows: list[list[Cell]] = [
        [("meetintel report", Style.TITLE)],
        [("Times shown in", d), (tz, d), (zone_note, d)],
        [("Generated", d), (now, Style.DATETIME), (tz, d)],
        [],
        [("Figure", h), ("Value", h), ("How it is counted", h)],
    ]
    rows += [[(f.label, d), (f.value, _figure_style(f.value)), (f.note, d)] for f in headline(con, tz)]
    rows += [[], [("Sheet", h), ("Rows", h), ("Note", h)]]
    rows += [[(w.sheet, d), (w.rows, Style.COUNT), (w.note or None, d)] for w in written]
    return rows


def _figure_style(value: object) -> Style:
    if isinstance(value, datetime):
        return Style.DATETIME
    if isinstance(value, float):
        return Style.DECIMAL
    return Style.COUNT if isinstance(value, int) else Style.DEFAULT


def _write_sheet(con: duckdb.DuckDBPyConnection, book: XlsxBook, plan: SheetPlan) -> Written:
    """Write a planned sheet: each block's title and styled header, then its typed rows and hyperlinks."""
    sheet = book.sheet(plan.name, len(plan.widths), list(plan.widths), plan.last_row, freeze=plan.freeze)
    rows = 0
    for block in plan.blocks:
        cols = list(block.columns)
        if block.title is not None:
            sheet.row([block.title], Style.TITLE)
        sheet.row([c.header for c in cols], Style.HEADER)
        values = values_sql(block.source, cols, block.order, block.tz, block.rows, xml=True)
        rows += sheet.stream(con, values, cols)
        if block.title is not None:
            sheet.skip()
    if plan.freeze:
        sheet.autofilter = f"A1:{letter(len(plan.widths) - 1)}{sheet.rows}"
    book.finish(sheet)
    return Written(plan.name, rows, _note(plan.total, rows, sheet))


def _note(total: int, rows: int, sheet: Sheet) -> str:
    notes = []
    if rows < total:
        notes.append(f"first {rows:,} of {total:,} rows (Excel's sheet limit); the CSV file has all")
    if sheet.links_dropped:
        notes.append(
            f"links on the first {sheet.links_kept:,} only (Excel's per-sheet limit); later URLs are text"
        )
    return "; ".join(notes)


def _summary_sheet(book: XlsxBook, plan: SheetPlan, rows: list[list[Cell]]) -> None:
    """Write the Summary's rows."""
    sheet = book.sheet(plan.name, len(plan.widths), list(plan.widths), len(rows), freeze=False)
    for cells in rows:
        if cells:
            sheet.row([value for value, _ in cells], styles=[style for _, style in cells])
        else:
            sheet.skip()
    book.finish(sheet)
