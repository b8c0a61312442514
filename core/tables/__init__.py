"""The registry of stored tables: every table name the layers share, with its Arrow schema.

Raw tables are what collectors yield and the store keeps (`raw`); derived tables what intelligence writes
(`derived`); report tables what aggregation writes and the exporters read (`reports`). Code names a
stored table through the constants here, never by spelling it again.

The names are plain strings defined here; the schemas, and the tables listed with them, load on first use
(`core.lazy`), so naming a table does not import Arrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_names

if TYPE_CHECKING:
    from core.tables._registry import RECORD_TABLES, REPORT_TABLES, SCHEMAS
    from core.tables.derived import DERIVED_TABLES
    from core.tables.raw import RAW_TABLES, RawTable
    from core.tables.reports import FLAT_TABLES, ROLLUP_TABLES

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


_HOMES: dict[str, tuple[str, ...]] = {
    "core.tables._registry": ("RECORD_TABLES", "REPORT_TABLES", "SCHEMAS"),
    "core.tables.derived": ("DERIVED_TABLES",),
    "core.tables.raw": ("RAW_TABLES", "RawTable"),
    "core.tables.reports": ("FLAT_TABLES", "ROLLUP_TABLES"),
}
__getattr__, __dir__ = lazy_names(__name__, globals(), _HOMES)

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
