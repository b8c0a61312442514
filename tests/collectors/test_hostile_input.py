"""Hostile and broken input: each is read or refused by a DataError naming the file; the state survives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checkpoints import StateStore
from collectors import InputBounds, collect_workspace
from collectors._calendar_files import read_ics
from core.errors import DataError, MeetintelError
from flows import stages
from tests.collectors.workspace_builders import write_export, write_json

DAY = "general/2026-09-07.json"


def _export(tmp_path: Path) -> Path:
    """Give a workspace holding the small hand-made Slack export under slack/."""
    write_export(tmp_path / "ws" / "slack")
    return tmp_path / "ws"


def _messages(ws: Path) -> list[dict[str, object]]:
    chunks = [c for c in collect_workspace(ws, {}) if c.table == "slack_messages"]
    return [row for c in chunks for row in c.batch.to_pylist()]


def _append(ws: Path, message: dict[str, object]) -> None:
    path = ws / "slack" / DAY
    write_json(path, [*json.loads(path.read_text()), message])


def test_export_without_users_json_names_the_missing_file(tmp_path: Path) -> None:
    """Day files without users.json are refused: no author could be mapped to a person."""
    ws = _export(tmp_path)
    (ws / "slack" / "users.json").unlink()
    with pytest.raises(DataError, match=r"slack/users\.json is missing") as raised:
        list(collect_workspace(ws, {}))
    assert "re-export the workspace" in raised.value.hint


def test_unknown_subtype_and_unknown_fields_are_kept_as_plain_messages(tmp_path: Path) -> None:
    """A subtype Slack adds later is stored as it came; unknown keys are ignored."""
    ws = _export(tmp_path)
    _append(
        ws, {"type": "message", "subtype": "brand_new_kind", "ts": "1788774000.000001", "future": {"x": [1]}}
    )
    rows = [(m["ts"], m["subtype"], m["text"]) for m in _messages(ws) if m["ts"] == "1788774000.000001"]
    assert rows == [("1788774000.000001", "brand_new_kind", None)]


def test_a_five_megabyte_message_is_cut_to_the_text_cap_with_a_note(tmp_path: Path) -> None:
    """An enormous message (5 MB of text) is cut to MEETINTEL_MAX_TEXT_CHARS (100,000) and a `truncated`
    note names it; with the cap raised it is kept byte for byte."""
    ws = _export(tmp_path)
    _append(ws, {"type": "message", "user": "U1", "ts": "1788774000.000002", "text": "é" * 2_500_000})
    chunks = [c for c in collect_workspace(ws, {}) if c.table == "slack_messages"]
    [text] = [str(m["text"]) for c in chunks for m in c.batch.to_pylist() if m["ts"] == "1788774000.000002"]
    notes = [(q.file, q.record_key, q.rule, len(q.raw_value)) for c in chunks for q in c.quarantined]
    assert (len(text), notes) == (100_000, [("slack/" + DAY, "C1/1788774000.000002", "truncated", 500)])
    whole = InputBounds(max_text_chars=3_000_000)
    [text] = [
        str(m["text"])
        for c in collect_workspace(ws, {}, bounds=whole)
        if c.table == "slack_messages"
        for m in c.batch.to_pylist()
        if m["ts"] == "1788774000.000002"
    ]
    assert (len(text), len(text.encode())) == (2_500_000, 5_000_000)


def test_invalid_utf8_in_a_day_file_names_the_file(tmp_path: Path) -> None:
    ws = _export(tmp_path)
    path = ws / "slack" / DAY
    path.write_bytes(path.read_bytes().replace(b'"text": "', b'"text": "\xff\xfe', 1))
    with pytest.raises(DataError, match=r"general/2026-09-07\.json: cannot read .*invalid UTF-8"):
        list(collect_workspace(ws, {}))


def test_an_unreadable_ts_is_quarantined_and_the_file_kept(tmp_path: Path) -> None:
    """A message whose ts is not seconds.micros is left out as `unreadable_time`; the day's others stay."""
    ws = _export(tmp_path)
    before = len(_messages(ws))
    _append(ws, {"type": "message", "user": "U1", "ts": "17887abc.1", "text": "x"})
    chunks = [c for c in collect_workspace(ws, {}) if c.table == "slack_messages"]
    notes = [(q.file, q.record_key, q.rule, q.raw_value) for c in chunks for q in c.quarantined]
    assert notes == [("slack/" + DAY, "C1/17887abc.1", "unreadable_time", "17887abc.1")]
    assert sum(c.batch.num_rows for c in chunks) == before


@pytest.mark.parametrize("linked", ["file", "folder"])
def test_symbolic_links_in_an_export_folder_are_refused(tmp_path: Path, linked: str) -> None:
    """A day file or channel folder that is a symlink could read any file on the machine: refused."""
    ws = _export(tmp_path)
    outside = tmp_path / "outside"
    write_json(outside / "2026-09-30.json", [{"ts": "1789000000.000001", "text": "not part of the export"}])
    if linked == "file":
        link = ws / "slack" / "general" / "2026-09-30.json"
        os.symlink(outside / "2026-09-30.json", link)
    else:
        link = ws / "slack" / "random"
        os.symlink(outside, link)
    with pytest.raises(DataError, match="is a symbolic link") as raised:
        list(collect_workspace(ws, {}))
    assert str(link) in raised.value.message


@pytest.mark.slow  # 120 real .ics files, about 10 s
def test_every_third_party_ics_file_parses_or_names_itself_in_a_data_error(third_party: Path) -> None:
    """All 120 files of icalendar's test suite: 82 parse (3 of them with one event quarantined for an
    unreadable DTSTART), 38 are refused with a DataError naming the file."""
    parsed, refused = 0, 0
    for path in sorted((third_party / "ics_icalendar_tests").rglob("*.ics")):
        try:
            read_ics(path, path.stem, str(path))
            parsed += 1
        except DataError as exc:
            assert exc.message.startswith(f"{path}: "), exc.message
            refused += 1
    assert (parsed, refused) == (82, 38)


def _snapshot(state: Path) -> dict[str, list[tuple[object, ...]]]:
    """Give every table of the state file (raw, bookkeeping, meta) sorted, row for row."""
    with StateStore(state) as store:
        names = [
            r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        ]
        return {n: sorted(store.con.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}


def test_a_failing_collection_leaves_the_state_exactly_as_it_was(tmp_path: Path) -> None:
    """A broken day file stops the run with a DataError; every table (cursors and stamps too) is unchanged,
    and once the file is fixed the next run reads it."""
    ws = _export(tmp_path)
    state = tmp_path / "state.duckdb"
    with StateStore(state) as store:
        stages.collect(store, ws, "first")
    before = _snapshot(state)
    day = ws / "slack" / DAY
    good = day.read_bytes()
    day.write_bytes(good[: len(good) // 2])  # a truncated copy
    with StateStore(state) as store, pytest.raises(MeetintelError, match=r"general/2026-09-07\.json"):
        stages.collect(store, ws, "broken")
    assert _snapshot(state) == before
    day.write_bytes(good.replace(b'"thanks"', b'"thanks!"'))
    with StateStore(state) as store:
        stat = stages.collect(store, ws, "fixed")
        texts = store.con.execute("SELECT text FROM slack_messages WHERE text LIKE 'thanks%'").fetchall()
    assert (stat.by_table, texts) == ({"slack_messages": 3}, [("thanks!",)])
