"""Live collection under injected API faults: do faulty runs finish, and does one clean run restore the state?

    .venv/bin/python benchmarks/faults.py [--people 30] [--days 5] [--rates 0.1 0.2 0.3] [--seeds 1 2]

For each fault rate and seed: a fault-free collection gives the reference state; then a fresh state is
collected twice with `rate` of the requests to every endpoint failing (40% dropped sockets, 40% error
statuses 500/502/503/429, 20% half-sent bodies; 2 ms latency each), the breaker reset (1 s) is waited out,
and one clean run follows. The raw tables are then compared with the reference row for row, ordered by
natural key. Prints one JSON object per trial and exits 1 if any trial's state differs.
Retries are fast (3 attempts, 10 ms base) and breakers open after 3 consecutive failed calls.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

from checkpoints import StateStore
from collectors import build_live_sources
from collectors.models import RAW_TABLES
from flows import stages
from flows.settings import Settings
from sandbox import FaultSpec, SandboxServer, ServerSettings, generate_workspace

SCALE = 60
RESET_S = 1.0


def _settings(url: str) -> Settings:
    sandbox = ServerSettings()
    return Settings(
        slack_token=SecretStr(sandbox.slack_token),
        google_token=SecretStr(sandbox.google_token),
        slack_base_url=f"{url}/api/",
        google_api_endpoint=url,
        retry_attempts=3,
        retry_base_delay=0.01,
        breaker_fail_max=3,
        breaker_reset_seconds=RESET_S,
        slack_tier2_per_minute=20 * SCALE,
        slack_tier3_per_minute=50 * SCALE,
    )


def collect(workspace: Path, state: Path, faults: dict[str, FaultSpec]) -> dict[str, object]:
    """Run one live collection into `state`; give its outcome, the requests and the faults injected."""
    with SandboxServer(workspace, ServerSettings(time_scale=SCALE, faults=faults)) as server:
        started = time.perf_counter()
        with StateStore(state) as store:
            sources = build_live_sources(_settings(server.url).live_config())
            stat, outcomes = stages.collect_from_apis(store, sources, f"run-{time.time_ns()}", False)
        stats = server.stats
    injected: dict[str, int] = {}
    for kinds in stats.faults.values():
        for kind, n in kinds.items():
            injected[kind] = injected.get(kind, 0) + n
    statuses = [o.status for o in outcomes]
    return {
        "status": "completed" if all(s == "ok" for s in statuses) else "partial",
        "sources": dict(zip([o.source for o in outcomes], statuses, strict=True)),
        "seconds": round(time.perf_counter() - started, 1),
        "requests": stats.total_requests,
        "injected": injected,
        "retries": sum(o.retries for o in outcomes),
        "rows": stat.rows_in,
    }


def raw_tables(state: Path) -> dict[str, list[tuple[object, ...]]]:
    """Give every raw table's rows ordered by natural key."""
    with StateStore(state) as store:
        return {
            t.name: store.con.execute(f"SELECT * FROM {t.name} ORDER BY {', '.join(t.key)}").fetchall()
            for t in RAW_TABLES.values()
        }


def trial(workspace: Path, reference: dict[str, list[tuple[object, ...]]], rate: float, seed: int) -> dict:
    """Give the figures of two faulty runs and one clean catch-up run, and whether the state matches."""
    spec = FaultSpec(
        drop_rate=rate * 0.4,
        error_rate=rate * 0.4,
        truncate_rate=rate * 0.2,
        statuses=(500, 502, 503, 429),
        latency_s=0.002,
        seed=seed,
    )
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.duckdb"
        faulty = [collect(workspace, state, {"*": spec}) for _ in range(2)]
        time.sleep(RESET_S)
        clean = collect(workspace, state, {})
        got = raw_tables(state)
    differing = [name for name in RAW_TABLES if got[name] != reference[name]]
    return {
        "rate": rate,
        "seed": seed,
        "faulty_runs": faulty,
        "clean_run": clean,
        "rows": {name: len(rows) for name, rows in got.items()},
        "tables_differing": differing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        generate_workspace(workspace, people=args.people, days=args.days, seed=7)
        baseline = collect(workspace, Path(tmp) / "reference.duckdb", {})
        reference = raw_tables(Path(tmp) / "reference.duckdb")
        print(json.dumps({"reference_run": baseline, "rows": {n: len(r) for n, r in reference.items()}}))
        failed = False
        for rate in args.rates:
            for seed in args.seeds:
                result = trial(workspace, reference, rate, seed)
                failed |= bool(result["tables_differing"])
                print(json.dumps(result), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
