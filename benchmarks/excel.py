"""Time three Excel writers on the M and L orgs' report tables (BENCHMARKS.md, section "Excel writer").

a. handmade: `exports.write_workbook`, the SpreadsheetML writer that renders cells in DuckDB;
b. openpyxl: openpyxl's write-only mode (with lxml, which openpyxl uses when it is installed);
c. xlsxwriter: XlsxWriter with `constant_memory`.

All three write what `exports.sheet_plan` and `exports.summary_rows` describe: the same sheets, rows,
columns, values, widths, links and styles. The library writers read each block's `select` (the hand-made
writer's SQL up to its XML escaping: control characters dropped, at most 32,000 characters, formula leads
neutralised, times in the stated zone) in Arrow batches, and Python hands each value to the library. Every
timed write runs in its own child process, so its peak RSS (from wait4) is its own. The states are built
once per size under bench-data/excel/.

Unlike the hand-made writer, the library writers here do not turn infinite numbers or dates before 1900 into
text: generated orgs have none (`--check` compares every value). `make bench` runs this after
benchmarks/run.py, which rewrites BENCHMARKS.md, so `--write` puts this section back.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any, Protocol

import duckdb

from exports import MAX_LINKS, Col, SheetPlan, Style, Written, sheet_plan, summary_rows, write_workbook
from sandbox import SIZES, generate_workspace

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench-data" / "excel"
WRITERS = ("handmade", "openpyxl", "xlsxwriter")
RUNS = {"S": 3, "M": 3, "L": 2}
BATCH_ROWS = 2_048
Cell = tuple[object, Style]


# ---- states -------------------------------------------------------------------------------------------


def build_state(size: str) -> Path:
    """Give the state file of the `size` org (seed 1), generating and running the pipeline once if needed."""
    people, days = SIZES[size]
    folder, wanted = DATA / size, {"people": people, "days": days, "seed": 1}
    state, built = folder / "state.duckdb", folder / "built.json"
    if state.exists() and built.exists() and json.loads(built.read_text()) == wanted:
        return state
    shutil.rmtree(folder, ignore_errors=True)
    print(f"building the {size} state (generate, then the pipeline)…", flush=True)
    generate_workspace(folder / "workspace", people=people, days=days, seed=1)
    pipeline = [str(folder / "workspace"), str(state), str(folder / "out")]
    subprocess.run([sys.executable, "benchmarks/pipeline.py", *pipeline], cwd=REPO, check=True)
    built.write_text(json.dumps(wanted))
    return state


def grid_cells(con: duckdb.DuckDBPyConnection, tz: str) -> int:
    """Give the cells of the data sheets and Rollups (rows x columns, headers included; empty cells too)."""
    blocks = [b for plan in sheet_plan(con, tz) for b in plan.blocks]
    return sum((b.total + 1) * len(b.columns) for b in blocks)


# ---- the library writers: one driver, one small adapter per library ---------------------------------


class LibrarySheet(Protocol):
    """A sheet of a library workbook, written row by row."""

    def row(self, cells: list[Cell]) -> None: ...
    def stream(self, reader: Any, cols: list[Col]) -> int: ...
    def skip(self) -> None: ...
    def autofilter(self, ncols: int, nrows: int) -> None: ...


class LibraryBook(Protocol):
    """A library workbook whose sheets are created up front (in order) and filled in any order."""

    def sheet(self, name: str, widths: list[float], *, freeze: bool) -> LibrarySheet: ...
    def close(self) -> None: ...


def write_library(book: LibraryBook, con: duckdb.DuckDBPyConnection, tz: str) -> None:
    """Write the report workbook through `book`: the sheets, rows and values `write_workbook` writes."""
    plans = sheet_plan(con, tz)
    # Sheets appear in the order they are created: the Summary first, though it is filled last.
    summary, *sheets = [book.sheet(p.name, list(p.widths), freeze=p.freeze) for p in plans]
    written = [fill(sheet, con, plan) for sheet, plan in zip(sheets, plans[1:], strict=True)]
    for cells in summary_rows(con, tz, written):
        if cells:
            summary.row(cells)
        else:
            summary.skip()
    book.close()


def fill(sheet: LibrarySheet, con: duckdb.DuckDBPyConnection, plan: SheetPlan) -> Written:
    """Write a planned sheet's blocks (title, header, then the rows of its SELECT); give what it holds."""
    rows = 0
    for block in plan.blocks:
        if block.title is not None:
            sheet.row([(block.title, Style.TITLE)])
        sheet.row([(c.header, Style.HEADER) for c in block.columns])
        rows += sheet.stream(con.sql(block.select).to_arrow_reader(BATCH_ROWS), list(block.columns))
        if block.title is not None:
            sheet.skip()
    if plan.freeze:
        sheet.autofilter(len(plan.widths), rows + 1)
    return Written(plan.name, rows)


def rows_of(reader: Any) -> Iterator[tuple[Any, ...]]:
    """Yield the rows of an Arrow record batch reader as tuples."""
    for batch in reader:
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _links(cols: list[Col]) -> list[tuple[int, int]]:
    """Give, per link column, its index and the index of its URL in a row of the block's SELECT."""
    at = [i for i, c in enumerate(cols) if c.link]
    return [(i, len(cols) + k) for k, i in enumerate(at)]


# ---- openpyxl, write-only -----------------------------------------------------------------------------


class OpenpyxlBook:
    """openpyxl's write-only workbook; styled cells are WriteOnlyCell objects."""

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill

        self.path, self.wb = path, Workbook(write_only=True)
        self.styles: dict[Style, dict[str, object]] = {
            Style.HEADER: {
                "font": Font(b=True, color="FFFFFFFF"),
                "fill": PatternFill("solid", fgColor="FF1F4E79"),
                "alignment": Alignment(vertical="center"),
            },
            Style.DATETIME: {"number_format": "yyyy-mm-dd hh:mm"},
            Style.DATE: {"number_format": "yyyy-mm-dd"},
            Style.LINK: {"font": Font(u="single", color="FF0563C1")},
            Style.TITLE: {"font": Font(b=True, sz=13, color="FF1F4E79")},
            Style.COUNT: {"number_format": "#,##0"},
            Style.DECIMAL: {"number_format": "#,##0.00"},
        }

    def sheet(self, name: str, widths: list[float], *, freeze: bool) -> OpenpyxlSheet:
        from openpyxl.utils import get_column_letter

        ws = self.wb.create_sheet(name)
        for i, width in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        if freeze:
            ws.freeze_panes = "A2"
        return OpenpyxlSheet(ws, self.styles)

    def close(self) -> None:
        self.wb.save(self.path)


class OpenpyxlSheet:
    """A write-only worksheet: rows are appended as lists of values and cells."""

    def __init__(self, ws: Any, styles: dict[Style, dict[str, object]]) -> None:
        self.ws, self.styles, self.links = ws, styles, 0

    def _cell(self, value: object, style: Style) -> object:
        if value is None or style is Style.DEFAULT:
            return value
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self.ws, value)
        for name, attr in self.styles[style].items():
            setattr(cell, name, attr)
        return cell

    def row(self, cells: list[Cell]) -> None:
        self.ws.append([self._cell(value, style) for value, style in cells])

    def skip(self) -> None:
        self.ws.append([])

    def stream(self, reader: Any, cols: list[Col]) -> int:
        """Append every row of `reader`; give how many."""
        dated = [(i, c.style) for i, c in enumerate(cols) if c.kind in ("datetime", "date")]
        links, written = _links(cols), 0
        for row in rows_of(reader):
            values: list[object] = list(row[: len(cols)])
            for i, style in dated:
                values[i] = self._cell(values[i], style)
            for i, u in links:
                if row[u] is not None and row[i] is not None and self.links < MAX_LINKS:
                    self.links += 1
                    values[i] = cell = self._cell(row[i], Style.LINK)
                    cell.hyperlink = row[u]  # type: ignore[attr-defined]
            self.ws.append(values)
            written += 1
        return written

    def autofilter(self, ncols: int, nrows: int) -> None:
        from openpyxl.utils import get_column_letter

        self.ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{nrows}"


# ---- XlsxWriter, constant_memory ----------------------------------------------------------------------


class XlsxwriterBook:
    """An XlsxWriter workbook in constant_memory mode (each row is flushed when the next one starts)."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        add = self.wb.add_format
        self.formats: dict[Style, Any] = {
            Style.DEFAULT: None,
            Style.HEADER: add(
                {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E79", "valign": "vcenter"}
            ),
            Style.DATETIME: add({"num_format": "yyyy-mm-dd hh:mm"}),
            Style.DATE: add({"num_format": "yyyy-mm-dd"}),
            Style.LINK: add({"font_color": "#0563C1", "underline": 1}),
            Style.TITLE: add({"bold": True, "font_size": 13, "font_color": "#1F4E79"}),
            Style.COUNT: add({"num_format": 3}),
            Style.DECIMAL: add({"num_format": 4}),
        }

    def sheet(self, name: str, widths: list[float], *, freeze: bool) -> XlsxwriterSheet:
        ws = self.wb.add_worksheet(name)
        for i, width in enumerate(widths):
            ws.set_column(i, i, width)
        if freeze:
            ws.freeze_panes(1, 0)
        return XlsxwriterSheet(ws, self.formats)

    def close(self) -> None:
        self.wb.close()


class XlsxwriterSheet:
    """An XlsxWriter worksheet written cell by cell with the typed write_* methods."""

    def __init__(self, ws: Any, formats: dict[Style, Any]) -> None:
        self.ws, self.formats, self.rows, self.links = ws, formats, 0, 0

    def _writer(self, col: Col) -> Callable[[int, int, Any], object]:
        """Give the write method for a column's values."""
        ws, fmt = self.ws, self.formats[col.style]
        if col.kind in ("datetime", "date"):
            return lambda r, c, v: ws.write_datetime(r, c, v, fmt)
        writers: dict[str, Callable[[int, int, Any], object]] = {
            "text": ws.write_string,
            "boolean": ws.write_boolean,
            "number": ws.write_number,
        }
        return writers[col.kind]

    def row(self, cells: list[Cell]) -> None:
        for c, (value, style) in enumerate(cells):
            if value is not None:
                self.ws.write(self.rows, c, value, self.formats[style])
        self.rows += 1

    def skip(self) -> None:
        self.rows += 1

    def stream(self, reader: Any, cols: list[Col]) -> int:
        """Write every row of `reader`; give how many."""
        plain = [(i, self._writer(c)) for i, c in enumerate(cols) if not c.link]
        links, link_format, first = _links(cols), self.formats[Style.LINK], self.rows
        for row in rows_of(reader):
            r = self.rows
            for i, write in plain:
                if row[i] is not None:
                    write(r, i, row[i])
            for i, u in links:
                if row[i] is None:
                    continue
                if row[u] is not None and self.links < MAX_LINKS:
                    self.links += 1
                    self.ws.write_url(r, i, row[u], link_format, string=row[i])
                else:
                    self.ws.write_string(r, i, row[i])
            self.rows += 1
        return self.rows - first

    def autofilter(self, ncols: int, nrows: int) -> None:
        self.ws.autofilter(0, 0, nrows - 1, ncols - 1)


BOOKS: dict[str, Callable[[Path], LibraryBook]] = {"openpyxl": OpenpyxlBook, "xlsxwriter": XlsxwriterBook}


# ---- timing ---------------------------------------------------------------------------------------------


def child(writer: str, state: Path, target: Path, tz: str) -> None:
    """Write the workbook of `state` with `writer` and print its seconds and size as JSON."""
    con = duckdb.connect(str(state), read_only=True)
    con.execute("SET memory_limit = '200MB'; SET threads = 2")  # as checkpoints.StateStore opens it
    started = time.perf_counter()
    if writer == "handmade":
        write_workbook(con, target, tz=tz)
    else:
        write_library(BOOKS[writer](target), con, tz)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": target.stat().st_size}))


@dataclass
class Run:
    """One timed write: seconds inside the child, its peak RSS and the workbook's size."""

    seconds: float
    peak_rss_mb: float
    mb: float
    runs: int = 1


def measure(writer: str, state: Path, target: Path, tz: str) -> Run:
    """Run one write in a child process and give its figures (peak RSS from wait4)."""
    args = [sys.executable, __file__, "--child", writer, str(state), str(target), "--tz", tz]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the {writer} writer failed on {state}")
    out = json.loads(text.strip().splitlines()[-1])
    return Run(out["seconds"], usage.ru_maxrss / 1024, out["bytes"] / 2**20)


def best(writer: str, state: Path, tz: str, runs: int) -> Run:
    """Give the fastest of `runs` writes, with the largest peak RSS seen in any of them."""
    done = [measure(writer, state, state.parent / f"{writer}.xlsx", tz) for _ in range(runs)]
    fastest = min(done, key=lambda r: r.seconds)
    return Run(fastest.seconds, max(r.peak_rss_mb for r in done), fastest.mb, runs)


# ---- checking the workbooks agree ----------------------------------------------------------------------


def _plain(row: tuple[object, ...]) -> tuple[object, ...]:
    """Give a row's values without trailing empty cells, times to the second (serials round differently)."""
    values = [v.replace(microsecond=0) if isinstance(v, datetime) else v for v in row]
    while values and values[-1] is None:
        values.pop()
    return tuple(values)


def differences(expected: Path, actual: Path) -> str:
    """Give where workbook `actual` first differs from `expected` in its values, or '' when it does not."""
    import openpyxl

    want, got = (openpyxl.load_workbook(p, read_only=True) for p in (expected, actual))
    if want.sheetnames != got.sheetnames:
        return f"sheets {got.sheetnames} instead of {want.sheetnames}"
    for name in want.sheetnames:
        pairs = zip_longest(want[name].iter_rows(values_only=True), got[name].iter_rows(values_only=True))
        for n, (a, b) in enumerate(pairs, 1):
            # Row 3 of the Summary is the time the workbook was generated.
            if _plain(a or ()) != _plain(b or ()) and (name, n) != ("Summary", 3):
                return f"{name}: other values, from row {n}"
    return ""


# ---- the command ----------------------------------------------------------------------------------------


def versions() -> str:
    """Give the versions of the libraries measured."""
    from importlib.metadata import version

    names = ("duckdb", "openpyxl", "lxml", "xlsxwriter")
    return ", ".join(f"{n} {version(n)}" for n in names)


def table(results: dict[str, dict[str, Run]], cells: dict[str, int]) -> list[str]:
    """Give the Markdown table: seconds per size, then cells/s, peak RSS and size at the largest size."""
    sizes, last = list(cells), list(cells)[-1]
    lines = [
        "| writer | " + " | ".join(f"{s} s" for s in sizes) + f" | cells/s at {last} | peak RSS MB at {last} "
        f"| workbook MB at {last} |",
        "|---|" + "---:|" * (len(sizes) + 3),
    ]
    for writer in results[last]:
        at = results[last][writer]
        times = " | ".join(f"{results[s][writer].seconds:.2f}" for s in sizes)
        lines.append(
            f"| {writer} | {times} | {cells[last] / at.seconds:,.0f} | {at.peak_rss_mb:.0f} | {at.mb:.1f} |"
        )
    return lines


def decision(runs: dict[str, Run], size: str) -> str:
    """Apply the rule: keep the hand-made writer only if it is at least 2x faster than the best library."""
    libraries = {w: r for w, r in runs.items() if w != "handmade"}
    if size != "L" or "handmade" not in runs or not libraries:
        return "none: the rule compares the hand-made writer with the libraries at L"
    name = min(libraries, key=lambda w: libraries[w].seconds)
    ratio = libraries[name].seconds / runs["handmade"].seconds
    verdict = "keep the hand-made writer" if ratio >= 2 else f"switch to {name}"
    return (
        f"**{verdict}.** At {size} the hand-made writer is {ratio:.1f}x as fast as the best library, {name}"
    )


def section(results: dict[str, dict[str, Run]], cells: dict[str, int], command: str, load: str) -> str:
    """Give the "Excel writer" section of BENCHMARKS.md."""
    last = list(cells)[-1]
    runs = ", ".join(f"{next(iter(results[s].values())).runs} at {s}" for s in cells)
    counts = ", ".join(f"{s} {n:,}" for s, n in cells.items())
    lines = [
        "## Excel writer",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, load average "
        f"{load} (before it started: other work on the machine; the benchmark adds about 1); {versions()}.",
        "",
        "`benchmarks/excel.py` writes the report workbook of each generated org (seed 1) three ways from",
        "the same state: *handmade* is `exports/_xlsx.py` as `exports/excel.py` uses it (cells rendered",
        "in DuckDB); *openpyxl* is its write-only mode with lxml; *xlsxwriter* is XlsxWriter with",
        "`constant_memory`. The library writers read Arrow batches of the cell values `exports.sheet_plan`",
        "gives (the same text rule, formula leads neutralised) and write the same sheets, rows, columns,",
        "values, links and styles.",
        f"Time is the write alone, in its own child process, fastest of {runs}; peak RSS is that",
        "child's (wait4), the largest of its runs. Cells = rows x columns of the data sheets and Rollups,",
        f"headers included: {counts}.",
        "",
        *table(results, cells),
        "",
        f"Decision: {decision(results[last], last)};",
        "the rule keeps it only while it is at least 2x as fast as the best library at L.",
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Put `text` in `path` in place of its "## Excel writer" section, or at its end."""
    old = path.read_text() if path.exists() else ""
    head, found, rest = old.partition("## Excel writer\n")
    tail = rest[rest.index("\n## ") + 1 :] if found and "\n## " in rest else ""
    head = head.rstrip("\n") + "\n\n" if head.strip() else ""
    path.write_text(head + text + ("\n" + tail if tail else ""))


def parse_args() -> argparse.Namespace:
    """Give the command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="M,L", help="comma-separated sizes from sandbox.SIZES (default M,L)"
    )
    parser.add_argument(
        "--runs", type=int, help="writes per writer and size, fastest counts (default 3; 2 for L)"
    )
    parser.add_argument(
        "--writers", default=",".join(WRITERS), help="comma-separated, from " + ", ".join(WRITERS)
    )
    parser.add_argument("--tz", default="UTC", help="time zone the workbook shows times in")
    parser.add_argument("--check", action="store_true", help="check each library workbook's values too")
    parser.add_argument("--write", metavar="FILE", help='put the "Excel writer" section in FILE')
    parser.add_argument("--child", nargs=3, metavar=("WRITER", "STATE", "TARGET"), help=argparse.SUPPRESS)
    return parser.parse_args()


def measure_all(args: argparse.Namespace) -> tuple[dict[str, dict[str, Run]], dict[str, int]]:
    """Time every writer on every size; give the runs and each size's cell count."""
    results: dict[str, dict[str, Run]] = {}
    cells: dict[str, int] = {}
    for size in args.sizes.split(","):
        state = build_state(size)
        with duckdb.connect(str(state), read_only=True) as con:
            cells[size] = grid_cells(con, args.tz)
        results[size] = {}
        for writer in args.writers.split(","):
            run = best(writer, state, args.tz, args.runs or RUNS.get(size, 3))
            results[size][writer] = run
            print(f"  {size} {writer}: {run.seconds:.2f} s, {run.peak_rss_mb:.0f} MB", flush=True)
            if args.check and writer != "handmade":
                found = differences(state.parent / "handmade.xlsx", state.parent / f"{writer}.xlsx")
                print(f"    values: {found or 'same as handmade, in the same order'}", flush=True)
    return results, cells


def main() -> None:
    args = parse_args()
    if args.child:
        return child(args.child[0], Path(args.child[1]), Path(args.child[2]), args.tz)
    before = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {before:.2f}; {versions()}", flush=True)
    results, cells = measure_all(args)
    load = f"{before:.2f} before, {os.getloadavg()[0]:.2f} after"
    command = "python benchmarks/excel.py " + " ".join(sys.argv[1:])
    text = section(results, cells, command.strip(), load)
    print("\n" + text)
    if args.write:
        write_section(REPO / args.write, text)
        print(f"wrote the Excel writer section of {args.write}")


if __name__ == "__main__":
    main()
