"""Slack workspace exports (a folder or a ZIP) read into the raw Slack tables.

An export holds `users.json`, the conversation lists (`channels.json`, and for full exports `groups.json`,
`mpims.json`, `dms.json`) and one folder per conversation with a file per UTC day (`general/2026-09-07.json`,
an array of messages, replies included). Folders are named after the channel, or after the conversation id
for DMs and group DMs. Day files are parsed in bulk by DuckDB; the small metadata files by `json`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from collectors._io import (
    blank_to_none,
    content_fingerprint,
    duckdb_data_error,
    expect_list,
    load_json,
    refuse_link,
    refuse_special,
    table_of,
)
from collectors.models import SLACK_CHANNELS, SLACK_MESSAGES, SLACK_USERS, InputBounds
from core.chunks import Quarantined
from core.errors import ConfigurationError, DataError

USERS_FILE = "users.json"
# Conversation lists and the kind of conversation each one holds.
CONVERSATION_LISTS = {
    "channels.json": "channel",
    "groups.json": "group",
    "mpims.json": "mpim",
    "dms.json": "im",
}
_DAY_FILE = re.compile(r"^[^/]+/\d{4}-\d{2}-\d{2}\.json$")

_REEXPORT_HINT = "re-export the workspace from Slack, or remove the broken file"
_DAY_HINT = "re-export the channel or remove the file"
_ZIP_HINT = "the ZIP is damaged or was not written by Slack's export; re-download the export"

# Columns DuckDB extracts from each message object; nested vendor objects stay JSON text.
MESSAGE_COLUMNS = {
    "ts": "VARCHAR",
    "thread_ts": "VARCHAR",
    "user": "VARCHAR",
    "bot_id": "VARCHAR",
    "subtype": "VARCHAR",
    "text": "VARCHAR",
    "reply_count": "INTEGER",
    "latest_reply": "VARCHAR",
    "edited": "JSON",
    "reactions": "JSON",
    "files": "JSON",
    "file": "JSON",
    "attachments": "JSON",
    "room": "JSON",
}

# `ts` is "seconds.micros"; integer arithmetic on its two halves keeps every microsecond (a DOUBLE would not).
# Pre-2017 exports put a single legacy `file` object on file shares; it becomes a one-element `files` array.
_MESSAGES_SQL = """
SELECT d.channel_id, m.ts, m.thread_ts, m."user" AS user_id, m.bot_id, m.subtype,
       left(m.text, $max_text) AS text, m.reply_count,
       m.latest_reply, m.edited ->> 'ts' AS edited_ts, CAST(m.reactions AS VARCHAR) AS reactions,
       CAST(coalesce(m.files, CASE WHEN m.file IS NOT NULL THEN json_array(m.file) END) AS VARCHAR) AS files,
       CAST(m.attachments AS VARCHAR) AS attachments, CAST(m.room AS VARCHAR) AS room,
       make_timestamp(TRY_CAST(split_part(m.ts, '.', 1) AS BIGINT) * 1000000
                      + TRY_CAST(rpad(split_part(m.ts, '.', 2), 6, '0')[1:6] AS BIGINT)) AS posted_at,
       length(m.text) > $max_text AS _cut, d.filename AS _file
FROM read_json($files, columns = $columns, format = 'array', filename = true) AS m
JOIN _day_files AS d ON d.filename = m.filename
ORDER BY d.channel_id, m.ts
"""


@dataclass(frozen=True)
class ExportEntry:
    """A file of an export: its path inside the export and what identifies its content."""

    name: str  # POSIX path inside the export, e.g. "general/2026-09-07.json"
    size: int
    fingerprint: str  # CRC32 (hex) of the content, for folder files and ZIP entries alike


class SlackExport:
    """An export opened for reading; ZIP entries are extracted on demand into a private temp folder."""

    def __init__(
        self, source: Path, label: str, bounds: InputBounds | None = None, folders: Set[str] | None = None
    ) -> None:
        """Open `source`; with `folders`, list (and stamp) the day files of only those conversation folders
        beside the metadata files (a batch of channels read on its own)."""
        self.source = source
        self.bounds = bounds or InputBounds()
        self.label = label  # what stamp paths start with: "slack/", "slack.zip!" or "" for a bare folder
        self._zip: zipfile.ZipFile | None = None
        self._tmp: Path | None = None
        self._prefix = ""
        if source.is_dir():
            self.entries = _folder_entries(source, folders)
            return
        self._zip = _open_zip(source)
        try:
            for info in self._zip.infolist():
                _check_entry(source, info)
            _check_sizes(source, self._zip.infolist(), self.bounds)
        except DataError:
            self.close()
            raise
        self._prefix = _zip_prefix(self._zip)
        self.entries = _zip_entries(self._zip, self._prefix)
        if folders is not None:
            wanted = {n: e for n, e in self.entries.items() if "/" not in n or n.split("/")[0] in folders}
            self.entries = wanted
        self._tmp = Path(tempfile.mkdtemp(prefix="meetintel-slack-"))

    def __enter__(self) -> SlackExport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the ZIP and delete whatever was extracted from it."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def day_files(self) -> list[ExportEntry]:
        """Give the day files of every conversation folder, sorted by folder then day."""
        return sorted((e for e in self.entries.values() if _DAY_FILE.match(e.name)), key=lambda e: e.name)

    def shown(self, name: str) -> str:
        """Give how an entry is named in messages to the user (the file, or `zip!entry`)."""
        if self._zip is not None:
            return f"{self.source}!{self._prefix}{name}"
        return str(self.source / name)

    def local_paths(self, names: Sequence[str]) -> list[Path]:
        """Give readable local files for `names`, extracting ZIP entries into the temp folder."""
        if self._zip is None:
            return [self.source / n for n in names]
        return [self._extract(n) for n in names]

    def release(self, names: Iterable[str]) -> None:
        """Delete extracted copies of `names` once read, so a big ZIP never sits on disk twice."""
        if self._tmp is None:
            return
        for name in names:
            (self._tmp / name).unlink(missing_ok=True)

    def _extract(self, name: str) -> Path:
        assert self._zip is not None and self._tmp is not None
        target = (self._tmp / name).resolve()
        if not target.is_relative_to(self._tmp.resolve()):
            raise DataError(f"{self.shown(name)}: ZIP entry escapes the extraction folder", _ZIP_HINT)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._zip.open(self._prefix + name) as src, target.open("wb") as dst:
                _copy_at_most(src, dst, self.bounds.zip_max_entry_bytes, self.shown(name))
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"{self.shown(name)}: cannot extract ({exc})", _ZIP_HINT) from exc
        return target


def _folder_entries(folder: Path, only: Set[str] | None = None) -> dict[str, ExportEntry]:
    """Give the metadata files and day files of an export folder with their content stamps.

    The files `folder_files` lists; a plain file under a plain folder costs one lstat (and its CRC32, unless
    `content_fingerprint` reuses it). Anything else goes through `refuse_special`, which names what it is
    and refuses it. (Every run stamps every file; at L the path-by-path checks took 0.4 s of the 0.7 s this
    took.) With `only`, the subfolders not named there are neither listed nor read.
    """
    return {
        name: _stamp_entry(folder, entry, name, inside_link=inside_link)
        for name, entry, inside_link in folder_files(folder, only)
    }


def folder_files(folder: Path, only: Set[str] | None = None) -> Iterator[tuple[str, os.DirEntry[str], bool]]:
    """Give each metadata file and day file of an export folder: its name in the export, its directory entry
    and whether its folder is a link.

    The same files as `folder.glob("*.json")` and `folder.glob("*/*.json")` (day files only), listed with
    `os.scandir`, whose entries know whether they are plain files and folders. With `only`, the subfolders
    not named there are not listed.
    """
    with os.scandir(folder) as listing:
        top = list(listing)
    for entry in top:
        if entry.name.endswith(".json"):
            yield entry.name, entry, False
    for sub in top:
        if only is not None and sub.name not in only:
            continue
        if not sub.is_dir():  # follows a link, as glob does: a linked folder's files are refused when stamped
            continue
        with os.scandir(sub.path) as listing:
            for entry in listing:
                name = f"{sub.name}/{entry.name}"
                if entry.name.endswith(".json") and _DAY_FILE.match(name):
                    yield name, entry, sub.is_symlink()


def _stamp_entry(folder: Path, entry: os.DirEntry[str], name: str, *, inside_link: bool) -> ExportEntry:
    """Give the stamp of a listed file, refusing links, special files and files in a linked folder."""
    if inside_link or not entry.is_file(follow_symlinks=False):
        refuse_special(folder, Path(entry.path))  # raises: a link, a pipe, a device or a folder
    status = entry.stat(follow_symlinks=False)  # the listing's own lstat: a plain file here
    return ExportEntry(name, status.st_size, content_fingerprint(entry.path, status))


def _open_zip(source: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{source}: not a readable ZIP file ({exc})", _ZIP_HINT) from exc


def _check_entry(source: Path, info: zipfile.ZipInfo) -> None:
    """Refuse an entry that could write outside the extraction folder: absolute, `..`, or a symlink."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    absolute = name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name))
    is_link = info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)
    if absolute or ".." in parts or is_link:
        why = "is a symbolic link" if is_link else "points outside the export folder"
        raise DataError(f"{source}!{name}: ZIP entry {why}; refusing to extract it", _ZIP_HINT)


def _too_big(setting: str, what: str, limit: int) -> str:
    return f"{what}, more than MEETINTEL_{setting.upper()} ({limit:,})"


def _check_sizes(source: Path, infos: list[zipfile.ZipInfo], bounds: InputBounds) -> None:
    """Refuse a ZIP whose central directory promises too much, before anything is extracted.

    Entry count, each entry's size and compression ratio, and the total size are bounded by settings; a
    ZIP bomb (megabytes that expand to gigabytes) is refused here instead of filling the disk.
    """
    hint = "a genuine export that large needs the setting raised; otherwise re-download the export"
    if len(infos) > bounds.zip_max_entries:
        msg = _too_big("zip_max_entries", f"{len(infos):,} entries", bounds.zip_max_entries)
        raise DataError(f"{source}: the ZIP holds {msg}; refusing to extract it", hint)
    for info in infos:
        if info.file_size > bounds.zip_max_entry_bytes:
            msg = _too_big("zip_max_entry_bytes", f"{info.file_size:,} bytes", bounds.zip_max_entry_bytes)
            raise DataError(
                f"{source}!{info.filename}: ZIP entry expands to {msg}; refusing to extract it", hint
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > bounds.zip_max_ratio:
            msg = _too_big("zip_max_ratio", f"{ratio:,.0f} times its compressed size", bounds.zip_max_ratio)
            raise DataError(
                f"{source}!{info.filename}: ZIP entry expands to {msg}; refusing to extract it", hint
            )
    total = sum(i.file_size for i in infos)
    if total > bounds.zip_max_bytes:
        msg = _too_big("zip_max_bytes", f"{total:,} bytes", bounds.zip_max_bytes)
        raise DataError(f"{source}: the ZIP expands to {msg}; refusing to extract it", hint)


def _copy_at_most(src: Any, dst: Any, limit: int, shown: str) -> None:
    """Copy a ZIP entry, stopping when it gives more than `limit` bytes (a central directory can lie)."""
    copied = 0
    while block := src.read(1 << 20):
        copied += len(block)
        if copied > limit:
            raise DataError(
                f"{shown}: ZIP entry expands past MEETINTEL_ZIP_MAX_ENTRY_BYTES ({limit:,}) although its "
                "header says less; refusing to extract it",
                _ZIP_HINT,
            )
        dst.write(block)


def _zip_prefix(zf: zipfile.ZipFile) -> str:
    """Give the folder inside the ZIP that holds the export ("" at the root, or one wrapper folder)."""
    tops = [i.filename for i in zf.infolist() if PurePosixPath(i.filename).name in CONVERSATION_LISTS]
    if not tops:
        return ""
    shallowest = min(tops, key=lambda n: n.count("/"))
    parent = str(PurePosixPath(shallowest).parent)
    return "" if parent == "." else parent + "/"


def _zip_entries(zf: zipfile.ZipFile, prefix: str) -> dict[str, ExportEntry]:
    """Give metadata files and day files of a ZIP export, stamped by CRC32 and size."""
    entries: dict[str, ExportEntry] = {}
    for info in zf.infolist():
        if info.is_dir() or not info.filename.startswith(prefix):
            continue
        name = info.filename[len(prefix) :]
        if ("/" not in name and name.endswith(".json")) or _DAY_FILE.match(name):
            entries[name] = ExportEntry(name, info.file_size, f"{info.CRC:08x}")
    return entries


def open_export(
    source: Path, label: str, bounds: InputBounds | None = None, folders: Set[str] | None = None
) -> SlackExport:
    """Give the export at `source` (a folder or a ZIP) opened for reading, within `bounds`; with `folders`,
    only those conversation folders' day files are listed."""
    if not source.exists():
        raise ConfigurationError(f"Slack export {source} does not exist", "check the workspace path")
    refuse_link(source.parent, source)
    return SlackExport(source, label, bounds, folders)


# ---- users and conversations -----------------------------------------------------------------------


def read_users(path: Path, shown: str) -> pa.Table:
    """Give the users of `users.json` as a SLACK_USERS table."""
    users = expect_list(load_json(path, shown, _REEXPORT_HINT), shown, "a list of users", _REEXPORT_HINT)
    return table_of(users, lambda u: _user_row(u, shown), SLACK_USERS, shown, _REEXPORT_HINT)


def _user_row(user: dict[str, Any], shown: str) -> dict[str, Any]:
    if not user.get("id"):
        raise DataError(f"{shown}: a user has no id ({str(user)[:80]})", _REEXPORT_HINT)
    profile = user.get("profile") or {}
    return {
        "user_id": user["id"],
        "team_id": user.get("team_id") or profile.get("team"),
        "name": blank_to_none(user.get("name")),
        "real_name": blank_to_none(user.get("real_name") or profile.get("real_name")),
        "display_name": blank_to_none(profile.get("display_name")),
        # Exports write "" where the workspace hides e-mail addresses.
        "email": blank_to_none(profile.get("email")),
        "tz": blank_to_none(user.get("tz")),
        "tz_offset": user.get("tz_offset"),
        "is_bot": bool(user.get("is_bot")),
        "deleted": bool(user.get("deleted")),
        "is_restricted": bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    }


def read_conversations(lists: dict[str, tuple[Path, str]]) -> pa.Table:
    """Give the conversations of the lists present (list file name -> (local path, shown name))."""
    tables = [SLACK_CHANNELS.empty_table()]
    for list_name, (path, shown) in sorted(lists.items()):
        kind = CONVERSATION_LISTS[list_name]
        items = expect_list(
            load_json(path, shown, _REEXPORT_HINT), shown, "a list of conversations", _REEXPORT_HINT
        )
        row = functools.partial(_conversation_row, kind=kind, shown=shown)
        tables.append(table_of(items, row, SLACK_CHANNELS, shown, _REEXPORT_HINT))
    return pa.concat_tables(tables)


def _conversation_row(conv: dict[str, Any], kind: str, shown: str) -> dict[str, Any]:
    if not conv.get("id"):
        raise DataError(f"{shown}: a conversation has no id ({str(conv)[:80]})", _REEXPORT_HINT)
    created = conv.get("created")
    return {
        "channel_id": conv["id"],
        "name": blank_to_none(conv.get("name")),
        # Everything but public channels is private; exports do not always say so.
        "is_private": kind != "channel" or bool(conv.get("is_private")),
        "is_im": bool(conv.get("is_im")) or kind == "im",
        "is_mpim": bool(conv.get("is_mpim")) or kind == "mpim",
        # Old exports write `created` as a string of epoch seconds.
        "created": int(float(created)) if created not in (None, "") else None,
        "topic": blank_to_none((conv.get("topic") or {}).get("value")),
        "purpose": blank_to_none((conv.get("purpose") or {}).get("value")),
        "members": conv.get("members"),
    }


def folder_channel_ids(conversations: pa.Table) -> dict[str, str]:
    """Give the channel id of each possible folder name: the channel's name, or its id (DMs, group DMs)."""
    ids = conversations.column("channel_id").to_pylist()
    names = conversations.column("name").to_pylist()
    by_folder = {cid: cid for cid in ids}
    by_folder.update({name: cid for name, cid in zip(names, ids, strict=True) if name})
    return by_folder


# ---- messages ----------------------------------------------------------------------------------------


def read_day_files(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[Path, str, str]],
    *,
    max_text_chars: int = InputBounds.max_text_chars,
    quarantine: list[Quarantined] | None = None,
) -> pa.Table:
    """Give the messages of day files (local path, channel id, shown name) as a SLACK_MESSAGES table.

    A bad message (a lone surrogate, no ts, an unreadable ts) is left out and appended to `quarantine`, as
    is a note for each text cut to `max_text_chars`; the file's other messages are kept.
    """
    if not files:
        return SLACK_MESSAGES.empty_table()
    sink = quarantine if quarantine is not None else []
    try:
        table = _query_days(con, files, max_text_chars)
    except (duckdb.Error, UnicodeDecodeError) as exc:
        # DuckDB refuses a whole file for one lone surrogate; Python's JSON reads it, so such messages
        # are quarantined and the rest of the file is read from a cleaned copy.
        with tempfile.TemporaryDirectory(prefix="meetintel-clean-") as folder:
            cleaned = _without_surrogates(files, Path(folder), sink)
            if cleaned is None:
                shown = {str(p): s for p, _, s in files}
                raise duckdb_data_error(exc, shown, "Slack day files", _DAY_HINT) from exc
            return read_day_files(con, cleaned, max_text_chars=max_text_chars, quarantine=sink)
    shown = {str(p): s for p, _, s in files}
    table = _quarantine_keyless(table, shown, sink)
    unreadable = pc.is_null(table.column("posted_at"))
    for row in table.filter(unreadable).select(["channel_id", "ts", "_file"]).to_pylist():
        key = f"{row['channel_id']}/{row['ts']}"
        sink.append(Quarantined.of("slack", shown[row["_file"]], key, "unreadable_time", row["ts"]))
    table = table.filter(pc.invert(unreadable))
    for row in table.filter(table.column("_cut")).select(["channel_id", "ts", "text", "_file"]).to_pylist():
        key = f"{row['channel_id']}/{row['ts']}"
        sink.append(Quarantined.of("slack", shown[row["_file"]], key, "truncated", row["text"]))
    # DuckDB gives a naive UTC timestamp; the cast only attaches the UTC zone.
    return table.drop_columns(["_cut", "_file"]).cast(SLACK_MESSAGES)


def _query_days(
    con: duckdb.DuckDBPyConnection, files: Sequence[tuple[Path, str, str]], max_text: int
) -> pa.Table:
    paths = [str(p) for p, _, _ in files]
    con.register("_day_files", pa.table({"filename": paths, "channel_id": [c for _, c, _ in files]}))
    try:
        params = {"files": paths, "columns": MESSAGE_COLUMNS, "max_text": max_text}
        return con.sql(_MESSAGES_SQL, params=params).to_arrow_table()
    finally:
        con.unregister("_day_files")


_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F][0-9a-fA-F]{2}")


def _without_surrogates(
    files: Sequence[tuple[Path, str, str]], folder: Path, sink: list[Quarantined]
) -> list[tuple[Path, str, str]] | None:
    """Give `files` with each file holding lone surrogates replaced by a copy in `folder` without those
    messages (quarantined into `sink`), or None when no file has one (the failure is something else)."""
    out, found = [], False
    for i, (path, channel, shown) in enumerate(files):
        data = path.read_bytes()
        messages = _json_or_none(data) if _SURROGATE_ESCAPE.search(data) else None
        if not isinstance(messages, list):
            out.append((path, channel, shown))
            continue
        kept = [m for m in messages if _encodable(m)]
        for bad in (m for m in messages if not _encodable(m)):
            key = f"{channel}/{bad.get('ts') if isinstance(bad, dict) else '?'}"
            sink.append(Quarantined.of("slack", shown, key, "lone_surrogate", json.dumps(bad)))
        found = found or len(kept) < len(messages)
        copy = folder / f"{i}.json"
        copy.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
        out.append((copy, channel, shown))
    return out if found else None


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _encodable(message: Any) -> bool:
    """Give whether a parsed message can be written as UTF-8 (a lone surrogate cannot)."""
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _quarantine_keyless(table: pa.Table, shown: dict[str, str], sink: list[Quarantined]) -> pa.Table:
    """Give `table` without messages that have no `ts` (their key), each quarantined as `missing_key`."""
    keyless = pc.is_null(table.column("ts"))
    if not pc.any(keyless).as_py():
        return table
    for row in table.filter(keyless).select(["channel_id", "user_id", "text", "_file"]).to_pylist():
        raw = json.dumps({"user": row["user_id"], "text": row["text"]}, ensure_ascii=False)
        key = f"{row['channel_id']}/(no ts)"
        sink.append(Quarantined.of("slack", shown[row["_file"]], key, "missing_key", raw))
    return table.filter(pc.invert(keyless))
