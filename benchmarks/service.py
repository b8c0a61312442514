"""`make bench`: how fast `meetintel serve` answers /health and /api/runs on the L state, idle and while a run
writes that state; the figures go into BENCHMARKS.md between the service markers.

Builds the L org (or reuses `bench-data/L` from `benchmarks/run.py`), runs the stages into a state, serves it
with `meetintel serve` in its own process, then times sequential requests twice: with the state idle, and
while a writer process holds the state's writer lock and rebuilds its derived tables (correlate and
aggregate, again and again), as a run does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench-data"
BEGIN, END = "<!-- service:begin -->", "<!-- service:end -->"
ROUTES = ("/health", "/api/runs")
TARGET_MS = 50.0


def _workspace(size: str) -> Path:
    """Give the size's generated workspace, the one `benchmarks/run.py` measures (generated when missing)."""
    from benchmarks.run import generated_workspace

    return generated_workspace(size)[0]


def _build(ws: Path, state: Path, out: Path) -> None:
    """Run every stage over `ws` into a fresh `state`, publish the reports and the monitoring snapshot."""
    from checkpoints import RunRecord, StateStore
    from flows import stages
    from flows.monitor import publish_snapshot

    for path in (state, Path(f"{state}.wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    with StateStore(state) as store:
        record = RunRecord(run_id=store.start_run("incremental"))
        record.stages.append(stages.collect(store, ws, record.run_id))
        record.rows_read = dict(record.stages[0].by_table)
        record.stages += [stages.detect(store), stages.correlate_stage(store), stages.aggregate(store)]
        record.stages.append(stages.export(store, out, record.run_id)[0])
        record.status = "completed"
        store.finish_run(record)
        publish_snapshot(store.con, state)


WRITER = """
import sys, time
from pathlib import Path
from checkpoints import StateStore
from checkpoints.store import hold_state
from flows import stages
state, seconds = Path(sys.argv[1]), float(sys.argv[2])
with hold_state(state, "benchmark writer"), StateStore(state) as store:
    store.con.execute("SET enable_progress_bar = false")
    print("writing", flush=True)
    deadline, rounds = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        store.set_meta("correlated_version", "-1")
        store.set_meta("aggregated_version", "-1")
        stages.correlate_stage(store)
        stages.aggregate(store)
        rounds += 1
    print("rounds", rounds, flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _time(url: str, token: str, count: int) -> dict[str, dict[str, float]]:
    """Time `count` sequential requests per route; give p50, p95 and p99 in milliseconds."""
    figures = {}
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for route in ROUTES:
            client.get(url + route).raise_for_status()  # warm
            times = []
            for _ in range(count):
                started = time.perf_counter()
                client.get(url + route).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            q = statistics.quantiles(times, n=100)
            figures[route] = {"p50": q[49], "p95": q[94], "p99": q[98], "n": float(count)}
    return figures


def measure(size: str, count: int, writer_seconds: float, reuse: bool = False) -> dict[str, object]:
    from service.tokens import create_token

    ws = _workspace(size)
    root = DATA / size / "service"
    root.mkdir(parents=True, exist_ok=True)
    state, out, tokens = root / "state.duckdb", root / "out", root / "tokens.json"
    started = time.perf_counter()
    built = not (reuse and state.exists() and (out / "LATEST").exists())
    if built:
        _build(ws, state, out)
    build_seconds = time.perf_counter() - started if built else None
    tokens.unlink(missing_ok=True)
    token, _ = create_token(tokens, "bench", "analyst")
    port = _free_port()
    env = os.environ | {"MEETINTEL_API_TOKENS_FILE": str(tokens)}
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--state",
            str(state),
            "--out",
            str(out),
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        idle = _time(url, token, count)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state), str(writer_seconds)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        busy = _time(url, token, count)
        still_writing = writer.poll() is None
        rounds = writer.stdout.read().split()[-1]  # the writer's last line: "rounds N"
        writer.wait()
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    return {
        "size": size,
        "build_seconds": build_seconds,
        "idle": idle,
        "busy": busy,
        "writer_outlived_measurement": still_writing,
        "writer": rounds,
    }


def _wait(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("meetintel serve did not answer /health within 120 s")


def markdown(result: dict) -> str:
    """Give the BENCHMARKS.md section for one measurement."""
    seconds = result["build_seconds"]
    built = f"built by the stages in {seconds:.0f} s" if seconds is not None else "built by an earlier run"
    rows = []
    for phase in ("idle", "busy"):
        for route, f in result[phase].items():
            ok = "yes" if f["p95"] <= TARGET_MS else "no"
            label = "idle" if phase == "idle" else "a run writing the state"
            ms = f"{f['p50']:.1f} | {f['p95']:.1f} | {f['p99']:.1f}"
            rows.append(f"| {route} | {label} | {f['n']:.0f} | {ms} | {ok} |")
    return "\n".join(
        [
            BEGIN,
            "## Monitoring service on the L state",
            "",
            f"`benchmarks/service.py` on {datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} cores, "
            f"{platform.machine()}, Python {platform.python_version()}. `meetintel serve` in its own "
            f"process over the {result['size']} state ({built}); sequential "
            "requests with an analyst token, timed by the client over loopback. *A run writing the state*: a "
            "second process holds the state's writer lock and rebuilds its derived tables (correlate and "
            f"aggregate) over and over ({result['writer']} rounds), the whole time the requests run. "
            f"Target: p95 <= {TARGET_MS:.0f} ms.",
            "",
            "| route | state | requests | p50 ms | p95 ms | p99 ms | p95 within target |",
            "|---|---|---:|---:|---:|---:|---|",
            *rows,
            END,
        ]
    )


def write_section(path: Path, section: str) -> None:
    """Put `section` between the service markers of `path` (appended when the markers are not there yet)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="L", help="S, M or L (default L)")
    parser.add_argument("--requests", type=int, default=400, help="requests per route and phase")
    parser.add_argument(
        "--writer-seconds", type=float, default=60.0, help="how long the writer keeps writing"
    )
    parser.add_argument("--write", type=Path, help="put the figures into this file (BENCHMARKS.md)")
    parser.add_argument(
        "--reuse", action="store_true", help="serve the state built by an earlier run of this"
    )
    args = parser.parse_args(argv)
    result = measure(args.size, args.requests, args.writer_seconds, args.reuse)
    print(json.dumps(result, indent=1))
    section = markdown(result)
    print(section)
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    # Run as `python benchmarks/service.py`, this folder comes first on the path and its name would hide the
    # `service` package: look in the repository instead.
    sys.path[0] = str(REPO)
    raise SystemExit(main())
