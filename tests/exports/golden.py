"""Golden files of the exports: build the reports of a small fixed org and give them in a diffable form.

The org is the six hand-made meetings of `tests.exports.report_builders` (hostile text included), with
rollups and a stored Slack workspace, so every writer and every escaping rule shows up in the files. The
build is deterministic: report tables are fixed, DuckDB and every writer run in UTC, and the one value
taken from the clock (the workbook's "Generated" time) is replaced by a placeholder. No run id is involved:
the writers are called directly, not through the run archive.

`python -m tests.exports.golden` (or `make golden`) rewrites tests/fixtures/golden/ from the current code.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

import duckdb

from exports import export_reports, write_html, write_workbook
from tests.exports.report_builders import hostile_reports

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
TZ = "UTC"
WORKSPACE = "https://acme.slack.com"
BUILD_TIME = "(build time)"

_NS = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pkg": "http://schemas.openxmlformats.org/package/2006/relationships",
}
# A tag of canonical XML: attribute values are always in double quotes and may hold '>', never '"'.
_TOKEN = re.compile(r'<(?:[^"<>]|"[^"]*")*>|[^<]+')
_DATA_BLOCK = re.compile(r'<script\b[^>]*\btype="application/json"[^>]*>(.*?)</script>', re.S)
_EXCEL_EPOCH = datetime(1899, 12, 30)


def build(folder: Path) -> dict[str, bytes]:
    """Write the fixed org's reports into `folder`; give each golden file's name and content."""
    con = duckdb.connect()
    # Casting TIMESTAMPTZ to TIMESTAMP (the JSON and CSV writers do) follows the connection's TimeZone.
    con.execute(f"SET TimeZone = '{TZ}'")
    hostile_reports(con, rollups=True, workspace=WORKSPACE)
    export_reports(con, folder, {"meetings": "meeting_records"}, {"meetings": "report_meetings"})
    # The workbook's Summary states when it was written and write_workbook takes no clock, so any cell
    # holding a time inside this window becomes BUILD_TIME (see canonical_xml). The HTML page's own
    # "generated" time and script nonce sit outside its data block, which is all the golden file keeps.
    started = datetime.now(UTC)
    workbook = write_workbook(con, folder / "meetintel.xlsx", tz=TZ)
    window = (started - timedelta(seconds=1), datetime.now(UTC) + timedelta(seconds=1))
    page = write_html(con, folder / "meetintel.html", tz=TZ)
    con.close()
    files = {name: (folder / name).read_bytes() for name in ("meetings.json", "meetings.csv")}
    files |= {name: text.encode() for name, text in workbook_parts(workbook, window)}
    files["meetintel.html.data.json"] = html_data(page.read_text(encoding="utf-8")).encode()
    return files


def workbook_parts(path: Path, window: tuple[datetime, datetime]) -> Iterator[tuple[str, str]]:
    """Give each worksheet (named by its sheet name) and the shared strings, as canonical XML.

    Only the cell content counts, not how the zip was written, so any writer of the same cells matches.
    """
    with zipfile.ZipFile(path) as book:
        for name, member in _sheet_members(book):
            yield f"meetintel.xlsx/{name}.xml", canonical_xml(book.read(member), window)
        if "xl/sharedStrings.xml" in book.namelist():
            yield "meetintel.xlsx/sharedStrings.xml", canonical_xml(book.read("xl/sharedStrings.xml"), window)


def _sheet_members(book: zipfile.ZipFile) -> list[tuple[str, str]]:
    """Give (sheet name, zip member) in workbook order, read from xl/workbook.xml and its relationships."""
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iterfind("pkg:Relationship", _NS)}
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    sheets = []
    for sheet in workbook.iterfind("main:sheets/main:sheet", _NS):
        target = targets[sheet.get(f"{{{_NS['rel']}}}id")]
        # A target is relative to xl/ unless it starts with '/' (both forms occur in the wild).
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        sheets.append((sheet.get("name", member), member))
    return sheets


def canonical_xml(raw: bytes, window: tuple[datetime, datetime]) -> str:
    """Give XML in canonical form (C14N 2.0, text kept), one element per line, indented by depth.

    Whitespace between elements is layout and dropped; text inside an element is kept exactly. A cell
    value inside `window` (the build's own clock time) becomes a placeholder.
    """
    tokens = _TOKEN.findall(ET.canonicalize(raw.decode("utf-8"), strip_text=False))
    lines: list[str] = []
    depth = 0
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok.startswith("</"):
            depth -= 1
            leaf = _is_start(prev) or (i > 1 and not prev.startswith("<") and _is_start(tokens[i - 2]))
            if leaf:
                lines[-1] += tok
            else:
                lines.append("  " * depth + tok)
        elif tok.startswith("<"):
            lines.append("  " * depth + tok)
            depth += 1
        elif _is_start(prev) and after.startswith("</"):
            lines[-1] += _unclock(tok, window)
        elif tok.strip():
            lines.append("  " * depth + tok)
    return "\n".join(lines) + "\n"


def _is_start(tok: str) -> bool:
    return tok.startswith("<") and not tok.startswith("</")


def _unclock(text: str, window: tuple[datetime, datetime]) -> str:
    """Give `text`, or the placeholder when it is a time (Excel serial or ISO-8601) inside `window`."""
    lo, hi = window
    try:
        when = _EXCEL_EPOCH + timedelta(days=float(text))
    except (ValueError, OverflowError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return text
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    return BUILD_TIME if lo <= when <= hi else text


def html_data(page: str) -> str:
    """Give the page's embedded JSON data block, pretty-printed (keys in the page's order)."""
    found = _DATA_BLOCK.search(page)
    if found is None:
        raise ValueError('the HTML report has no <script type="application/json"> data block')
    return json.dumps(json.loads(found.group(1)), indent=2, ensure_ascii=False) + "\n"


def write_golden(files: dict[str, bytes], golden: Path = GOLDEN) -> tuple[list[str], list[str]]:
    """Make `golden` hold exactly `files`; give the names written (new or changed) and removed."""
    written = []
    for name, content in sorted(files.items()):
        path = golden / name
        if not path.is_file() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(name)
    removed = [name for name in golden_names(golden) if name not in files]
    for name in removed:
        (golden / name).unlink()
    for folder in sorted((p for p in golden.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return written, removed


def golden_names(golden: Path = GOLDEN) -> list[str]:
    """Give the names of the checked-in golden files, sorted."""
    return sorted(p.relative_to(golden).as_posix() for p in golden.rglob("*") if p.is_file())


def main() -> int:
    """Rebuild the golden files and say which changed."""
    with tempfile.TemporaryDirectory(prefix="meetintel-golden-") as tmp:
        files = build(Path(tmp))
    written, removed = write_golden(files)
    for name in written:
        print(f"updated {GOLDEN / name}")
    for name in removed:
        print(f"removed {GOLDEN / name}")
    print(f"{len(files)} golden files, {len(written)} updated, {len(removed)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
