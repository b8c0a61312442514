"""Slack exports: field mapping, ZIP safety, broken files, and two real exports read as ZIP and as folder."""

from __future__ import annotations

import json
import re
import stat
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from collectors import collect_workspace
from core.errors import DataError
from tests.collectors.workspace_builders import ROOM, write_export, write_json


def _tables(root: Path) -> dict[str, pa.Table]:
    """Give each raw table a fresh collection of `root` yields, chunks concatenated."""
    by_table: dict[str, list[pa.Table]] = {}
    for chunk in collect_workspace(root, {}):
        by_table.setdefault(chunk.table, []).append(chunk.batch)
    return {name: pa.concat_tables(batches) for name, batches in by_table.items()}


def _zip(target: Path, entries: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # Unix, so the mode bits below are honoured
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return target


def _export_entries(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


# ---- mapping ------------------------------------------------------------------------------------------


def test_messages_map_every_field_and_take_the_channel_from_the_folder(tmp_path: Path) -> None:
    """Threads, edits, reactions, legacy files, huddle rooms, bots: each lands in its column."""
    messages = _tables(write_export(tmp_path / "export"))["slack_messages"]
    rows = {r["ts"]: r for r in messages.to_pylist()}
    parent = rows["1788771600.000100"]
    assert {k: v for k, v in parent.items() if k != "reactions"} == {
        "channel_id": "C1",
        "ts": "1788771600.000100",
        "thread_ts": "1788771600.000100",
        "user_id": "U1",
        "bot_id": None,
        "subtype": None,
        "text": "Agenda for sync <https://docs.google.com/document/d/abc/edit>",
        "reply_count": 1,
        "latest_reply": "1788771660.000200",
        "edited_ts": None,
        "files": None,
        "attachments": None,
        "room": None,
        "posted_at": datetime(2026, 9, 7, 9, 0, 0, 100, tzinfo=UTC),
    }
    assert json.loads(parent["reactions"]) == [{"name": "+1", "users": ["U2"], "count": 1}]
    assert rows["1788771660.000200"]["thread_ts"] == "1788771600.000100"  # a reply is a row like any message
    edited = rows["1788775200.123456"]
    assert (edited["edited_ts"], edited["posted_at"]) == (
        "1788775260.000000",
        datetime(2026, 9, 7, 10, 0, 0, 123456, tzinfo=UTC),  # every microsecond of ts kept
    )
    assert json.loads(rows["1788776000.000400"]["files"]) == [
        {"id": "F1", "name": "deck.pdf"}
    ]  # legacy `file`
    huddle = rows["1788862800.000300"]
    assert (huddle["subtype"], huddle["user_id"], json.loads(huddle["room"])) == (
        "huddle_thread",
        "USLACKBOT",
        ROOM,
    )
    bot = rows["1788779000.000700"]
    assert (bot["bot_id"], bot["channel_id"], json.loads(bot["attachments"])[0]["title"]) == (
        "B1",
        "D1",
        "Sync",
    )
    assert [(r["channel_id"], r["ts"]) for r in messages.to_pylist()] == [
        ("C1", "1788771600.000100"),
        ("C1", "1788771660.000200"),
        ("C1", "1788775200.123456"),
        ("C1", "1788862800.000300"),
        ("C2", "1788776000.000400"),  # proj-x by name
        ("D1", "1788779000.000700"),  # DM folder named by id
        ("G1", "1788777000.000500"),  # private channel from groups.json
        ("G2", "1788778000.000600"),  # group DM folder named by its mpim name
    ]


def test_users_map_profile_fields_and_blank_emails_become_null(tmp_path: Path) -> None:
    """Names and flags come from users.json; a hidden (empty) e-mail is null; guests are restricted."""
    users = _tables(write_export(tmp_path / "export"))["slack_users"].to_pylist()
    flags = [(u["user_id"], u["is_bot"], u["deleted"], u["is_restricted"]) for u in users]
    assert flags == [("U1", False, False, False), ("U2", False, False, True), ("B1", True, True, False)]
    assert users[0] == {
        "user_id": "U1",
        "team_id": "T1",
        "name": "ann",
        "real_name": "Ann Lee",
        "display_name": "ann",
        "email": "ann@acme.example",
        "tz": "Europe/Berlin",
        "tz_offset": 7200,
        "is_bot": False,
        "deleted": False,
        "is_restricted": False,
    }
    names = [(u["real_name"], u["display_name"], u["email"], u["tz"]) for u in users[1:]]
    assert names == [("Bob Guest", None, None, None), (None, None, None, None)]


def test_conversations_from_all_four_lists_carry_their_kind(tmp_path: Path) -> None:
    """channels/dms/groups/mpims.json give public, DM, private and group-DM rows; `created` is an int."""
    rows = _tables(write_export(tmp_path / "export"))["slack_channels"].to_pylist()
    summary = [
        (r["channel_id"], r["name"], r["is_private"], r["is_im"], r["is_mpim"], r["created"]) for r in rows
    ]
    assert summary == [
        ("C1", "general", False, False, False, 1757000000),
        ("C2", "proj-x", False, False, False, 1757000100),
        ("D1", None, True, True, False, 1757000400),
        ("G1", "secret", True, False, False, 1757000200),
        ("G2", "mpdm-ann--bob-1", True, False, True, 1757000300),
    ]
    assert [(r["topic"], r["purpose"], r["members"]) for r in rows[:2]] == [
        (None, None, ["U1", "U2"]),
        (None, "Project X", ["U1"]),
    ]


def test_zip_with_a_wrapper_folder_is_read_like_a_flat_one(tmp_path: Path) -> None:
    """Some tools zip the export inside one folder; the entries below it are found and stamped by name."""
    folder = write_export(tmp_path / "export")
    entries = {f"acme-export/{k}": v for k, v in _export_entries(folder).items()}
    archive = _zip(tmp_path / "wrapped.zip", entries)
    chunks = list(collect_workspace(archive, {}))
    assert [(c.table, c.batch.num_rows) for c in chunks] == [
        ("slack_users", 3),
        ("slack_channels", 5),
        ("slack_messages", 8),
    ]
    assert chunks[2].files[0].path == "wrapped.zip!D1/2026-09-07.json"


def test_zip_extracts_are_deleted_when_collection_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temp folder a ZIP is extracted into is gone once the generator is exhausted."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = _zip(tmp_path / "slack.zip", _export_entries(write_export(tmp_path / "export")))
    assert sum(c.batch.num_rows for c in collect_workspace(archive, {})) == 16  # 3 users + 5 + 8
    assert list(scratch.iterdir()) == []


# ---- refusing bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("../evil.json", "points outside the export folder"),
        ("general/../../evil.json", "points outside the export folder"),
        ("/tmp/evil.json", "points outside the export folder"),
        ("C:/evil.json", "points outside the export folder"),
    ],
)
def test_zip_entries_escaping_the_extraction_folder_are_refused(tmp_path: Path, entry: str, why: str) -> None:
    """Absolute paths, drive letters and `..` in a ZIP raise a DataError naming the entry, before any read."""
    entries = {**_export_entries(write_export(tmp_path / "export")), entry: b"[]"}
    archive = _zip(tmp_path / "slack.zip", entries)
    with pytest.raises(DataError) as err:
        list(collect_workspace(archive, {}))
    assert f"slack.zip!{entry}: ZIP entry {why}" in str(err.value)
    assert not (tmp_path / "evil.json").exists()


def test_zip_symlink_entries_are_refused(tmp_path: Path) -> None:
    """A symlink entry could point anywhere once extracted: DataError naming it."""
    entries = _export_entries(write_export(tmp_path / "export"))
    archive = _zip(tmp_path / "slack.zip", entries, symlinks=("general/2026-09-09.json",))
    with pytest.raises(DataError, match=r"slack\.zip!general/2026-09-09\.json: ZIP entry is a symbolic link"):
        list(collect_workspace(archive, {}))


def test_invalid_json_in_a_day_file_names_the_file_and_what_to_do(tmp_path: Path) -> None:
    """A truncated day file raises a DataError naming it and saying: re-export the channel or remove it."""
    folder = write_export(tmp_path / "export")
    bad = folder / "general" / "2026-09-08.json"
    bad.write_text('[{"type": "message", "ts": "1788862800.000300",')
    with pytest.raises(DataError) as err:
        list(collect_workspace(folder, {}))
    assert str(err.value).startswith(f"{bad}: cannot read Slack day files (Malformed JSON")
    assert err.value.hint == "re-export the channel or remove the file"


def test_invalid_json_inside_a_zip_names_the_zip_entry(tmp_path: Path) -> None:
    """Inside a ZIP the error names `<zip>!<entry>`, not the temp extraction path."""
    entries = _export_entries(write_export(tmp_path / "export"))
    entries["proj-x/2026-09-07.json"] = b'[{"ts": "1"'
    archive = _zip(tmp_path / "slack.zip", entries)
    with pytest.raises(DataError) as err:
        list(collect_workspace(archive, {}))
    message = str(err.value)
    assert message.startswith(f"{archive}!proj-x/2026-09-07.json: cannot read Slack day files")
    assert "meetintel-slack-" not in message


def test_day_file_holding_an_object_is_a_data_error(tmp_path: Path) -> None:
    """A day file must be an array of messages."""
    folder = write_export(tmp_path / "export")
    write_json(folder / "secret" / "2026-09-07.json", {"ts": "1"})
    with pytest.raises(DataError, match=r"secret/2026-09-07\.json: cannot read Slack day files"):
        list(collect_workspace(folder, {}))


def test_message_without_ts_is_quarantined_and_the_file_kept(tmp_path: Path) -> None:
    """`ts` is the message key; a message without it is left out (`missing_key`, naming its day file) and
    the file's other messages are stored."""
    folder = write_export(tmp_path / "export")
    day = [{"type": "message", "text": "no ts"}, {"type": "message", "ts": "1788775200.000100", "text": "ok"}]
    write_json(folder / "proj-x" / "2026-09-08.json", day)
    chunks = [c for c in collect_workspace(folder, {}) if c.table == "slack_messages"]
    texts = [t for c in chunks for t in c.batch.column("text").to_pylist()]
    assert "ok" in texts and "no ts" not in texts
    [q] = [q for c in chunks for q in c.quarantined]
    assert (q.rule, q.file) == ("missing_key", "proj-x/2026-09-08.json")
    assert q.record_key.endswith("/(no ts)") and "no ts" in q.raw_value


def test_folder_unknown_to_the_conversation_lists_is_a_data_error(tmp_path: Path) -> None:
    """Messages need a channel id; a folder no list names cannot get one."""
    folder = write_export(tmp_path / "export")
    write_json(folder / "ghost" / "2026-09-07.json", [])
    with pytest.raises(DataError, match="ghost: folder matches no conversation in channels.json"):
        list(collect_workspace(folder, {}))


def test_broken_users_json_names_the_file(tmp_path: Path) -> None:
    """Invalid JSON in users.json raises a DataError naming it."""
    folder = write_export(tmp_path / "export")
    (folder / "users.json").write_text("[{")
    with pytest.raises(DataError, match=r"users\.json is not valid JSON"):
        list(collect_workspace(folder, {}))


# ---- real exports (tests/fixtures/third_party) --------------------------------------------------------


def _count(table: pa.Table, column: str) -> int:
    return table.num_rows - table.column(column).null_count


def test_houstondatavis_export_zip_ingests_every_message(third_party: Path) -> None:
    """The 2015-16 community export: every user, channel and message, legacy files and edits mapped."""
    archive = third_party / "houstondatavis_slack_export" / "houstondatavis_slack_export_2016-07-31.zip"
    chunks = list(collect_workspace(archive, {}))
    tables = {c.table: c.batch for c in chunks}
    # Expected figures counted once outside the repo with python's json module over the unzipped export:
    # len(users.json)=71, len(channels.json)=16, 375 `<channel>/<day>.json` files holding 1,382 messages,
    # of which 37 have `edited`, 89 `reactions`, 67 a legacy `file`, 141 `attachments`, 320 are channel_join.
    assert [(c.table, c.batch.num_rows, len(c.files)) for c in chunks] == [
        ("slack_users", 71, 1),
        ("slack_channels", 16, 1),
        ("slack_messages", 1382, 375),
    ]
    messages = tables["slack_messages"]
    assert [_count(messages, c) for c in ("edited_ts", "reactions", "files", "attachments", "thread_ts")] == [
        37,
        89,
        67,
        141,
        0,
    ]
    assert pc.sum(pc.equal(messages.column("subtype"), "channel_join")).as_py() == 320
    assert _count(tables["slack_users"], "email") == 71
    # The fixture carries pseudonyms, one per member, instead of the members' addresses (see its SOURCE.md).
    emails = tables["slack_users"].column("email").to_pylist()
    assert len({e for e in emails if re.fullmatch(r"p[0-9a-f]{12}@[^@]+", e)}) == 71
    assert pc.min(messages.column("posted_at")).as_py() == datetime(2015, 6, 6, 2, 36, 47, 760577, tzinfo=UTC)


def test_slack_export_viewer_test_archive_ingests_bot_feeds(third_party: Path) -> None:
    """The 2016 test archive: two channels of mostly bot_message posts with attachments."""
    tables = _tables(third_party / "slack_export_viewer_testarchive" / "testarchive.zip")
    # Counted with python's json over the unzipped archive: 4 users, 2 channels, 17 day files, 158 messages,
    # 94 bot_message, 97 with a bot_id, 102 with attachments, no e-mail in users.json.
    assert {k: v.num_rows for k, v in tables.items()} == {
        "slack_users": 4,
        "slack_channels": 2,
        "slack_messages": 158,
    }
    messages = tables["slack_messages"]
    assert pc.sum(pc.equal(messages.column("subtype"), "bot_message")).as_py() == 94
    assert [_count(messages, c) for c in ("bot_id", "attachments")] == [97, 102]
    assert _count(tables["slack_users"], "email") == 0


@pytest.mark.parametrize(
    ("folder", "archive", "chunks"),
    [
        (
            "houstondatavis_slack_export",
            "houstondatavis_slack_export_2016-07-31.zip",
            [("slack_users", 71, 1), ("slack_channels", 16, 1), ("slack_messages", 1382, 375)],
        ),
        (
            "slack_export_viewer_testarchive",
            "testarchive.zip",
            [("slack_users", 4, 1), ("slack_channels", 2, 1), ("slack_messages", 158, 17)],
        ),
    ],
)
def test_real_export_zip_and_its_extracted_folder_give_identical_tables(
    tmp_path: Path, third_party: Path, folder: str, archive: str, chunks: list[tuple[str, int, int]]
) -> None:
    """A real export read as its ZIP and as the folder it extracts to: the same chunks with equal tables, and
    the same files read (size and fingerprint), the ZIP's paths prefixed with `<archive>!`."""
    source = third_party / folder / archive
    with zipfile.ZipFile(source) as zf:
        zf.extractall(tmp_path / "export")
    from_zip = list(collect_workspace(source, {}))
    from_dir = list(collect_workspace(tmp_path / "export", {}))
    assert [(c.table, c.batch.num_rows, len(c.files)) for c in from_zip] == chunks
    assert [c.table for c in from_dir] == [c.table for c in from_zip]
    for zipped, extracted in zip(from_zip, from_dir, strict=True):
        assert zipped.batch.equals(extracted.batch), zipped.table
        assert [(f.path, f.size, f.fingerprint) for f in zipped.files] == [
            (f"{archive}!{f.path}", f.size, f.fingerprint) for f in extracted.files
        ]
