"""JSON and CSV writers: contract shape, ISO dates, flattening, and formula-safe cells."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from exports import FORMULA_LEADS, export_reports

HOSTILE = ['=HYPERLINK("http://evil")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "plain", "-"]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    start = datetime(2026, 9, 8, 13, 30, tzinfo=UTC)
    c.register(
        "records",
        pa.table(
            {
                "meeting_id": [f"m{i}" for i in range(len(HOSTILE))],
                "title": HOSTILE,
                "start": pa.array([start] * len(HOSTILE), pa.timestamp("us", tz="UTC")),
                "channel_ids": [["C1", "=C2"]] * len(HOSTILE),
                "participants": [[{"email": "a@acme.example", "internal": True}]] * len(HOSTILE),
                "duration_minutes": [-30] * len(HOSTILE),
            }
        ),
    )
    c.execute("CREATE TABLE meeting_records AS SELECT * FROM records")
    return c


def test_json_keeps_text_verbatim_and_dates_in_iso_utc(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    export_reports(con, tmp_path, {"meetings": "meeting_records"}, {})
    records = json.loads((tmp_path / "meetings.json").read_text())
    assert [r["title"] for r in records] == HOSTILE
    assert records[0]["start"] == "2026-09-08T13:30:00Z"
    assert records[0]["participants"] == [{"email": "a@acme.example", "internal": True}]
    assert records[0]["channel_ids"] == ["C1", "=C2"]


def test_csv_cells_never_start_a_formula(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    export_reports(con, tmp_path, {}, {"meetings": "meeting_records"})
    with (tmp_path / "meetings.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    titles = [r["title"] for r in rows]
    assert titles == ["'" + t if t.startswith(FORMULA_LEADS) else t for t in HOSTILE]
    assert not any(
        cell.startswith(FORMULA_LEADS) for r in rows for k, cell in r.items() if k != "duration_minutes"
    )
    assert rows[0]["start"] == "2026-09-08T13:30:00Z"
    assert rows[0]["channel_ids"] == "C1; =C2"
    assert rows[0]["duration_minutes"] == "-30"  # numbers stay numbers


def test_no_temporary_files_are_left_behind(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    paths = export_reports(con, tmp_path, {"meetings": "meeting_records"}, {"meetings": "meeting_records"})
    assert sorted(p.name for p in paths) == ["meetings.csv", "meetings.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meetings.csv", "meetings.json"]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_dates_stay_utc_whatever_the_session_time_zone(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, zone: str
) -> None:
    """A session in another zone must not shift the UTC instants the JSON and CSV files carry."""
    con.execute(f"SET TimeZone = '{zone}'")
    export_reports(con, tmp_path, {"meetings": "meeting_records"}, {"meetings": "meeting_records"})
    records = json.loads((tmp_path / "meetings.json").read_text())
    with (tmp_path / "meetings.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["start"] for r in records} == {"2026-09-08T13:30:00Z"}
    assert {r["start"] for r in rows} == {"2026-09-08T13:30:00Z"}


def test_an_output_folder_with_a_quote_in_its_name_gets_its_files(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The path reaches DuckDB's COPY as a quoted literal: a `'` in `--out` neither breaks nor injects."""
    out = tmp_path / "o'brien's reports"
    paths = export_reports(con, out, {"meetings": "meeting_records"}, {"meetings": "meeting_records"})
    assert sorted(p.name for p in paths) == ["meetings.csv", "meetings.json"]
    assert len(json.loads((out / "meetings.json").read_text())) == len(HOSTILE)
    assert sorted(p.name for p in out.iterdir()) == ["meetings.csv", "meetings.json"]
