"""`make bench`: generate S/M/L (and XL with --xl) orgs, measure them as users run them, write BENCHMARKS.md.

Per size, each in its own child process (benchmarks/_measure.py samples the child's whole process tree):
the floor (DuckDB `read_json` of the same day files), the stages alone (full, no new data, 1 % new
messages), and `meetintel run` as users type it: a full run with Prefect's temporary API server, then no
new data with the temporary server and against a running server, then 1 % new messages against the server.
Prefect's fixed costs are measured apart (benchmarks/prefect_cost.py), `meetintel status` is timed, the L
run is profiled with py-spy, and benchmarks/scaling.svg plots time and peak RSS against messages.
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
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402
import psutil  # noqa: E402

from benchmarks._measure import (  # noqa: E402
    Measured,
    Series,
    add_new_messages,
    load,
    marked_block,
    run_child,
    scaling_svg,
)
from sandbox import SIZES, generate_workspace  # noqa: E402

DATA = REPO / "bench-data"
# XL is 10x L's messages: the same 600 people over 10x the days.
ALL_SIZES = {**SIZES, "XL": (SIZES["L"][0], SIZES["L"][1] * 10)}
NEW_FRACTION = 0.01
PRESERVED = (
    ("<!-- service:begin -->", "<!-- service:end -->"),
    ("<!-- scaleout:begin -->", "<!-- scaleout:end -->"),
)
PEER = ("<!-- peer:begin -->", "<!-- peer:end -->")
NOTES = ("<!-- profile-notes:begin -->", "<!-- profile-notes:end -->")
# Prefect's history for the flow runs: one folder kept between runs, as a person who runs often has.
PREFECT_HOME = DATA / "prefect-home"
QUIET = {"PREFECT_HOME": str(PREFECT_HOME), "PREFECT_LOGGING_LEVEL": "WARNING", "DO_NOT_TRACK": "1",
         "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}  # fmt: skip


def _child(args: list[str]) -> Measured:
    """Run a Python child and give its output, wall time and peak RSS (kept for the other benchmarks)."""
    return run_child(args)


def generated_workspace(size: str) -> tuple[Path, dict]:
    """Give the size's workspace (generated once, seed 1) and its generation figures."""
    people, days = ALL_SIZES[size]
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


def _cli(*args: str) -> list[str]:
    return ["-m", "flows.cli", *args]


def _flow(ws: Path, state: Path, out: Path, api_url: str | None) -> Measured:
    """Time `meetintel run --json` (a temporary Prefect server unless `api_url` names a running one)."""
    env: dict[str, str | None] = {**QUIET, "PREFECT_API_URL": api_url}  # None: a temporary server
    m = run_child(
        _cli("run", "--workspace", str(ws), "--state", str(state), "--out", str(out), "--json"), env
    )
    if m.output.get("status") != "completed":
        raise SystemExit(f"meetintel run on {ws} did not complete: {m.output}")
    return m


def _stages(ws: Path, state: Path, out: Path, profile: Path | None = None, check: bool = True) -> Measured:
    """Run the stages alone in a child (py-spy attached when `profile` names its output); unless `check`,
    a failed stage is in the figures (`failed`) instead of ending the benchmark."""
    args = ["benchmarks/pipeline.py", str(ws), str(state), str(out)]
    if profile is None:
        return run_child(args, check=check)
    with _py_spy(profile):
        return run_child(args, check=check)


@contextmanager
def _py_spy(out: Path) -> Iterator[None]:
    """Record the next Python child started from here with py-spy at 100 Hz (it samples from outside)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        yield
        return
    before = {p.pid for p in psutil.Process().children()}
    watcher: list[subprocess.Popen[bytes]] = []

    def attach() -> None:
        for _ in range(200):
            new = [p for p in psutil.Process().children() if p.pid not in before]
            if new:
                cmd = [
                    spy,
                    "record",
                    "--pid",
                    str(new[0].pid),
                    "-r",
                    "100",
                    "--nonblocking",
                    "--format",
                    "raw",
                ]
                watcher.append(subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL))  # fmt: skip
                return
            time.sleep(0.01)

    import threading

    thread = threading.Thread(target=attach, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        for w in watcher:
            w.wait(timeout=60)


def profile_top(raw: Path, n: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Give the top project frames of a py-spy raw profile: inclusive share and own (self) share."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            if _ours(frame):
                inclusive[frame] += samples
    if total == 0:
        return {"inclusive": [], "own": []}
    return {
        "inclusive": [(f, c / total) for f, c in inclusive.most_common(n)],
        "own": [(f, c / total) for f, c in own.most_common(n)],
    }


def _frame(raw: str) -> str:
    """Give `function (file:line)` as `file:function` (lines dropped: a function counts once)."""
    name, _, where = raw.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/"):
        path = path.split(marker)[-1]
    return f"{path}:{name}"


def _ours(frame: str) -> bool:
    return frame.split("/")[0] in (
        "collectors",
        "checkpoints",
        "intelligence",
        "aggregation",
        "exports",
        "flows",
    )


# ---- a running Prefect server -------------------------------------------------------------------------


def prepare_database(env: dict[str, str]) -> float:
    """Create and migrate the Prefect database of `env`'s PREFECT_HOME (a no-op once it is current); give
    the seconds. A server's first start on a fresh home does this too, once, in its own time: done apart,
    the server starts measured below are what every later run pays."""
    prefect = str(Path(sys.executable).parent / "prefect")
    started = time.perf_counter()
    subprocess.run([prefect, "server", "database", "upgrade", "-y"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started


@contextmanager
def prefect_server() -> Iterator[tuple[str, float]]:
    """Start `prefect server start` on a free loopback port (PREFECT_HOME of the bench); give its API URL
    and how long it took to answer /api/health; stop it after."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        **QUIET,
        # Its own PREFECT_HOME: the temporary servers of the other runs keep theirs (no shared SQLite file).
        "PREFECT_HOME": str(DATA / "prefect-server-home"),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
    }
    env.pop("PREFECT_API_URL", None)
    prepare_database(env)
    prefect = str(Path(sys.executable).parent / "prefect")
    started = time.perf_counter()
    proc = subprocess.Popen([prefect, "server", "start"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 120:
                    raise SystemExit("prefect server start did not answer /api/health within 120 s") from None
                time.sleep(0.2)
        yield url, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- one size --------------------------------------------------------------------------------------------


def bench_size(size: str, flow: bool, api_url: str | None, profile: bool) -> dict:
    """Measure one size: floor, stages (full, no new data, 1 % new), and `meetintel run` the same ways."""
    ws, meta = generated_workspace(size)
    root = DATA / size
    state, out = root / "state.duckdb", root / "out"
    state.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    floor = None
    if size != "XL":  # at XL the floor alone takes minutes; its target is set at L
        print("  floor…", flush=True)
        floor = run_child(["benchmarks/floor.py", str(ws), str(root / "floor.duckdb")])
    print("  stages…", flush=True)
    raw = root / "profile.raw" if profile else None
    # XL answers whether the stages fit at 10x: a stage failing there is a figure, not the end of the run.
    full = _stages(ws, state, out, raw, check=size != "XL")
    result: dict = {
        "size": size,
        "people_days": list(ALL_SIZES[size]),
        **({"floor": floor} if floor else {}),
        "full": full,
        "generate_seconds": meta["seconds"],
        "added": 0,
        **({"failed": full.output["failed"]} if "failed" in full.output else {}),
    }
    plus = root / "workspace-plus"
    if size != "XL":  # XL answers time and memory at 10x L; its incremental runs would add minutes
        result["noop"] = _stages(ws, state, out)
        result["added"] = add_new_messages(ws, plus, NEW_FRACTION)
        result["new"] = _stages(plus, state, out)
    with duckdb.connect(str(state), read_only=True) as con:
        result["messages"] = (
            con.execute("SELECT count(*) FROM slack_messages").fetchall()[0][0] - result["added"]
        )
    if raw is not None and raw.exists():
        result["profile"] = profile_top(raw)
    if flow:
        print("  meetintel run…", flush=True)
        fstate, fout = root / "flow-state.duckdb", root / "flow-out"
        fstate.unlink(missing_ok=True)
        shutil.rmtree(fout, ignore_errors=True)
        result["flow"] = _flow(ws, fstate, fout, None)
        result["flow_noop"] = _flow(ws, fstate, fout, None)
        if api_url:
            result["flow_noop_server"] = _flow(ws, fstate, fout, api_url)
            result["flow_new_server"] = _flow(plus, fstate, fout, api_url)
        result["status"] = time_status(fstate)
    shutil.rmtree(plus, ignore_errors=True)
    return result


def time_status(state: Path, runs: int = 7) -> dict[str, float]:
    """Time `meetintel status` (the console script) `runs` times; give the median and the fastest."""
    script = str(Path(sys.executable).parent / "meetintel")
    walls = [run_child([script, "status", "--state", str(state)], python=False).wall for _ in range(runs)]
    return {"median": statistics.median(walls), "fastest": min(walls), "load": load()}


# ---- rendering ---------------------------------------------------------------------------------------------


def _stage_seconds(m: Measured) -> float:
    return sum(s["seconds"] for s in m.output["stages"])


def _collect_seconds(m: Measured) -> float:
    return next(s["seconds"] for s in m.output["stages"] if s["stage"] == "collect")


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _row(target: str, measured: str, ok: bool | str) -> str:
    return f"| {target} | {measured} | {ok if isinstance(ok, str) else _mark(ok)} |"


def _targets(results: list[dict], cost: dict | None) -> list[str]:
    by = {r["size"]: r for r in results}
    lines = ["| target | measured | |", "|---|---|---|"]
    big = by.get("L")
    if big and "flow" in big:
        f = big["flow"]
        lines += [
            _row("`meetintel run` L full <= 20 s", f"{f.wall:.1f} s", f.wall <= 20),
            _row("CLI process peak RSS <= 400 MB", f"{f.peak_rss_mb:.0f} MB", f.peak_rss_mb <= 400),
            _row("process tree peak RSS <= 600 MB (temporary server included)", f"{f.tree_peak_mb:.0f} MB",
                 f.tree_peak_mb <= 600),
        ]  # fmt: skip
    if big:
        c, fl = _collect_seconds(big["full"]), big["floor"].output
        auto, cols = c / fl["auto_seconds"], c / fl["columns_seconds"]
        lines.append(
            _row("collect <= 2x the floor (auto / columns)", f"{c:.1f} s = {auto:.1f}x / {cols:.1f}x",
                 f"{_mark(auto <= 2)} / {_mark(cols <= 2)}")
        )  # fmt: skip
        share = big["new"].wall / big["full"].wall
        lines.append(
            _row("1 % new messages <= 5 % of the full run (stages)",
                 f"{big['new'].wall:.1f} s = {share:.1%} of {big['full'].wall:.1f} s", share <= 0.05)
        )  # fmt: skip
    if big and "flow_noop_server" in big:
        s = big["flow_noop_server"].wall
        lines.append(_row("no new data, `meetintel run`, running server <= 3 s", f"{s:.1f} s", s <= 3))
    if big and "flow_noop" in big:
        t = big["flow_noop"].wall
        lines.append(_row("no new data, `meetintel run`, temporary server <= 6 s", f"{t:.1f} s", t <= 6))
    if big and "flow_new_server" in big:
        new, full = big["flow_new_server"].wall, big["flow"].wall
        lines.append(
            _row("1 % new messages <= 5 % of the full run (`meetintel run`, running server)",
                 f"{new:.1f} s = {new / full:.1%} of {full:.1f} s", new / full <= 0.05)
        )  # fmt: skip
    if big and "status" in big:
        st = big["status"]
        lines.append(
            _row("`meetintel status` <= 0.3 s", f"median {st['median']:.2f} s, fastest {st['fastest']:.2f} s "
                 f"(load {st['load']:.1f})", st["median"] <= 0.3)
        )  # fmt: skip
    xl = by.get("XL")
    if xl and big:
        ratio, peak = xl["full"].wall / big["full"].wall, xl["full"].peak_rss_mb
        failed = xl.get("failed")
        until = f" until {failed['stage']} failed" if failed else ""
        lines += [
            _row("XL peak RSS <= 1 GB (stages)", f"{peak:.0f} MB{until}", peak <= 1024 and not failed),
            _row("XL time <= 11x L (stages)", f"{ratio:.1f}x{until} ({failed['error']})" if failed
                 else f"{ratio:.1f}x", ratio <= 11 and not failed),
        ]  # fmt: skip
    else:
        lines.append(_row("XL (10x L): peak RSS <= 1 GB, time <= 11x L", "not in this run "
                          "(`python benchmarks/run.py --xl`; see the notes below)", "-"))  # fmt: skip
    if cost and big and "flow_noop_server" in big:
        over = _overhead(big["flow_noop_server"], cost)
        lines.append(
            _row("flow overhead beyond server start <= 1 s", f"{over:.1f} s (no new data, running server)",
                 over <= 1)
        )  # fmt: skip
    return lines


def _overhead(flow: Measured, cost: dict) -> float:
    """Give a flow run's own overhead: its wall less the import of Prefect and the flow, and the stages."""
    return flow.wall - cost["import_seconds"] - _stage_seconds(flow)


def _size_lines(results: list[dict]) -> list[str]:
    lines = [
        "| size | people × days | messages | stages full s | stages peak MB | `meetintel run` s "
        "| CLI peak MB | tree peak MB | no new data s (server / temporary) | 1 % new s | collect s "
        "| floor s (auto / columns) | generate s | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        f = r.get("flow")
        flow = f"{f.wall:.1f} | {f.peak_rss_mb:.0f} | {f.tree_peak_mb:.0f}" if f else "- | - | -"
        server = f"{r['flow_noop_server'].wall:.1f}" if "flow_noop_server" in r else "-"
        temp = f"{r['flow_noop'].wall:.1f}" if "flow_noop" in r else "-"
        fl = r["floor"].output if "floor" in r else None
        floor = f"{fl['auto_seconds']:.1f} / {fl['columns_seconds']:.1f}" if fl else "-"
        new = f"{r['new'].wall:.1f}" if "new" in r else "-"
        size = r["size"] + (f" (earlier run, {r['measured_at']})" if r.get("earlier") else "")
        wall = f"{r['full'].wall:.1f}" + (f" (failed in {r['failed']['stage']})" if "failed" in r else "")
        lines.append(
            f"| {size} | {r['people_days'][0]} × {r['people_days'][1]} | {r['messages']:,} | "
            f"{wall} | {r['full'].peak_rss_mb:.0f} | {flow} | {server} / {temp} | "
            f"{new} | {_collect_seconds(r['full']):.1f} | {floor} | {r['generate_seconds']:.1f} | "
            f"{r['full'].load_before:.1f} |"
        )
    return lines


def _ratio_lines(results: list[dict]) -> list[str]:
    out = []
    done = [r for r in results if "failed" not in r]
    for a, b in zip(done, done[1:], strict=False):
        msgs, wall = b["messages"] / a["messages"], b["full"].wall / a["full"].wall
        rss = b["full"].peak_rss_mb / a["full"].peak_rss_mb
        both = "flow" in a and "flow" in b
        flow = f", `meetintel run` ×{b['flow'].wall / a['flow'].wall:.1f}" if both else ""
        out.append(
            f"{a['size']} → {b['size']}: messages ×{msgs:.1f}, stages time ×{wall:.1f}, "
            f"stages peak RSS ×{rss:.2f}{flow}."
        )
    return out


def _stage_rows(m: Measured) -> list[str]:
    rows = []
    peaks = m.output.get("stage_peak_rss_mb", {})
    for s in m.output["stages"]:
        rate = s["rows_in"] / s["seconds"] if s["seconds"] > 0 and not s["skipped"] else 0
        note = ("skipped: " + s["note"]) if s["skipped"] else s["note"]
        rows.append(
            f"| {s['stage']} | {s['seconds']:.2f} | {peaks.get(s['stage'], 0):.0f} | {s['rows_in']:,} | "
            f"{s['rows_out']:,} | {rate:,.0f} | {note} |"
        )
    failed = m.output.get("failed")
    if failed:
        stage, peak = failed["stage"], peaks.get(failed["stage"], 0)
        rows.append(
            f"| {stage} | {failed['seconds']:.2f} | {peak:.0f} | - | - | - | **failed**: {failed['error']} |"
        )
    return rows


def _prefect_lines(results: list[dict], cost: dict | None, server_start: float | None) -> list[str]:
    L = next((r for r in results if r["size"] == "L" and "flow" in r), None)
    if not (cost and L):
        return []
    full = L["flow"]
    stages = _stage_seconds(full)
    temp_over = full.wall - cost["import_seconds"] - cost["server_start_seconds"] - stages
    lines = [
        "",
        "## Prefect's cost (L)",
        "",
        "`benchmarks/prefect_cost.py` measures the import of Prefect with the flow module and the temporary",
        "server's start apart; the flow's own overhead is what `meetintel run` takes beyond those and the",
        "stages' own seconds (task and flow bookkeeping, the heartbeat thread, shutdown).",
        "",
        "| part | seconds |",
        "|---|---:|",
        f"| import Prefect and the flow module | {cost['import_seconds']:.2f} |",
        f"| temporary API server start (no PREFECT_API_URL) | {cost['server_start_seconds']:.2f} |",
        f"| creating Prefect's database, once per PREFECT_HOME (`prefect server database upgrade`; timed "
        f"apart, not in the starts) | {cost['database_seconds']:.2f} |"
        if "database_seconds" in cost
        else "| creating Prefect's database | not measured |",
        f"| `prefect server start` until /api/health answers (once, for people who run often) | "
        f"{server_start:.2f} |"
        if server_start
        else "| `prefect server start` | not measured |",
        f"| stages of the full run | {stages:.2f} |",
        f"| flow overhead, full run, temporary server | {temp_over:.2f} |",
    ]
    for key, what in (("flow_noop_server", "no new data"), ("flow_new_server", "1 % new messages")):
        if key in L:
            lines.append(f"| flow overhead, {what}, running server | {_overhead(L[key], cost):.2f} |")
    lines.append(f"| `meetintel run` full, temporary server: wall | {full.wall:.2f} |")
    return lines


def _profile_lines(results: list[dict]) -> list[str]:
    L = next((r for r in results if "profile" in r), None)
    if L is None:
        return []
    p = L["profile"]
    lines = [
        "",
        f"## Profile of the {L['size']} stages (py-spy, 100 Hz, this run)",
        "",
        "Share of samples in which each of the project's functions was on the stack (inclusive), and the",
        "frames that were running (own time; DuckDB's work shows as the Python call that waits for it).",
        "",
        "| inclusive | function | | own | frame |",
        "|---:|---|---|---:|---|",
    ]
    for (fi, si), (fo, so) in zip(p["inclusive"], p["own"], strict=False):
        lines.append(f"| {si:.1%} | `{fi}` | | {so:.1%} | `{fo}` |")
    return lines


def _excel(old: str) -> str:
    head, found, rest = old.partition("## Excel writer\n")
    if not found:
        return ""
    body = rest.split("\n<!--", 1)[0].split("\n## ", 1)[0]
    return ("## Excel writer\n" + body).rstrip("\n")


def render(results: list[dict], command: str, cost: dict | None, server_start: float | None, old: str) -> str:
    cpu = platform.processor() or platform.machine()
    import prefect

    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, {cpu}, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, Prefect {prefect.__version__}. "
        "The machine's two cores are shared: the load average (1 min) is recorded beside the figures; "
        "above 2, work waits for a core.",
        "",
        "Each size is a generated org (seed 1) read from files. *Stages* run the pipeline's stages as plain",
        "functions in one process (`benchmarks/pipeline.py`); `meetintel run` is what users type (the",
        "Prefect flow, `--json`), in its own process. *CLI peak* is that process's own peak RSS; *tree",
        "peak* is the summed RSS of the process and everything it started (Prefect's temporary API server",
        "included); both sampled every 50 ms with psutil. *No new data* runs right after the full run;",
        "*1 % new* adds new day files holding 1 % more messages (the channels' last days, a day later). The",
        "*floor* is DuckDB's `read_json` of the same day files into one table of a fresh DuckDB file, in the",
        "same run (`benchmarks/floor.py`): *auto* lets DuckDB guess the schema, *columns* reads collect's",
        "columns.",
        "",
        "## Targets",
        "",
        *_targets(results, cost),
        "",
        "## Sizes",
        "",
        *_size_lines(results),
        "",
        *_ratio_lines(results),
        "",
        "![time and peak RSS against messages, log-log](benchmarks/scaling.svg)",
    ]
    lines += _prefect_lines(results, cost, server_start)
    lines += _profile_lines(results)
    notes = marked_block(old, *NOTES)
    if notes:
        lines += ["", notes]
    for r in results:
        lines += [
            "",
            f"## {r['size']}: stages of the full run",
            "",
            "| stage | seconds | peak RSS MB | rows in | rows out | rows/s | note |",
            "|---|---:|---:|---:|---:|---:|---|",
            *_stage_rows(r["full"]),
        ]
    for begin, end in (PEER, *PRESERVED):
        block = marked_block(old, begin, end)
        if block:
            lines += ["", block]
    excel = _excel(old)
    if excel:
        lines += ["", excel]
    return "\n".join(lines) + "\n"


def write_svg(results: list[dict], path: Path) -> None:
    """Write the scaling plot: stages' and `meetintel run`'s time, and their peak RSS, against messages
    (sizes whose stages completed)."""
    results = [r for r in results if "failed" not in r]
    series = [
        Series(
            "stages, full run: seconds", "s", [(r["messages"], r["full"].wall) for r in results], "#1f77b4"
        ),
        Series(
            "stages, full run: peak RSS",
            "MB",
            [(r["messages"], r["full"].peak_rss_mb) for r in results],
            "#d62728",
        ),  # fmt: skip
    ]
    flows = [r for r in results if "flow" in r]
    if flows:
        wall = [(r["messages"], r["flow"].wall) for r in flows]
        tree = [(r["messages"], r["flow"].tree_peak_mb) for r in flows]
        series.insert(1, Series("`meetintel run`: seconds", "s", wall, "#2ca02c"))
        series.append(Series("`meetintel run`: process tree peak RSS", "MB", tree, "#9467bd"))
    path.write_text(scaling_svg(series, "meetintel at S to " + results[-1]["size"] + " (dashed: linear)"))


RESULTS = DATA / "bench-results.json"
MEASURED = ("floor", "full", "noop", "new", "flow", "flow_noop", "flow_noop_server", "flow_new_server")


def _save(results: list[dict], cost: dict | None, server_start: float | None, command: str) -> None:
    """Keep the raw figures of each size beside the data (sizes not measured now keep theirs)."""

    def plain(v: object) -> object:
        return v.as_json() if isinstance(v, Measured) else v

    kept = json.loads(RESULTS.read_text()).get("sizes", {}) if RESULTS.exists() else {}
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for r in results:
        kept[r["size"]] = {**{k: plain(v) for k, v in r.items()}, "measured_at": stamp, "command": command}
    figures = {"sizes": kept, "prefect_cost": cost, "server_start": server_start}
    RESULTS.write_text(json.dumps(figures, indent=1))


def earlier(size: str) -> dict | None:
    """Give the figures of `size` from an earlier run (bench-data/bench-results.json), or None."""
    if not RESULTS.exists():
        return None
    r = json.loads(RESULTS.read_text()).get("sizes", {}).get(size)
    if r is None:
        return None
    return {k: (Measured(**v) if k in MEASURED and isinstance(v, dict) else v) for k, v in r.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated sizes (S, M, L, XL)")
    parser.add_argument("--xl", action="store_true", help="add XL (10x L's messages; takes many minutes)")
    parser.add_argument("--out", default="BENCHMARKS.md", help="Markdown file to write")
    parser.add_argument("--no-flow", action="store_true", help="skip `meetintel run` (Prefect) runs")
    parser.add_argument("--no-profile", action="store_true", help="do not profile the L stages with py-spy")
    parser.add_argument(
        "--with-earlier", default="", help="sizes to show from an earlier run, e.g. XL (not measured now)"
    )
    args = parser.parse_args()
    sizes = args.sizes.split(",") + (["XL"] if args.xl and "XL" not in args.sizes else [])
    PREFECT_HOME.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    cost = None
    with _maybe_server(not args.no_flow) as (api_url, server_start):
        if not args.no_flow:
            created = prepare_database({**os.environ, **QUIET})
            cost = {**run_child(["benchmarks/prefect_cost.py"], QUIET).output, "database_seconds": created}
            print(
                f"prefect: import {cost['import_seconds']:.1f} s, "
                f"temporary server {cost['server_start_seconds']:.1f} s"
            )
        for size in sizes:
            print(f"benchmarking {size} (load {load():.1f})…", flush=True)
            results.append(bench_size(size, flow=not args.no_flow and size != "XL", api_url=api_url,
                                      profile=size == "L" and not args.no_profile))  # fmt: skip
            r = results[-1]
            print(f"  stages {r['full'].wall:.1f} s, {r['full'].peak_rss_mb:.0f} MB", flush=True)
    default = args.sizes == "S,M,L" and not args.no_flow and not args.xl
    command = "make bench" if default else "python benchmarks/run.py " + " ".join(sys.argv[1:])
    out = REPO / args.out
    old = out.read_text() if out.exists() else ""
    _save(results, cost, server_start, command)
    for size in (s for s in args.with_earlier.split(",") if s and s not in sizes):
        if (kept := earlier(size)) is not None:
            results.append({**kept, "earlier": True})
    results.sort(key=lambda r: list(ALL_SIZES).index(r["size"]))
    write_svg(results, REPO / "benchmarks" / "scaling.svg")
    out.write_text(render(results, command, cost, server_start, old))
    print(f"wrote {args.out} and benchmarks/scaling.svg")


@contextmanager
def _maybe_server(wanted: bool) -> Iterator[tuple[str | None, float | None]]:
    if not wanted:
        yield None, None
        return
    with prefect_server() as (url, started):
        print(f"prefect server answered in {started:.1f} s at {url}", flush=True)
        yield url, started


if __name__ == "__main__":
    main()
