"""A bulk load (collect's chunks) checkpoints the state file rarely, yet each chunk still commits whole.

Inside `StateStore.bulk_load` DuckDB checkpoints only past `BULK_CHECKPOINT_THRESHOLD` of write-ahead log,
then once at the end; a process killed in the middle replays the log on the next open, so every committed
chunk is there with its stamps and a chunk that did not commit is not. A chunk whose keys are all distinct
skips the last-row-per-key window; one that repeats a key keeps its last row.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from checkpoints import StateStore
from checkpoints import store as store_module
from collectors.files import Chunk, FileStamp
from collectors.models import SLACK_MESSAGES

REPO = Path(__file__).resolve().parents[2]
DEFAULT_THRESHOLD = "16.0 MiB"  # DuckDB's own checkpoint threshold


def _chunk(n: int, first: int, path: str) -> Chunk:
    cols: dict[str, list[object]] = {f.name: [None] * n for f in SLACK_MESSAGES}
    cols["channel_id"] = ["C1"] * n
    cols["ts"] = [f"{first + i}.000100" for i in range(n)]
    cols["text"] = [f"message {first + i}" for i in range(n)]
    batch = pa.table(cols, schema=SLACK_MESSAGES)
    return Chunk(table="slack_messages", batch=batch, files=[FileStamp(path, 10 * n, f"{first:08x}")])


def _threshold(store: StateStore) -> str:
    return str(store.con.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0])


def test_a_bulk_load_ends_checkpointed_with_the_default_threshold_back(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    with StateStore(state) as store:
        assert _threshold(store) == DEFAULT_THRESHOLD
        with store.bulk_load():
            assert _threshold(store) == "128.0 MiB"
            store.commit_chunk(_chunk(3000, 0, "slack/general/2026-09-07.json"), "r1")
            store.commit_chunk(_chunk(3000, 3000, "slack/general/2026-09-08.json"), "r1")
            assert Path(f"{state}.wal").stat().st_size > 100_000  # the chunks are in the log so far
        assert _threshold(store) == DEFAULT_THRESHOLD
        # The final CHECKPOINT moved everything into the file: the log is empty (or gone).
        wal = Path(f"{state}.wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert store.count("slack_messages") == 6000


# Commits two chunks inside a bulk load, starts a third, and dies without closing, checkpointing or
# committing it: what a kill in the middle of collect leaves.
KILLED = """
import os
import pyarrow as pa
import pytest
from checkpoints import StateStore
from checkpoints import store as store_module
from collectors.files import Chunk, FileStamp
from collectors.models import SLACK_MESSAGES

def chunk(first, day):
    cols = {{f.name: [None] * 2000 for f in SLACK_MESSAGES}}
    cols["channel_id"] = ["C1"] * 2000
    cols["ts"] = [f"{{first + i}}.000100" for i in range(2000)]
    batch = pa.table(cols, schema=SLACK_MESSAGES)
    return Chunk("slack_messages", batch, [FileStamp(f"slack/general/2026-09-0{{day}}.json", 1, "0")])

store = StateStore({state!r})
with store.bulk_load():
    store.commit_chunk(chunk(0, 7), "r1")
    store.commit_chunk(chunk(2000, 8), "r1")
    store.con.execute("BEGIN TRANSACTION")
    store.con.register("_third", chunk(4000, 9).batch)
    store.con.execute("INSERT INTO slack_messages SELECT * FROM _third")
    os._exit(9)
"""


def test_a_kill_inside_a_bulk_load_keeps_each_committed_chunk_with_its_stamps(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    done = subprocess.run(
        [sys.executable, "-c", KILLED.format(state=str(state))], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 9, done.stderr
    assert Path(f"{state}.wal").stat().st_size > 0  # nothing was checkpointed: the log holds the chunks
    with StateStore(state) as store:  # opening replays the log
        stamps = sorted(store.file_stamps())
        rows = store.con.execute("SELECT count(*), count(DISTINCT ts), max(ts::DOUBLE) FROM slack_messages")
        found = rows.fetchall()
        pending = store.count("pending_detection")
    assert stamps == ["slack/general/2026-09-07.json", "slack/general/2026-09-08.json"]
    assert found == [(4000, 4000, 3999.0001)]
    assert pending == 4000


def test_a_chunk_repeating_a_key_keeps_its_last_row_and_one_without_inserts_every_row(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.duckdb") as store:
        distinct = _chunk(4, 0, "slack/general/2026-09-07.json")
        store.commit_chunk(distinct, "r1")
        repeated = _chunk(3, 10, "slack/general/2026-09-08.json")
        texts = repeated.batch.column("text").to_pylist()
        ts = ["10.000100", "11.000100", "10.000100"]  # the third row repeats the first's key
        schema = repeated.batch.schema
        batch = repeated.batch.set_column(schema.get_field_index("ts"), "ts", pa.array(ts)).set_column(
            schema.get_field_index("text"), "text", pa.array([*texts[:2], "last wins"])
        )
        store.commit_chunk(Chunk("slack_messages", batch, repeated.files), "r1")
        rows = store.con.execute("SELECT ts, text FROM slack_messages ORDER BY ts").fetchall()
    assert rows == [
        ("0.000100", "message 0"),
        ("1.000100", "message 1"),
        ("10.000100", "last wins"),
        ("11.000100", "message 11"),
        ("2.000100", "message 2"),
        ("3.000100", "message 3"),
    ]


def _statements(store: StateStore) -> list[str]:
    """Wrap the store's connection so each SQL statement it runs is recorded; give the record."""
    seen: list[str] = []
    real = store.con

    class Recording:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def execute(self, sql: str, *args: object) -> object:
            seen.append(sql)
            return real.execute(sql, *args)

    store.con = Recording()  # type: ignore[assignment]
    return seen


def _in_channel(chunk: Chunk, channel: str) -> Chunk:
    batch = chunk.batch.set_column(0, "channel_id", pa.array([channel] * chunk.batch.num_rows))
    return Chunk("slack_messages", batch, chunk.files)


def test_a_bulk_load_into_an_empty_table_replaces_rows_only_where_a_channel_comes_again(
    tmp_path: Path,
) -> None:
    with StateStore(tmp_path / "state.duckdb") as store:
        statements = _statements(store)
        with store.bulk_load():
            store.commit_chunk(_in_channel(_chunk(3, 0, "slack/a/2026-09-07.json"), "CA"), "r1")
            store.commit_chunk(_in_channel(_chunk(3, 0, "slack/b/2026-09-07.json"), "CB"), "r1")
            first = [s for s in statements if s.startswith("DELETE FROM slack_messages t USING")]
            # Channel CA again, one key repeated with a new text: its stored row is replaced.
            again = _in_channel(_chunk(2, 2, "slack/a/2026-09-08.json"), "CA")
            texts = again.batch.set_column(
                again.batch.schema.get_field_index("text"), "text", pa.array(["new 2", "new 3"])
            )
            store.commit_chunk(Chunk("slack_messages", texts, again.files), "r1")
        after = [s for s in statements if s.startswith("DELETE FROM slack_messages t USING")]
        rows = store.con.execute("SELECT channel_id, ts, text FROM slack_messages ORDER BY ALL").fetchall()
        # A later bulk load finds the table filled: every chunk replaces by key again.
        with store.bulk_load():
            store.commit_chunk(_in_channel(_chunk(1, 0, "slack/c/2026-09-07.json"), "CC"), "r2")
        later = [s for s in statements if s.startswith("DELETE FROM slack_messages t USING")]
    assert (len(first), len(after), len(later)) == (0, 1, 2)
    assert rows == [
        ("CA", "0.000100", "message 0"),
        ("CA", "1.000100", "message 1"),
        ("CA", "2.000100", "new 2"),
        ("CA", "3.000100", "new 3"),
        ("CB", "0.000100", "message 0"),
        ("CB", "1.000100", "message 1"),
        ("CB", "2.000100", "message 2"),
    ]


def _limit(store: StateStore) -> str:
    return str(store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_working_memory_grows_with_the_stored_messages_and_is_back_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with StateStore(tmp_path / "state.duckdb") as store:
        store.commit_chunk(_chunk(3000, 0, "slack/general/2026-09-07.json"), "r1")
        own = _limit(store)
        with store.working_memory():  # 3,000 messages: far below the store's own 200 MB
            assert _limit(store) == own
        monkeypatch.setattr(store_module, "MESSAGES_PER_WORKING_MB", 10)  # 3,000 messages: 300 MB
        with store.working_memory():
            assert _limit(store) == "286.1 MiB"
        monkeypatch.setattr(store_module, "MAX_WORKING_MB", 250)
        with pytest.raises(RuntimeError), store.working_memory():
            assert _limit(store) == "238.4 MiB"
            raise RuntimeError("a failed stage")
        assert _limit(store) == own == "190.7 MiB"


def test_megabytes_reads_duckdb_sizes() -> None:
    assert [store_module._megabytes(v) for v in ("200MB", "1.5GB", "512MiB", "2048KB")] == [200, 1536, 512, 2]
    assert store_module._megabytes("80%") == float("inf")
