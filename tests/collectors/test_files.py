"""collect_workspace: what a run yields, in which order, and what an incremental run reads again."""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

import collectors.files as files_module
from collectors import RAW_TABLES, Chunk, FileStamp, collect_workspace
from core.errors import ConfigurationError
from sandbox import generate_workspace
from tests.collectors.workspace_builders import CHANNELS, DAY_FILES, write_export, write_json


def _collect(
    root: Path,
    seen: Mapping[str, FileStamp] | None = None,
    ics_window: tuple[datetime, datetime] | None = None,
    chunk_files: int = 500,
) -> list[Chunk]:
    return list(collect_workspace(root, seen or {}, ics_window=ics_window, chunk_files=chunk_files))


def _stamps(chunks: list[Chunk]) -> dict[str, FileStamp]:
    return {f.path: f for c in chunks for f in c.files}


def _zip_folder(folder: Path, target: Path) -> Path:
    """Zip `folder` the way Slack does (entries relative to the export root) and give the ZIP."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.json")):
            zf.write(path, path.relative_to(folder).as_posix())
    return target


def test_first_run_yields_every_table_in_order_with_exact_schemas(workspace: Path) -> None:
    """A fresh run gives directory, Slack users, channels, messages, calendar, Drive — in that order."""
    chunks = _collect(workspace)
    assert [(c.table, c.batch.num_rows, len(c.files)) for c in chunks] == [
        ("directory_users", 2, 1),
        ("slack_users", 3, 1),
        ("slack_channels", 5, 4),  # channels.json, groups.json, mpims.json, dms.json in one chunk
        ("slack_messages", 8, 6),  # six day files, eight messages (a reply included)
        ("calendar_events", 3, 1),  # the events.list dump
        ("calendar_events", 1, 1),  # the .ics file
        ("drive_files", 2, 1),
    ]
    for chunk in chunks:
        assert chunk.batch.schema.equals(RAW_TABLES[chunk.table].schema), chunk.table


def test_stamp_paths_are_relative_to_the_workspace_and_fingerprints_are_content_crcs(workspace: Path) -> None:
    """Plain files are stamped by path below the root, size and the CRC32 of their bytes."""
    stamps = _stamps(_collect(workspace))
    day = workspace / "slack" / "general" / "2026-09-07.json"
    assert stamps["slack/general/2026-09-07.json"] == FileStamp(
        "slack/general/2026-09-07.json", day.stat().st_size, f"{zlib.crc32(day.read_bytes()):08x}"
    )
    assert sorted(stamps) == sorted(
        ["google/directory/users.json", "google/calendar/ann@acme.example.json",
         "google/calendar/bob@acme.example.ics", "google/drive/files.json", "slack/users.json",
         "slack/channels.json", "slack/groups.json", "slack/mpims.json", "slack/dms.json"]
        + [f"slack/{name}" for name in DAY_FILES]
    )  # fmt: skip


def test_second_run_with_the_returned_stamps_yields_nothing(workspace: Path) -> None:
    """Feeding back every stamp of a run means nothing is new: no chunk at all."""
    assert _collect(workspace, _stamps(_collect(workspace))) == []


def test_touched_or_rewritten_files_with_the_same_bytes_are_not_read_again(workspace: Path) -> None:
    """A new mtime alone (a copy, a re-export of the same data) does not make a file new."""
    seen = _stamps(_collect(workspace))
    for path in workspace.rglob("*.json"):
        path.write_bytes(path.read_bytes())
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    assert _collect(workspace, seen) == []


def test_new_day_file_yields_exactly_its_rows(workspace: Path) -> None:
    """A day file added after a run is the only thing the next run reads."""
    seen = _stamps(_collect(workspace))
    write_json(
        workspace / "slack" / "general" / "2026-09-09.json",
        [{"type": "message", "user": "U1", "text": "a", "ts": "1788944400.000100"},
         {"type": "message", "user": "U2", "text": "b", "ts": "1788944460.000200"}],
    )  # fmt: skip
    chunks = _collect(workspace, seen)
    assert [(c.table, [f.path for f in c.files]) for c in chunks] == [
        ("slack_messages", ["slack/general/2026-09-09.json"])
    ]
    assert chunks[0].batch.select(["channel_id", "ts"]).to_pylist() == [
        {"channel_id": "C1", "ts": "1788944400.000100"},
        {"channel_id": "C1", "ts": "1788944460.000200"},
    ]


def test_changed_file_is_read_again_in_full(workspace: Path) -> None:
    """A day file whose stamp changed is re-read whole (the store upserts by key)."""
    seen = _stamps(_collect(workspace))
    path = workspace / "slack" / "proj-x" / "2026-09-07.json"
    write_json(path, [*DAY_FILES["proj-x/2026-09-07.json"], {"type": "message", "ts": "1788776100.000000"}])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    chunks = _collect(workspace, seen)
    assert [(c.table, c.batch.num_rows, [f.path for f in c.files]) for c in chunks] == [
        ("slack_messages", 2, ["slack/proj-x/2026-09-07.json"])
    ]


def test_changed_channel_list_re_emits_all_conversations(workspace: Path) -> None:
    """Any changed conversation list re-emits every conversation, covering all four lists."""
    seen = _stamps(_collect(workspace))
    write_json(workspace / "slack" / "dms.json", [{"id": "D1", "members": ["U1", "U2"]}, {"id": "D2"}])
    chunks = _collect(workspace, seen)
    assert [(c.table, c.batch.num_rows, len(c.files)) for c in chunks] == [("slack_channels", 6, 4)]


def test_empty_day_file_still_yields_a_chunk_so_its_stamp_is_recorded(workspace: Path) -> None:
    """A day file holding `[]` gives an empty batch that still carries the file's stamp."""
    seen = _stamps(_collect(workspace))
    write_json(workspace / "slack" / "general" / "2026-09-10.json", [])
    chunks = _collect(workspace, seen)
    assert [(c.table, c.batch.num_rows, [f.path for f in c.files]) for c in chunks] == [
        ("slack_messages", 0, ["slack/general/2026-09-10.json"])
    ]
    assert chunks[0].batch.schema.equals(RAW_TABLES["slack_messages"].schema)


def test_chunk_files_bounds_the_day_files_per_chunk(workspace: Path) -> None:
    """With chunk_files=4 the six day files (sorted by path) come in chunks of 4 and 2, every message once."""
    chunks = [c for c in _collect(workspace, chunk_files=4) if c.table == "slack_messages"]
    assert [(len(c.files), c.batch.num_rows) for c in chunks] == [
        (4, 6),
        (2, 2),
    ]  # D1, general x2, mpdm | proj-x, secret


def test_byte_budget_splits_chunks_even_below_chunk_files(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 1-byte budget every day file is its own chunk: big files never pile up in one read."""
    monkeypatch.setattr(files_module, "CHUNK_BYTES", 1)
    chunks = [c for c in _collect(workspace) if c.table == "slack_messages"]
    assert [(len(c.files), c.batch.num_rows) for c in chunks] == [
        (1, 1),
        (1, 3),
        (1, 1),
        (1, 1),
        (1, 1),
        (1, 1),
    ]


def test_a_file_above_the_alone_size_is_read_in_a_group_of_its_own() -> None:
    """Big calendar dumps are parsed one at a time; small ones around them still share groups."""
    groups = files_module._groups(list("abcdefg"), [1, 1, 5, 1, 1, 6, 7], 10, alone=4)
    assert [list(g) for g in groups] == [["a", "b"], ["c"], ["d", "e"], ["f"], ["g"]]
    assert [list(g) for g in files_module._groups(list("abc"), [5, 5, 1], 10)] == [["a", "b", "c"]]


def test_zip_workspace_is_stamped_by_entry_crc_and_reads_only_new_entries(workspace: Path) -> None:
    """slack.zip entries are stamped `slack.zip!<entry>` with their CRC32; a re-zip reads only new entries."""
    export = workspace / "slack"
    archive = _zip_folder(export, workspace / "slack.zip")
    os.rename(export, workspace.parent / "export-folder")
    first = _collect(workspace)
    stamps = _stamps(first)
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("general/2026-09-07.json")
    assert stamps["slack.zip!general/2026-09-07.json"] == FileStamp(
        "slack.zip!general/2026-09-07.json", info.file_size, f"{info.CRC:08x}"
    )
    assert [c.batch.num_rows for c in first if c.table == "slack_messages"] == [8]

    folder = workspace.parent / "export-folder"
    write_json(folder / "random" / "2026-09-09.json", [{"type": "message", "ts": "1788944400.000100"}])
    write_json(folder / "channels.json", [*CHANNELS, {"id": "C3", "name": "random"}])
    _zip_folder(folder, archive)
    again = _collect(workspace, stamps)
    assert [(c.table, c.batch.num_rows, [f.path for f in c.files]) for c in again] == [
        ("slack_channels", 6, ["slack.zip!channels.json", "slack.zip!groups.json", "slack.zip!mpims.json",
                               "slack.zip!dms.json"]),
        ("slack_messages", 1, ["slack.zip!random/2026-09-09.json"]),
    ]  # fmt: skip


def test_bare_export_folder_and_bare_zip_can_be_the_root(tmp_path: Path) -> None:
    """An export folder or ZIP passed as root is read like slack/; stamps are relative to it."""
    folder = write_export(tmp_path / "export")
    archive = _zip_folder(folder, tmp_path / "my-export.zip")
    from_folder, from_zip = _collect(folder), _collect(archive)
    assert [(c.table, c.batch.num_rows) for c in from_folder] == [
        ("slack_users", 3), ("slack_channels", 5), ("slack_messages", 8)
    ]  # fmt: skip
    assert [(c.table, c.batch.num_rows) for c in from_zip] == [
        (c.table, c.batch.num_rows) for c in from_folder
    ]
    assert "general/2026-09-07.json" in _stamps(from_folder)
    assert "my-export.zip!general/2026-09-07.json" in _stamps(from_zip)
    assert from_zip[2].batch.equals(from_folder[2].batch)


def test_ics_window_limits_the_expansion(workspace: Path) -> None:
    """ics_window is passed to the .ics reader: a window without the event gives an empty chunk."""
    window = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    chunks = [c for c in _collect(workspace, ics_window=window) if c.files[0].path.endswith(".ics")]
    assert [(c.table, c.batch.num_rows) for c in chunks] == [("calendar_events", 0)]


def test_missing_workspace_is_a_configuration_error(tmp_path: Path) -> None:
    """A root that does not exist, or holds nothing known, says what to point at."""
    with pytest.raises(ConfigurationError, match="does not exist"):
        _collect(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="no slack/, slack.zip, google/"):
        _collect(tmp_path / "empty")


def test_slack_folder_and_zip_together_are_a_configuration_error(workspace: Path) -> None:
    """Both slack/ and slack.zip would read the same export twice: refuse and say keep one."""
    _zip_folder(workspace / "slack", workspace / "slack.zip")
    with pytest.raises(ConfigurationError, match="both slack/ and slack.zip") as err:
        _collect(workspace)
    assert "keep one of them" in str(err.value)


def test_directory_json_and_csv_together_are_a_configuration_error(workspace: Path) -> None:
    """users.json and users.csv give different person ids: refuse and say keep one."""
    (workspace / "google" / "directory" / "users.csv").write_text("Email Address [Required]\n")
    with pytest.raises(ConfigurationError, match="both users.json and users.csv"):
        _collect(workspace)


def test_chunk_files_below_one_is_a_configuration_error(workspace: Path) -> None:
    """chunk_files=0 cannot make progress."""
    with pytest.raises(ConfigurationError, match="chunk_files must be at least 1"):
        _collect(workspace, chunk_files=0)


def test_generated_workspace_yields_every_row_the_generator_wrote(tmp_path: Path) -> None:
    """The sandbox generator's snapshot reads back with exactly the counts its summary reports."""
    summary = generate_workspace(tmp_path / "gen", people=12, days=3, seed=7)
    rows: dict[str, int] = {}
    for chunk in _collect(tmp_path / "gen"):
        rows[chunk.table] = rows.get(chunk.table, 0) + chunk.batch.num_rows
    assert rows == {
        "directory_users": summary.directory_users,
        "slack_users": summary.users,
        "slack_channels": summary.channels,
        "slack_messages": summary.messages,
        "calendar_events": summary.event_rows,
        "drive_files": summary.files,
    }
