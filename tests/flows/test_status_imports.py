"""`meetintel status` loads no network, Prefect, Arrow or Parquet-dataset code: it reads one DuckDB file's
ledger read-only (`checkpoints.ledger`).

A structural check in a fresh interpreter (timings are in BENCHMARKS.md): `urllib.request` and `http` came
in through the CLI module's own imports (the temporary server's health probe); Arrow and the Parquet
dataset's modules load only when a state keeps its raw tables in a dataset.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from checkpoints import StateStore

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from flows.cli import app
try:
    app(sys.argv[1:], prog_name="meetintel")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""
NOT_NEEDED = (
    "http.client",
    "urllib.request",
    "prefect",
    "pyarrow",
    "fsspec",
    "pandas",
)


def test_status_loads_no_network_prefect_or_dataset_module(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    with StateStore(state) as store:
        store.start_run("full")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "status", "--state", str(state), "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["exit"] in (0, None)
    assert sorted(set(found["modules"]) & set(NOT_NEEDED)) == []
    printed = json.loads("\n".join(done.stdout.splitlines()[:-1]))
    assert [r["mode"] for r in printed["runs"]] == ["full"]
