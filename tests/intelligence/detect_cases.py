"""Single-message detection for the detector's case tables: one message alone, or many scanned together.

A scan has a fixed cost (~0.3 s here: DuckDB plans a query of some fifty regular expressions), which is
most of a one-message case's time; `DetectedTogether` scans every text of a table at once, each message
alone in its own channel, so none can see another (a thread, a huddle, a reply never leaves its channel).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import duckdb

from intelligence import detect_evidence
from tests.intelligence.raw_builders import ORG_SLACK, T0, message, raw_connection, table


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    """Give one connection with the org's Slack users, reused by the single-message cases."""
    return raw_connection(slack_users=ORG_SLACK)


def detect_apart(messages: Sequence[dict]) -> list[dict | None]:
    """Give the evidence row (or None) of each of `messages` (each alone in its channel), in one scan."""
    assert len({m["channel_id"] for m in messages}) == len(messages)
    con = _connection()
    con.execute("DELETE FROM slack_messages")
    con.register("_batch", table("slack_messages", list(messages)))
    con.execute("INSERT INTO slack_messages SELECT * FROM _batch")
    con.unregister("_batch")
    rows = detect_evidence(con).to_pylist()
    by_channel = {r["channel_id"]: r for r in rows}
    assert len(by_channel) == len(rows)  # at most one row per message
    return [by_channel.get(m["channel_id"]) for m in messages]


def detect_one(text: str = "", **extra: object) -> dict | None:
    """Give the evidence row detected for a single message, or None."""
    return detect_apart([message("C1", T0, text, **extra)])[0]


class DetectedTogether:
    """What `detect_one(text)` gives for each of `texts`, from one scan made at the first look-up."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = sorted(set(texts))
        self._rows: dict[str, dict | None] | None = None

    def __call__(self, text: str) -> dict | None:
        if self._rows is None:
            found = detect_apart([message(f"C{i}", T0, t) for i, t in enumerate(self._texts)])
            self._rows = dict(zip(self._texts, found, strict=True))
        return self._rows[text]
