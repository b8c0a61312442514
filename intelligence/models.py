"""Records of the intelligence stage: people and correlation results, and evaluation scores.

The Arrow schemas of the derived tables live in `core.tables.derived` (every layer reads those tables);
they are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pydantic import BaseModel

from core.tables.derived import (
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
)


@dataclass(frozen=True)
class PeopleResult:
    """People resolved across directory, Slack and calendar, with how each identity was matched."""

    people: pa.Table  # PEOPLE
    links: pa.Table  # IDENTITY_LINKS

    @property
    def unmatched(self) -> int:
        """Give how many people are tied to no directory person (`match` is `unmatched`)."""
        return self.people.column("match").to_pylist().count("unmatched")


@dataclass(frozen=True)
class CorrelationResult:
    """Meetings with their participants, linked evidence and documents."""

    meetings: pa.Table  # MEETINGS
    participants: pa.Table  # MEETING_PARTICIPANTS
    links: pa.Table  # MEETING_EVIDENCE
    documents: pa.Table  # MEETING_DOCUMENTS
    excluded: pa.Table  # EXCLUDED_EVENTS


class Rates(BaseModel):
    """Precision, recall and F1 of a set of predictions against the truth, with the counts behind them.

    A ratio whose denominator is zero is 1.0 (nothing to find, or nothing claimed, is not an error).
    """

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float


class CalendarScore(BaseModel):
    """How well calendar events became meetings: one per true event, none extra, the right status."""

    expected: int  # truth meetings with a calendar event id (held or cancelled)
    reported: int  # meeting rows with a calendar event id (duplicates counted)
    found: int  # distinct true event ids among the reported rows
    duplicates: int  # reported rows beyond the first for the same event id
    precision: float  # found / reported: a duplicate or a non-meeting counts against it
    recall: float  # found / expected
    status_errors: int  # found meetings whose held/cancelled status differs from the truth
    cancelled_as_held: int  # truth-cancelled events reported as held meetings
    not_meetings_as_held: int  # focus time, out of office, solo or all-day events reported as held
    focus_time_as_held: int


class PeopleScore(BaseModel):
    """Share of Slack users mapped to the directory primary email (or guest address) the truth gives."""

    correct: int
    total: int
    accuracy: float


# The classes of misses `evaluate` lists, in the order the CLI prints them.
MISS_FIGURES = ("detection", "correlation", "calendar", "slack meetings", "people")


class Miss(BaseModel):
    """One mistake of the pipeline against the truth, told so a reader can see what went wrong and why.

    `subject` names what it is about (a message: channel, ts and its text shortened; an event; a reported
    meeting; a Slack user), `truth` what the truth says of it, `pipeline` what the pipeline made of it
    ('nothing' when it made nothing) and `reason` the evidence it gave (matched text, correlation reasons,
    identity links).
    """

    figure: str  # one of MISS_FIGURES
    what: str  # missed | false positive | wrong meeting | duplicated | extra | wrong status | wrong person
    subject: str
    truth: str
    pipeline: str
    reason: str

    def lines(self) -> list[str]:
        """Give the miss as four lines: what and subject, then truth, pipeline and reason indented."""
        return [
            f"{self.what}: {self.subject}",
            f"  truth:    {self.truth}",
            f"  pipeline: {self.pipeline}",
            f"  reason:   {self.reason}",
        ]


class Evaluation(BaseModel):
    """The figures `evaluate` gives for one pipeline state against one truth.json."""

    profile: str
    seed: int
    people_count: int
    days: int
    detection: Rates  # messages linked to a meeting vs messages the truth lists as evidence
    detector: Rates  # rows of the `evidence` table (linked or not) vs the same truth
    correlation_correct: int
    correlation_total: int  # true evidence messages that were linked to some meeting
    correlation_accuracy: float
    calendar: CalendarScore
    slack_meetings: Rates  # huddles and ad hoc calls, matched by their evidence
    people: PeopleScore
    misses: list[Miss]  # every mistake behind the figures, by figure (MISS_FIGURES order)

    def misses_of(self, figure: str) -> list[Miss]:
        """Give the misses of one figure, in the order they were found."""
        return [m for m in self.misses if m.figure == figure]

    def targets(self) -> dict[str, bool]:
        """Give each quality target and whether this evaluation meets it."""
        c = self.calendar
        return {
            "detection F1 >= 0.95": self.detection.f1 >= 0.95,
            "correlation accuracy >= 0.98": self.correlation_accuracy >= 0.98,
            "people mapping >= 0.99": self.people.accuracy >= 0.99,
            "calendar precision >= 0.99": c.precision >= 0.99,
            "calendar recall >= 0.99": c.recall >= 0.99,
            "no duplicate meetings": c.duplicates == 0,
            "no cancelled or non-meeting event held": c.cancelled_as_held + c.not_meetings_as_held == 0,
        }


# The schemas live in core.tables.derived; re-exported for this package's users.
__all__ = [
    "PeopleResult",
    "CorrelationResult",
    "Rates",
    "CalendarScore",
    "PeopleScore",
    "Evaluation",
    "Miss",
    "MISS_FIGURES",
    "PEOPLE",
    "IDENTITY_LINKS",
    "EVIDENCE",
    "EVIDENCE_ROLES",
    "MEETINGS",
    "MEETING_PARTICIPANTS",
    "MEETING_EVIDENCE",
    "MEETING_DOCUMENTS",
    "EXCLUDED_EVENTS",
    "DERIVED_TABLES",
]
