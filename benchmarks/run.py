"""`make bench`: generate S/M/L orgs, run the pipeline from files, and write BENCHMARKS.md.

Each measurement runs in its own child process so its peak RSS (from wait4) is the pipeline's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil

from sandbox import SIZES, generate_workspace

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench-data"


@dataclass
class Measured:
    """One child process run: its JSON output, wall time and peak RSS."""

    output: dict
    wall: float
    peak_rss_mb: float


def _child(args: list[str]) -> Measured:
    """Run a Python child, wait for it with wait4 and give its output, wall time and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child {args} failed with exit code {proc.returncode}")
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    return Measured(
        json.loads(lines[-1]) if lines else {}, time.perf_counter() - started, usage.ru_maxrss / 1024
    )


def _generate(size: str) -> tuple[Path, dict]:
    people, days = SIZES[size]
    ws = DATA / size / "workspace"
    meta = DATA / size / "generated.json"
    wanted = {"people": people, "days": days, "seed": 1}
    if not (meta.exists() and json.loads(meta.read_text()).get("args") == wanted):
        shutil.rmtree(DATA / size, ignore_errors=True)
        started = time.perf_counter()
        summary = generate_workspace(ws, people=people, days=days, seed=1)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(
            json.dumps(
                {"args": wanted, "seconds": time.perf_counter() - started, "messages": summary.messages}
            )
        )
    return ws, json.loads(meta.read_text())


def _flow_run(ws: Path, size: str) -> Measured:
    """Time `meetintel run` (the Prefect flow, with its temporary API server) on a fresh state."""
    state, out = DATA / size / "flow-state.duckdb", DATA / size / "flow-out"
    state.unlink(missing_ok=True)
    return _child(
        ["-m", "flows.cli", "run", "--workspace", str(ws), "--state", str(state), "--out", str(out)]
    )


def bench_size(size: str, flow: bool) -> dict:
    ws, meta = _generate(size)
    state, out = DATA / size / "state.duckdb", DATA / size / "out"
    state.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    args = ["benchmarks/pipeline.py", str(ws), str(state), str(out)]
    full = _child(args)
    again = _child(args)
    with duckdb.connect(str(state), read_only=True) as con:
        messages = con.execute("SELECT count(*) FROM slack_messages").fetchall()[0][0]
    result = {
        "size": size,
        "people_days": list(SIZES[size]),
        "messages": messages,
        "full": full,
        "noop": again,
        "generate_seconds": meta["seconds"],
    }
    if flow:
        result["flow"] = _flow_run(ws, size)
    return result


def bench_collection(size: str) -> Measured:
    """Collect the `size` org live through the sandbox with Slack's tiers scaled 60x."""
    ws, _meta = _generate(size)
    messages = json.loads((ws / "truth.json").read_text())["counts"]["messages"]
    return _child(["benchmarks/collection.py", str(ws), str(messages)])


def _collection_lines(size: str, m: Measured) -> list[str]:
    o = m.output
    calls = ", ".join(f"{k} {v:,}" for k, v in sorted(o["calls"].items()))
    lost = o["expected_messages"] - o["messages"]
    return [
        "",
        f"## Live collection of {size} through the sandbox",
        "",
        "`benchmarks/collection.py`: the real slack_sdk and googleapiclient clients against the sandbox",
        "server over HTTP, with Slack Tier 3 scaled to 50 calls/s and Tier 2 to 20 calls/s per method on",
        "both sides (server sliding windows; client token buckets, one per method, at 95% of those rates,",
        "the default headroom). The four sources are read at the same time. Ideal time = the busiest Slack",
        "method's successful calls ÷ its allowed rate (methods have separate limits, so they overlap);",
        "efficiency = ideal ÷ actual, so the headroom alone caps it at 0.95.",
        "",
        "| messages collected / expected | lost | requests | 429s | ideal s | actual s | efficiency "
        "| peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {o['messages']:,} / {o['expected_messages']:,} | {lost:,} | {o['requests']:,} | "
        f"{o['rate_limited']:,} | "
        f"{o['ideal_seconds']:.1f} | {o['seconds']:.1f} | {o['efficiency']:.2f} | {m.peak_rss_mb:.0f} |",
        "",
        f"Successful Slack calls: {calls}. Sources: {', '.join(o['sources'])}.",
    ]


def _stage_rows(m: Measured) -> list[str]:
    rows = []
    for s in m.output["stages"]:
        rate = s["rows_in"] / s["seconds"] if s["seconds"] > 0 and not s["skipped"] else 0
        rows.append(
            f"| {s['stage']} | {s['seconds']:.2f} | {s['rows_in']:,} | {s['rows_out']:,} | "
            f"{rate:,.0f} | {'skipped: ' + s['note'] if s['skipped'] else s['note']} |"
        )
    return rows


def render(results: list[dict], command: str, collection: tuple[str, Measured] | None) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}: {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {cpu}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}.",
        "",
        "Each size is a generated org (seed 1) read from files. *Full* is a first run on an empty state;",
        "*no new data* is the incremental run right after it. Peak RSS is the pipeline process's own",
        "(wait4). *Flow* is `meetintel run`: the same stages as Prefect tasks, with Prefect's temporary",
        "API server.",
        "",
        "| size | people × days | messages | full run s | peak RSS MB | no-new-data run s | "
        "peak RSS MB | flow run s | generate s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        flow = f"{r['flow'].wall:.1f}" if "flow" in r else "-"
        lines.append(
            f"| {r['size']} | {r['people_days'][0]} × {r['people_days'][1]} | {r['messages']:,} | "
            f"{r['full'].wall:.1f} | {r['full'].peak_rss_mb:.0f} | {r['noop'].wall:.1f} | "
            f"{r['noop'].peak_rss_mb:.0f} | {flow} | {r['generate_seconds']:.1f} |"
        )
    lines.append("")
    lines.append(
        "Targets: L end to end <= 60 s with peak RSS <= 500 MB; incremental run with no new data <= 3 s on L."
    )
    for r in results:
        lines += [
            "",
            f"## {r['size']}: stages of the full run",
            "",
            "| stage | seconds | rows in | rows out | rows/s | note |",
            "|---|---:|---:|---:|---:|---|",
            *_stage_rows(r["full"]),
        ]
    if collection:
        lines += _collection_lines(*collection)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated sizes from sandbox.SIZES")
    parser.add_argument("--out", default="BENCHMARKS.md", help="Markdown file to write")
    parser.add_argument("--no-flow", action="store_true", help="skip timing the Prefect flow run")
    parser.add_argument(
        "--collection", default="M", help="size to collect live through the sandbox ('' skips)"
    )
    args = parser.parse_args()
    results = []
    for size in args.sizes.split(","):
        print(f"benchmarking {size}…", flush=True)
        results.append(bench_size(size, flow=not args.no_flow))
        print(
            f"  full {results[-1]['full'].wall:.1f} s, {results[-1]['full'].peak_rss_mb:.0f} MB", flush=True
        )
    collection = None
    if args.collection:
        print(f"collecting {args.collection} live through the sandbox…", flush=True)
        collection = (args.collection, bench_collection(args.collection))
        print(f"  efficiency {collection[1].output['efficiency']:.2f}", flush=True)
    default = args.sizes == "S,M,L" and args.collection == "M" and not args.no_flow
    command = "make bench" if default else "python benchmarks/run.py " + " ".join(sys.argv[1:])
    (REPO / args.out).write_text(render(results, command, collection))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
