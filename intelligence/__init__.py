"""intelligence: people mapping, meeting-evidence detection and correlation, as pure functions over DuckDB."""

from __future__ import annotations

from intelligence._calendar import calendar_cache_tables
from intelligence._context import context_evidence
from intelligence._correlate import correlate
from intelligence._detect import detect_evidence
from intelligence._people import map_people
from intelligence.models import (
    DERIVED_TABLES,
    EVIDENCE,
    EVIDENCE_ROLES,
    EXCLUDED_EVENTS,
    IDENTITY_LINKS,
    MEETING_DOCUMENTS,
    MEETING_EVIDENCE,
    MEETING_PARTICIPANTS,
    MEETINGS,
    PEOPLE,
    CorrelationResult,
    PeopleResult,
)

__all__ = [
    "DERIVED_TABLES",
    "EVIDENCE",
    "EVIDENCE_ROLES",
    "EXCLUDED_EVENTS",
    "IDENTITY_LINKS",
    "MEETINGS",
    "MEETING_DOCUMENTS",
    "MEETING_EVIDENCE",
    "MEETING_PARTICIPANTS",
    "PEOPLE",
    "CorrelationResult",
    "PeopleResult",
    "calendar_cache_tables",
    "context_evidence",
    "correlate",
    "detect_evidence",
    "map_people",
]
