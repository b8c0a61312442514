"""aggregation: meeting records, coordination metrics, rollups and flat report tables, over DuckDB."""

from __future__ import annotations

from aggregation._reports import build_reports
from aggregation.models import (
    FLAT_TABLES,
    MEETING_RECORD,
    METRIC_FIELDS,
    PEOPLE_RECORD,
    ROLLUP_TABLES,
    Reports,
    WorkingHours,
)
from aggregation.search import (
    EXAMPLE_QUERIES,
    MeetingFilter,
    create_analyst_views,
    filter_meetings,
    meeting_ids,
    scoped_reports,
    top_meetings,
)

__all__ = [
    "EXAMPLE_QUERIES",
    "FLAT_TABLES",
    "MEETING_RECORD",
    "METRIC_FIELDS",
    "PEOPLE_RECORD",
    "ROLLUP_TABLES",
    "MeetingFilter",
    "Reports",
    "WorkingHours",
    "build_reports",
    "create_analyst_views",
    "filter_meetings",
    "meeting_ids",
    "scoped_reports",
    "top_meetings",
]
