"""Offline collection: walk a workspace snapshot and yield raw-table chunks for new or changed files.

A workspace (DESIGN.md §3) holds `slack/` or `slack.zip` (a Slack export) and `google/` with
`calendar/<calendarId>.json|.ics`, `drive/files.json` and `directory/users.json|users.csv`. A bare Slack
export (folder or ZIP) may also be passed as the root. Every source file has a `FileStamp`; a chunk is
yielded only for files whose stamp is not in `seen`, so an incremental run reads only new data.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Iterator, Mapping, Sequence, Set
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from collectors._calendar_files import read_event_dumps, read_ics
from collectors._google_files import read_directory_csv, read_directory_json, read_drive_files
from collectors._io import connect, content_fingerprint, refuse_special
from collectors._slack_export import (
    CONVERSATION_LISTS,
    USERS_FILE,
    SlackExport,
    folder_channel_ids,
    folder_files,
    open_export,
    read_conversations,
    read_day_files,
    read_users,
)
from collectors.models import InputBounds
from core.chunks import Chunk, FileStamp, Quarantined
from core.errors import ConfigurationError, DataError

T = TypeVar("T")

# Files one chunk reads at most: at L, 1,000 day files a chunk took collect 1.4-1.5 s less than 500 (half the
# commits, each with its fixed cost) for 6-12 MB more at its peak; CHUNK_BYTES binds first for day files.
CHUNK_FILES = 1000
# Upper bound on the source bytes one chunk reads, whatever `chunk_files` says (keeps peak memory flat).
CHUNK_BYTES = 24 << 20
# A calendar dump is one JSON object, which DuckDB parses whole, several times its size in memory, two files
# at once: a dump above this size is read in a chunk of its own, so the reader's 200 MB holds it (at 10x L,
# 1,500 days, two 12 MB dumps read together failed to allocate; each alone reads).
ALONE_BYTES = 4 << 20


@dataclass(frozen=True)
class _Layout:
    """Where each source of a workspace lives (None when absent)."""

    root: Path
    slack: Path | None
    slack_label: str  # prefix of Slack stamp paths: "slack/", "slack.zip!", "export.zip!" or ""
    google: Path | None


def collect_workspace(
    root: Path,
    seen: Mapping[str, FileStamp],
    *,
    ics_window: tuple[datetime, datetime] | None = None,
    chunk_files: int = CHUNK_FILES,
    bounds: InputBounds | None = None,
    as_of: datetime | None = None,
    day_folders: Set[str] | None = None,
    calendar_files: Set[str] | None = None,
) -> Iterator[Chunk]:
    """Yield chunks for the workspace's new or changed source files (stamp not in `seen`).

    Order: directory users, Slack users, Slack channels, Slack messages, calendar events, Drive files.
    A file with no rows still yields a (empty) chunk so its stamp gets recorded. Slack day files and
    calendar JSON files are read `chunk_files` at a time (and at most about `CHUNK_BYTES` of JSON per
    chunk); `.ics` files are expanded over `ics_window`, or from their first start to
    `bounds.ics_horizon_days` past `as_of` (the run's time, default now). Bad records are left out of
    their chunk and listed in its `quarantined`; every file must be a regular file (no links, no pipes).
    With `day_folders`, only the day files of those Slack conversation folders are read (an empty set: none,
    when batches of folders are read elsewhere by `collect_day_folders`); `calendar_files` does the same for
    the files of `google/calendar/` (by file name; see `collect_calendar_files`).
    """
    if chunk_files < 1:
        raise ConfigurationError(
            f"chunk_files must be at least 1, got {chunk_files}", "pass a positive number"
        )
    layout = _locate(Path(root))
    bounds = bounds or InputBounds()
    window = ics_window or (None, as_of or datetime.now(UTC))
    con = connect()
    with ExitStack() as stack:
        stack.callback(con.close)
        # Opened first: a ZIP over its bounds is refused before any chunk of this run is committed.
        export = (
            stack.enter_context(open_export(layout.slack, layout.slack_label, bounds, day_folders))
            if layout.slack
            else None
        )
        if layout.google is not None:
            yield from _directory_chunks(layout, seen)
        if export is not None:
            yield from _slack_chunks(export, seen, con, chunk_files, bounds)
        if layout.google is not None:
            yield from _calendar_chunks(layout, seen, con, window, chunk_files, bounds, calendar_files)
            yield from _drive_chunks(layout, seen, bounds)


def collect_day_folders(
    root: Path,
    seen: Mapping[str, FileStamp],
    folders: Set[str],
    *,
    chunk_files: int = CHUNK_FILES,
    bounds: InputBounds | None = None,
) -> Iterator[Chunk]:
    """Yield the `slack_messages` chunks of the new or changed day files in the Slack conversation folders
    `folders` only (a batch of channels, read on its own, e.g. on a Dask worker).

    The chunks are those `collect_workspace` yields for these files, cut the same way; users, conversation
    lists and the Google files are left to it. Only the named folders are listed and stamped.
    """
    if chunk_files < 1:
        raise ConfigurationError(
            f"chunk_files must be at least 1, got {chunk_files}", "pass a positive number"
        )
    layout = _locate(Path(root))
    if layout.slack is None:
        return
    bounds = bounds or InputBounds()
    con = connect()
    with ExitStack() as stack:
        stack.callback(con.close)
        export = stack.enter_context(open_export(layout.slack, layout.slack_label, bounds, folders))
        yield from _slack_chunks(export, seen, con, chunk_files, bounds, metadata=False)


def day_folder_sizes(root: Path, seen: Mapping[str, FileStamp]) -> dict[str, int]:
    """Give the bytes of new or changed day files (stamp not in `seen`) of each Slack conversation folder
    that has any, by folder name: what `collect_day_folders` would read, for cutting it into batches."""
    layout = _locate(Path(root))
    if layout.slack is None:
        return {}
    sizes: dict[str, int] = {}
    with open_export(layout.slack, layout.slack_label) as export:
        for entry in export.day_files():
            if _is_new(FileStamp(export.label + entry.name, entry.size, entry.fingerprint), seen):
                folder = entry.name.split("/", 1)[0]
                sizes[folder] = sizes.get(folder, 0) + entry.size
    return sizes


def collect_calendar_files(
    root: Path,
    seen: Mapping[str, FileStamp],
    names: Set[str],
    *,
    chunk_files: int = CHUNK_FILES,
    bounds: InputBounds | None = None,
    as_of: datetime | None = None,
) -> Iterator[Chunk]:
    """Yield the `calendar_events` chunks of the new or changed files among `names` of `google/calendar/`
    only (a batch of calendars read on its own), cut and windowed as `collect_workspace` does."""
    layout = _locate(Path(root))
    if layout.google is None:
        return
    con = connect()
    try:
        window = (None, as_of or datetime.now(UTC))
        yield from _calendar_chunks(layout, seen, con, window, chunk_files, bounds or InputBounds(), names)
    finally:
        con.close()


def calendar_file_sizes(root: Path, seen: Mapping[str, FileStamp]) -> dict[str, int]:
    """Give the size of each new or changed file of `google/calendar/` (stamp not in `seen`), by file name."""
    layout = _locate(Path(root))
    return {p.name: s.size for p in _calendar_paths(layout) if _is_new(s := _stamp(layout.root, p), seen)}


def _calendar_paths(layout: _Layout, only: Set[str] | None = None) -> list[Path]:
    """Give the calendar files of `google/calendar/` (JSON dumps and .ics), sorted; with `only`, those of
    these file names."""
    folder = layout.google / "calendar" if layout.google is not None else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in (".json", ".ics") and not p.is_dir() and (only is None or p.name in only)
    )


def day_folder_of(path: str) -> str:
    """Give the conversation folder of a Slack day file's stamp path ("slack/general/2026-09-07.json",
    "slack.zip!general/…" or a bare export's "general/…" all give "general")."""
    return path.rsplit("!", 1)[-1].rsplit("/", 2)[-2]


def workspace_paths(root: Path) -> set[str]:
    """Give the stamp path of every source file the workspace holds now, reading none of them.

    The store deletes the rows of stored files missing here (the workspace is the truth for file sources).
    """
    layout = _locate(Path(root))
    paths: set[str] = set()
    if layout.slack is not None:
        paths |= {layout.slack_label + name for name in _export_names(layout.slack, layout.slack_label)}
    if layout.google is not None:
        google = layout.google
        calendar = google / "calendar"
        candidates = [google / "directory" / "users.json", google / "directory" / "users.csv"]
        candidates += [google / "drive" / "files.json"]
        if calendar.is_dir():
            candidates += [p for p in calendar.iterdir() if p.suffix.lower() in (".json", ".ics")]
        paths |= {p.relative_to(layout.root).as_posix() for p in candidates if p.is_file()}
    return paths


def _export_names(source: Path, label: str) -> set[str]:
    """Give the entry names of a Slack export (metadata files and day files) without reading them."""
    if not source.is_dir():
        with open_export(source, label) as export:
            return set(export.entries)
    return {name for name, _, _ in folder_files(source)}


def _locate(root: Path) -> _Layout:
    """Give where the Slack export and the Google dumps of `root` are."""
    if not root.exists():
        raise ConfigurationError(f"workspace {root} does not exist", "check the --workspace path")
    if root.is_file():
        if not zipfile.is_zipfile(root):
            raise ConfigurationError(
                f"{root} is a file but not a ZIP", "pass a workspace folder or a Slack export"
            )
        return _Layout(root.parent, root, f"{root.name}!", None)
    folder, archive = root / "slack", root / "slack.zip"
    if folder.is_dir() and archive.is_file():
        raise ConfigurationError(
            f"{root} holds both slack/ and slack.zip", "keep one of them so the export is read once"
        )
    slack, label = None, ""
    if folder.is_dir():
        slack, label = folder, "slack/"
    elif archive.is_file():
        slack, label = archive, "slack.zip!"
    elif any((root / name).is_file() for name in (USERS_FILE, *CONVERSATION_LISTS)):
        slack = root  # a bare export folder
    google = root / "google" if (root / "google").is_dir() else None
    if slack is None and google is None:
        raise ConfigurationError(
            f"{root} has no slack/, slack.zip, google/ or Slack export files",
            "point at a workspace snapshot (see DESIGN.md §3) or a Slack export",
        )
    return _Layout(root, slack, label, google)


def _stamp(root: Path, path: Path) -> FileStamp:
    """Give the stamp of a plain file: its path below `root`, size and content CRC32.

    Every workspace file is stamped before it is read, so this is where links and special files are refused.
    """
    refuse_special(root, path)
    status = path.stat()
    return FileStamp(path.relative_to(root).as_posix(), status.st_size, content_fingerprint(path, status))


def _present(path: Path) -> bool:
    """Give whether `path` names anything, a dangling link or a pipe included (`_stamp` refuses those)."""
    return path.is_symlink() or path.exists()


def _relabel(quarantined: list[Quarantined], paths: Mapping[str, str]) -> list[Quarantined]:
    """Give quarantine records naming their file by its stamp path (shown name -> stamp path in `paths`)."""
    return [dataclasses.replace(q, file=paths.get(q.file, q.file)) for q in quarantined]


def _is_new(stamp: FileStamp, seen: Mapping[str, FileStamp]) -> bool:
    return seen.get(stamp.path) != stamp


def _groups(
    items: Sequence[T], sizes: Sequence[int], max_files: int, alone: int | None = None
) -> Iterator[Sequence[T]]:
    """Give consecutive groups of at most `max_files` items and about `CHUNK_BYTES` of file content.

    The byte budget bounds memory when files are big (a calendar dump can be megabytes); a single file
    larger than the budget still forms a group of its own, as does every file larger than `alone`.
    """
    start, total = 0, 0
    for i, size in enumerate(sizes):
        big = alone is not None and (size > alone or sizes[i - 1] > alone)
        if i > start and (i - start >= max_files or total + size > CHUNK_BYTES or big):
            yield items[start:i]
            start, total = i, 0
        total += size
    if start < len(items):
        yield items[start:]


# ---- directory and Drive ------------------------------------------------------------------------------


def _directory_chunks(layout: _Layout, seen: Mapping[str, FileStamp]) -> Iterator[Chunk]:
    """Yield the directory users chunk when users.json or users.csv is new."""
    assert layout.google is not None
    as_json, as_csv = layout.google / "directory" / "users.json", layout.google / "directory" / "users.csv"
    if as_json.is_file() and as_csv.is_file():
        raise ConfigurationError(
            f"{as_json.parent} holds both users.json and users.csv",
            "keep one of them; person ids differ between the two (directory id vs e-mail)",
        )
    path = as_json if _present(as_json) else as_csv
    if not _present(path):
        return
    stamp = _stamp(layout.root, path)
    if _is_new(stamp, seen):
        read = read_directory_json if path is as_json else read_directory_csv
        quarantined: list[Quarantined] = []
        batch = read(path, str(path), quarantine=quarantined)
        yield Chunk("directory_users", batch, [stamp], _relabel(quarantined, {str(path): stamp.path}))


def _drive_chunks(layout: _Layout, seen: Mapping[str, FileStamp], bounds: InputBounds) -> Iterator[Chunk]:
    """Yield the Drive files chunk when files.json is new."""
    assert layout.google is not None
    path = layout.google / "drive" / "files.json"
    if not _present(path):
        return
    stamp = _stamp(layout.root, path)
    if _is_new(stamp, seen):
        quarantined: list[Quarantined] = []
        batch = read_drive_files(
            path, str(path), max_title_chars=bounds.max_title_chars, quarantine=quarantined
        )
        yield Chunk("drive_files", batch, [stamp], _relabel(quarantined, {str(path): stamp.path}))


# ---- calendar -----------------------------------------------------------------------------------------


def _calendar_chunks(
    layout: _Layout,
    seen: Mapping[str, FileStamp],
    con: duckdb.DuckDBPyConnection,
    window: tuple[datetime | None, datetime],
    chunk_files: int,
    bounds: InputBounds,
    only: Set[str] | None = None,
) -> Iterator[Chunk]:
    """Yield calendar events of new calendar files: JSON dumps `chunk_files` at a time, then each .ics.

    `window` is the .ics window, or (None, the run's time) for each file's default window; `only` names the
    files to consider (None: all).
    """
    todo = [(p, s) for p in _calendar_paths(layout, only) if _is_new(s := _stamp(layout.root, p), seen)]
    dumps = [(p, s) for p, s in todo if p.suffix.lower() == ".json"]
    for group in _groups(dumps, [s.size for _, s in dumps], chunk_files, alone=ALONE_BYTES):
        quarantined: list[Quarantined] = []
        files = [(p, p.stem, str(p)) for p, _ in group]
        batch = read_event_dumps(con, files, max_title_chars=bounds.max_title_chars, quarantine=quarantined)
        shown = {str(p): s.path for p, s in group}
        yield Chunk("calendar_events", batch, [s for _, s in group], _relabel(quarantined, shown))
    given, as_of = window
    for path, stamp in todo:
        if path.suffix.lower() == ".ics":
            quarantined = []
            span = (given, as_of) if given is not None else None
            batch = read_ics(
                path, path.stem, str(path), span, bounds=bounds, as_of=as_of, quarantine=quarantined
            )
            yield Chunk("calendar_events", batch, [stamp], _relabel(quarantined, {str(path): stamp.path}))


# ---- Slack --------------------------------------------------------------------------------------------


def _slack_chunks(
    export: SlackExport,
    seen: Mapping[str, FileStamp],
    con: duckdb.DuckDBPyConnection,
    chunk_files: int,
    bounds: InputBounds,
    *,
    metadata: bool = True,
) -> Iterator[Chunk]:
    """Yield Slack users, conversations and messages of the export's new files, in that order (only the
    messages without `metadata`)."""
    stamps = {
        e.name: FileStamp(export.label + e.name, e.size, e.fingerprint) for e in export.entries.values()
    }
    if metadata and USERS_FILE in stamps and _is_new(stamps[USERS_FILE], seen):
        [path] = export.local_paths([USERS_FILE])
        yield Chunk("slack_users", read_users(path, export.shown(USERS_FILE)), [stamps[USERS_FILE]])
        export.release([USERS_FILE])
    lists = [name for name in CONVERSATION_LISTS if name in stamps]
    days = [e.name for e in export.day_files() if _is_new(stamps[e.name], seen)]
    lists_changed = metadata and any(_is_new(stamps[name], seen) for name in lists)
    if not (lists_changed or days):
        return
    if not lists:
        raise DataError(
            f"{export.shown(days[0])}: the export has day files but no channels.json",
            "re-export the workspace from Slack; the conversation lists name each folder's channel",
        )
    if days and USERS_FILE not in stamps:
        # Without users.json no message author maps to a person: every meeting would lose its Slack people.
        raise DataError(
            f"{export.shown(USERS_FILE)} is missing: the export has day files but no users",
            "re-export the workspace from Slack (users.json is part of every export) or restore the file",
        )
    conversations = _read_conversations(export, lists)
    if lists_changed:
        yield Chunk("slack_channels", conversations, [stamps[name] for name in lists])
    if days:
        channel_of = _channel_of_days(export, days, folder_channel_ids(conversations))
        for group in _groups(days, [stamps[n].size for n in days], chunk_files):
            quarantined: list[Quarantined] = []
            batch = _read_days(export, con, group, channel_of, bounds.max_text_chars, quarantined)
            shown = {export.shown(n): stamps[n].path for n in group}
            yield Chunk("slack_messages", batch, [stamps[n] for n in group], _relabel(quarantined, shown))


def _read_conversations(export: SlackExport, lists: list[str]) -> pa.Table:
    """Give all conversations of the export's conversation lists (needed to name message channels)."""
    paths = export.local_paths(lists)
    table = read_conversations(
        {name: (path, export.shown(name)) for name, path in zip(lists, paths, strict=True)}
    )
    export.release(lists)
    return table


def _channel_of_days(export: SlackExport, days: list[str], by_folder: dict[str, str]) -> dict[str, str]:
    """Give the channel id of each day file's folder; a folder no conversation list names is an error."""
    channel_of: dict[str, str] = {}
    for name in days:
        folder = name.split("/", 1)[0]
        if folder not in by_folder:
            raise DataError(
                f"{export.shown(folder)}: folder matches no conversation in channels.json, groups.json, "
                "mpims.json or dms.json",
                "re-export the workspace (the conversation lists are incomplete) or remove the folder",
            )
        channel_of[name] = by_folder[folder]
    return channel_of


def _read_days(
    export: SlackExport,
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    channel_of: dict[str, str],
    max_text_chars: int,
    quarantine: list[Quarantined],
) -> pa.Table:
    """Give the messages of a group of day files, deleting ZIP extracts once read."""
    paths = export.local_paths(names)
    try:
        files = [(p, channel_of[n], export.shown(n)) for p, n in zip(paths, names, strict=True)]
        return read_day_files(con, files, max_text_chars=max_text_chars, quarantine=quarantine)
    finally:
        export.release(names)
