"""The `meetintel` command line.

Import at the top only what building the command table needs (typer, rich, core.errors): each command
imports the layers it uses in its own body, so `meetintel status` and `--help` start in a fraction of a
second without DuckDB's reports, the API clients or Prefect (tests/flows/test_cli_imports.py holds this).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from core.errors import ConfigurationError, MeetintelError, RetriableError
from flows._terminal import plain, quiet_tracebacks, safe
from flows.cli_fleet import fleet_app
from flows.cli_ops import choose_profile
from flows.cli_ops import register as register_ops

if TYPE_CHECKING:
    import pyarrow as pa

    from aggregation import MeetingFilter
    from checkpoints import RunRecord, StateStore
    from flows._dask import ScaleOut
    from flows._screen import RunScreen
    from flows.params import ExportOptions, LiveEndpoints
    from flows.settings import Settings

# Offline by default: no telemetry calls from Prefect (set before Prefect is imported).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Arrow's default pool (mimalloc) keeps what the stages freed: with the system allocator a run's peak RSS
# is ~30 MB lower at L (read when pyarrow first allocates; a user's own setting wins).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
# Pydantic looks for plugins in every installed package's entry points the first time a model is built
# (~20 ms of `meetintel status`); meetintel uses none (a user's own setting wins).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 3

app = typer.Typer(
    name="meetintel",
    help="Meeting intelligence from Slack, Google Calendar, Drive and directory data.",
    no_args_is_help=True,
    add_completion=False,
)
sandbox_app = typer.Typer(help="Synthetic workspaces for demos, tests and benchmarks.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
archive_app = typer.Typer(help="Report runs kept under OUT/runs/: list and prune.", no_args_is_help=True)
app.add_typer(archive_app, name="archive")
quarantine_app = typer.Typer(help="Records left out of a run (or cut short), and why.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(fleet_app, name="fleet")
register_ops(app)  # serve, token, breaker, config, health, errors (flows/cli_ops.py)


@app.callback()
def _profile(
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile of meetintel.toml. Env: MEETINTEL_PROFILE.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="The meetintel.toml to read. Env: MEETINTEL_CONFIG.")
    ] = None,
) -> None:
    """Meeting intelligence from Slack, Google Calendar, Drive and directory data."""
    choose_profile(profile, config)


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


PseudonymiseOpt = Annotated[
    bool,
    typer.Option("--pseudonymise", help="Replace people with salted hashes (email domain kept), drop names."),
]
SaltEnvOpt = Annotated[
    str, typer.Option(help="Environment variable holding the pseudonymisation salt (>= 16 characters).")
]
RedactOpt = Annotated[bool, typer.Option("--redact-text", help="With --pseudonymise: redact message text.")]


def _fail(exc: MeetintelError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {safe(exc.message)}")
    if exc.hint:
        err.print(f"[yellow]what to do:[/] {safe(exc.hint)}")
    return typer.Exit(EXIT_FAILED)


def _unexpected(exc: Exception) -> typer.Exit:
    """Say in one line that the run failed on an unclassified error; the traceback is in the run's log."""
    _release(exc)
    return _fail(
        MeetintelError(
            f"the run failed: {type(exc).__name__}: {exc}",
            "run `meetintel doctor` to check the state and reports; the run's log in Prefect has the "
            "traceback (or set PREFECT_LOGGING_LEVEL=DEBUG to see it here); report it if it persists",
        )
    )


def _release(exc: BaseException | None) -> None:
    """Drop the local variables held by `exc`'s tracebacks (DuckDB connections, Arrow tables), so nothing
    of DuckDB outlives the command and the interpreter exits without `nanobind: leaked` reports."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot hold reports, before any run folder or ledger entry is made."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()  # proves the folder takes a new file, and leaves none
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write reports to {out} ({exc.strerror or exc})",
            f"make {out} a folder you can write to (create it, or `chmod u+w` it), or pass another --out",
        ) from exc


def _check_state(state: Path) -> None:
    """Open the state once before Prefect starts, so a damaged or unreachable file fails in one line."""
    from checkpoints import StateStore

    try:
        StateStore(state).close()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot open the state file {state} ({exc.strerror or exc})",
            "make its folder writable, or pass --state with a path you can write to",
        ) from exc


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
    pseudonymise: PseudonymiseOpt = False,
    salt_env: SaltEnvOpt = "MEETINTEL_PSEUDONYM_SALT",
    redact_text: RedactOpt = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show Prefect's INFO lines (server, task states).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the run summary, as one JSON object, on stdout.")
    ] = False,
    executor: Annotated[
        str,
        typer.Option(
            help="local (Prefect's thread pool) or dask (detection, and with --storage the reading of export "
            "and calendar files, fan out on Dask workers)."
        ),
    ] = "local",
    dask_scheduler: Annotated[
        str | None, typer.Option(help="With --executor dask: a running scheduler, e.g. tcp://HOST:8786.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="With --executor dask: start a local cluster of N worker processes.")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Keep raw tables as Parquet in this folder or s3://bucket/prefix. Env: MEETINTEL_STORAGE."
        ),
    ] = None,
    s3_endpoint: Annotated[
        str | None,
        typer.Option(
            help="Endpoint of an S3-compatible store, e.g. http://minio:9000. Env: MEETINTEL_S3_ENDPOINT."
        ),
    ] = None,
) -> None:
    """Run the pipeline: collect, detect, correlate, aggregate, export (incremental unless --full-refresh).

    On a terminal each stage shows its counts and an ETA as it runs; otherwise one line per stage start and
    end. The full log goes to OUT/runs/<id>/run.log. Exit codes: 0 completed, 1 failed, 3 partial (a source
    was skipped; the next run catches up).

    Without PREFECT_API_URL the run starts a temporary Prefect server of its own; for runs you watch in the
    UI, `prefect server start` and export PREFECT_API_URL. Runs from here send no flow heartbeats unless
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set (deployment runs keep Prefect's default).
    """
    from flows._screen import RunScreen, print_json, run_summary
    from flows.params import ExportOptions, LiveEndpoints
    from flows.settings import Settings

    screen = RunScreen(console, err, json_out=as_json, verbose=verbose)
    try:
        settings = Settings.from_cli(
            workspace=workspace,
            out=out,
            state=state,
            slack_base_url=slack_base_url,
            google_api_endpoint=google_endpoint,
            storage=storage,
            s3_endpoint=s3_endpoint,
        )
        export = ExportOptions(
            tz=settings.report_tz,
            keep_runs=settings.keep_runs,
            keep_days=settings.keep_days,
            pseudonymise=pseudonymise,
            salt_env=salt_env,
            redact_text=redact_text,
        )
        export.privacy_tag()  # fail fast, before Prefect starts, when the salt is missing
        _check_out(settings.out)
        _check_state(settings.state)
        # The temporary API server (when no Prefect API is configured) boots while the rest is imported.
        with RunApi.started():
            scale = _scale_out(settings, executor, dask_scheduler, workers)
            if sandbox is not None:
                record = _run_against_sandbox(settings, sandbox, full_refresh, export, screen)
            else:
                endpoints = LiveEndpoints(
                    enabled=live, slack_base_url=slack_base_url, google_api_endpoint=google_endpoint
                )
                if live:
                    settings.live_config()  # fail fast, before the flow starts, when credentials are missing
                record = _run_flow(settings, full_refresh, endpoints, export, screen, scale)
    except MeetintelError as exc:
        _release(exc)
        _failed_json(screen, exc.message, exc.hint)
        raise _fail(exc) from None
    except Exception as exc:  # noqa: BLE001 - whatever the run raised, the user gets one line, not a traceback
        _failed_json(screen, f"{type(exc).__name__}: {exc}", None)
        raise _unexpected(exc) from None
    if as_json:
        print_json(run_summary(record, settings.out, settings.state, screen.log_path))
    else:
        _print_run(record, settings)
        if screen.log_path is not None:
            console.print(f"Log in [bold]{safe(screen.log_path)}[/]")
    raise typer.Exit(EXIT_OK if record.status == "completed" else EXIT_PARTIAL)


def _failed_json(screen: RunScreen, error: str, hint: str | None) -> None:
    """With --json, still give scripts one JSON object when the run failed (the message goes to stderr)."""
    from flows._screen import print_json

    if screen.mode == "json":
        print_json(
            {"status": "failed", "error": plain(error), "hint": plain(hint or ""), "log": screen.log_path}
        )


def _scale_out(settings: Settings, executor: str, scheduler: str | None, workers: int | None) -> ScaleOut:
    """Give the run's executor and storage, checked, the storage recorded in the state (before the flow)."""
    from checkpoints.dataset import storage_uri
    from flows._dask import ScaleOut

    scale = ScaleOut(executor, scheduler, workers, storage_uri(settings.storage, settings.s3_endpoint))
    scale.prepare(settings.state)
    return scale


def _run_flow(
    settings: Settings,
    full_refresh: bool,
    live: LiveEndpoints,
    export: ExportOptions,
    screen: RunScreen,
    scale: ScaleOut | None = None,
) -> RunRecord:
    import gc

    from flows._logging import secret_values
    from flows.pipeline import meeting_intelligence  # Prefect loads only for commands that need it

    quiet_tracebacks()
    workspace = None if live.enabled else str(settings.require_workspace())
    flow = scale.flow(meeting_intelligence) if scale is not None else meeting_intelligence
    # What the imports made outlives the run: the collector's full passes skip it during the run (at L they
    # took 0.25 s of the run's 0.33 s of collections); whatever of it is garbage is collected afterwards.
    gc.freeze()
    try:
        with screen.running(settings.out, secret_values(export.salt_env)), _without_heartbeats():
            RunApi.wait()
            return flow(
                out=str(settings.out),
                state=str(settings.state),
                workspace=workspace,
                full_refresh=full_refresh,
                live=live,
                export=export,
            )
    finally:
        gc.unfreeze()


@contextmanager
def _without_heartbeats() -> Iterator[None]:
    """Run the flow without Prefect's heartbeat thread, unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set.

    Heartbeats let an automation mark a deployment's run whose worker died as crashed (Prefect's zombie
    detection); they are on by default since Prefect 3.6.22. A run started here is watched in the
    terminal, and its temporary server dies with it, while the thread's join costs up to a second at the
    end of every run (it sleeps in one-second steps). Deployment runs (`prefect.yaml`) keep them.
    """
    if "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" in os.environ:
        yield
        return
    from prefect.context import SettingsContext, get_settings_context

    # What `temporary_settings` gives, without validating every setting again (25-80 ms on each run).
    context = get_settings_context()
    current = context.settings
    settings = current.model_copy(
        update={"flows": current.flows.model_copy(update={"heartbeat_frequency": None})}
    )
    with SettingsContext(profile=context.profile, settings=settings):
        yield


_PREFECT_LOG = logging.getLogger("prefect")  # the logger Prefect's own temporary-server notices use


def _prefect_notice(message: str, *args: object) -> None:
    """Log what Prefect says when it starts or stops its temporary server, as Prefect's own record (from its
    server module, so the terminal shows it with -v only, as before; run.log keeps it)."""
    if not _PREFECT_LOG.isEnabledFor(logging.INFO):
        return
    import prefect

    where = str(prefect.__module_path__ / "server" / "api" / "server.py")
    record = _PREFECT_LOG.makeRecord(_PREFECT_LOG.name, logging.INFO, where, 0, message, args, None)
    _PREFECT_LOG.handle(record)


class RunApi:
    """The Prefect API a `meetintel run` talks to: PREFECT_API_URL when one is configured, else a temporary
    server of the run's own.

    Prefect starts the same temporary server (uvicorn on a loopback port, UI off) at the flow's first API
    call, importing its server modules into this process (1.1 s and 75 MB at every run). Started here
    as its own process, as soon as the run's options are checked, it boots on the other core while this
    process imports the pipeline; the flow then finds PREFECT_API_URL set. It stops when the run ends.
    """

    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    _log: IO[bytes] | None = None
    _settings: dict[str, str] = {}  # noqa: RUF012 - the one run's settings, kept to start it again
    _started = 0.0

    @classmethod
    @contextmanager
    def started(cls) -> Iterator[None]:
        """Start the temporary server for the block when no Prefect API is configured; stop it after."""
        from prefect.settings import get_current_settings

        current = get_current_settings()
        if current.api.url or not current.server.ephemeral.enabled or cls.process is not None:
            yield
            return
        cls._launch(current.to_environment_variables(exclude_unset=True))
        try:
            yield
        finally:
            cls.stop()

    @classmethod
    def _launch(cls, settings: dict[str, str]) -> None:
        import socket

        import prefect

        with socket.socket() as sock:  # a free loopback port, as the kernel hands it out
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cls.url = f"http://127.0.0.1:{port}/api"
        cls._settings = settings
        cls._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop(), once the server is gone
        env = os.environ | settings | {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                                       "PREFECT__SERVER_FINAL": "1"}  # fmt: skip
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
                   "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "error", "--lifespan", "on"]  # fmt: skip
        cls._started = time.monotonic()
        cls.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=cls._log)
        os.environ["PREFECT_API_URL"] = cls.url
        _refresh_prefect_settings()

    @classmethod
    def wait(cls) -> None:
        """Wait until the temporary server answers /health (no-op without one)."""
        if cls.process is None:
            return
        import urllib.request  # here, not at the top: `meetintel status` never needs http or ssl

        from prefect.settings import get_current_settings

        _prefect_notice(
            "Starting temporary server on %s\nSee https://docs.prefect.io/v3/concepts/server#how-to-guides "
            "for more information on running a dedicated Prefect server.",
            cls.url.removesuffix("/api"),
        )
        limit = get_current_settings().server.ephemeral.startup_timeout_seconds
        tries = 3
        while time.monotonic() - cls._started < limit:
            if cls.process.poll() == 3 and tries > 1:  # uvicorn's exit code when the port was taken meanwhile
                tries -= 1
                cls.stop()
                cls._launch(cls._settings)
                continue
            if cls.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{cls.url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        said = b""
        if cls._log is not None:
            cls._log.seek(0)
            said = cls._log.read()[-2000:]
        code = cls.process.poll()
        what = f"exited with code {code} before it answered" if code is not None else "did not answer"
        raise RetriableError(
            f"Prefect's temporary API server at {cls.url} {what} within {limit:.0f} s"
            + (f": {said.decode(errors='replace').strip()}" if said.strip() else ""),
            "run again; if it keeps failing start a server (`prefect server start`) and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api",
        )

    @classmethod
    def stop(cls) -> None:
        """Send what Prefect still holds (log lines, events) to the temporary server, then stop it and
        forget its URL."""
        if cls.process is not None and cls.process.poll() is None:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=5)
            EventsWorker.drain_all(timeout=5)
            _prefect_notice("Stopping temporary server on %s", cls.url.removesuffix("/api"))
        process, cls.process = cls.process, None
        if os.environ.get("PREFECT_API_URL") == cls.url:
            del os.environ["PREFECT_API_URL"]
            _refresh_prefect_settings()
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if cls._log is not None:
            cls._log.close()
            cls._log = None


def _refresh_prefect_settings() -> None:
    """Make Prefect read its settings from the environment again (its global settings are read at import)."""
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()


def _run_against_sandbox(
    settings: Settings, workspace: Path, full_refresh: bool, export: ExportOptions, screen: RunScreen
) -> RunRecord:
    """Serve `workspace` on a free loopback port and run the flow live against it, then stop the server."""
    from flows.params import LiveEndpoints
    from sandbox import SandboxServer, ServerSettings

    # The sandbox runs Slack's rate windows 60x faster, and the client's buckets follow, so a demo org
    # collects in seconds while every call still goes through the real clients, limits and retries.
    scale = 60
    sandbox_settings = ServerSettings(time_scale=scale)
    with SandboxServer(workspace, sandbox_settings) as server:
        screen.say(f"Sandbox APIs for [bold]{safe(workspace)}[/] at {server.url}")
        os.environ["MEETINTEL_SLACK_TOKEN"] = sandbox_settings.slack_token
        os.environ["MEETINTEL_GOOGLE_TOKEN"] = sandbox_settings.google_token
        os.environ.setdefault("MEETINTEL_SLACK_TIER2_PER_MINUTE", str(20 * scale))
        os.environ.setdefault("MEETINTEL_SLACK_TIER3_PER_MINUTE", str(50 * scale))
        live = LiveEndpoints(
            enabled=True, slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url
        )
        return _run_flow(settings, full_refresh, live, export, screen)


def _print_run(record: RunRecord, settings: Settings) -> None:
    table = Table(title=safe(f"run {record.run_id} ({record.mode}): {record.status}"))
    for col in ("stage", "seconds", "rows in", "rows out", "note"):
        table.add_column(col, justify="right" if col in ("seconds", "rows in", "rows out") else "left")
    for s in record.stages:
        table.add_row(
            s.stage,
            f"{s.seconds:.2f}",
            str(s.rows_in),
            str(s.rows_out),
            safe(("skipped: " if s.skipped else "") + s.note),
        )
    console.print(table)
    console.print(
        f"Reports in [bold]{safe(settings.out)}/latest/[/]: meetings.json, people.json, CSV tables, "
        "meetintel.xlsx, meetintel.html"
    )
    console.print(f"State in [bold]{safe(settings.state)}[/]")


@app.command()
def watch(
    workspace: Annotated[
        Path, typer.Argument(help="The workspace folder to watch (holds slack/ and google/).")
    ],
    org: Annotated[
        str | None,
        typer.Option(
            envvar="MEETINTEL_ORG",
            help="The org the events are about: the deployments' MEETINTEL_ORG (default: the state's name).",
        ),
    ] = None,
    quiet_ms: Annotated[
        int, typer.Option(min=50, help="A batch of changes ends after this many milliseconds without one.")
    ] = 1000,
) -> None:
    """Emit `meetintel.workspace.changed` whenever export files appear, change or disappear (Ctrl-C stops).

    A burst of changes (an export being unpacked) is one event; the incremental deployment's trigger turns the
    events into runs. Needs PREFECT_API_URL: the events go to the server the deployments are on.
    """
    from flows.events import WORKSPACE_CHANGED, org_of
    from flows.settings import Settings
    from flows.watch import WorkspaceChange, run_watch

    try:
        _require_prefect_api("meetintel watch")
        name = org_of(org, Settings.from_cli().state)
        console.print(f"Watching [bold]{safe(workspace)}[/] for org [bold]{safe(name)}[/] (Ctrl-C stops)")

        def told(batch: WorkspaceChange) -> None:
            console.print(
                f"{WORKSPACE_CHANGED}: {len(batch.added)} added, {len(batch.modified)} changed, "
                f"{len(batch.deleted)} removed"
            )

        run_watch(workspace, name, quiet_ms, told=told)
    except MeetintelError as exc:
        raise _fail(exc) from None


def _require_prefect_api(command: str) -> None:
    """Refuse to emit events without PREFECT_API_URL: a temporary server would take them and vanish."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise ConfigurationError(
            f"{command} needs a Prefect server to send its events to, and PREFECT_API_URL is not set",
            "start the server (`make ui`) and export PREFECT_API_URL=http://127.0.0.1:4200/api",
        )


@app.command()
def status(
    state: StateOpt = None,
    limit: Annotated[int, typer.Option(help="How many runs to show.")] = 10,
    output: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Show the latest runs from the runs ledger.

    While a run holds the state file, the runs and counts come from the snapshot the run publishes beside
    it (at each stage's end), and the output says when that snapshot was taken.
    """
    from checkpoints.ledger import read_ledger  # read-only, without the store or Arrow
    from core.tables import MEETING_RECORDS
    from flows.settings import Settings

    snapshot_at: datetime | None = None
    try:
        settings = Settings.from_cli(state=state)
        if not settings.state.exists():
            err.print(f"no state file at {safe(settings.state)}; run `meetintel run` first")
            raise typer.Exit(EXIT_FAILED)
        tables = ("slack_messages", "calendar_events", MEETING_RECORDS)
        try:
            runs, counts = read_ledger(settings.state, limit, tables)
        except RetriableError:  # a run holds the file
            from flows.monitor import read_snapshot

            snap = read_snapshot(settings.state)
            if snap is None:
                raise
            runs, snapshot_at = snap.runs[:limit], snap.written_at
            counts = {t: snap.counts.get(t, 0) for t in tables}
    except MeetintelError as exc:
        raise _fail(exc) from exc
    if output == "json":
        runs_json = [r.model_dump(mode="json") for r in runs]
        shown = {"state": str(settings.state), "runs": runs_json, "counts": counts}
        if snapshot_at is not None:
            shown["snapshot_at"] = snapshot_at.isoformat()
        print(json.dumps(shown, indent=1))
        return
    if snapshot_at is not None:
        console.print(
            f"A run holds {safe(settings.state)}: these figures are from the snapshot it published at "
            f"{snapshot_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC."
        )
    table = Table(title=f"runs in {safe(settings.state)}")
    for col in ("run", "mode", "status", "started", "seconds", "rows read", "errors"):
        table.add_column(col)
    for r in runs:
        secs = f"{(r.ended_at - r.started_at).total_seconds():.1f}" if r.ended_at and r.started_at else "-"
        table.add_row(
            safe(r.run_id),
            safe(r.mode),
            safe(r.status),
            f"{r.started_at:%Y-%m-%d %H:%M:%S}" if r.started_at else "-",
            secs,
            str(sum(r.rows_read.values())),
            safe("; ".join(r.errors)),
        )
    console.print(table)
    console.print(", ".join(f"{k}: {v}" for k, v in counts.items()))


SinceOpt = Annotated[
    str | None, typer.Option(help="Meetings starting at or after (YYYY-MM-DD or ISO time, UTC).")
]
UntilOpt = Annotated[str | None, typer.Option(help="Meetings starting before (YYYY-MM-DD or ISO time, UTC).")]
PersonOpt = Annotated[str | None, typer.Option(help="A participant's email or name contains this.")]
TeamOpt = Annotated[str | None, typer.Option(help="A participant's department (exact, any case).")]
ChannelOpt = Annotated[str | None, typer.Option(help="Discussed in this Slack channel (id or name).")]
OriginOpt = Annotated[str | None, typer.Option(help="calendar, slack or calendar+slack.")]
StatusOpt = Annotated[str | None, typer.Option(help="held or cancelled.")]
TextOpt = Annotated[str | None, typer.Option(help="Title, organiser, document or evidence contains this.")]
ScoreOpt = Annotated[float | None, typer.Option(help="Minimum correlation score (0-1).")]


def _filter(**given: object) -> MeetingFilter:
    """Give a meeting filter from CLI options, or say which option is wrong."""
    from pydantic import ValidationError

    from aggregation import MeetingFilter

    try:
        return MeetingFilter.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "a filter"
        raise ConfigurationError(f"{option}: {first['msg']}", "see `meetintel query --help`") from exc


def _open_reports(state: Path | None) -> StateStore:
    from checkpoints import StateStore
    from core.tables import REPORT_MEETINGS
    from flows.settings import Settings

    settings = Settings.from_cli(state=state)
    if not settings.state.exists():
        raise ConfigurationError(f"no state file at {settings.state}", "run `meetintel run` first")
    store = StateStore(settings.state)
    if not store.has_table(REPORT_MEETINGS):
        store.close()
        raise ConfigurationError(f"{settings.state} holds no reports yet", "run `meetintel run` first")
    return store


QUERY_COLUMNS = ("start", "title", "status", "origin", "attended", "person_hours", "score", "meeting_id")


@app.command()
def query(
    state: StateOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    person: PersonOpt = None,
    team: TeamOpt = None,
    channel: ChannelOpt = None,
    origin: OriginOpt = None,
    status: StatusOpt = None,
    text: TextOpt = None,
    min_score: ScoreOpt = None,
    output: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    limit: Annotated[int, typer.Option(help="At most this many meetings (0: all).")] = 50,
) -> None:
    """Find meetings by date, person, team, channel, origin, status, text or score."""
    from aggregation import filter_meetings

    if output not in ("table", "json", "csv"):
        raise _fail(ConfigurationError(f"--format {output!r} is not known", "use table, json or csv"))
    try:
        f = _filter(
            since=since,
            until=until,
            person=person,
            team=team,
            channel=channel,
            origin=origin,
            status=status,
            text=text,
            min_score=min_score,
        )
        with _open_reports(state) as store:
            found = filter_meetings(store.con, f)
    except MeetintelError as exc:
        raise _fail(exc) from exc
    shown = found.slice(0, limit) if limit else found
    if output == "json":
        print(json.dumps(shown.to_pylist(), default=str, indent=1))
    elif output == "csv":
        _print_csv(shown)
    else:
        _print_meetings(shown, found.num_rows)


def _print_csv(table: pa.Table) -> None:
    from exports import FORMULA_LEADS

    writer = csv.writer(sys.stdout)
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow([_cell(v, FORMULA_LEADS) for v in row.values()])


def _cell(value: object, formula_leads: tuple[str, ...]) -> object:
    """Give a CSV cell: ISO-8601 UTC times, and text a spreadsheet would run as a formula neutralised."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not isinstance(value, str):
        return value
    value = plain(value)  # stdout may be a terminal: no escape sequences from the data
    return "'" + value if value.startswith(formula_leads) else value


def _shown(value: object) -> str:
    """Give a table cell: times in UTC, two decimals, text without control characters or markup."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return f"{value:.2f}" if isinstance(value, float) else safe(value)


def _print_meetings(table: pa.Table, total: int) -> None:
    title = f"{total} meetings" + (f" (first {table.num_rows})" if table.num_rows < total else "")
    view = Table(title=title + ", times in UTC")
    cols = [c for c in QUERY_COLUMNS if c in table.column_names]
    for col in cols:
        view.add_column(col, overflow="fold")
    for row in table.select(cols).to_pylist():
        view.add_row(*[_shown(row[c]) for c in cols])
    console.print(view)


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the filtered reports into.")],
    state: StateOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    person: PersonOpt = None,
    team: TeamOpt = None,
    channel: ChannelOpt = None,
    origin: OriginOpt = None,
    status: StatusOpt = None,
    text: TextOpt = None,
    min_score: ScoreOpt = None,
    tz: Annotated[str, typer.Option(help="Time zone of dates in Excel and HTML.")] = "UTC",
    pseudonymise: PseudonymiseOpt = False,
    salt_env: SaltEnvOpt = "MEETINTEL_PSEUDONYM_SALT",
    redact_text: RedactOpt = False,
) -> None:
    """Write JSON, CSV, Excel and HTML reports for the meetings matching the filters."""
    from aggregation import scoped_reports
    from core.tables import REPORT_MEETINGS
    from flows.params import ExportOptions
    from flows.stages import write_all

    try:
        f = _filter(
            since=since,
            until=until,
            person=person,
            team=team,
            channel=channel,
            origin=origin,
            status=status,
            text=text,
            min_score=min_score,
        )
        options = ExportOptions(tz=tz, pseudonymise=pseudonymise, salt_env=salt_env, redact_text=redact_text)
        options.privacy_tag()  # fail before writing anything when the salt is missing
        out.mkdir(parents=True, exist_ok=True)
        with _open_reports(state) as store, scoped_reports(store.con, f):
            paths = write_all(store, out, options)
            count = store.count(REPORT_MEETINGS)
    except MeetintelError as exc:
        raise _fail(exc) from exc
    console.print(
        f"{count} meetings written to [bold]{safe(out)}[/]: " + safe(", ".join(p.name for p in paths))
    )


@archive_app.command("list")
def archive_list(out: OutOpt = None) -> None:
    """List the report runs kept under OUT/runs/."""
    from exports import list_runs
    from flows.settings import Settings

    settings = Settings.from_cli(out=out)
    runs = list_runs(settings.out)
    table = Table(title=f"report runs in {safe(settings.out)}")
    for col in ("run", "started", "size", "compressed", "published"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            safe(r.run_id),
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            f"{r.size_bytes / 1e6:.1f} MB",
            "yes" if r.compressed else "",
            "latest" if r.published else "",
        )
    console.print(table)


@archive_app.command("prune")
def archive_prune(
    out: OutOpt = None,
    keep_runs: Annotated[int | None, typer.Option(min=1, help="Keep the newest N runs.")] = None,
    keep_days: Annotated[int | None, typer.Option(min=1, help="Keep runs younger than D days.")] = None,
) -> None:
    """Compress older runs and delete those outside the retention policy (the published run stays)."""
    from exports import apply_retention, compress_runs
    from flows.settings import Settings

    settings = Settings.from_cli(out=out, keep_runs=keep_runs, keep_days=keep_days)
    try:
        compress_runs(settings.out)
        removed = apply_retention(settings.out, settings.keep_runs, settings.keep_days, datetime.now(UTC))
    except MeetintelError as exc:
        raise _fail(exc) from exc
    console.print(safe(f"removed {len(removed)} runs" + (": " + ", ".join(removed) if removed else "")))


@quarantine_app.command("list")
def quarantine_list(
    state: StateOpt = None, limit: Annotated[int, typer.Option(min=1, help="How many records to show.")] = 50
) -> None:
    """List quarantined records (newest first) and their counts by rule, with what each rule means."""
    from checkpoints import StateStore
    from core.chunks import QUARANTINE_RULES
    from flows.settings import Settings

    try:
        settings = Settings.from_cli(state=state)
        if not settings.state.exists():
            raise ConfigurationError(f"no state file at {settings.state}", "run `meetintel run` first")
        with StateStore(settings.state) as store:
            counts, rows = store.quarantine_counts(), store.quarantine(limit)
    except MeetintelError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"quarantined records in {settings.state}")
    for col in ("run", "source", "file", "record", "rule", "raw value"):
        table.add_column(col)
    for r in rows.to_pylist():
        cells = (r["run_id"], r["source"], r["file"], r["record_key"], r["rule"], r["raw_value"][:80])
        table.add_row(*(_shown(c) for c in cells))
    console.print(table)
    for rule, n in counts.items():
        console.print(f"{rule}: {n} — {QUARANTINE_RULES.get(rule, '')}")
    if not counts:
        console.print("nothing quarantined")


@app.command()
def evaluate(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="A generated workspace snapshot.")],
    truth: Annotated[Path, typer.Option(help="Its truth.json (written by `meetintel sandbox generate`).")],
    state: Annotated[
        Path | None, typer.Option(help="Keep the evaluation's state file here (default: a temporary one).")
    ] = None,
    misses: Annotated[
        int, typer.Option(min=0, help="List up to N misses per figure after the figures (0: none).")
    ] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures and every miss as one JSON object.")
    ] = False,
) -> None:
    """Run the pipeline on a generated workspace and score it against its ground truth.

    Prints detection precision/recall/F1, correlation accuracy, calendar-meeting precision/recall with
    duplicates, held violations and people-mapping accuracy, each against its target; then each miss: the
    message, event or Slack user, what the truth says, what the pipeline said and the reason it gave. Exit
    0 when every target holds, 3 when one is missed.
    """
    from flows.evaluate import format_evaluation, format_misses, run_evaluation

    try:
        with tempfile.TemporaryDirectory() as tmp, console.status("Running the pipeline and scoring it…"):
            result = run_evaluation(workspace, truth, state or Path(tmp) / "evaluation.duckdb")
    except MeetintelError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(plain(result.model_dump_json(indent=1)))
    else:
        console.print(format_evaluation(result))
        for line in format_misses(result, misses):
            print(plain(line))  # plain text: message texts may hold characters rich reads as markup
    raise typer.Exit(EXIT_OK if all(result.targets().values()) else EXIT_PARTIAL)


@app.command()
def doctor(
    state: StateOpt = None,
    out: OutOpt = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Move damaged files aside (never delete), drop cursors of untrusted data so the next run "
            "re-collects it, and mark derived data for rebuilding.",
        ),
    ] = False,
) -> None:
    """Check the state's and the reports' health. Exit 0 healthy, 1 problems found, 2 repaired."""
    from flows.doctor import diagnose, format_health, repair
    from flows.settings import Settings

    try:
        settings = Settings.from_cli(state=state, out=out)
        health = repair(settings.state, settings.out) if fix else diagnose(settings.state, settings.out)
    except MeetintelError as exc:
        raise _fail(exc) from exc
    print(plain(format_health(health)))  # plain text: paths may hold characters rich reads as markup
    raise typer.Exit(health.exit_code)


@sandbox_app.command("generate")
def sandbox_generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the workspace snapshot and truth.json into.")],
    people: Annotated[int, typer.Option(min=10, help="Number of people in the org.")] = 40,
    days: Annotated[int, typer.Option(min=1, help="Number of days of activity.")] = 14,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")] = "2026-09-07",
    profile: Annotated[
        str, typer.Option(help="standard, or hard: more noise, near misses, identity quirks and overlaps.")
    ] = "standard",
    phrasing: Annotated[
        str | None,
        typer.Option(help="a or b: write every message from that half of the phrase banks (default: both)."),
    ] = None,
) -> None:
    """Generate a synthetic org as a workspace snapshot (Slack export, Calendar, Drive, Directory)."""
    from sandbox import generate_workspace

    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] --start {start!r} is not a date; use YYYY-MM-DD")
        raise typer.Exit(EXIT_FAILED) from exc
    with console.status(f"Generating {people} people × {days} days…"):
        try:
            summary = generate_workspace(
                out, people=people, days=days, seed=seed, start=first, profile=profile, phrasing=phrasing
            )
        except MeetintelError as exc:
            raise _fail(exc) from exc
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
    """The `meetintel` command: run the app, then end the process without tearing the interpreter down.

    After a command, Python's own shutdown frees every object of Prefect, pydantic and DuckDB one by one:
    0.3-0.4 s after `meetintel run`, about 0.06 s after `status`, for nothing anyone sees. What must happen
    at exit still does, in Python's order (`exit_now`). An exception the app did not handle ends the
    process the usual way, traceback and all.
    """
    try:
        app()
    except SystemExit as exc:
        exit_now(exc.code)
    exit_now(0)


def exit_now(code: str | int | None) -> NoReturn:
    """End the process with `code` as `sys.exit(code)` would, skipping only the interpreter's teardown:
    other threads that are not daemons are waited for, the atexit handlers run (logging, Prefect's
    workers, temporary folders), stdout and stderr are flushed. Under a profiler or tracer it is
    `sys.exit(code)`."""
    import atexit
    import threading

    if sys.gettrace() is not None or sys.getprofile() is not None:
        # A profiler or tracer (pyinstrument, cProfile, coverage) writes its report as Python shuts down.
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr, the status is 1
        print(code, file=sys.stderr)
        status = 1
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # runs and clears them, as the interpreter does at exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            status = status or 1
    os._exit(status)


if __name__ == "__main__":
    main()
