"""The `meetintel` command line."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from checkpoints import RunRecord, StateStore
from collectors.errors import MeetintelError
from flows.params import LiveEndpoints
from flows.settings import Settings

# Offline by default: no telemetry calls from Prefect (set before Prefect is imported).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 3

app = typer.Typer(
    name="meetintel",
    help="Meeting intelligence from Slack, Google Calendar, Drive and directory data.",
    no_args_is_help=True,
    add_completion=False,
)
sandbox_app = typer.Typer(help="Synthetic workspaces for demos, tests and benchmarks.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
console = Console()
err = Console(stderr=True, soft_wrap=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace snapshot folder (slack/, google/). Env: MEETINTEL_WORKSPACE."
    ),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Folder for the reports. Env: MEETINTEL_OUT.")
]
StateOpt = Annotated[
    Path | None, typer.Option("--state", "-s", help="State DuckDB file. Env: MEETINTEL_STATE.")
]


def _fail(exc: MeetintelError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc.message}")
    if exc.hint:
        err.print(f"[yellow]what to do:[/] {exc.hint}")
    return typer.Exit(EXIT_FAILED)


@app.command()
def run(
    workspace: WorkspaceOpt = None,
    out: OutOpt = None,
    state: StateOpt = None,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Re-collect everything and swap the new state in at the end."),
    ] = False,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Collect from the Slack and Google APIs (tokens from MEETINTEL_SLACK_TOKEN, "
            "MEETINTEL_GOOGLE_* or Prefect Secret blocks) instead of workspace files.",
        ),
    ] = False,
    slack_base_url: Annotated[
        str | None, typer.Option(help="Slack Web API base URL (live runs). Env: MEETINTEL_SLACK_BASE_URL.")
    ] = None,
    google_endpoint: Annotated[
        str | None, typer.Option(help="Google API endpoint (live runs). Env: MEETINTEL_GOOGLE_API_ENDPOINT.")
    ] = None,
    sandbox: Annotated[
        Path | None,
        typer.Option(
            help="Serve this workspace with the local API sandbox on a free loopback port and collect "
            "from it live, through the real Slack and Google clients (the demo)."
        ),
    ] = None,
) -> None:
    """Run the pipeline: collect, detect, correlate, aggregate, export (incremental unless --full-refresh).

    Exit codes: 0 completed, 1 failed, 3 partial (a source was skipped; the next run catches up).
    """
    try:
        settings = Settings.from_cli(
            workspace=workspace,
            out=out,
            state=state,
            slack_base_url=slack_base_url,
            google_api_endpoint=google_endpoint,
        )
        if sandbox is not None:
            record = _run_against_sandbox(settings, sandbox, full_refresh)
        else:
            endpoints = LiveEndpoints(
                enabled=live, slack_base_url=slack_base_url, google_api_endpoint=google_endpoint
            )
            if live:
                settings.live_config()  # fail fast, before Prefect starts, when credentials are missing
            record = _run_flow(settings, full_refresh, endpoints)
    except MeetintelError as exc:
        raise _fail(exc) from exc
    _print_run(record, settings)
    raise typer.Exit(EXIT_OK if record.status == "completed" else EXIT_PARTIAL)


def _run_flow(settings: Settings, full_refresh: bool, live: LiveEndpoints) -> RunRecord:
    from flows.pipeline import meeting_intelligence  # Prefect loads only for commands that need it

    workspace = None if live.enabled else str(settings.require_workspace())
    with console.status("Running the meeting_intelligence flow…"):
        return meeting_intelligence(
            out=str(settings.out),
            state=str(settings.state),
            workspace=workspace,
            full_refresh=full_refresh,
            live=live,
        )


def _run_against_sandbox(settings: Settings, workspace: Path, full_refresh: bool) -> RunRecord:
    """Serve `workspace` on a free loopback port and run the flow live against it, then stop the server."""
    from sandbox import SandboxServer, ServerSettings

    # The sandbox runs Slack's rate windows 60x faster, and the client's buckets follow, so a demo org
    # collects in seconds while every call still goes through the real clients, limits and retries.
    scale = 60
    sandbox_settings = ServerSettings(time_scale=scale)
    with SandboxServer(workspace, sandbox_settings) as server:
        console.print(f"Sandbox APIs for [bold]{workspace}[/] at {server.url}")
        os.environ["MEETINTEL_SLACK_TOKEN"] = sandbox_settings.slack_token
        os.environ["MEETINTEL_GOOGLE_TOKEN"] = sandbox_settings.google_token
        os.environ.setdefault("MEETINTEL_SLACK_TIER2_PER_MINUTE", str(20 * scale))
        os.environ.setdefault("MEETINTEL_SLACK_TIER3_PER_MINUTE", str(50 * scale))
        live = LiveEndpoints(
            enabled=True, slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url
        )
        return _run_flow(settings, full_refresh, live)


def _print_run(record: RunRecord, settings: Settings) -> None:
    table = Table(title=f"run {record.run_id} ({record.mode}): {record.status}")
    for col in ("stage", "seconds", "rows in", "rows out", "note"):
        table.add_column(col, justify="right" if col in ("seconds", "rows in", "rows out") else "left")
    for s in record.stages:
        table.add_row(
            s.stage,
            f"{s.seconds:.2f}",
            str(s.rows_in),
            str(s.rows_out),
            ("skipped: " if s.skipped else "") + s.note,
        )
    console.print(table)
    console.print(
        f"Reports in [bold]{settings.out}/latest/[/]: meetings.json, people.json, CSV tables, "
        "meetintel.xlsx, meetintel.html"
    )
    console.print(f"State in [bold]{settings.state}[/]")


@app.command()
def status(
    state: StateOpt = None, limit: Annotated[int, typer.Option(help="How many runs to show.")] = 10
) -> None:
    """Show the latest runs from the runs ledger."""
    try:
        settings = Settings.from_cli(state=state)
        if not settings.state.exists():
            err.print(f"no state file at {settings.state}; run `meetintel run` first")
            raise typer.Exit(EXIT_FAILED)
        with StateStore(settings.state) as store:
            runs = store.runs(limit)
            counts = {t: store.count(t) for t in ("slack_messages", "calendar_events", "meeting_records")}
    except MeetintelError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"runs in {settings.state}")
    for col in ("run", "mode", "status", "started", "seconds", "rows read", "errors"):
        table.add_column(col)
    for r in runs:
        secs = f"{(r.ended_at - r.started_at).total_seconds():.1f}" if r.ended_at and r.started_at else "-"
        table.add_row(
            r.run_id,
            r.mode,
            r.status,
            f"{r.started_at:%Y-%m-%d %H:%M:%S}" if r.started_at else "-",
            secs,
            str(sum(r.rows_read.values())),
            "; ".join(r.errors),
        )
    console.print(table)
    console.print(", ".join(f"{k}: {v}" for k, v in counts.items()))


@sandbox_app.command("generate")
def sandbox_generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the workspace snapshot and truth.json into.")],
    people: Annotated[int, typer.Option(min=10, help="Number of people in the org.")] = 40,
    days: Annotated[int, typer.Option(min=1, help="Number of days of activity.")] = 14,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")] = "2026-09-07",
) -> None:
    """Generate a synthetic org as a workspace snapshot (Slack export, Calendar, Drive, Directory)."""
    from sandbox import generate_workspace

    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] --start {start!r} is not a date; use YYYY-MM-DD")
        raise typer.Exit(EXIT_FAILED) from exc
    with console.status(f"Generating {people} people × {days} days…"):
        summary = generate_workspace(out, people=people, days=days, seed=seed, start=first)
    console.print(f"Workspace written to [bold]{out}[/] (ground truth in {summary.truth_file.name})")
    console.print(
        f"{summary.messages:,} Slack messages ({summary.replies:,} replies) in {summary.channels} channels, "
        f"{summary.users} Slack users, {summary.event_rows:,} calendar rows "
        f"({summary.unique_events:,} events) in {summary.calendars} calendars, "
        f"{summary.files:,} Drive files, {summary.directory_users} directory users"
    )


@sandbox_app.command("serve")
def sandbox_serve(
    workspace: Annotated[Path, typer.Argument(help="Workspace snapshot to serve (slack/, google/).")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 8765,
    time_scale: Annotated[
        float, typer.Option(help="Rate-limit windows are 60 s / time_scale (60 makes Tier 3 50 calls/s).")
    ] = 1.0,
) -> None:
    """Serve a workspace as the Slack Web API and Google Calendar/Drive/Directory APIs on 127.0.0.1."""
    from sandbox import ServerSettings, serve_forever

    try:
        serve_forever(
            workspace,
            port,
            ServerSettings(time_scale=time_scale),
            on_ready=lambda url: console.print(
                f"Serving [bold]{workspace}[/] at {url} "
                f"(Slack base_url {url}/api/, Google api_endpoint {url}); Ctrl-C stops"
            ),
        )
    except MeetintelError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        console.print("stopped")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
