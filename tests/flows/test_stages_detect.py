"""Detection in groups of whole channels gives one scan's evidence, row for row."""

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


def test_channel_groups_give_one_scans_evidence(collected: Path) -> None:
    pending, note, whole = _detect(collected, "whole.duckdb", batch=10**9)
    assert note == ""
    with StateStore(collected / "state.duckdb") as store:
        store.pending_view()
        groups = stages.channel_groups(store, 400)
        per_channel = dict(
            store.con.execute("SELECT channel_id, count(*) FROM new_slack_messages GROUP BY ALL").fetchall()
        )
    # Whole channels, each in one group, in channel order; a group passes 400 only when one channel does.
    assert [c for g in groups for c in g] == sorted(per_channel)
    assert all(sum(per_channel[c] for c in g) <= 400 or len(g) == 1 for g in groups)
    assert sum(per_channel.values()) == pending
    split_pending, split_note, split = _detect(collected, "split.duckdb", batch=400)
    assert split_pending == pending
    assert split_note == f"{len(groups)} channel groups of <= 400 pending messages"
    assert (pending, [len(g) for g in groups], len(whole)) == (1617, [3, 1, 3, 1, 1, 1], 85)
    assert split == whole
    assert len(whole) == len({(r[0], r[1]) for r in whole})  # one row per message
