"""Settings and results of the aggregation stage; the report schemas live in `core.tables.reports`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from core.errors import ConfigurationError
from core.tables.reports import (
    CORRELATION,
    DOCUMENT,
    DOCUMENTS_FLAT,
    EVIDENCE_FLAT,
    EVIDENCE_REF,
    FLAT_TABLES,
    MEETING_RECORD,
    MEETINGS_FLAT,
    METRIC_FIELDS,
    METRICS,
    PARTICIPANT,
    PARTICIPANTS_FLAT,
    PEOPLE_FLAT,
    PEOPLE_RECORD,
    ROLLUP_CHANNEL,
    ROLLUP_PERSON,
    ROLLUP_TABLES,
    ROLLUP_TEAM,
    ROLLUP_WEEK,
)


@dataclass(frozen=True)
class WorkingHours:
    """Working hours in each attendee's local time: [start_hour, end_hour) on the ISO weekdays (Mon=1)."""

    start_hour: int = 9
    end_hour: int = 17
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)

    def __post_init__(self) -> None:
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ConfigurationError(
                f"working hours {self.start_hour}:00-{self.end_hour}:00 are not a range within a day",
                "give 0 <= start_hour < end_hour <= 24, e.g. 9 and 17",
            )
        if not self.weekdays or any(d not in range(1, 8) for d in self.weekdays):
            raise ConfigurationError(
                f"working weekdays {self.weekdays} are not ISO weekdays",
                "give weekdays as numbers 1 (Monday) to 7 (Sunday), e.g. (1, 2, 3, 4, 5)",
            )


@dataclass(frozen=True)
class Reports:
    """What the exporters write: nested meeting and people records, and flat tables by CSV name."""

    meeting_records: pa.Table  # MEETING_RECORD
    people_records: pa.Table  # PEOPLE_RECORD
    tables: dict[str, pa.Table] = field(default_factory=dict)  # name -> (FLAT_TABLES | ROLLUP_TABLES)[name]


# The schemas live in core.tables.reports; re-exported for this package's users.
__all__ = [
    "WorkingHours",
    "Reports",
    "PARTICIPANT",
    "EVIDENCE_REF",
    "DOCUMENT",
    "CORRELATION",
    "METRIC_FIELDS",
    "METRICS",
    "MEETING_RECORD",
    "PEOPLE_RECORD",
    "MEETINGS_FLAT",
    "PARTICIPANTS_FLAT",
    "EVIDENCE_FLAT",
    "DOCUMENTS_FLAT",
    "PEOPLE_FLAT",
    "FLAT_TABLES",
    "ROLLUP_PERSON",
    "ROLLUP_TEAM",
    "ROLLUP_CHANNEL",
    "ROLLUP_WEEK",
    "ROLLUP_TABLES",
]
