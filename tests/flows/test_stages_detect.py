"""Detection in ranges of pending messages gives one scan's evidence, row for row."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoints import StateStore
from flows import stages
from sandbox import generate_workspace


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("detect")
    generate_workspace(root / "ws", people=20, days=6, seed=8)
    with StateStore(root / "state.duckdb") as store:
        stages.collect(store, root / "ws", store.start_run("full"))
    return root


def _detect(root: Path, name: str, batch: int) -> tuple[int, str, list[tuple]]:
    state = root / name
    state.write_bytes((root / "state.duckdb").read_bytes())
    with StateStore(state) as store:
        stat = stages.detect(store, batch_messages=batch)
        rows = store.con.execute("SELECT * FROM evidence ORDER BY channel_id, ts").fetchall()
        assert store.count("pending_detection") == 0
    return stat.rows_in, stat.note, rows


@pytest.mark.slow  # 2 s: the org's detect four times
def test_ranges_of_pending_messages_give_one_scans_evidence(collected: Path) -> None:
    pending, note, whole = _detect(collected, "whole.duckdb", batch=10**9)
    assert (pending, note, len(whole)) == (1617, "", 85)
    with StateStore(collected / "state.duckdb") as store:
        store.pending_view()
        starts = stages.range_starts(store, 200)
        sizes = dict(
            store.con.execute("SELECT channel_id, count(*) FROM new_slack_messages GROUP BY ALL").fetchall()
        )
    # Small channels share a range; each channel above 200 pending messages is cut in two at its median ts.
    assert sorted(sizes.values()) == [39, 85, 109, 130, 138, 165, 192, 216, 254, 289]
    cut = [c for c, ts in starts if ts]
    assert cut == sorted(c for c, n in sizes.items() if n > 200)
    assert len(starts) == 11 and starts == sorted(starts)
    split_pending, split_note, split = _detect(collected, "split.duckdb", batch=200)
    assert (split_pending, split_note) == (1617, "11 ranges of <= 200 pending messages")
    assert split == whole
    assert len(whole) == len({(r[0], r[1]) for r in whole})  # one row per message


@pytest.mark.slow  # 2 s: the org's detect twice over
def test_replies_queued_again_find_their_parents_in_their_ranges_channels(collected: Path) -> None:
    """Replies detected again after their threads were (parents not pending) give the same evidence in
    ranges, whose thread lookups read only their own channels, as in one scan and in the first detection."""
    base = collected / "replies.duckdb"
    base.write_bytes((collected / "state.duckdb").read_bytes())
    with StateStore(base) as store:
        stages.detect(store)
        first = store.con.execute("SELECT * FROM evidence ORDER BY channel_id, ts").fetchall()
        replies = store.con.sql(
            "SELECT channel_id, ts FROM slack_messages WHERE thread_ts <> ts"
        ).to_arrow_table()
        with store.transaction():
            store.queue_detection("slack_messages", replies)
        replied = store.con.execute("SELECT count(*) FROM evidence WHERE thread_ts <> ts").fetchall()[0][0]
    assert (replies.num_rows, replied, len(first)) == (745, 19, 85)
    for name, batch, note in (
        ("one.duckdb", 10**9, ""),
        ("ranges.duckdb", 100, "11 ranges of <= 100 pending messages"),
    ):
        (collected / name).write_bytes(base.read_bytes())
        with StateStore(collected / name) as store:
            stat = stages.detect(store, batch_messages=batch)
            again = store.con.execute("SELECT * FROM evidence ORDER BY channel_id, ts").fetchall()
        assert (stat.rows_in, stat.note, again) == (745, note, first)
