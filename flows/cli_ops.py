"""Operations commands of `meetintel`: serve, token, breaker, config, health and errors.

Each command imports what it needs when it runs (the settings, and FastAPI, uvicorn and the service only for
`serve`), so building the command table stays light and the other commands start fast.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from core.errors import ConfigurationError, MeetintelError
from flows._terminal import safe

if TYPE_CHECKING:
    from fastapi import FastAPI

    from flows.settings import Settings
    from service.config import ServiceConfig

console = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_YELLOW = 0, 1, 3
HEALTH_EXIT = {"green": EXIT_OK, "yellow": EXIT_YELLOW, "red": EXIT_FAILED}

token_app = typer.Typer(help="Bearer tokens of the monitoring API (hashes in MEETINTEL_API_TOKENS_FILE).")
breaker_app = typer.Typer(
    help="Circuit breakers per source: status, and the manual override the next run honours."
)
config_app = typer.Typer(help="The effective settings and where each comes from (meetintel.toml profiles).")

StateOpt = Annotated[
    Path | None, typer.Option("--state", "-s", help="State DuckDB file. Env: MEETINTEL_STATE.")
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Folder of the reports. Env: MEETINTEL_OUT.")
]
FormatOpt = Annotated[Literal["table", "json"], typer.Option("--format", "-f", help="table or json.")]
TokensOpt = Annotated[
    Path | None, typer.Option("--file", help="The tokens file. Env: MEETINTEL_API_TOKENS_FILE.")
]


def _fail(exc: MeetintelError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {safe(exc.message)}")
    if exc.hint:
        err.print(f"[yellow]what to do:[/] {safe(exc.hint)}")
    return typer.Exit(EXIT_FAILED)


def _settings(**options: object) -> Settings:
    """Give the settings (imported here: the command table loads without them)."""
    from flows.settings import Settings

    return Settings.from_cli(**options)


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=1, default=str))


def register(app: typer.Typer) -> None:
    """Add the operations commands to the `meetintel` app."""
    app.command("serve")(serve)
    app.command("health")(health_cmd)
    app.command("errors")(errors_cmd)
    app.add_typer(token_app, name="token")
    app.add_typer(breaker_app, name="breaker")
    app.add_typer(config_app, name="config")


def choose_profile(profile: str | None, config: Path | None) -> None:
    """Use profile `profile` of `config` (or meetintel.toml) for every setting this command reads."""
    from flows import profiles

    profiles.use(profile, config)


# ---- serve ---------------------------------------------------------------------------------------


def serve(
    state: StateOpt = None,
    out: OutOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to bind. Env: MEETINTEL_SERVE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (0: a free one). Env: MEETINTEL_SERVE_PORT.")] = None,
) -> None:
    """Serve the monitoring API, /health, /metrics and the status page (on loopback unless --host)."""
    import uvicorn

    try:
        settings = _settings(state=state, out=out, serve_host=host, serve_port=port)
        app = build_app(settings)
    except MeetintelError as exc:
        raise _fail(exc) from None
    if settings.api_tokens_file is None:
        err.print("no MEETINTEL_API_TOKENS_FILE: every /api route and /metrics will answer 401")
    console.print(
        f"Serving [bold]{safe(settings.state)}[/] on http://{settings.serve_host}:{settings.serve_port} "
        "(/health, /metrics, /api/..., /docs); Ctrl-C stops",
        highlight=False,
    )
    uvicorn.run(app, host=settings.serve_host, port=settings.serve_port, log_level="warning")


def service_config(settings: Settings) -> ServiceConfig:
    """Give the service's configuration from the settings (a `service.config.ServiceConfig`)."""
    from service.config import ServiceConfig

    return ServiceConfig(
        state=settings.state,
        out=settings.out,
        tokens_file=settings.api_tokens_file,
        slack_signing_secret=settings.slack_signing_secret,
        policy=settings.policy(),
        refresh_seconds=settings.serve_refresh_seconds,
        pseudonym_salt=settings.pseudonym_salt,
        prefect_api_url=os.environ.get("PREFECT_API_URL") or None,
        deployment=settings.deployment_incremental,
        full_refresh_deployment=settings.deployment_full_refresh,
        alert_webhook_url=settings.alert_webhook_url,
        alert_block=settings.alert_block,
    )


def build_app(settings: Settings) -> FastAPI:
    """Give the FastAPI app `meetintel serve` runs."""
    from service.app import create_app

    return create_app(service_config(settings))


# ---- tokens --------------------------------------------------------------------------------------


def _tokens_file(file: Path | None) -> Path:
    path = file or _settings().api_tokens_file
    if path is None:
        raise ConfigurationError(
            "no tokens file is set",
            "set MEETINTEL_API_TOKENS_FILE (or pass --file) to where the hashes are kept",
        )
    return path


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who or what uses the token (e.g. grafana, alice).")],
    role: Annotated[Literal["admin", "analyst"], typer.Option(help="admin or analyst.")] = "analyst",
    names: Annotated[
        bool, typer.Option("--names", help="An analyst token that may see people's names.")
    ] = False,
    file: TokensOpt = None,
) -> None:
    """Make a token and print it once; only its SHA-256 hash is kept."""
    from service.tokens import create_token

    try:
        token, entry = create_token(_tokens_file(file), name, role, names)
    except MeetintelError as exc:
        raise _fail(exc) from None
    print(token)
    err.print(f"token {entry.id} ({entry.role}) for {entry.name}: keep it now, it is not shown again")


@token_app.command("list")
def token_list(file: TokensOpt = None, output: FormatOpt = "table") -> None:
    """List the tokens (ids, names, roles; never the tokens)."""
    from service.tokens import load_tokens

    try:
        tokens = load_tokens(_tokens_file(file)).tokens
    except MeetintelError as exc:
        raise _fail(exc) from None
    rows = [
        {"id": t.id, "name": t.name, "role": t.role, "names": t.names, "created_at": t.created_at}
        for t in tokens
    ]
    if output == "json":
        _print_json(rows)
        return
    table = Table(title="API tokens")
    for col in ("id", "name", "role", "names", "created"):
        table.add_column(col)
    for t in tokens:
        table.add_row(t.id, safe(t.name), t.role, "yes" if t.names else "", f"{t.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    key: Annotated[str, typer.Argument(help="The token's id or name.")], file: TokensOpt = None
) -> None:
    """Remove a token: it is refused from the next request on."""
    from service.tokens import revoke_token

    try:
        entry = revoke_token(_tokens_file(file), key)
    except MeetintelError as exc:
        raise _fail(exc) from None
    console.print(f"revoked token {entry.id} ({entry.name})", highlight=False)


# ---- breakers ------------------------------------------------------------------------------------


def _breaker_rows(state: Path) -> list[dict[str, object]]:
    from flows.monitor import SOURCE_NAMES, current_snapshot, read_overrides

    snap = current_snapshot(state)
    overrides = read_overrides(state)
    rows = []
    for name in SOURCE_NAMES:
        b = snap.breakers.get(name) if snap else None
        mode = overrides.mode(name)
        o = overrides.sources.get(name)
        rows.append(
            {
                "source": name,
                "state": b.state if b else "closed",
                "fail_counter": b.fail_counter if b else 0,
                "opened_at": b.opened_at if b else None,
                "override": mode,
                "override_set_at": o.set_at if o else None,
            }
        )
    return rows


@breaker_app.command("status")
def breaker_status(state: StateOpt = None, output: FormatOpt = "table") -> None:
    """Show each source's breaker as the last run left it, and the override the next run applies."""
    try:
        rows = _breaker_rows(_settings(state=state).state)
    except MeetintelError as exc:
        raise _fail(exc) from None
    if output == "json":
        _print_json(rows)
        return
    table = Table(title="circuit breakers")
    for col in ("source", "state", "failures", "opened", "override"):
        table.add_column(col)
    for r in rows:
        opened = r["opened_at"]
        table.add_row(
            str(r["source"]),
            str(r["state"]),
            str(r["fail_counter"]),
            f"{opened:%Y-%m-%d %H:%M}" if isinstance(opened, datetime) else "",
            str(r["override"]),
        )
    console.print(table)


def _set(source: str, mode: str, state: Path | None) -> None:
    from flows.monitor import set_override

    try:
        path = _settings(state=state).state
        set_override(path, source, mode, f"cli {os.environ.get('USER', 'unknown')}")
    except MeetintelError as exc:
        raise _fail(exc) from None
    what = {
        "force-open": "the next runs skip it",
        "force-closed": "the next runs collect it whatever its breaker says",
        "auto": "its breaker decides again",
    }[mode]
    console.print(f"{source}: breaker {mode}; {what}", highlight=False)


SourceArg = Annotated[str, typer.Argument(help="slack, calendar, drive or directory.")]


@breaker_app.command("open")
def breaker_open(source: SourceArg, state: StateOpt = None) -> None:
    """Force a source's breaker open: the next runs skip the source (and say so) until `auto`."""
    _set(source, "force-open", state)


@breaker_app.command("close")
def breaker_close(source: SourceArg, state: StateOpt = None) -> None:
    """Force a source's breaker closed: the next runs collect it even after failures, until `auto`."""
    _set(source, "force-closed", state)


@breaker_app.command("auto")
def breaker_auto(source: SourceArg, state: StateOpt = None) -> None:
    """Lift the override: the source's breaker opens and closes by itself again."""
    _set(source, "auto", state)


# ---- config --------------------------------------------------------------------------------------


@config_app.command("show")
def config_show(
    profile: Annotated[str | None, typer.Option(help="Show this profile of meetintel.toml.")] = None,
    output: FormatOpt = "table",
) -> None:
    """Print the effective settings, each with where it came from; secrets are masked."""
    from pydantic import SecretStr

    from flows import profiles

    try:
        if profile is not None:
            profiles.use(profile, profiles.current().file)
        settings = _settings()
        known = set(type(settings).model_fields)
        rows = []
        for key in type(settings).model_fields:
            value = getattr(settings, key)
            shown = "**********" if isinstance(value, SecretStr) else value
            rows.append({"setting": key, "value": shown, "source": profiles.origin_of(key, {}, known)})
    except MeetintelError as exc:
        raise _fail(exc) from None
    if output == "json":
        _print_json(rows)
        return
    table = Table(title=f"effective settings (profile: {profiles.profile_name() or 'none'})")
    for col in ("setting", "value", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r["setting"]), "" if r["value"] is None else safe(r["value"]), safe(r["source"]))
    console.print(table)


# ---- health and errors ---------------------------------------------------------------------------


def health_cmd(state: StateOpt = None, out: OutOpt = None, output: FormatOpt = "table") -> None:
    """Check health as the service does: state, sources, last run, Prefect, disk, memory.

    Exit 0 green, 3 yellow, 1 red: for cron and scripts.
    """
    from flows.monitor import current_snapshot, read_overrides
    from flows.ops import health, machine_readings

    try:
        settings = _settings(state=state, out=out)
        snap = current_snapshot(settings.state) if settings.state.exists() else None
        readings = machine_readings(settings.out, settings.state, os.environ.get("PREFECT_API_URL") or None)
        if not settings.state.exists():
            readings.state_note = ("red", f"no state file at {settings.state}: run `meetintel run` first")
        result = health(snap, read_overrides(settings.state), readings, settings.policy(), datetime.now(UTC))
    except MeetintelError as exc:
        raise _fail(exc) from None
    if output == "json":
        print(result.model_dump_json(indent=1))
    else:
        table = Table(title=f"health: {result.status}")
        for col in ("component", "status", "reason"):
            table.add_column(col)
        for c in result.components:
            table.add_row(safe(c.name), c.status, safe(c.reason))
        console.print(table)
    raise typer.Exit(HEALTH_EXIT[result.status])


def errors_cmd(state: StateOpt = None, output: FormatOpt = "table") -> None:
    """Errors of the recent runs grouped by class and source, with when they were seen and what to do."""
    from flows.monitor import current_snapshot
    from flows.ops import error_groups

    try:
        settings = _settings(state=state)
        if not settings.state.exists():
            raise ConfigurationError(f"no state file at {settings.state}", "run `meetintel run` first")
        groups = error_groups(current_snapshot(settings.state))
    except MeetintelError as exc:
        raise _fail(exc) from None
    if output == "json":
        _print_json([json.loads(g.model_dump_json()) for g in groups])
        return
    table = Table(title=f"errors in {safe(settings.state)}")
    for col in ("class", "source", "count", "last seen", "message", "what to do"):
        table.add_column(col, overflow="fold")
    for g in groups:
        seen = f"{g.last_seen:%Y-%m-%d %H:%M}" if g.last_seen else ""
        table.add_row(g.error_class, safe(g.source), str(g.count), seen, safe(g.message), safe(g.hint))
    console.print(table)
    if not groups:
        console.print("no errors in the recent runs")
