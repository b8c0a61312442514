"""The registry of stored tables: every table name the layers share, with its Arrow schema.

Raw tables are what collectors yield and the store keeps (`raw`); derived tables what intelligence writes
(`derived`); report tables what aggregation writes and the exporters read (`reports`). Code names a
stored table through the constants here, never by spelling it again.
"""

from __future__ import annotations

import pyarrow as pa

from core.tables.derived import DERIVED_TABLES
from core.tables.raw import RAW_TABLES, RawTable
from core.tables.reports import FLAT_TABLES, MEETING_RECORD, PEOPLE_RECORD, ROLLUP_TABLES

REPORT_PREFIX = "report_"
ROLLUP_PREFIX = REPORT_PREFIX + "rollup_"

MEETING_RECORDS = "meeting_records"  # nested records of meetings.json
PEOPLE_RECORDS = "people_records"  # nested records of people.json
REPORT_MEETINGS = REPORT_PREFIX + "meetings"
REPORT_PARTICIPANTS = REPORT_PREFIX + "participants"
REPORT_EVIDENCE = REPORT_PREFIX + "evidence"
REPORT_DOCUMENTS = REPORT_PREFIX + "documents"
REPORT_PEOPLE = REPORT_PREFIX + "people"


def report_table(short: str) -> str:
    """Give the stored name of flat or rollup table `short` ("meetings" -> "report_meetings")."""
    return REPORT_PREFIX + short


# The flat tables every report has, in export order; rollups (report_rollup_*) are optional.
REPORT_TABLES: tuple[str, ...] = tuple(report_table(short) for short in FLAT_TABLES)
RECORD_TABLES: dict[str, pa.Schema] = {MEETING_RECORDS: MEETING_RECORD, PEOPLE_RECORDS: PEOPLE_RECORD}

# Every stored table with its schema, by stored name.
SCHEMAS: dict[str, pa.Schema] = {
    **{name: t.schema for name, t in RAW_TABLES.items()},
    **DERIVED_TABLES,
    **RECORD_TABLES,
    **{report_table(short): schema for short, schema in (FLAT_TABLES | ROLLUP_TABLES).items()},
}

__all__ = [
    "DERIVED_TABLES",
    "FLAT_TABLES",
    "MEETING_RECORDS",
    "PEOPLE_RECORDS",
    "RAW_TABLES",
    "RECORD_TABLES",
    "REPORT_DOCUMENTS",
    "REPORT_EVIDENCE",
    "REPORT_MEETINGS",
    "REPORT_PARTICIPANTS",
    "REPORT_PEOPLE",
    "REPORT_PREFIX",
    "REPORT_TABLES",
    "ROLLUP_PREFIX",
    "ROLLUP_TABLES",
    "RawTable",
    "SCHEMAS",
    "report_table",
]
