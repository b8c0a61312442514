"""Detection split into parts by channel gives the evidence of one scan (no cluster needed to show it), and
the executor options refuse what cannot work together."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from checkpoints import StateStore
from core.errors import ConfigurationError
from flows import stages
from flows._dask import detect_part, plan_detection, task_runner
from intelligence import detect_evidence
from sandbox import generate_workspace

EVIDENCE = 56  # evidence rows of the org's 1,186 messages


def ordered(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda r: (r["channel_id"], r["ts"], r["kind"]))


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plan")
    generate_workspace(root / "ws", people=20, days=4, seed=3)
    return root / "ws"


@pytest.mark.slow  # several seconds: the full suite runs it, the fast lane does not
@pytest.mark.parametrize("parquet", [False, True], ids=["one-file", "parquet"])
def test_parts_give_the_evidence_of_one_scan(ws: Path, tmp_path: Path, parquet: bool) -> None:
    storage = str(tmp_path / "lake") if parquet else None
    with StateStore(tmp_path / "state.duckdb", storage=storage) as store:
        stages.collect(store, ws, store.start_run("incremental"))
        assert store.pending_view() == 1186
        whole = detect_evidence(store.con, "new_slack_messages")
        for parts in (1, 3, 40):
            plan = plan_detection(store, parts)
            channels = [c for p in plan for c in p.channels]
            assert len(channels) == len(set(channels)) == 10  # every channel in exactly one part
            assert len(plan) == min(parts, 10)
            # The single-file state ships the rows; the dataset names the files a worker reads itself.
            assert all((p.messages is None) == parquet and bool(p.files) == parquet for p in plan)
            found = pa.concat_tables([detect_part(p) for p in plan])
            assert ordered(found) == ordered(whole)
        assert whole.num_rows == EVIDENCE


def test_executor_options_that_do_not_fit_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="need --executor dask"):
        task_runner("local", workers=2)
    with pytest.raises(ConfigurationError, match="both --dask-scheduler and --workers"):
        task_runner("dask", scheduler="tcp://127.0.0.1:8786", workers=2)
    with pytest.raises(ConfigurationError, match="unknown executor 'ray'"):
        task_runner("ray")
    assert type(task_runner("dask", workers=3)).__name__ == "DaskTaskRunner"
    assert type(task_runner("local")).__name__ == "ThreadPoolTaskRunner"
