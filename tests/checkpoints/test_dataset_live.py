"""Live collection into the Parquet dataset: the real clients against the sandbox server, twice (the second
run from the saved cursors, calendars listed in full replace their rows), hold what a single file holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkpoints import StateStore
from collectors import build_live_sources
from flows import stages
from flows.settings import Settings
from sandbox import SandboxServer, ServerSettings, generate_workspace

pytestmark = pytest.mark.slow  # starts the sandbox server
SCALE = 60


def raw_rows(store: StateStore, table: str, key: str) -> list[tuple[object, ...]]:
    return store.con.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()


def test_two_live_collections_into_the_dataset_hold_what_one_file_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_workspace(tmp_path / "ws", people=12, days=3, seed=5)
    defaults = ServerSettings()
    monkeypatch.setenv("MEETINTEL_SLACK_TOKEN", defaults.slack_token)
    monkeypatch.setenv("MEETINTEL_GOOGLE_TOKEN", defaults.google_token)
    monkeypatch.setenv("MEETINTEL_SLACK_TIER2_PER_MINUTE", str(20 * SCALE))
    monkeypatch.setenv("MEETINTEL_SLACK_TIER3_PER_MINUTE", str(50 * SCALE))
    states = {
        "plain": (tmp_path / "plain.duckdb", None),
        "pq": (tmp_path / "pq.duckdb", str(tmp_path / "lake")),
    }
    with SandboxServer(tmp_path / "ws", ServerSettings(time_scale=SCALE)) as server:
        settings = Settings.from_cli(slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url)
        for _ in range(2):
            for state, storage in states.values():
                with StateStore(state, storage=storage) as store:
                    sources = build_live_sources(settings.live_config())
                    stat, outcomes = stages.collect_from_apis(
                        store, sources, store.start_run("incremental"), False
                    )
                    assert {o.status for o in outcomes} == {"ok"}
    with StateStore(states["plain"][0]) as one, StateStore(states["pq"][0]) as two:
        # One commit per chunk that changed the dataset, both runs (the second rewrites the calendars).
        assert two.dataset is not None and two.dataset.committed.generation == 17
        for table, key in (
            ("slack_messages", "channel_id, ts"),
            ("calendar_events", "calendar_id, event_id"),
        ):
            assert raw_rows(two, table, key) == raw_rows(one, table, key), table
        truth = json.loads((tmp_path / "ws" / "truth.json").read_text())["counts"]
        assert two.count("slack_messages") == one.count("slack_messages") == truth["messages"]
        assert two.cursors() == one.cursors()
