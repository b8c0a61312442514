"""SIGKILL of the process writing the dataset in the middle of a commit: before its manifest (new files
written, nothing committed) and right after it (rows committed, cursors not yet). Either way the dataset
opens at a valid generation, stray files go, and the next run gives the reports of an uninterrupted one."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from checkpoints import StateStore
from checkpoints.dataset import MANIFESTS
from sandbox import generate_workspace
from tests.checkpoints.test_dataset import parquet_files, run_stages

pytestmark = pytest.mark.slow  # subprocesses killed by SIGKILL

# Parquet files on disk after the kill, and how many no manifest names: the dead commit's two new files
# before its manifest; none after it (its partitions were new, so it replaced no file).
STRAYS = {"before-manifest": (6, 2), "after-manifest": (6, 0)}

# The child collects in chunks of 8 files and kills itself at the 3rd dataset commit.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from checkpoints import StateStore, dataset
    from flows import stages

    state, ws, lake, when = sys.argv[1:5]
    write = dataset.RawDataset._write_manifest
    commits = []

    def dying(self, manifest):
        commits.append(manifest.generation)
        if len(commits) == 3 and when == "before-manifest":
            os.kill(os.getpid(), signal.SIGKILL)
        write(self, manifest)
        if len(commits) == 3 and when == "after-manifest":
            os.kill(os.getpid(), signal.SIGKILL)

    dataset.RawDataset._write_manifest = dying
    with StateStore(Path(state), storage=lake) as store:
        stages.collect(store, Path(ws), store.start_run("incremental"), chunk_files=8)
    """
)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("kill-org")
    generate_workspace(root / "ws", people=20, days=4, seed=3)
    return {"ws": root / "ws", "plain": run_stages(root / "plain.duckdb", root / "ws", root / "out-plain")}


@pytest.mark.parametrize("when", ["before-manifest", "after-manifest"])
def test_a_kill_mid_commit_leaves_a_readable_dataset_the_next_run_completes(
    org: dict[str, object], tmp_path: Path, when: str
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(str(org["ws"]), ws)
    state, lake = tmp_path / "state.duckdb", tmp_path / "lake"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(state), str(ws), str(lake), when], capture_output=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    state_id = next(p.name for p in lake.iterdir())
    manifests = sorted(p.name for p in (lake / state_id / MANIFESTS).iterdir() if not p.name.startswith("."))
    # Two commits were whole; the third wrote its files and, after the manifest, its manifest too.
    assert manifests[-1] == ("000000000002.json" if when == "before-manifest" else "000000000003.json")
    on_disk = parquet_files(lake / state_id)
    with StateStore(state) as store:
        assert store.dataset is not None
        named = {f.path for parts in store.dataset.committed.tables.values() for f in parts.values()}
        assert store.dataset.verify() == []
        # Opening removed what no manifest names (the dead commit's new files, or its replaced ones).
        assert parquet_files(lake / state_id) == named
        assert (len(on_disk), len(on_disk - named)) == STRAYS[when]
        assert store.count("slack_messages") == len(store.con.sql("SELECT * FROM slack_messages").fetchall())
    assert run_stages(state, ws, tmp_path / "out") == org["plain"]
    with StateStore(state) as store:
        assert store.count("slack_messages") == 1186
        assert store.count("calendar_events") == 163
