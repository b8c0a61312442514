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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from collectors._calendar_files import read_event_dumps
from collectors._google_files import read_directory_json, read_drive_files
from collectors._io import connect
from collectors._slack_export import read_conversations, read_day_files, read_users
from collectors.models import CALENDAR_EVENTS, DIRECTORY_USERS, DRIVE_FILES, SLACK_MESSAGES, SLACK_USERS


class Normaliser:
    """Turns lists of API objects into raw-table Arrow tables; one per collection, used by one thread."""

    def __init__(self) -> None:
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

    def slack_users(self, members: Sequence[dict[str, Any]], shown: str) -> pa.Table:
        """Give users.list members as SLACK_USERS rows."""
        if not members:
            return SLACK_USERS.empty_table()
        path = self._write(list(members))
        try:
            return read_users(path, shown)
        finally:
            path.unlink(missing_ok=True)

    def slack_channels(self, conversations: Sequence[dict[str, Any]], shown: str) -> pa.Table:
        """Give conversations.list channels as SLACK_CHANNELS rows (each kind read as its export list)."""
        by_list: dict[str, list[dict[str, Any]]] = {}
        for conv in conversations:
            by_list.setdefault(_export_list(conv), []).append(conv)
        paths = {name: (self._write(items), shown) for name, items in by_list.items()}
        try:
            return read_conversations(paths)
        finally:
            for path, _ in paths.values():
                path.unlink(missing_ok=True)

    def slack_messages(self, channel_id: str, messages: Sequence[dict[str, Any]], shown: str) -> pa.Table:
        """Give messages of one channel (history or replies) as SLACK_MESSAGES rows."""
        if not messages:
            return SLACK_MESSAGES.empty_table()
        path = self._write(list(messages))
        try:
            return read_day_files(self._con, [(path, channel_id, shown)])
        finally:
            path.unlink(missing_ok=True)

    def calendar_events(
        self, calendar_id: str, items: Sequence[dict[str, Any]], time_zone: str | None, shown: str
    ) -> pa.Table:
        """Give events.list items of one calendar as CALENDAR_EVENTS rows (all-day dates in `time_zone`)."""
        if not items:
            return CALENDAR_EVENTS.empty_table()
        path = self._write({"kind": "calendar#events", "timeZone": time_zone, "items": list(items)})
        try:
            return read_event_dumps(self._con, [(path, calendar_id, shown)])
        finally:
            path.unlink(missing_ok=True)

    def drive_files(self, files: Sequence[dict[str, Any]], shown: str) -> pa.Table:
        """Give files.list files (or changes.list files) as DRIVE_FILES rows."""
        if not files:
            return DRIVE_FILES.empty_table()
        path = self._write({"files": list(files)})
        try:
            return read_drive_files(path, shown)
        finally:
            path.unlink(missing_ok=True)

    def directory_users(self, users: Sequence[dict[str, Any]], shown: str) -> pa.Table:
        """Give Directory users.list users as DIRECTORY_USERS rows."""
        if not users:
            return DIRECTORY_USERS.empty_table()
        path = self._write({"users": list(users)})
        try:
            return read_directory_json(path, shown)
        finally:
            path.unlink(missing_ok=True)


def _export_list(conv: dict[str, Any]) -> str:
    """Give the export list a conversations.list object belongs in (it decides the private/IM flags)."""
    if conv.get("is_im"):
        return "dms.json"
    if conv.get("is_mpim"):
        return "mpims.json"
    if conv.get("is_private") or conv.get("is_group"):
        return "groups.json"
    return "channels.json"
