"""What a collector hands the store: a batch of one raw table and the cursors it covers, committed together.

`Cursor` is where collection of one source key stopped (live APIs); `FileStamp` the cursor of one source
file (offline workspaces). A `Chunk` (files) or `LiveChunk` (APIs) is written in one transaction with them,
together with the records the collector quarantined (`Quarantined`: left out, or truncated, and why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import pyarrow as pa


@dataclass(frozen=True)
class Cursor:
    """Where collection of one source key stopped: a Slack channel's newest ts, a Calendar syncToken,
    a Drive page token. The store saves it in the same transaction as the rows it covers."""

    source: str  # "slack" | "calendar" | "drive" | "directory"
    key: str  # channel id, calendar id, "changes", "users"
    value: str


@dataclass(frozen=True)
class FileStamp:
    """The cursor of one source file: where it is and what identifies its content."""

    path: str  # relative to the workspace root (for ZIP entries: "slack.zip!general/2026-09-07.json")
    size: int
    fingerprint: str  # CRC32 (hex) of the content, for plain files and ZIP entries alike


SourceName = Literal["slack", "calendar", "drive", "directory"]

# How much of a quarantined record's raw value is kept: enough to find it in the file, never megabytes.
RAW_VALUE_CHARS = 500

# Each quarantine rule and what it means for the user: what happened to the record, and what to do.
QUARANTINE_RULES = {
    "lone_surrogate": "a text holds a lone UTF-16 surrogate (\\ud800-\\udfff); the record was left out — "
    "re-export the file, or fix the text",
    "end_before_start": "the event ends before it starts; it was left out — fix the event in the calendar",
    "unreadable_time": "a time cannot be read; the record was left out — fix or re-export the file",
    "missing_key": "the record has no key (a Slack message without `ts`); it was left out — re-export the "
    "file, or fix the record",
    "duplicate_email": "a second directory user has the same primaryEmail; the first one was kept — "
    "remove the duplicate account from the directory",
    "truncated": "a text was longer than MEETINTEL_MAX_TEXT_CHARS (messages) or MEETINTEL_MAX_TITLE_CHARS "
    "(titles, file names) and was cut to that length — raise the setting to keep more",
    "series_capped": "a recurring series has more instances in the window than MEETINTEL_ICS_MAX_INSTANCES; "
    "the later ones were left out — raise the setting or give the series an UNTIL or COUNT",
}


@dataclass(frozen=True)
class Quarantined:
    """A record a collector left out of its batch (or cut short), the rule it broke and its raw value."""

    source: SourceName
    file: str  # as `FileStamp.path` once the workspace reader relabels it; the shown name before
    record_key: str  # the record's natural key (message ts, event id, person id), or its position
    rule: str  # a key of QUARANTINE_RULES
    raw_value: str  # at most RAW_VALUE_CHARS, escaped so it is valid UTF-8

    @classmethod
    def of(cls, source: SourceName, file: str, record_key: str, rule: str, raw: object) -> Quarantined:
        """Give a quarantine record; `raw` is cut to RAW_VALUE_CHARS and lone surrogates are escaped."""
        text = raw if isinstance(raw, str) else repr(raw)
        return cls(source, file, _storable(record_key), rule, _storable(text))


def _storable(text: str) -> str:
    """Give the first RAW_VALUE_CHARS of `text`, lone surrogates as `\\ud800` (DuckDB text is UTF-8)."""
    return text[:RAW_VALUE_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class Chunk:
    """Rows of one raw table, the source files they fully cover and the records quarantined from them
    (committed together)."""

    table: str  # raw table name from collectors.models.RAW_TABLES
    batch: pa.Table  # exactly RAW_TABLES[table].schema
    files: list[FileStamp]
    quarantined: list[Quarantined] = field(default_factory=list)


class ReplaceScope(NamedTuple):
    """Rows the store deletes before upserting a chunk: `table` rows whose `column` equals `value`."""

    table: str
    column: str
    value: str


@dataclass
class LiveChunk:
    """Rows of one raw table from a live API and the cursors to save with them, in one transaction.

    With `replace_scope`, the store first deletes the rows that scope names (a calendar listed in full
    replaces what the store held for it: events deleted meanwhile disappear).
    """

    table: str  # raw table name from collectors.models.RAW_TABLES
    batch: pa.Table  # exactly RAW_TABLES[table].schema
    cursors: list[Cursor] = field(default_factory=list)
    replace_scope: ReplaceScope | None = None
    source: SourceName = field(kw_only=True)  # which source yielded it (for per-source counts)
    quarantined: list[Quarantined] = field(default_factory=list, kw_only=True)
