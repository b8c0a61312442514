"""A streaming XLSX writer: DuckDB renders each row's SpreadsheetML, Python streams it into the zip.

openpyxl's write-only mode serialises every cell through Python objects; without lxml that runs at about
50,000 cells a second here, i.e. over a minute for a large organisation. Rendering the cell XML in SQL moves
that work into DuckDB's vectorised engine, row numbers included; Python only joins each batch of rows in
Arrow and streams it into the archive, so memory stays at one batch plus the (capped) hyperlink list.
openpyxl reads the result back in the tests.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import IO, Literal
from xml.sax.saxutils import escape, quoteattr

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from core.sql import ident, lit, scratch
from exports._sql import local_sql, safe_url_sql
from exports.tabular import FORMULA_LEADS, neutralise_sql

# SQL renders cell references as column letter + ROW_MARK; Python puts the row number in. The mark is a
# control character that `clean` removes from every text, so data can never contain it.
ROW_MARK = "\x01"
MAX_ROWS = 1_048_576  # Excel's sheet limit
MAX_LINKS = 65_000  # Excel keeps at most 65,530 hyperlinks per sheet
MAX_TEXT = 32_000  # Excel refuses cells over 32,767 characters
BATCH_ROWS = 2_048
# Characters XML 1.0 forbids; Excel would call the file corrupt.
_ILLEGAL_RE = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_ILLEGAL = {c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]}
_NUMBER_TYPES = (
    *("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER"),
    *("UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL"),
)
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


class Style(IntEnum):
    """Cell formats, in the order of cellXfs in styles.xml."""

    DEFAULT = 0
    HEADER = 1
    DATETIME = 2
    DATE = 3
    LINK = 4
    TITLE = 5
    COUNT = 6
    DECIMAL = 7


Kind = Literal["text", "number", "boolean", "datetime", "date"]


@dataclass(frozen=True)
class Col:
    """A column of a sheet: its name in the SELECT, DuckDB type, header text, whether it is a link, width."""

    name: str
    dtype: str
    header: str
    link: bool = False
    width: float = 0.0

    @property
    def kind(self) -> Kind:
        """Give how its cells are written: text, number, boolean, datetime or date (links are text)."""
        d = self.dtype
        if self.link or not (_is_number(d) or d in ("BOOLEAN", "DATE") or d.startswith("TIMESTAMP")):
            return "text"
        if d.startswith("TIMESTAMP"):
            return "datetime"
        return "boolean" if d == "BOOLEAN" else "date" if d == "DATE" else "number"

    @property
    def style(self) -> Style:
        """Give the style of its cells (a link's only where the URL is followable; others stay plain text)."""
        if self.link:
            return Style.LINK
        return {"datetime": Style.DATETIME, "date": Style.DATE}.get(self.kind, Style.DEFAULT)


def letter(index: int) -> str:
    """Give the spreadsheet column letters of 0-based column `index` (0 -> A, 26 -> AA)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


# ---- text, in SQL and in Python: one rule ---------------------------------------------------------------


# Each step rewrites text cells once, in its own projection, so no expression is computed twice per cell.
# The first steps give the text a cell shows, whatever writes it; the XML steps are this writer's own.
_CLEAN_STEPS = (
    # Empty text becomes no cell at all, as spreadsheet programs write it.
    f"nullif(CASE WHEN regexp_matches({{c}}, {lit(_ILLEGAL_RE)}) "
    f"THEN regexp_replace({{c}}, {lit(_ILLEGAL_RE)}, '', 'g') ELSE {{c}} END, '')",
    f"CASE WHEN strlen({{c}}) > {MAX_TEXT} THEN left({{c}}, {MAX_TEXT}) ELSE {{c}} END",
    neutralise_sql("{c}"),
)
_XML_STEPS = (
    # Excel decodes _xHHHH_ inside strings; escaping the underscore keeps such text verbatim.
    "CASE WHEN contains({c}, '_x') "
    "THEN regexp_replace({c}, '_(x[0-9A-Fa-f]{4}_)', '_x005F_\\1', 'g') ELSE {c} END",
    "CASE WHEN contains({c}, '&') OR contains({c}, '<') OR contains({c}, '>') OR contains({c}, chr(13)) "
    "THEN replace(replace(replace(replace({c}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), chr(13), '&#13;') "
    "ELSE {c} END",
)


def text_py(value: str) -> str:
    """Give `value` as XML-escaped cell text by the same rule as `_CLEAN_STEPS` and `_XML_STEPS`."""
    cleaned = value.translate(_ILLEGAL)[:MAX_TEXT]
    if cleaned.startswith(FORMULA_LEADS):
        cleaned = "'" + cleaned
    cleaned = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", cleaned)
    return escape(cleaned).replace("\r", "&#13;")


def _is_number(dtype: str) -> bool:
    return dtype.startswith(_NUMBER_TYPES) and not dtype.endswith("]")


def _as_text_sql(expr: str, dtype: str) -> str:
    """SQL giving any column as VARCHAR: lists of scalars joined with '; ', nested values as JSON."""
    if dtype.endswith("[]") and "STRUCT" not in dtype and "MAP" not in dtype and dtype.count("[]") == 1:
        return f"array_to_string({expr}, '; ')"
    if dtype.startswith(("STRUCT", "MAP", "UNION")) or dtype.endswith("]"):
        return f"to_json({expr})::VARCHAR"
    return f"{expr}::VARCHAR"


def _string_cell(ref: str, text: str, style: Style = Style.DEFAULT) -> str:
    s = f' s="{int(style)}"' if style else ""
    return f'\'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">\' || {text} || \'</t></is></c>\''


def _value_cell(ref: str, value: str, style: Style = Style.DEFAULT, kind: str = "") -> str:
    s = f' s="{int(style)}"' if style else ""
    t = f' t="{kind}"' if kind else ""
    return f"'<c r=\"{ref}\"{s}{t}><v>' || {value} || '</v></c>'"


def _cell_sql(col: Col, index: int) -> str:
    """SQL rendering cell `index` as SpreadsheetML ('' for NULL) from its value v<index> (text escaped)."""
    ref, v, kind = letter(index) + ROW_MARK, f"v{index}", col.kind
    text = _string_cell(ref, v)
    if col.link:
        cell = f"CASE WHEN u{index} IS NOT NULL THEN {_string_cell(ref, v, Style.LINK)} ELSE {text} END"
    elif kind == "text":
        cell = text
    elif kind == "boolean":
        cell = _value_cell(ref, f"CASE WHEN {v} THEN '1' ELSE '0' END", kind="b")
    elif col.dtype.startswith(("FLOAT", "DOUBLE")):
        # inf and nan have no spreadsheet number; they stay visible as text.
        cell = f"CASE WHEN isfinite({v}) THEN {_value_cell(ref, f'{v}::VARCHAR')} "
        cell += f"ELSE {_string_cell(ref, f'{v}::VARCHAR')} END"
    elif kind == "number":
        cell = _value_cell(ref, f"{v}::VARCHAR")
    else:
        cell = _dated_cell_sql(ref, v, kind)
    return f"CASE WHEN {v} IS NULL THEN '' ELSE {cell} END"


def _dated_cell_sql(ref: str, v: str, kind: str) -> str:
    """SQL rendering a wall-clock time or a date as an Excel serial; as text outside Excel's years."""
    if kind == "datetime":
        low, style, serial = "TIMESTAMP", Style.DATETIME, f"(epoch({v}) / 86400 + 25569)::VARCHAR"
    else:
        low, style, serial = "DATE", Style.DATE, f"({v} - DATE '1899-12-30')::VARCHAR"
    fits = f"{v} BETWEEN {low} '1900-03-01' AND {low} '9999-12-31'"
    as_text = _string_cell(ref, f"{v}::VARCHAR")
    return f"CASE WHEN {fits} THEN {_value_cell(ref, serial, style)} ELSE {as_text} END"


def _value_sql(col: Col, tz: str) -> str:
    """SQL giving a column's value as its cell shows it: text as VARCHAR, times as wall-clock time in `tz`."""
    x = ident(col.name)
    if col.kind == "text":
        return _as_text_sql(x, col.dtype)
    return local_sql(x, col.dtype, tz) if col.kind == "datetime" else x


def _cells_sql(source: str, cols: list[Col], order: tuple[str, ...], tz: str, steps: tuple[str, ...]) -> str:
    """SQL giving, per row read FROM `source`: each cell's value v<i>, link URL u<i> and sort key k<j>.

    Text goes through `steps`. The rows come in no particular order: DuckDB keeps an order only for the
    outermost ORDER BY, so the callers sort by the k<j> last.
    """
    firsts = [f"{_value_sql(c, tz)} AS v{i}" for i, c in enumerate(cols)]
    firsts += [f"{safe_url_sql(ident(c.name))} AS u{i}" for i, c in enumerate(cols) if c.link]
    firsts += [f"{ident(key)} AS k{j}" for j, key in enumerate(order)]
    sql = f"SELECT {', '.join(firsts)} FROM {source}"
    texts = [f"v{i}" for i, c in enumerate(cols) if c.kind == "text"]
    for step in steps if texts else ():
        rewritten = ", ".join(f"{step.replace('{c}', t)} AS {t}" for t in texts)
        sql = f"SELECT * REPLACE ({rewritten}) FROM ({sql})"
    return sql


def _first_rows(outputs: list[str], cells: str, order: tuple[str, ...], limit: int) -> str:
    """SQL giving `outputs` of the first `limit` rows of `cells` by their sort keys (the outermost sort)."""
    by = " ORDER BY " + ", ".join(f"k{j}" for j in range(len(order))) if order else ""
    return f"SELECT {', '.join(outputs)} FROM ({cells}){by} LIMIT {int(limit)}"


def _urls(cols: list[Col]) -> list[str]:
    return [f"u{i}" for i, c in enumerate(cols) if c.link]


def values_sql(
    source: str, cols: list[Col], order: tuple[str, ...], tz: str, limit: int, *, xml: bool = False
) -> str:
    """SQL giving the first `limit` rows FROM `source` by `order`: each cell's value v<i>, then each link's
    URL u<i>. Text is cleaned and formula-safe (and XML-escaped when `xml`, as `rows_sql` needs it); times
    are naive wall-clock time in `tz`."""
    cells = _cells_sql(source, cols, order, tz, _CLEAN_STEPS + _XML_STEPS if xml else _CLEAN_STEPS)
    return _first_rows([f"v{i}" for i in range(len(cols))] + _urls(cols), cells, order, limit)


def rows_sql(table: str, cols: list[Col], first: int = 1) -> str:
    """SQL giving, in `table`'s order, each row's SpreadsheetML `<row>` element `_row`, numbered from
    `first` on, then each link's URL u<i>; `table` holds the rows of `values_sql` with `xml`, filled in
    order (so its rowid counts the rows in order)."""
    # Only per-row expressions here: DuckDB keeps a table's order through a plain SELECT, but plans an IN
    # list of more than a few items as a join, which does not keep it (duckdb/duckdb#24398).
    cells = "concat(" + ", ".join(_cell_sql(c, i) for i, c in enumerate(cols)) + ")"
    n = f"CAST(rowid + {int(first)} AS VARCHAR)"
    row = f"""concat('<row r="', {n}, '">', replace({cells}, {lit(ROW_MARK)}, {n}), '</row>') AS _row"""
    return f"SELECT {', '.join([row, *_urls(cols)])} FROM {table}"


def width_sql(cols: list[Col]) -> str:
    """SQL giving one row: a sensible width per column (90th-percentile text length, within 8..60)."""
    parts = []
    for c in cols:
        base = len(c.header) + 3
        if c.dtype.startswith("TIMESTAMP"):
            parts.append(f"{max(base, 17)}")
        elif c.dtype == "DATE":
            parts.append(f"{max(base, 12)}")
        elif _is_number(c.dtype) or c.dtype == "BOOLEAN":
            parts.append(f"{max(base, 10)}")
        else:
            length = f"length({_as_text_sql(ident(c.name), c.dtype)})"
            cap = 50 if c.link else 60
            parts.append(
                f"least({cap}, greatest({max(base, 8)}, coalesce(approx_quantile({length}, 0.9), 0) + 2))"
            )
    return "SELECT " + ", ".join(parts)


def py_cell(ref: str, value: object, style: Style = Style.DEFAULT) -> str:
    """Render a Python value as a cell: numbers, booleans and dates typed, text formula-safe."""
    s = f' s="{int(style)}"' if style else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float) and math.isfinite(value):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
        serial = (naive - datetime(1899, 12, 30)).total_seconds() / 86400
        return f'<c r="{ref}" s="{int(style or Style.DATETIME)}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{int(style or Style.DATE)}"><v>{(value - date(1899, 12, 30)).days}</v></c>'
    text = text_py(str(value))
    if not text:
        return ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _url_attr(url: str) -> str:
    """Give `url` as a quoted XML attribute, as `quoteattr` does (a third of its cost for plain URLs)."""
    if '"' in url or "\n" in url or "\r" in url or "\t" in url:
        return quoteattr(url)
    return '"' + url.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + '"'


# ---- sheets and the workbook -----------------------------------------------------------------------------


@dataclass
class Sheet:
    """One worksheet being streamed into the workbook archive; `XlsxBook.sheet` opens it."""

    out: IO[bytes]
    position: int  # 1-based place among the sheets (sheetN.xml)
    name: str
    rows: int = 0  # rows written so far (the last row number used)
    links: list[tuple[str, str]] = field(default_factory=list)
    links_kept: int = 0
    links_dropped: int = 0
    autofilter: str | None = None

    def head(self, ncols: int, widths: list[float], nrows: int, *, freeze: bool) -> None:
        """Write what precedes the rows: dimension, frozen header pane, column widths."""
        last = f"{letter(max(ncols, 1) - 1)}{max(nrows, 1)}"
        selected = ' tabSelected="1"' if self.position == 1 else ""
        pane = (
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            if freeze
            else ""
        )
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w:.1f}" customWidth="1"/>' for i, w in enumerate(widths, 1)
        )
        self._write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_NS_R}>'
            f'<dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0"{selected}>{pane}'
            f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "")
            + "<sheetData>"
        )

    def _write(self, text: str) -> None:
        self.out.write(text.encode("utf-8"))

    def row(
        self, values: list[object], style: Style = Style.DEFAULT, *, styles: list[Style] | None = None
    ) -> int:
        """Append one row of Python values; give its row number."""
        self.rows += 1
        cells = "".join(
            py_cell(f"{letter(i)}{self.rows}", v, styles[i] if styles else style)
            for i, v in enumerate(values)
        )
        self._write(f'<row r="{self.rows}">{cells}</row>')
        return self.rows

    def skip(self) -> None:
        """Leave one row empty."""
        self.rows += 1

    def stream(self, con: duckdb.DuckDBPyConnection, values: str, cols: list[Col]) -> int:
        """Append the rows of `values` (`values_sql` with `xml`), rendered in DuckDB; give how many."""
        link_at = [i for i, c in enumerate(cols) if c.link]
        written = 0
        # DuckDB keeps a sort's order only on the outermost level, and sorting rendered rows would hold them
        # all in memory. So the sorted values fill a temp table in order, and the rows are rendered from it.
        with scratch(con) as space:
            rendered = rows_sql(space.make("values", values), cols, self.rows + 1)
            for batch in con.sql(rendered).to_arrow_reader(BATCH_ROWS):
                self._append(batch, link_at)
                written += batch.num_rows
        return written

    def _append(self, batch: pa.RecordBatch, link_at: list[int]) -> None:
        """Write a batch of `rows_sql` rows under the next row numbers; collect their links."""
        first = self.rows + 1
        # One Arrow join per batch: no Python string per row, and the UTF-8 bytes go to the zip as they are.
        rows = pa.ListArray.from_arrays(pa.array([0, batch.num_rows], pa.int32()), batch.column(0))
        self.out.write(pc.binary_join(rows, "")[0].as_buffer())
        self.rows += batch.num_rows
        for k, i in enumerate(link_at, 1):
            self._collect_links(letter(i), first, batch.column(k).to_pylist())

    def _collect_links(self, col: str, first: int, urls: list[str | None]) -> None:
        for offset, url in enumerate(urls):
            if url is None:
                continue
            if len(self.links) >= MAX_LINKS:
                self.links_dropped += 1
                continue
            self.links.append((f"{col}{first + offset}", url))

    def close(self, book: zipfile.ZipFile) -> None:
        """Finish the sheet: autofilter, hyperlinks, margins; then its relationships part."""
        tail = "</sheetData>"
        if self.autofilter:
            tail += f'<autoFilter ref="{self.autofilter}"/>'
        if self.links:
            tail += "<hyperlinks>" + "".join(
                f'<hyperlink ref="{ref}" r:id="rId{n}"/>' for n, (ref, _) in enumerate(self.links, 1)
            )
            tail += "</hyperlinks>"
        tail += '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        self._write(tail + "</worksheet>")
        self.out.close()
        if self.links:
            rels = "".join(
                f'<Relationship Id="rId{n}" Type="{_REL}/hyperlink" Target={_url_attr(url)} '
                'TargetMode="External"/>'
                for n, (_, url) in enumerate(self.links, 1)
            )
            book.writestr(
                f"xl/worksheets/_rels/sheet{self.position}.xml.rels",
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Relationships xmlns="{_PKG_REL}">{rels}</Relationships>',
            )
        self.links_kept = len(self.links)
        self.links = []


class XlsxBook:
    """An .xlsx archive written sheet by sheet; `close()` adds the workbook, styles and package parts."""

    def __init__(self, path: Path, sheet_names: list[str]) -> None:
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.names = sheet_names
        self.sheets: dict[str, Sheet] = {}

    def sheet(self, name: str, ncols: int, widths: list[float], nrows: int, *, freeze: bool) -> Sheet:
        """Open sheet `name` (one of the names given at construction) with its head written."""
        position = self.names.index(name) + 1
        out = self.zip.open(f"xl/worksheets/sheet{position}.xml", "w", force_zip64=True)
        sheet = Sheet(out, position, name)
        sheet.head(ncols, widths, nrows, freeze=freeze)
        self.sheets[name] = sheet
        return sheet

    def finish(self, sheet: Sheet) -> None:
        """Close `sheet` and write its hyperlink relationships."""
        sheet.close(self.zip)

    def abort(self) -> None:
        """Close the archive after a failure, without the workbook parts (the caller discards the file)."""
        for sheet in self.sheets.values():
            sheet.out.close()
        self.zip.close()

    def close(self) -> None:
        """Write the workbook, styles, content types and document properties; close the archive."""
        names = [n for n in self.names if n in self.sheets]
        self.zip.writestr("[Content_Types].xml", _content_types([self.sheets[n].position for n in names]))
        self.zip.writestr("_rels/.rels", _ROOT_RELS)
        self.zip.writestr("docProps/core.xml", _core())
        self.zip.writestr("docProps/app.xml", _APP)
        self.zip.writestr("xl/workbook.xml", self._workbook_xml(names))
        self.zip.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels(names))
        self.zip.writestr("xl/styles.xml", _STYLES)
        self.zip.close()

    def _workbook_xml(self, names: list[str]) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(n)} sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1)
        )
        defined = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{escape(_sheet_ref(n, self.sheets[n].autofilter or ''))}</definedName>"
            for i, n in enumerate(names)
            if self.sheets[n].autofilter
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS} {_NS_R}>'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
            + (f"<definedNames>{defined}</definedNames>" if defined else "")
            + "</workbook>"
        )

    def _workbook_rels(self, names: list[str]) -> str:
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
            f'Target="worksheets/sheet{self.sheets[n].position}.xml"/>'
            for i, n in enumerate(names, 1)
        )
        rels += f'<Relationship Id="rId{len(names) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_PKG_REL}">{rels}</Relationships>'
        )


def _sheet_ref(name: str, ref: str) -> str:
    """Give 'Sheet'!$A$1:$N$9 for a sheet name and an A1:N9 range."""
    absolute = re.sub(r"([A-Z]+)([0-9]+)", r"$\1$\2", ref)
    return "'" + name.replace("'", "''") + "'!" + absolute


def _content_types(positions: list[int]) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{p}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for p in positions
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        f"{sheets}</Types>"
    )


def _core() -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        "<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:title>meetintel report</dc:title><dc:creator>meetintel</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
        "</cp:coreProperties>"
    )


_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>meetintel</Application></Properties>"
)
_FONT = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
_XF = 'fillId="0" borderId="0" xfId="0"'
# cellXfs follow the Style enum: default, header, datetime, date, link, title, count, decimal.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f"<styleSheet {_NS}>"
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    f'<fonts count="4"><font>{_FONT}</font><font><b/><color rgb="FFFFFFFF"/>{_FONT}</font>'
    f'<font><u/><color rgb="FF0563C1"/>{_FONT}</font>'
    '<font><b/><sz val="13"/><color rgb="FF1F4E79"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E79"/><bgColor indexed="64"/>'
    "</patternFill></fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="8">'
    f'<xf numFmtId="0" fontId="0" {_XF}/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" '
    'applyAlignment="1"><alignment vertical="center"/></xf>'
    f'<xf numFmtId="164" fontId="0" {_XF} applyNumberFormat="1"/>'
    f'<xf numFmtId="165" fontId="0" {_XF} applyNumberFormat="1"/>'
    f'<xf numFmtId="0" fontId="2" {_XF} applyFont="1"/>'
    f'<xf numFmtId="0" fontId="3" {_XF} applyFont="1"/>'
    f'<xf numFmtId="3" fontId="0" {_XF} applyNumberFormat="1"/>'
    f'<xf numFmtId="4" fontId="0" {_XF} applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
