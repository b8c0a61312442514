"""Side by side with dlt, on the same machine in the same run; the section goes into BENCHMARKS.md.

(a) Files: dlt loads the same export's day files into DuckDB (the filesystem source listing them, a
    transformer parsing each day file, dlt's normalise and DuckDB load), beside our collect stage and the
    floor (`benchmarks/floor.py`: DuckDB's own `read_json`), each in its own child process.
(b) API: dlt's `rest_api` source pages conversations.list and conversations.history from the sandbox
    server, and a dlt transformer pages conversations.replies of every thread with dlt's REST client (the
    client rest_api is built on), into DuckDB; beside it `benchmarks/collection.py`, our live collector.
    Both meet the same server limits (Slack Tier 3 scaled to 50 calls/s, Tier 2 to 20 calls/s).

Every child's wall time, own peak RSS and process-tree peak RSS are measured (benchmarks/_measure.py);
the sandbox server runs inside the child, so the tree figure includes it on both sides.

    python benchmarks/peer_dlt.py [--files-size M] [--api-size M] [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks._measure import Measured, load, run_child  # noqa: E402

BEGIN, END = "<!-- peer:begin -->", "<!-- peer:end -->"
SCALE = 60  # the sandbox's rate windows are 60 s / SCALE; benchmarks/collection.py uses the same
DLT_ENV = {"RUNTIME__DLTHUB_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "WARNING"}


# ---- children ------------------------------------------------------------------------------------------


def child_files(workspace: str, scratch: str) -> None:
    """(In the child) load the export's day files into DuckDB with dlt; print the figures as JSON."""
    import dlt
    from dlt.sources.filesystem import FileItemDict, filesystem

    folder = Path(workspace, "slack").resolve()

    @dlt.transformer(name="slack_messages")
    def messages(items: Iterator[FileItemDict]) -> Iterator[list[dict[str, Any]]]:
        for item in items:
            channel = item["relative_path"].split("/", 1)[0]
            with item.open() as fh:
                day = json.load(fh)
            yield [{**m, "channel": channel} for m in day]

    root = Path(scratch)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name="slack_files",
        pipelines_dir=str(root / "pipelines"),
        destination=dlt.destinations.duckdb(str(root / "dlt.duckdb")),
        dataset_name="slack",
    )
    files = filesystem(bucket_url=folder.as_uri(), file_glob="*/*.json")
    # Parquet load files: the default (INSERT statements) spent 60 % of its time in DuckDB parsing them.
    pipeline.run(files | messages(), write_disposition="replace", loader_file_format="parquet")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, **_counts(root / "dlt.duckdb", "slack_messages")}))


def child_api(workspace: str, truth_messages: str) -> None:
    """(In the child) page the sandbox's Slack history and replies with dlt; print the figures as JSON."""
    import dlt
    from dlt.sources.helpers.rest_client import RESTClient
    from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
    from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
    from dlt.sources.rest_api import rest_api_source

    from sandbox import SandboxServer, ServerSettings

    settings = ServerSettings(time_scale=SCALE)
    cursor = {"type": "cursor", "cursor_path": "response_metadata.next_cursor", "cursor_param": "cursor"}
    with SandboxServer(Path(workspace), settings) as server, tempfile.TemporaryDirectory() as tmp:
        base = f"{server.url}/api/"
        source = rest_api_source(
            {
                "client": {
                    "base_url": base,
                    "auth": {"type": "bearer", "token": settings.slack_token},
                    "paginator": cursor,
                },
                "resource_defaults": {"write_disposition": "replace"},
                "resources": [
                    {
                        "name": "channels",
                        "endpoint": {
                            "path": "conversations.list",
                            "data_selector": "channels",
                            "params": {"types": "public_channel,private_channel,mpim,im", "limit": 200},
                        },
                    },
                    {
                        "name": "history",
                        "endpoint": {
                            "path": "conversations.history",
                            "data_selector": "messages",
                            "params": {"channel": "{resources.channels.id}", "limit": 200},
                        },
                        "include_from_parent": ["id"],
                    },
                ],
            }
        )
        client = RESTClient(
            base_url=base,
            auth=BearerTokenAuth(settings.slack_token),
            paginator=JSONResponseCursorPaginator(
                cursor_path="response_metadata.next_cursor", cursor_param="cursor"
            ),
            data_selector="messages",
        )

        @dlt.transformer(name="replies", parallelized=True)
        def replies(page: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
            for message in page:
                if message.get("reply_count") and message.get("thread_ts") == message.get("ts"):
                    channel = message["_channels_id"]
                    params = {"channel": channel, "ts": message["ts"], "limit": 200}
                    for rows in client.paginate("conversations.replies", params=params):
                        yield [{**r, "_channels_id": channel} for r in rows]

        db = Path(tmp) / "dlt.duckdb"
        pipeline = dlt.pipeline(
            pipeline_name="slack_api",
            pipelines_dir=str(Path(tmp) / "pipelines"),
            destination=dlt.destinations.duckdb(str(db)),
            dataset_name="slack",
        )
        history = source.resources["history"]
        started = time.perf_counter()
        pipeline.run([source, history | replies()])
        seconds = time.perf_counter() - started
        stats = server.stats
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            unique = con.execute(
                "SELECT count(*) FROM (SELECT _channels_id, ts FROM slack.history UNION "
                "SELECT _channels_id, ts FROM slack.replies)"
            ).fetchall()[0][0]
    calls = {m: n - stats.rate_limited.get(m, 0) for m, n in stats.requests.items()}
    per_second = {m: n / settings.window_s for m, n in settings.tiers.items()}
    slack = {m: n for m, n in calls.items() if m.startswith("conversations.")}
    ideal = max(n / per_second[m] for m, n in slack.items())
    print(
        json.dumps(
            {
                "seconds": seconds,
                "ideal_seconds": ideal,
                "efficiency": ideal / seconds,
                "requests": stats.total_requests,
                "rate_limited": sum(stats.rate_limited.values()),
                "calls": slack,
                "messages": unique,
                "expected_messages": int(truth_messages),
            }
        )
    )


def _counts(db: Path, table: str) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(f"SELECT count(*) FROM slack.{table}").fetchall()[0][0]
        tables = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'slack' "
            "AND table_name NOT LIKE '_dlt%'"
        ).fetchall()[0][0]
    return {"rows": rows, "tables": tables}


# ---- the parent --------------------------------------------------------------------------------------------


def measure_files(size: str) -> dict[str, Measured]:
    """Our collect stage, dlt's load and the floor on the same day files, one after the other."""
    from benchmarks.run import DATA, generated_workspace

    ws, _meta = generated_workspace(size)
    root = DATA / size / "peer"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ours = run_child(
        ["benchmarks/pipeline.py", str(ws), str(root / "state.duckdb"), str(root / "out"), "collect"]
    )
    dlt_run = run_child([__file__, "files", str(ws), str(root / "dlt")], DLT_ENV)
    floor = run_child(["benchmarks/floor.py", str(ws), str(root / "floor.duckdb")])
    shutil.rmtree(root, ignore_errors=True)
    return {"ours": ours, "dlt": dlt_run, "floor": floor}


def measure_api(size: str) -> dict[str, Measured]:
    """Our live collector and dlt's rest_api against the sandbox at the same limits, one after the other."""
    from benchmarks.run import generated_workspace

    ws, _meta = generated_workspace(size)
    messages = json.loads((ws / "truth.json").read_text())["counts"]["messages"]
    ours = run_child(["benchmarks/collection.py", str(ws), str(messages)])
    dlt_run = run_child([__file__, "api", str(ws), str(messages)], DLT_ENV)
    return {"ours": ours, "dlt": dlt_run}


def _files_lines(size: str, m: dict[str, Measured]) -> list[str]:
    ours_s = next(s["seconds"] for s in m["ours"].output["stages"] if s["stage"] == "collect")
    rows = m["ours"].output["stages"][0]["by_table"].get("slack_messages", 0)
    d, f = m["dlt"], m["floor"].output
    return [
        f"### (a) Day files into DuckDB, {size}",
        "",
        "| who | seconds | peak RSS MB | rows | load before |",
        "|---|---:|---:|---:|---:|",
        f"| meetintel collect stage (every source; Slack messages shown) | {ours_s:.1f} | "
        f"{m['ours'].peak_rss_mb:.0f} | {rows:,} | {m['ours'].load_before:.1f} |",
        f"| dlt: filesystem source + transformer, normalise, DuckDB load | {d.output['seconds']:.1f} | "
        f"{d.peak_rss_mb:.0f} | {d.output['rows']:,} (+{d.output['tables'] - 1} child tables) | "
        f"{d.load_before:.1f} |",
        f"| floor: DuckDB `read_json` (auto schema / collect's columns) | {f['auto_seconds']:.1f} / "
        f"{f['columns_seconds']:.1f} | {m['floor'].peak_rss_mb:.0f} | {f['rows']:,} | "
        f"{m['floor'].load_before:.1f} |",
        "",
        f"Ratio dlt ÷ meetintel collect: {d.output['seconds'] / ours_s:.1f}x; "
        "meetintel collect ÷ floor (auto): "
        f"{ours_s / f['auto_seconds']:.1f}x.",
    ]


def _api_lines(size: str, m: dict[str, Measured]) -> list[str]:
    rows = []
    for who, meas in (("meetintel live collector (all four sources)", m["ours"]), ("dlt rest_api", m["dlt"])):
        o = meas.output
        rows.append(
            f"| {who} | {o['seconds']:.1f} | {o['ideal_seconds']:.1f} | {o['efficiency']:.2f} | "
            f"{o['requests']:,} | {o['rate_limited']:,} | {o['messages']:,} / {o['expected_messages']:,} | "
            f"{meas.peak_rss_mb:.0f} | {meas.tree_peak_mb:.0f} | {meas.load_before:.1f} |"
        )
    ours, theirs = m["ours"].output, m["dlt"].output
    calls = ", ".join(f"{k} {v:,}" for k, v in sorted(theirs["calls"].items()))
    return [
        f"### (b) Slack history and replies through the sandbox API, {size}",
        "",
        "Ideal = the busiest method's successful calls ÷ its allowed rate; efficiency = ideal ÷ actual.",
        "",
        "| who | seconds | ideal s | efficiency | requests | 429s | messages / expected | peak RSS MB "
        "| tree peak MB | load before |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Ratio dlt ÷ meetintel: time {theirs['seconds'] / ours['seconds']:.2f}x, requests "
        f"{theirs['requests'] / ours['requests']:.2f}x, "
        f"429s {theirs['rate_limited']:,} vs {ours['rate_limited']:,}. "
        f"dlt's successful Slack calls: {calls}.",
    ]


def section(files: tuple[str, dict] | None, api: tuple[str, dict] | None, old: str) -> str:
    """Give the peer block; a part not measured now keeps its lines from the `old` block."""
    kept = {part: _old_part(old, part) for part in ("(a)", "(b)")}
    lines = [
        BEGIN,
        "## Side by side with dlt",
        "",
        "`benchmarks/peer_dlt.py`: each row is its own child process, one after the other, so each part's",
        "ratios come from one run on one machine (load average in the last column; two shared cores).",
        "",
    ]
    stamp = f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    lines += [*_files_lines(*files), "", stamp] if files else ([kept["(a)"]] if kept["(a)"] else [])
    lines += [""]
    lines += [*_api_lines(*api), "", stamp] if api else ([kept["(b)"]] if kept["(b)"] else [])
    lines += ["", END]
    return "\n".join(lines)


def _old_part(old: str, part: str) -> str:
    """Give the `### {part}` subsection of the old peer block, or ''."""
    if BEGIN not in old or END not in old:
        return ""
    block = old[old.index(BEGIN) : old.index(END)]
    head = f"### {part}"
    if head not in block:
        return ""
    text = block[block.index(head) :]
    nxt = text.find("\n### ", 1)
    return (text if nxt < 0 else text[:nxt]).strip("\n")


def write_section(path: Path, text: str) -> None:
    """Put `text` in place of the peer block of `path`, or at its end."""
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files-size", default="L", help="size for (a), '' skips it (default L)")
    parser.add_argument("--api-size", default="M", help="size for (b), '' skips it (default M)")
    parser.add_argument("--write", default="BENCHMARKS.md", help="Markdown file to put the section in")
    args = parser.parse_args()
    files = api = None
    if args.files_size:
        print(f"(a) files at {args.files_size} (load {load():.1f})…", flush=True)
        files = (args.files_size, measure_files(args.files_size))
    if args.api_size:
        print(f"(b) API at {args.api_size} (load {load():.1f})…", flush=True)
        api = (args.api_size, measure_api(args.api_size))
    target = REPO / args.write
    text = section(files, api, target.read_text() if target.exists() else "")
    write_section(target, text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "files":
        os.environ.update(DLT_ENV)
        child_files(*sys.argv[2:4])
    elif len(sys.argv) > 1 and sys.argv[1] == "api":
        os.environ.update(DLT_ENV)
        child_api(*sys.argv[2:4])
    else:
        main()
