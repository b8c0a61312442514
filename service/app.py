"""The HTTP app of `meetintel serve`: health, Prometheus metrics, the monitoring REST API and a status page.

`create_app(config)` gives one FastAPI app. Every route answers from the current `service.data.View` (rebuilt
in the background), so answers are quick and never touch a file a run is writing. Auth: bearer tokens from
the tokens file (`service.tokens`), roles `admin` and `analyst`; `/health`, `/` and `/slack/events` (which
checks Slack's own signature) need none.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError

import service.slack_events
from aggregation import MeetingFilter
from checkpoints import RunRecord
from core.errors import ConfigurationError, MeetintelError
from flows.monitor import OverrideMode, set_override
from flows.ops import Alert, ErrorGroup, Health, StageTrend, error_groups, trends
from service.alerts import AlertSender
from service.config import ServiceConfig
from service.data import ServiceData, View
from service.metrics import metrics_registry, render_metrics
from service.page import render_status_page
from service.tokens import TokenEntry, load_tokens, match_token

log = logging.getLogger("meetintel.service")

VERSION = "1.0"


# ---- response models -----------------------------------------------------------------------------


class RunsPage(BaseModel):
    total: int  # runs in the snapshot (the newest 50 of the ledger)
    items: list[RunRecord]


class Page(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[dict[str, Any]]
    reports_run: str | None = Field(description="the published run the rows come from")


class Breaker(BaseModel):
    source: str
    state: str  # as the last run left it: closed | open | half-open
    fail_counter: int
    opened_at: datetime | None
    override: OverrideMode
    override_set_at: datetime | None
    effective: str  # what the next run does: closed | open | half-open (after the override)


class BreakerChange(BaseModel):
    mode: OverrideMode


class RunRequest(BaseModel):
    full_refresh: bool = False


class RunStarted(BaseModel):
    flow_run_id: str
    deployment: str
    state: str


class Problem(BaseModel):
    detail: str
    hint: str = ""


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no token, or an unknown one"},
    403: {"model": Problem, "description": "the token's role may not use this route"},
}


# ---- auth ----------------------------------------------------------------------------------------


class Tokens:
    """The tokens file, read again whenever it changes (so `meetintel token revoke` takes effect at once)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.path = config.tokens_file
        self._stamp: tuple[float, int] | None = None
        self._tokens = load_tokens(self.path) if self.path else None

    def match(self, presented: str) -> TokenEntry | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
            stamp = (st.st_mtime, st.st_size)
        except OSError:
            return None
        if stamp != self._stamp or self._tokens is None:
            try:
                self._tokens, self._stamp = load_tokens(self.path), stamp
            except ConfigurationError as exc:  # the server's fault, not the request's: a 503, not a 400
                raise MeetintelError(exc.message, exc.hint) from exc
        return match_token(self._tokens, presented)


bearer = HTTPBearer(auto_error=False, description="a token made by `meetintel token create`")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def require(role: Literal["admin", "analyst"]) -> Callable[..., TokenEntry]:
    """Give a dependency that lets through a valid token of `role` (admins may use analyst routes)."""

    def check(
        request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
    ) -> TokenEntry:
        if creds is None or creds.scheme.lower() != "bearer":
            raise _unauthorized("a bearer token is required: `meetintel token create` makes one")
        entry = request.app.state.tokens.match(creds.credentials)
        if entry is None:
            raise _unauthorized("the token is not known (revoked, or from another tokens file)")
        if role == "admin" and entry.role != "admin":
            raise HTTPException(
                status_code=403, detail=f"this route needs an admin token; {entry.name!r} is an analyst"
            )
        return entry

    return check


Analyst = Annotated[TokenEntry, Depends(require("analyst"))]
Admin = Annotated[TokenEntry, Depends(require("admin"))]


# ---- body size limit -----------------------------------------------------------------------------


class BodyLimit:
    """ASGI middleware answering 413 to a request body larger than `limit` bytes (declared or streamed)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Any) -> None:
        body = (
            b'{"detail":"request body too large","hint":"send at most '
            + str(self.limit).encode()
            + b' bytes"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """A streamed body passed the limit."""


# ---- the app -------------------------------------------------------------------------------------


def create_app(config: ServiceConfig, *, background: bool = True) -> FastAPI:
    """Give the service's FastAPI app over `config` (with `background`, a thread keeps its figures fresh)."""
    sender = AlertSender(config.alert_webhook_url, config.alert_block)
    data = ServiceData(config, notify=sender.send)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background:
            data.start()
        try:
            yield
        finally:
            data.stop()

    app = FastAPI(
        title="meetintel monitoring API",
        version=VERSION,
        description="Health, metrics, runs, meetings, people, errors, trends, breakers and alerts of one "
        "meetintel state. Bearer tokens (`meetintel token create`) with role admin or analyst.",
        lifespan=lifespan,
    )
    app.state.data = data
    app.state.tokens = Tokens(config)
    app.state.slack_signing_secret = (
        config.slack_signing_secret.get_secret_value() if config.slack_signing_secret else None
    )
    app.state.registry = metrics_registry(data)
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["GET"])
    app.include_router(service.slack_events.router)
    _routes(app, data, config)

    @app.exception_handler(MeetintelError)
    async def _meetintel_error(_request: Request, exc: MeetintelError) -> JSONResponse:
        status = 400 if isinstance(exc, ConfigurationError) else 503
        return JSONResponse({"detail": exc.message, "hint": exc.hint}, status_code=status)

    return app


def _routes(app: FastAPI, data: ServiceData, config: ServiceConfig) -> None:
    @app.get("/health", response_model=Health, tags=["monitoring"])
    def get_health() -> Health:
        """Green, yellow or red overall and per component: state, sources, last run, Prefect, disk, memory."""
        return data.view().health

    @app.get(
        "/metrics",
        tags=["monitoring"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **ERRORS},
    )
    def get_metrics(_token: Analyst) -> Response:
        """Prometheus text exposition of the run, source, breaker, quarantine and resource figures."""
        body, content_type = render_metrics(app.state.registry)
        return Response(content=body, media_type=content_type)

    @app.get("/api/runs", response_model=RunsPage, tags=["runs"], responses=ERRORS)
    def list_runs(
        _token: Analyst,
        limit: Annotated[int, Query(ge=1, le=50)] = 20,
        status: Annotated[Literal["running", "completed", "partial", "failed"] | None, Query()] = None,
    ) -> RunsPage:
        """The newest runs of the ledger, newest first."""
        snap = data.view().snapshot
        runs = [r for r in (snap.runs if snap else []) if status is None or r.status == status]
        return RunsPage(total=len(runs), items=runs[:limit])

    @app.get(
        "/api/runs/{run_id}",
        response_model=RunRecord,
        tags=["runs"],
        responses={**ERRORS, 404: {"model": Problem, "description": "no such run in the snapshot"}},
    )
    def get_run(run_id: str, _token: Analyst) -> RunRecord:
        """One run of the ledger: stages, rows, sources, errors and resource peaks."""
        snap = data.view().snapshot
        for r in snap.runs if snap else []:
            if r.run_id == run_id:
                return r
        raise HTTPException(status_code=404, detail=f"no run {run_id!r} among the newest runs of the ledger")

    @app.post(
        "/api/runs",
        response_model=RunStarted,
        status_code=202,
        tags=["runs"],
        responses={**ERRORS, 503: {"model": Problem, "description": "no Prefect API to start the run on"}},
    )
    def start_run(body: RunRequest, token: Admin) -> RunStarted:
        """Start an incremental or full-refresh run through its Prefect deployment (admin)."""
        return _start_run(config, body.full_refresh, token)

    @app.get(
        "/api/meetings",
        response_model=Page,
        tags=["reports"],
        responses={**ERRORS, 422: {"model": Problem, "description": "a filter is not valid"}},
    )
    def list_meetings(
        token: Analyst,
        since: datetime | None = None,
        until: datetime | None = None,
        person: str | None = None,
        team: str | None = None,
        channel: str | None = None,
        origin: Literal["calendar", "slack", "calendar+slack"] | None = None,
        status: Literal["held", "cancelled"] | None = None,
        text: str | None = None,
        min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Page:
        """Meetings of the published reports matching the filters of `meetintel query`, one page."""
        try:
            f = MeetingFilter(
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
        except ValidationError as exc:
            raise HTTPException(status_code=422, detail=exc.errors()[0]["msg"]) from None
        view = data.view()
        total, rows = data.reports.meetings(f, offset, limit, names=token.names)
        return Page(total=total, offset=offset, limit=limit, items=rows, reports_run=view.reports_run)

    @app.get("/api/people", response_model=Page, tags=["reports"], responses=ERRORS)
    def list_people(
        token: Analyst,
        q: Annotated[str | None, Query(max_length=200)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Page:
        """People of the published reports (pseudonymised for analyst tokens without names)."""
        view = data.view()
        total, rows = data.reports.people(q, offset, limit, names=token.names)
        return Page(total=total, offset=offset, limit=limit, items=rows, reports_run=view.reports_run)

    @app.get("/api/errors", response_model=list[ErrorGroup], tags=["monitoring"], responses=ERRORS)
    def list_errors(_token: Analyst) -> list[ErrorGroup]:
        """Errors of the recent runs grouped by class and source: count, first and last seen, what to do."""
        return error_groups(data.view().snapshot)

    @app.get("/api/trends", response_model=list[StageTrend], tags=["monitoring"], responses=ERRORS)
    def list_trends(_token: Analyst, last: Annotated[int, Query(ge=1, le=50)] = 20) -> list[StageTrend]:
        """Per-stage throughput, seconds and error rate over the last runs; anomalies are > 3 MADs off."""
        return trends(data.view().snapshot, last)

    @app.get("/api/breakers", response_model=list[Breaker], tags=["breakers"], responses=ERRORS)
    def list_breakers(_token: Analyst) -> list[Breaker]:
        """Each source's circuit breaker and its manual override."""
        return _breakers(data.view())

    @app.put(
        "/api/breakers/{source}",
        response_model=Breaker,
        tags=["breakers"],
        responses={**ERRORS, 404: {"model": Problem, "description": "no such source"}},
    )
    def put_breaker(
        source: Literal["slack", "calendar", "drive", "directory"], body: BreakerChange, token: Admin
    ) -> Breaker:
        """Force a source's breaker open or closed for the next runs, or give it back (`auto`) (admin)."""
        set_override(config.state, source, body.mode, f"token {token.name}")
        log.warning("breaker override: %s set to %s by token %s", source, body.mode, token.name)
        view = data.refresh()
        return next(b for b in _breakers(view, [source]) if b.source == source)

    @app.get("/api/alerts", response_model=list[Alert], tags=["monitoring"], responses=ERRORS)
    def list_alerts(_token: Analyst) -> list[Alert]:
        """The alerts that hold now (thresholds in the MEETINTEL_ALERT_* settings)."""
        return data.view().alerts

    @app.get("/", response_class=HTMLResponse, tags=["monitoring"])
    def status_page() -> HTMLResponse:
        """A self-contained status page: components in red/yellow/green and trend sparklines."""
        view = data.view()
        html = render_status_page(view, trends(view.snapshot, config.policy.trend_runs), str(config.state))
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
            },
        )


def _breakers(view: View, extra: list[str] | None = None) -> list[Breaker]:
    snap = view.snapshot
    saved = snap.breakers if snap else {}
    names = sorted(set(saved) | set(view.overrides.sources) | set(extra or []))
    found = []
    for name in names:
        b = saved.get(name)
        state = b.state if b else "closed"
        mode = view.overrides.mode(name)
        o = view.overrides.sources.get(name)
        effective = {"force-open": "open", "force-closed": "closed"}.get(mode, state)
        found.append(
            Breaker(
                source=name,
                state=state,
                fail_counter=b.fail_counter if b else 0,
                opened_at=b.opened_at if b else None,
                override=mode,
                override_set_at=o.set_at if o else None,
                effective=effective,
            )
        )
    return found


def _start_run(config: ServiceConfig, full_refresh: bool, token: TokenEntry) -> RunStarted:
    """Start a run of the deployment through the Prefect API; do not wait for it."""
    if not config.prefect_api_url:
        raise MeetintelError(
            "no Prefect API is configured, so no deployment can be started",
            "run `prefect server start`, deploy (`prefect deploy --all`) and serve with PREFECT_API_URL set",
        )
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    name = config.full_refresh_deployment if full_refresh else config.deployment
    try:
        flow_run = cast(  # called from a worker thread with no event loop, so Prefect runs it synchronously
            FlowRun,
            run_deployment(name, timeout=0, tags=["meetintel-api", f"by-{token.name}"], as_subflow=False),
        )
    except Exception as exc:  # noqa: BLE001 - Prefect's client raises many kinds; the caller gets one answer
        raise MeetintelError(
            f"Prefect could not start deployment {name!r}: {type(exc).__name__}: {exc}",
            "check that the deployment exists (`prefect deployment ls`) and the Prefect API is up",
        ) from exc
    state = str(flow_run.state.name) if flow_run.state else "unknown"
    log.warning("run of %s started by token %s: flow run %s", name, token.name, flow_run.id)
    return RunStarted(flow_run_id=str(flow_run.id), deployment=name, state=state)
