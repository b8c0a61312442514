"""Meeting filters (parameterised, exact matches), scoped report copies for exports, analyst views and the
example queries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pydantic
import pytest

from aggregation.models import MEETINGS_FLAT
from aggregation.search import (
    EXAMPLE_QUERIES,
    MeetingFilter,
    create_analyst_views,
    filter_meetings,
    meeting_ids,
    scoped_reports,
)
from core.errors import ConfigurationError
from exports import export_reports
from exports.excel import write_workbook
from tests.exports.report_builders import M1, M2, M3, M4, M5, M6, XSS_NAME, hostile_reports

ALL = [M1, M2, M3, M4, M5, M6]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    hostile_reports(c)
    return c


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ALL),
        ({"since": datetime(2026, 9, 9, tzinfo=UTC)}, [M3, M4, M5, M6]),
        ({"until": datetime(2026, 9, 9, 15, tzinfo=UTC)}, [M1, M2]),  # until is exclusive
        ({"since": "2026-09-09T15:00:00", "until": "2026-09-16T08:00:01Z"}, [M3, M4, M5]),  # naive is UTC
        ({"person": "CHEN"}, [M1, M3, M5, M6]),  # name or email, any case
        ({"person": "partner.example"}, [M1, M5]),
        ({"person": "<b onmouseover"}, [M1, M2, M4, M5]),
        ({"team": "sales"}, [M1, M2, M4, M5]),
        ({"team": "Eng"}, []),  # a team is a whole department name
        ({"channel": "C1"}, [M1, M4, M5]),
        ({"channel": "#planning"}, [M5]),  # a name, resolved through slack_channels
        ({"channel": "<i>design</i>"}, [M3]),
        ({"origin": "slack"}, [M3, M4]),
        ({"status": "cancelled"}, [M2]),
        ({"text": "planning"}, [M5]),
        ({"text": "sync notes"}, [M1]),  # a document name
        ({"text": "action items"}, [M3]),  # an evidence message's matched phrase
        ({"text": "ana@"}, [M1, M5]),  # the organiser
        ({"min_score": 0.9}, [M1, M2, M6]),
        ({"origin": "calendar+slack", "person": "bo@", "min_score": 0.9}, [M1]),
    ],
)
def test_each_filter_keeps_exactly_the_matching_meetings(
    con: duckdb.DuckDBPyConnection, fields: dict[str, object], expected: list[str]
) -> None:
    assert meeting_ids(con, MeetingFilter.model_validate(fields)) == expected


@pytest.mark.parametrize(
    "hostile",
    ["%", "ana_", "' OR 1=1 --", "'); DROP TABLE report_meetings; --", "\\", "ana%"],
)
def test_user_text_is_data_never_sql_or_a_wildcard(con: duckdb.DuckDBPyConnection, hostile: str) -> None:
    for field in ("person", "team", "channel", "text"):
        assert meeting_ids(con, MeetingFilter.model_validate({field: hostile})) == []
    assert con.execute("SELECT count(*) FROM report_meetings").fetchall() == [(6,)]


def test_filter_meetings_gives_the_report_rows_as_arrow(con: duckdb.DuckDBPyConnection) -> None:
    table = filter_meetings(con, MeetingFilter(origin="slack"))
    assert table.schema.names == MEETINGS_FLAT.names
    assert table.column("meeting_id").to_pylist() == [M3, M4]
    assert table.column("attended").to_pylist() == [2, 2]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"since": "2026-09-10T00:00:00Z", "until": "2026-09-09T00:00:00Z"}, "until must be after since"),
        ({"origin": "email"}, "origin"),
        ({"status": "held "}, "status"),
        ({"min_score": 1.5}, "min_score"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_filters_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        MeetingFilter.model_validate(fields)


def test_blank_text_fields_match_everything() -> None:
    assert MeetingFilter(person="  ", text="") == MeetingFilter()
    assert MeetingFilter(since=datetime(2026, 9, 1)).since == datetime(2026, 9, 1, tzinfo=UTC)


def test_scoped_reports_make_every_exporter_write_only_the_matching_meetings(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with scoped_reports(con, MeetingFilter(origin="slack")) as scope:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in (
                "report_meetings",
                "report_participants",
                "report_evidence",
                "report_documents",
                "report_people",
                "meeting_records",
                "people_records",
                "calendar_events",
            )
        }
        write_workbook(con, tmp_path / "slack.xlsx")
        export_reports(con, tmp_path, {"meetings": "meeting_records"}, {"people": "report_people"})
        current = con.execute("SELECT current_database()").fetchall()[0][0]
    assert current == scope
    assert counts == {
        "report_meetings": 2,
        "report_participants": 4,
        "report_evidence": 4,
        "report_documents": 1,
        "report_people": 4,
        "meeting_records": 2,
        "people_records": 4,
        "calendar_events": 0,
    }
    sheet = openpyxl.load_workbook(tmp_path / "slack.xlsx")["Meetings"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [M3, M4]
    assert [m["meeting_id"] for m in json.loads((tmp_path / "meetings.json").read_text())] == [M3, M4]
    assert (tmp_path / "people.csv").read_text().count("\n") == 5  # header and four people
    assert con.execute("SELECT count(*) FROM report_meetings").fetchall() == [(6,)]
    assert con.execute("SELECT current_database()").fetchall() == [("memory",)]
    assert [
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases() ORDER BY 1").fetchall()
    ] == ["memory", "system", "temp"]


def test_scoped_reports_restore_the_connection_after_an_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(RuntimeError, match="export failed"), scoped_reports(con, MeetingFilter(team="Sales")):
        assert con.execute("SELECT count(*) FROM report_meetings").fetchall() == [(4,)]
        raise RuntimeError("export failed")
    assert con.execute("SELECT count(*) FROM report_meetings").fetchall() == [(6,)]
    assert con.execute("SELECT current_database()").fetchall() == [("memory",)]


def test_analyst_views_and_the_example_queries_answer_exactly(con: duckdb.DuckDBPyConnection) -> None:
    assert create_analyst_views(con) == ["v_meetings", "v_participants", "v_evidence", "v_people", "v_weekly"]
    load, busiest, channels = (con.execute(q).fetchall() for q in EXAMPLE_QUERIES.values())
    assert load == [(date(2026, 9, 7), 2, 1, 1.33, 3.67), (date(2026, 9, 14), 3, 1, 3.0, 8.0)]
    assert busiest == [
        (XSS_NAME, "Sales", 3, 3.8),
        ("Chen Novak", "Engineering", 4, 3.6),
        ("Ana Ruiz", "Engineering", 3, 3.3),
        ("Dee Ops", "=Ops", 2, 1.0),
        ("Vera Vendor", None, 0, 0.0),
    ]
    assert channels == [("#<i>design</i>", 1), ("#general", 1)]
    assert con.execute(
        "SELECT meeting_id, hours, scheduled, week FROM v_meetings ORDER BY start LIMIT 2"
    ).fetchall() == [(M1, 1.0, True, date(2026, 9, 7)), (M2, 0.5, True, date(2026, 9, 7))]
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE attended) FROM v_participants"
    ).fetchall() == [(16, 13)]
    assert con.execute(
        "SELECT channel_id, channel_name, meeting_title FROM v_evidence WHERE meeting_id IS NULL"
    ).fetchall() == [("C3", "planning", None)]


def test_views_follow_replaced_report_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The aggregate stage replaces the tables each run; the views read the new rows."""
    create_analyst_views(con)
    con.execute(
        "CREATE OR REPLACE TABLE report_meetings AS SELECT * FROM report_meetings WHERE origin = 'slack'"
    )
    assert con.execute("SELECT sum(meetings) FROM v_weekly").fetchall() == [(2,)]


def test_missing_report_tables_say_to_run_the_pipeline(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE report_people")
    for call in (lambda: meeting_ids(con, MeetingFilter()), lambda: create_analyst_views(con)):
        with pytest.raises(
            ConfigurationError, match="report table 'report_people' is missing.*meetintel run"
        ):
            call()
