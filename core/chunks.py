"""What a collector hands the store: a batch of one raw table and the cursors it covers, committed together.

`Cursor` is where collection of one source key stopped (live APIs); `FileStamp` the cursor of one source
file (offline workspaces). A `Chunk` (files) or `LiveChunk` (APIs) is written in one transaction with them.
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


@dataclass
class Chunk:
    """Rows of one raw table and the source files they fully cover (committed together)."""

    table: str  # raw table name from collectors.models.RAW_TABLES
    batch: pa.Table  # exactly RAW_TABLES[table].schema
    files: list[FileStamp]


SourceName = Literal["slack", "calendar", "drive", "directory"]


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
