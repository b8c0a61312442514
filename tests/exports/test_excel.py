"""Excel workbook: sheets, real types in the stated time zone, styled frozen headers, links, formula safety,
limits and streaming at scale."""

from __future__ import annotations

import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import openpyxl
import psutil
import pytest

import exports._xlsx
import exports.excel
from core.errors import ConfigurationError
from exports.excel import sheet_plan, write_workbook
from exports.tabular import FORMULA_LEADS
from tests.exports.report_builders import (
    CMD,
    FORMULA,
    JS_URL,
    M1,
    M3,
    M5,
    M6,
    XSS_IMG,
    XSS_SCRIPT,
    big_reports,
    hostile_reports,
)

SHEETS = ["Summary", "Meetings", "Participants", "Evidence", "Documents", "People"]
# DuckDB's rows per row group: threads share a scan by row groups, so a smaller table never shows a sort's
# rows reaching the reader out of order.
ROW_GROUP = 122_880


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    hostile_reports(c)
    return c


def _sheet(path: Path, name: str) -> list[dict[str, object]]:
    """Give a data sheet's rows as dicts keyed by header."""
    ws = openpyxl.load_workbook(path)[name]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _cells(path: Path, name: str, header: str) -> list[openpyxl.cell.Cell]:
    """Give the cells of one column (below the header) of a data sheet."""
    ws = openpyxl.load_workbook(path)[name]
    col = [c.value for c in ws[1]].index(header) + 1
    return [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]


def test_sheets_come_in_order_and_rollups_only_when_present(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    plain = write_workbook(con, tmp_path / "plain.xlsx")
    assert openpyxl.load_workbook(plain).sheetnames == SHEETS
    hostile_reports(con, rollups=True)
    with_rollups = write_workbook(con, tmp_path / "rollups.xlsx")
    assert openpyxl.load_workbook(with_rollups).sheetnames == [*SHEETS, "Rollups"]
    rows = list(openpyxl.load_workbook(with_rollups)["Rollups"].iter_rows(values_only=True))
    assert rows == [
        ("teams", None, None),
        ("department", "person_hours", None),
        ("Engineering", 6.92, None),
        ("'=Ops", 1.0, None),
        (None, None, None),
        ("weekly", None, None),
        ("week", "meetings", "hours"),
        (datetime(2026, 9, 7), 4, 3.25),
        (datetime(2026, 9, 14), 3, 3.0),
    ]


def test_times_are_excel_dates_in_the_stated_time_zone(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    berlin = write_workbook(con, tmp_path / "berlin.xlsx", tz="Europe/Berlin")
    meetings = _sheet(berlin, "Meetings")
    assert [m["start (Europe/Berlin)"] for m in meetings][:2] == [
        datetime(2026, 9, 7, 11),
        datetime(2026, 9, 8, 15, 30),
    ]
    assert meetings[0]["end (Europe/Berlin)"] == datetime(2026, 9, 7, 12)
    assert _sheet(berlin, "Evidence")[0]["posted_at (Europe/Berlin)"] == datetime(2026, 9, 7, 9)
    assert _cells(berlin, "Meetings", "start (Europe/Berlin)")[0].number_format == "yyyy-mm-dd hh:mm"
    utc = write_workbook(con, tmp_path / "utc.xlsx")
    assert _sheet(utc, "Meetings")[0]["start (UTC)"] == datetime(2026, 9, 7, 9)


def test_numbers_and_booleans_keep_their_types(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_workbook(con, tmp_path / "r.xlsx")
    first = _sheet(path, "Meetings")[0]
    assert (first["duration_minutes"], first["invited"], first["person_hours"], first["score"]) == (
        60,
        3,
        3,
        0.92,
    )
    assert isinstance(first["invited"], int) and isinstance(first["score"], float)
    participant = _sheet(path, "Participants")[0]
    assert (participant["internal"], participant["invited"], participant["optional"]) == (True, True, False)
    assert [r["internal"] for r in _sheet(path, "People")] == [True, True, True, True, False]


def test_header_row_is_styled_frozen_and_filtered(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_workbook(con, tmp_path / "r.xlsx", tz="Europe/Berlin")
    wb = openpyxl.load_workbook(path)
    for name, ref in [
        ("Meetings", "A1:AQ7"),
        ("Participants", "A1:Q17"),
        ("Evidence", "A1:N11"),
        ("Documents", "A1:F4"),
        ("People", "A1:K6"),
    ]:
        ws = wb[name]
        assert (ws.freeze_panes, ws.auto_filter.ref) == ("A2", ref)
        head = ws["A1"]
        assert (head.font.b, head.font.color.rgb, head.fill.fgColor.rgb) == (True, "FFFFFFFF", "FF1F4E79")
    widths = wb["Meetings"].column_dimensions
    # start: its header "start (Europe/Berlin)" plus padding; title: capped at 60; time_zone: its text + 2.
    assert (widths["H"].width, widths["G"].width, widths["K"].width) == (24.0, 60.0, 15.0)


def test_links_open_the_calendar_event_the_slack_message_and_the_drive_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_workbook(con, tmp_path / "r.xlsx")
    calendar = [
        c.hyperlink.target if c.hyperlink else None for c in _cells(path, "Meetings", "calendar_link")
    ]
    assert calendar == [
        "https://www.google.com/calendar/event?eid=ZXYxXzIwMjYwOTA3VDA5MDAwMFo",
        "https://www.google.com/calendar/event?eid=ZXYy",
        None,
        None,
        "https://www.google.com/calendar/event?eid=ZXY1",
        None,  # ev6's html_link is a javascript: URL: shown as text, never followed
    ]
    assert _cells(path, "Meetings", "calendar_link")[5].value == JS_URL
    slack = _cells(path, "Evidence", "slack_link")
    assert (
        slack[0].hyperlink.target == "https://slack.com/app_redirect?channel=C1&message_ts=1788764400.000100"
    )
    assert slack[0].font.u == "single"
    first = {m["meeting_id"]: m["slack_link"] for m in _sheet(path, "Meetings")}
    assert first[M5] == "https://slack.com/app_redirect?channel=C3&message_ts=1789538400.000100"
    assert first[M6] is None
    drive = {c.value: c.hyperlink.target if c.hyperlink else None for c in _cells(path, "Documents", "url")}
    assert drive == {
        "https://docs.google.com/document/d/F1/edit": "https://docs.google.com/document/d/F1/edit",
        "https://docs.google.com/spreadsheets/d/F3/edit": "https://docs.google.com/spreadsheets/d/F3/edit",
        JS_URL: None,
    }


def test_a_stored_workspace_url_gives_slack_permalinks(tmp_path: Path) -> None:
    con = duckdb.connect()
    hostile_reports(con, workspace="https://acme.slack.com/")
    path = write_workbook(con, tmp_path / "r.xlsx")
    links = [c.hyperlink.target for c in _cells(path, "Evidence", "slack_link")[:3]]
    assert links == [
        "https://acme.slack.com/archives/C1/p1788764400000100",
        "https://acme.slack.com/archives/C1/p1788771600000200",
        "https://acme.slack.com/archives/C1/p1788775800000300?thread_ts=1788771600.000200&cid=C1",
    ]


def test_no_text_cell_can_start_a_formula(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    hostile_reports(con, rollups=True)
    path = write_workbook(con, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    texts = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert [c.coordinate for c in texts if c.data_type == "f" or c.value.startswith(FORMULA_LEADS)] == []
    titles = [m["title"] for m in _sheet(path, "Meetings")]
    assert titles == [
        "Weekly sync",
        "'" + FORMULA,
        XSS_IMG,
        "'+SUM(1,2)",
        "Quarterly planning " + XSS_SCRIPT,
        "bellring _x005F_x0041_ @standup",
    ]
    assert _sheet(path, "Evidence")[2]["matched"] == "'" + CMD
    assert [d["name"] for d in _sheet(path, "Documents")] == ["Sync notes", "'-Q3 plan", XSS_IMG + ".pdf"]
    assert [p["department"] for p in _sheet(path, "People")][3] == "'=Ops"
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in xml and "<f " not in xml


def test_summary_gives_headline_figures_and_what_each_sheet_holds(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_workbook(con, tmp_path / "r.xlsx", tz="Europe/Berlin")
    rows = list(openpyxl.load_workbook(path)["Summary"].iter_rows(values_only=True))
    assert rows[:2] == [("meetintel report", None, None), ("Times shown in", "Europe/Berlin", rows[1][2])]
    assert [(r[0], r[1]) for r in rows[5:18]] == [
        ("Meetings", 6),
        ("Held", 5),
        ("Cancelled", 1),
        ("Scheduled (held)", 3),
        ("Ad hoc (held)", 2),
        ("Meeting hours", 4.3),
        ("Person-hours", 11.7),
        ("People in held meetings", 5),
        ("Linked Slack messages", 9),
        ("Unlinked Slack messages", 1),
        ("Documents", 3),
        ("First meeting", datetime(2026, 9, 7, 11)),
        ("Last meeting", datetime(2026, 9, 17, 9)),
    ]
    assert rows[19:] == [
        ("Sheet", "Rows", "Note"),
        ("Meetings", 6, None),
        ("Participants", 16, None),
        ("Evidence", 10, None),
        ("Documents", 3, None),
        ("People", 5, None),
    ]


def test_sheet_and_hyperlink_limits_are_honoured_and_noted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports.excel, "MAX_ROWS", 5)
    monkeypatch.setattr(exports._xlsx, "MAX_LINKS", 2)
    path = write_workbook(con, tmp_path / "r.xlsx")
    assert [m["meeting_id"] for m in _sheet(path, "Meetings")] == [
        M1,
        "cal:ev2",
        M3,
        "call:C1:1789488000.000200",
    ]
    assert [bool(c.hyperlink) for c in _cells(path, "Evidence", "slack_link")] == [True, True, False, False]
    notes = {
        r[0]: r[2] for r in openpyxl.load_workbook(path)["Summary"].iter_rows(min_row=20, values_only=True)
    }
    assert notes["Meetings"] == (
        "first 4 of 6 rows (Excel's sheet limit); the CSV file has all; "
        "links on the first 2 only (Excel's per-sheet limit); later URLs are text"
    )
    assert notes["Evidence"] == (
        "first 4 of 10 rows (Excel's sheet limit); the CSV file has all; "
        "links on the first 2 only (Excel's per-sheet limit); later URLs are text"
    )


def test_bad_time_zone_and_missing_tables_say_what_to_do(tmp_path: Path) -> None:
    con = duckdb.connect()
    hostile_reports(con)
    with pytest.raises(ConfigurationError, match="unknown time zone 'Mars/Base'"):
        write_workbook(con, tmp_path / "r.xlsx", tz="Mars/Base")
    con.execute("DROP TABLE report_evidence")
    with pytest.raises(ConfigurationError, match="report table 'report_evidence' is missing.*meetintel run"):
        write_workbook(con, tmp_path / "r.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_workbook_and_no_temporary_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"previous")

    def boom(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports.excel, "_summary_sheet", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_workbook(con, target)
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]
    assert target.read_bytes() == b"previous"


@pytest.mark.slow
def test_a_large_org_streams_every_row_in_bounded_memory(tmp_path: Path) -> None:
    """40,000 meetings, 200,000 participants, 100,000 evidence rows: every row written, in bounded memory.
    (Its speed is measured by `make bench`.)"""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    big_reports(con, 40_000)
    proc = psutil.Process()
    base = peak = proc.memory_info().rss
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        path = write_workbook(con, tmp_path / "big.xlsx", tz="Europe/Berlin")
    finally:
        done.set()
        watcher.join()
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = {name: wb[name].max_row - 1 for name in SHEETS[1:]}
    assert rows == {
        "Meetings": 40_000,
        "Participants": 200_000,
        "Evidence": 100_000,
        "Documents": 10_000,
        "People": 600,
    }
    # Measured 185-215 MB on 2 cores (the sorted cell values wait in a temp table while the rows stream);
    # the bound leaves room for other allocators.
    assert (peak - base) / 2**20 < 250, f"used {(peak - base) / 2**20:.0f} MB more"


def _many_participants(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Give `con` the hostile org with `rows` participants, stored in another order than their sheet's."""
    hostile_reports(con)
    con.execute("DELETE FROM report_participants")
    # i * 7919 % rows runs through 0..rows-1 in a scattered order (7919 is a prime not dividing rows).
    con.execute(
        f"""
        INSERT INTO report_participants (meeting_id, person_id, email, name, internal, response_status)
        SELECT 'm' || lpad((i * 7919 % {rows} // 5)::VARCHAR, 6, '0'), 'd-' || i,
            'person' || (i % 997) || '@acme.example', 'Person ' || i, i % 3 = 0, 'accepted'
        FROM range({rows}) t(i)
        """
    )


def _misplaced(got: list[tuple[object, ...]], want: list[tuple[object, ...]]) -> tuple[int, int]:
    """Give how many rows `got` has and how many of them stand where `want` has another row."""
    return len(got), sum(a != b for a, b in zip(got, want, strict=False))


@pytest.mark.slow
def test_rows_come_in_their_sheets_order_on_several_threads(tmp_path: Path) -> None:
    """Participants come sorted by meeting, email and person from more rows than one row group on two
    threads, in the workbook and in the plan's SELECT another writer reads: DuckDB keeps only the outermost
    ORDER BY."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    _many_participants(con, ROW_GROUP + 7_120)
    keys = ("meeting_id", "email", "person_id")
    want = con.execute(f"SELECT {', '.join(keys)} FROM report_participants ORDER BY ALL").fetchall()
    block = next(p for p in sheet_plan(con) if p.name == "Participants").blocks[0]
    at = [[c.name for c in block.columns].index(k) for k in keys]
    planned = [
        tuple(row[i] for i in at)
        for batch in con.sql(block.select).to_arrow_reader(2_048)
        for row in zip(*(column.to_pylist() for column in batch.columns), strict=True)
    ]
    assert _misplaced(planned, want) == (len(want), 0)
    ws = openpyxl.load_workbook(write_workbook(con, tmp_path / "r.xlsx"), read_only=True)["Participants"]
    written = [tuple(row[i] for i in at) for row in ws.iter_rows(min_row=2, values_only=True)]
    assert _misplaced(written, want) == (len(want), 0)


def _empty(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("meetings", "participants", "evidence", "documents", "people"):
        con.execute(f"DELETE FROM report_{name}")


def test_an_org_without_meetings_gives_headers_and_zero_figures(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _empty(con)
    wb = openpyxl.load_workbook(write_workbook(con, tmp_path / "r.xlsx"))
    assert [(ws.title, ws.max_row) for ws in wb] == [("Summary", 25), *[(s, 1) for s in SHEETS[1:]]]
    assert wb["Meetings"].auto_filter.ref == "A1:AQ1"
    figures = [r[1] for r in wb["Summary"].iter_rows(min_row=6, max_row=18, values_only=True)]
    assert figures == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None]
