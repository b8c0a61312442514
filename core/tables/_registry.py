"""The registry's tables with their Arrow schemas (`core.tables` loads this module on first use)."""

from __future__ import annotations

import pyarrow as pa

from core.tables import MEETING_RECORDS, PEOPLE_RECORDS, report_table
from core.tables.derived import DERIVED_TABLES
from core.tables.raw import RAW_TABLES
from core.tables.reports import FLAT_TABLES, MEETING_RECORD, PEOPLE_RECORD, ROLLUP_TABLES

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
