"""API pages turned into raw-table rows by the very readers the offline door uses.

A Slack export holds the objects users.list, conversations.list and conversations.history return, and a
workspace's Google dumps are events.list / files.list / users.list responses. So the live door writes each
batch of API objects to a private temp file in the dump's shape and hands it to the offline reader: both
doors give byte-identical rows (same time handling, same JSON text for nested vendor fields, same
defaults), and there is one normaliser to fix when a vendor adds a field.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from collectors._calendar_files import read_event_dumps
from collectors._google_files import read_directory_json, read_drive_files
from collectors._io import connect
from collectors._slack_export import read_conversations, read_day_files, read_users
from collectors.models import (
    CALENDAR_EVENTS,
    DIRECTORY_USERS,
    DRIVE_FILES,
    SLACK_MESSAGES,
    SLACK_USERS,
    InputBounds,
)
from core.chunks import Quarantined, SourceName


class Normaliser:
    """Turns lists of API objects into raw-table Arrow tables; one per collection, used by one thread.

    Bad records go where the offline readers put them: each method that takes `quarantine` appends the
    records it left out (or cut short) to it, for the collector to hand on with its chunk.
    """

    def __init__(self, bounds: InputBounds | None = None) -> None:
        self.bounds = bounds or InputBounds()
        self._dir = Path(tempfile.mkdtemp(prefix="meetintel-live-"))
        self._con = connect()
        self._names = itertools.count()

    def __enter__(self) -> Normaliser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the DuckDB connection and delete the temp folder."""
        self._con.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _write(self, payload: Any) -> Path:
        path = self._dir / f"{next(self._names)}.json"
        with path.open("w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
        return path

    def slack_users(
        self, members: Sequence[dict[str, Any]], shown: str, *, quarantine: list[Quarantined] | None = None
    ) -> pa.Table:
        """Give users.list members as SLACK_USERS rows."""
        members = _encodable(members, "slack", shown, lambda m: str(m.get("id")), quarantine)
        if not members:
            return SLACK_USERS.empty_table()
        path = self._write(list(members))
        try:
            return read_users(path, shown)
        finally:
            path.unlink(missing_ok=True)

    def slack_channels(
        self,
        conversations: Sequence[dict[str, Any]],
        shown: str,
        *,
        quarantine: list[Quarantined] | None = None,
    ) -> pa.Table:
        """Give conversations.list channels as SLACK_CHANNELS rows (each kind read as its export list)."""
        by_list: dict[str, list[dict[str, Any]]] = {}
        for conv in _encodable(conversations, "slack", shown, lambda c: str(c.get("id")), quarantine):
            by_list.setdefault(_export_list(conv), []).append(conv)
        paths = {name: (self._write(items), shown) for name, items in by_list.items()}
        try:
            return read_conversations(paths)
        finally:
            for path, _ in paths.values():
                path.unlink(missing_ok=True)

    def slack_messages(
        self,
        channel_id: str,
        messages: Sequence[dict[str, Any]],
        shown: str,
        *,
        quarantine: list[Quarantined] | None = None,
    ) -> pa.Table:
        """Give messages of one channel (history or replies) as SLACK_MESSAGES rows."""
        messages = _encodable(messages, "slack", shown, lambda m: f"{channel_id}/{m.get('ts')}", quarantine)
        if not messages:
            return SLACK_MESSAGES.empty_table()
        path = self._write(list(messages))
        try:
            return read_day_files(
                self._con,
                [(path, channel_id, shown)],
                max_text_chars=self.bounds.max_text_chars,
                quarantine=quarantine,
            )
        finally:
            path.unlink(missing_ok=True)

    def calendar_events(
        self,
        calendar_id: str,
        items: Sequence[dict[str, Any]],
        time_zone: str | None,
        shown: str,
        *,
        quarantine: list[Quarantined] | None = None,
    ) -> pa.Table:
        """Give events.list items of one calendar as CALENDAR_EVENTS rows (all-day dates in `time_zone`)."""
        items = _encodable(items, "calendar", shown, lambda e: str(e.get("id")), quarantine)
        if not items:
            return CALENDAR_EVENTS.empty_table()
        path = self._write({"kind": "calendar#events", "timeZone": time_zone, "items": list(items)})
        try:
            return read_event_dumps(
                self._con,
                [(path, calendar_id, shown)],
                max_title_chars=self.bounds.max_title_chars,
                quarantine=quarantine,
            )
        finally:
            path.unlink(missing_ok=True)

    def drive_files(
        self, files: Sequence[dict[str, Any]], shown: str, *, quarantine: list[Quarantined] | None = None
    ) -> pa.Table:
        """Give files.list files (or changes.list files) as DRIVE_FILES rows."""
        files = _encodable(files, "drive", shown, lambda f: str(f.get("id")), quarantine)
        if not files:
            return DRIVE_FILES.empty_table()
        path = self._write({"files": list(files)})
        try:
            return read_drive_files(
                path, shown, max_title_chars=self.bounds.max_title_chars, quarantine=quarantine
            )
        finally:
            path.unlink(missing_ok=True)

    def directory_users(
        self,
        users: Sequence[dict[str, Any]],
        shown: str,
        *,
        quarantine: list[Quarantined] | None = None,
        seen: set[str] | None = None,
    ) -> pa.Table:
        """Give Directory users.list users as DIRECTORY_USERS rows; `seen` holds the primary addresses of
        the listing's earlier chunks, so a duplicate across chunks is quarantined too."""
        users = _encodable(users, "directory", shown, lambda u: str(u.get("id")), quarantine)
        if not users:
            return DIRECTORY_USERS.empty_table()
        path = self._write({"users": list(users)})
        try:
            return read_directory_json(path, shown, quarantine=quarantine, seen=seen)
        finally:
            path.unlink(missing_ok=True)


def _encodable(
    items: Sequence[dict[str, Any]],
    source: SourceName,
    shown: str,
    key: Callable[[dict[str, Any]], str],
    sink: list[Quarantined] | None,
) -> list[dict[str, Any]]:
    """Give the API objects that can be written as UTF-8; one holding a lone surrogate (a JSON `\\ud800`
    escape the API sent) is left out and quarantined as `lone_surrogate`."""
    kept = []
    for item in items:
        try:
            json.dumps(item, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            if sink is not None:
                raw = json.dumps(item)  # ASCII-escaped, so the surrogate shows as \ud800
                sink.append(Quarantined.of(source, shown, key(item), "lone_surrogate", raw))
            continue
        kept.append(item)
    return kept


def _export_list(conv: dict[str, Any]) -> str:
    """Give the export list a conversations.list object belongs in (it decides the private/IM flags)."""
    if conv.get("is_im"):
        return "dms.json"
    if conv.get("is_mpim"):
        return "mpims.json"
    if conv.get("is_private") or conv.get("is_group"):
        return "groups.json"
    return "channels.json"
