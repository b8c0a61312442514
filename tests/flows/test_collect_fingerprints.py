"""The collect stage keeps each file's CRC32 with its status; a file whose status moved is read again.

Every run stamps every workspace file; a file whose inode, size, mtime and ctime are all as the last run
saw them keeps that run's CRC32 instead of being read. An edit that keeps the size and sets the mtime back
still moves the ctime, so the next run reads the file and takes its new rows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checkpoints import StateStore
from collectors import FingerprintCache, workspace_paths
from flows import stages
from sandbox import generate_workspace


def test_untouched_files_keep_their_crc_and_an_edit_hidden_from_the_mtime_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FingerprintCache, "RACY_NS", 0)  # the files were written a moment ago
    ws = tmp_path / "ws"
    generate_workspace(ws, people=10, days=2, seed=5)
    with StateStore(tmp_path / "state.duckdb") as store:
        first = stages.collect(store, ws, "r1")
        kept = store.file_fingerprints()
        assert len(kept) == len(workspace_paths(ws))  # every plain file of the workspace
        assert stages.collect(store, ws, "r2").note == "0 files changed"
        assert store.file_fingerprints() == kept

        day, ts, text = _a_message(ws)
        before = day.stat()
        edited = text.swapcase()  # the same length, so the file keeps its size
        day.write_bytes(day.read_bytes().replace(json.dumps(text).encode(), json.dumps(edited).encode(), 1))
        os.utime(day, ns=(before.st_atime_ns, before.st_mtime_ns))  # and its mtime: only the ctime moved
        assert (day.stat().st_size, day.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)

        again = stages.collect(store, ws, "r3")
        assert again.note.startswith("1 files changed")
        stored = store.con.execute("SELECT text FROM slack_messages WHERE ts = ?", [ts]).fetchall()
        assert stored == [(edited,)]
    assert first.note.startswith(f"{len(kept)} files changed")


def _a_message(ws: Path) -> tuple[Path, str, str]:
    """Give a day file, and the ts and text of a message of it whose text is ASCII with letters."""
    for day in sorted((ws / "slack").glob("*/*.json")):
        raw = day.read_bytes()
        for message in json.loads(raw):
            text = message.get("text") or ""
            if text.isascii() and text != text.swapcase() and raw.count(json.dumps(text).encode()) == 1:
                return day, message["ts"], text
    raise AssertionError("no day file has a message to edit")
