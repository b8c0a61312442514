"""Scale-out figures: L on the local executor and on Dask with 1 and 2 workers, and a fleet of 4 M orgs.

Each measurement is a child process running `meetintel run … --json` or `meetintel fleet run … --json`
(the real Prefect flow, its temporary API server included), so its wall time and peak RSS are its own. The
L runs keep raw tables as Parquet in a local folder, except the baseline (one DuckDB file); every run's
normalised meetings.json is digested, and the figures say whether the digests agree. The load average is
recorded beside each figure: the machine's two cores are shared.

`python benchmarks/scaleout.py` writes its section into BENCHMARKS.md between the scaleout markers (added at
the end when missing); `make bench` calls it after the other benchmarks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.run import DATA, Measured, _child, generated_workspace  # noqa: E402
from sandbox import SIZES, generate_workspace  # noqa: E402

BEGIN, END = "<!-- scaleout:begin -->", "<!-- scaleout:end -->"
FLEET_SEEDS = (11, 12, 13, 14)


def digest(out: Path) -> str:
    """Give a short SHA-256 of meetings.json with its records ordered by meeting id."""
    meetings = json.loads((out / "latest" / "meetings.json").read_text())
    canonical = json.dumps(sorted(meetings, key=lambda m: m["meeting_id"]), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def measure(args: list[str]) -> tuple[Measured, float, float]:
    """Run `meetintel ARGS --json` in a child; give its measurement and the load average before and after."""
    before = os.getloadavg()[0]
    m = _child(["-m", "flows.cli", *args, "--json"])
    return m, before, os.getloadavg()[0]


def bench_size(size: str) -> list[dict[str, Any]]:
    ws, meta = generated_workspace(size)
    runs = [
        ("local thread pool, one DuckDB file", "local", 0, False),
        ("local thread pool, Parquet folder", "local", 0, True),
        ("Dask, 1 worker, Parquet folder", "dask", 1, True),
        ("Dask, 2 workers, Parquet folder", "dask", 2, True),
    ]
    rows = []
    for label, executor, workers, parquet in runs:
        root = DATA / size / "scaleout" / f"{executor}-{workers}-{'pq' if parquet else 'file'}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        print(f"{size}: {label}…", flush=True)
        args = [
            "run",
            "--workspace",
            str(ws),
            "--state",
            str(root / "state.duckdb"),
            "--out",
            str(root / "out"),
        ]
        if parquet:
            args += ["--storage", str(root / "lake")]
        if executor == "dask":
            args += ["--executor", "dask", "--workers", str(workers)]
        m, load_before, load_after = measure(args)
        m.output["digest"] = digest(root / "out")
        m.output["stage_seconds"] = {st["stage"]: st["seconds"] for st in m.output["stages"]}
        rows.append({"label": label, "m": m, "load": (load_before, load_after), "messages": meta["messages"]})
        collect = next(st for st in m.output["stages"] if st["stage"] == "collect")
        print(
            f"  {m.wall:.1f} s, {m.peak_rss_mb:.0f} MB, load {load_before:.1f} → {load_after:.1f}; "
            f"collect {collect['seconds']:.1f} s ({collect['note']})",
            flush=True,
        )
    return rows


def bench_fleet(concurrency: int, size: str) -> dict[str, Any]:
    root = DATA / f"fleet-{size}"
    people, days = SIZES[size]
    lines = [f"concurrency = {concurrency}"]
    for seed in FLEET_SEEDS:
        org = root / f"org-{seed}"
        stamp = org / "generated.json"
        if not stamp.exists():
            shutil.rmtree(org, ignore_errors=True)
            generate_workspace(org / "workspace", people=people, days=days, seed=seed)
            stamp.write_text(json.dumps({"people": people, "days": days, "seed": seed}))
        shutil.rmtree(org / "out", ignore_errors=True)
        shutil.rmtree(org / "lake", ignore_errors=True)
        (org / "state.duckdb").unlink(missing_ok=True)
        lines += [
            "[[org]]",
            f'name = "m-{seed}"',
            f'workspace = "org-{seed}/workspace"',
            f'state = "org-{seed}/state.duckdb"',
            f'out = "org-{seed}/out"',
            f'storage = "org-{seed}/lake"',
        ]
    orgs = root / "orgs.toml"
    orgs.write_text("\n".join(lines) + "\n")
    print(f"fleet of {len(FLEET_SEEDS)} {size} orgs, {concurrency} at once…", flush=True)
    m, load_before, load_after = measure(["fleet", "run", str(orgs), "--concurrency", str(concurrency)])
    print(f"  {m.wall:.1f} s, load {load_before:.1f} → {load_after:.1f}", flush=True)
    return {"m": m, "load": (load_before, load_after), "concurrency": concurrency}


def render(rows: list[dict[str, Any]], fleets: list[dict[str, Any]], size: str, fleet_size: str) -> str:
    digests = {r["m"].output["digest"] for r in rows}
    lines = [
        BEGIN,
        "## Scale-out: Dask and a fleet of orgs",
        "",
        f"`benchmarks/scaleout.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} "
        "cores shared with other work (the 1-minute load average before → after each run is shown). Each "
        "run is the Prefect flow on a fresh state in its own process, temporary API server included. "
        "Dask runs start a `distributed.LocalCluster` (worker processes, one thread each) and fan out the "
        "collection of day and calendar files (in batches) and detection (per partition); correlation, "
        "aggregation and export stay on the coordinator.",
        "",
        f"{size} ({rows[0]['messages']:,} messages):",
        "",
        "| executor and storage | wall s | collect s | detect s | correlate s | aggregate s | export s "
        "| peak RSS MB | load avg | meetings.json digest |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        s = r["m"].output["stage_seconds"]
        lines.append(
            f"| {r['label']} | {r['m'].wall:.1f} | {s['collect']:.1f} | {s['detect']:.1f} | "
            f"{s['correlate']:.1f} | {s['aggregate']:.1f} | {s['export']:.1f} | {r['m'].peak_rss_mb:.0f} | "
            f"{r['load'][0]:.1f} → {r['load'][1]:.1f} | `{r['m'].output['digest']}` |"
        )
    lines += [
        "",
        (
            "Every run gave the same normalised meetings.json."
            if len(digests) == 1
            else f"The runs gave {len(digests)} different meetings.json digests: a bug to chase."
        ),
        "Peak RSS is the coordinator's; Dask's worker processes come on top of it.",
        "",
        f"Fleet of {len(FLEET_SEEDS)} {fleet_size} orgs (seeds {', '.join(map(str, FLEET_SEEDS))}; "
        "each its own state and Parquet folder), subflows of one `meetintel_fleet` run:",
        "",
        "| orgs at once | wall s | per-org seconds | statuses | load avg |",
        "|---:|---:|---|---|---|",
    ]
    for f in fleets:
        orgs = f["m"].output["orgs"]
        per_org = ", ".join(f"{o['seconds']:.0f}" for o in orgs)
        statuses = ", ".join(sorted({o["status"] for o in orgs}))
        lines.append(
            f"| {f['concurrency']} | {f['m'].wall:.1f} | {per_org} | {statuses} | "
            f"{f['load'][0]:.1f} → {f['load'][1]:.1f} |"
        )
    lines += ["", "What these figures mean on two cores is discussed in docs/scale-out.md.", END]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Put `section` between the markers of `path` (appended when the markers are missing)."""
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    text = (
        pattern.sub(lambda _m: section, text)
        if pattern.search(text)
        else text.rstrip("\n") + "\n\n" + section
    )
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", default="BENCHMARKS.md", help="Markdown file to write the section into")
    parser.add_argument("--fleet-concurrency", default="1,2", help="comma-separated orgs-at-once to measure")
    parser.add_argument("--size", default="L", help="the org size run on each executor")
    parser.add_argument("--fleet-size", default="M", help="the size of each fleet org")
    args = parser.parse_args()
    rows = bench_size(args.size)
    fleets = [bench_fleet(int(c), args.fleet_size) for c in args.fleet_concurrency.split(",")]
    write_section(REPO / args.write, render(rows, fleets, args.size, args.fleet_size))
    print(f"wrote the scale-out section of {args.write}")


if __name__ == "__main__":
    main()
