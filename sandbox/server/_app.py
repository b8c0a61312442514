"""The sandbox server's request pipeline: log, route, check the token, rate-limit, inject faults, answer.

Transport-free: `SandboxApp.handle` takes a parsed `Request` and gives a `Reply`; `_http` moves
them over HTTP. Slack, Google and Google's OAuth token endpoint differ only in how they authenticate and
shape errors, which the small adapter classes below hold.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from core.errors import DataError
from sandbox.server._calendar import CalendarStore, calendar_list, events_list
from sandbox.server._directory import DirectoryStore, users_list
from sandbox.server._drive import DriveStore, changes_list, files_list, start_page_token
from sandbox.server._faults import Fault, FaultInjector, FaultKind
from sandbox.server._files import dump
from sandbox.server._google import (
    GoogleError,
    OAuthError,
    auth_error,
    injected_error,
    rate_limit_error,
    token_grant,
)
from sandbox.server._ratelimit import RateLimiter, retry_after_header
from sandbox.server._settings import OAUTH_TOKEN, ServerSettings
from sandbox.server._slack import SLACK_HANDLERS, SlackError, SlackStore
from sandbox.server._stats import LoggedRequest, RequestLog, StatsRecorder, without_secrets

log = logging.getLogger("sandbox.server")

JSON_SLACK = ("Content-Type", "application/json; charset=utf-8")
JSON_GOOGLE = ("Content-Type", "application/json; charset=UTF-8")

# Google paths as googleapiclient builds them from the discovery documents, with or without the
# service path (`api_endpoint` given as the bare server URL drops `calendar/v3/` and `drive/v3/`).
_GOOGLE_ROUTES = [
    (re.compile(r"/(?:calendar/v3/)?users/me/calendarList"), "calendar.calendarList.list"),
    (re.compile(r"/(?:calendar/v3/)?calendars/(?P<calendarId>[^/]+)/events"), "calendar.events.list"),
    (re.compile(r"/(?:drive/v3/)?files"), "drive.files.list"),
    (re.compile(r"/(?:drive/v3/)?changes/startPageToken"), "drive.changes.getStartPageToken"),
    (re.compile(r"/(?:drive/v3/)?changes"), "drive.changes.list"),
    (re.compile(r"/admin/directory/v1/users"), "directory.users.list"),
]
_SLACK_ROUTE = re.compile(r"/api/(?P<method>[A-Za-z0-9_.]+)")
_OAUTH_ROUTE = "/token"  # the token_uri to put in service-account keys and authorized-user files


@dataclass(frozen=True)
class Request:
    """A parsed HTTP request: verb, path, merged query and body parameters, headers."""

    method: str
    path: str
    params: dict[str, str]
    headers: Mapping[str, str]
    body_error: str | None = None  # set when a JSON or form body could not be parsed

    def bearer(self) -> str | None:
        """Give the token of an `Authorization: Bearer <token>` header, if any."""
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class Reply:
    """What to send back; `drop` closes the socket unanswered, `truncate` sends half the body then closes."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False
    truncate: bool = False


class _Api(Protocol):
    def authorized(self, req: Request) -> Reply | None: ...
    def rate_limited(self, wait_s: float) -> Reply: ...
    def injected(self, status: int, wait_s: float) -> Reply: ...
    def call(self, endpoint: str, req: Request) -> Reply: ...


def _retry_headers(wait_s: float) -> tuple[tuple[str, str], ...]:
    """Give the Retry-After headers for a wait: whole seconds, and the exact wait for tests."""
    return (("Retry-After", retry_after_header(wait_s)), ("X-Sandbox-Retry-After", f"{wait_s:.3f}"))


class _SlackApi:
    """Slack's conventions: HTTP 200 with `ok: false` for most errors, 429 with Retry-After for limits."""

    _INJECTED = {503: "service_unavailable", 504: "request_timeout", 408: "request_timeout"}

    def __init__(self, store: SlackStore, settings: ServerSettings) -> None:
        self.store = store
        self.settings = settings

    def authorized(self, req: Request) -> Reply | None:
        token = req.bearer() or req.params.get("token")
        if token == self.settings.slack_token:
            return None
        return _slack_reply(200, SlackError("not_authed" if not token else "invalid_auth").body())

    def rate_limited(self, wait_s: float) -> Reply:
        return _slack_reply(429, {"ok": False, "error": "ratelimited"}, _retry_headers(wait_s))

    def injected(self, status: int, wait_s: float) -> Reply:
        if status == 429:
            return self.rate_limited(wait_s)
        error = self._INJECTED.get(status, "internal_error" if status >= 500 else "invalid_request")
        return _slack_reply(status, {"ok": False, "error": error})

    def call(self, endpoint: str, req: Request) -> Reply:
        if req.body_error:
            return _slack_reply(200, {"ok": False, "error": "invalid_json", "detail": req.body_error})
        try:
            body = SLACK_HANDLERS[endpoint](self.store, self.settings, req.params)
        except SlackError as err:
            return _slack_reply(err.status, err.body())
        except DataError as err:
            log.error("slack %s failed on workspace data: %s", endpoint, err)
            return _slack_reply(500, {"ok": False, "error": "internal_error", "detail": str(err)})
        return Reply(200, body, (JSON_SLACK,))


def _slack_reply(status: int, body: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """Give a Slack JSON reply."""
    return Reply(status, dump(body).encode("utf-8"), (JSON_SLACK, *headers))


GoogleHandler = Callable[[Mapping[str, str]], bytes]


class _GoogleApi:
    """Google's conventions: 401 for bad tokens, error bodies `{"error": {...}}`, 403/429 rate limits."""

    def __init__(self, handlers: dict[str, GoogleHandler], settings: ServerSettings) -> None:
        self.handlers = handlers
        self.settings = settings

    def authorized(self, req: Request) -> Reply | None:
        token = req.bearer() or req.params.get("access_token")
        if token == self.settings.google_token:
            return None
        header = ("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"')
        return _google_reply(auth_error(), (header,))

    def rate_limited(self, wait_s: float) -> Reply:
        return _google_reply(rate_limit_error(self.settings.google_rate_limit_status), _retry_headers(wait_s))

    def injected(self, status: int, wait_s: float) -> Reply:
        if status == 429:
            return _google_reply(rate_limit_error(429), _retry_headers(wait_s))
        return _google_reply(injected_error(status))

    def call(self, endpoint: str, req: Request) -> Reply:
        if req.method != "GET":
            return _google_reply(GoogleError(405, "methodNotAllowed", f"Method {req.method} is not allowed"))
        try:
            body = self.handlers[endpoint](req.params)
        except GoogleError as err:
            return _google_reply(err)
        except DataError as err:
            log.error("google %s failed on workspace data: %s", endpoint, err)
            return _google_reply(GoogleError(500, "backendError", f"Backend Error: {err}"))
        return Reply(200, body, (JSON_GOOGLE,))


def _google_reply(err: GoogleError, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """Give a Google error reply in Google's JSON shape."""
    return Reply(err.status, dump(err.body()).encode("utf-8"), (JSON_GOOGLE, *headers))


class _OAuthApi:
    """Google's OAuth token endpoint: no bearer token (the grant is the credential), OAuth error bodies."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings

    def authorized(self, req: Request) -> Reply | None:
        return None

    def rate_limited(self, wait_s: float) -> Reply:
        return _oauth_reply(
            OAuthError(429, "rate_limit_exceeded", "Rate Limit Exceeded"), _retry_headers(wait_s)
        )

    def injected(self, status: int, wait_s: float) -> Reply:
        if status == 429:
            return self.rate_limited(wait_s)
        error = "temporarily_unavailable" if status >= 500 else "invalid_request"
        return _oauth_reply(OAuthError(status, error, f"Injected HTTP {status}"))

    def call(self, endpoint: str, req: Request) -> Reply:
        if req.method != "POST":
            return _oauth_reply(OAuthError(405, "invalid_request", "The token endpoint takes POST only"))
        try:
            return Reply(200, token_grant(self.settings, req.params), (JSON_GOOGLE,))
        except OAuthError as err:
            return _oauth_reply(err)


def _oauth_reply(err: OAuthError, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """Give an OAuth error reply."""
    return Reply(err.status, dump(err.body()).encode("utf-8"), (JSON_GOOGLE, *headers))


def _unknown(path: str) -> Reply:
    """Give Slack's `unknown_method` for a path under /api/, Google's 404 for any other path."""
    if path.startswith("/api/"):
        return _slack_reply(200, {"ok": False, "error": "unknown_method"})
    return _google_reply(GoogleError(404, "notFound", f"Not Found: {path}"))


class SandboxApp:
    """Everything the server knows: the workspace stores, the rate limiter, the fault injector, the stats."""

    def __init__(self, workspace: Path, settings: ServerSettings) -> None:
        self.settings = settings
        epoch = secrets.token_hex(4)  # sync and page tokens name the server process that issued them
        google = workspace / "google"
        self.slack = SlackStore(workspace / "slack", settings)
        self.calendar = CalendarStore(google / "calendar", epoch)
        self.drive = DriveStore(google / "drive" / "files.json", epoch)
        self.directory = DirectoryStore(google / "directory" / "users.json", epoch)
        self.limiter = RateLimiter(settings.tiers if settings.rate_limits else {}, settings.window_s)
        self.faults = FaultInjector(settings)
        self.stats = StatsRecorder()
        self.requests = RequestLog(settings.request_log_size)
        self._slack_api = _SlackApi(self.slack, settings)
        self._google_api = _GoogleApi(self._google_handlers(), settings)
        self._oauth_api = _OAuthApi(settings)

    def _google_handlers(self) -> dict[str, GoogleHandler]:
        """Give the Google method handlers, each bound to its store and the settings."""
        s = self.settings
        return {
            "calendar.calendarList.list": lambda p: calendar_list(self.calendar, s, p),
            "calendar.events.list": lambda p: events_list(self.calendar, s, p),
            "drive.files.list": lambda p: files_list(self.drive, s, p),
            "drive.changes.getStartPageToken": lambda p: start_page_token(self.drive, s, p),
            "drive.changes.list": lambda p: changes_list(self.drive, s, p),
            "directory.users.list": lambda p: users_list(self.directory, s, p),
        }

    def handle(self, req: Request) -> Reply:
        """Give the reply to one request, logging it and counting it in the stats."""
        endpoint, api, params = self._route(req)
        self.requests.add(
            LoggedRequest(
                endpoint, without_secrets(params), time.monotonic(), req.headers.get("Authorization")
            )
        )
        if api is None:
            return _unknown(req.path)
        return self._pipeline(endpoint, replace(req, params=params), api)

    def _route(self, req: Request) -> tuple[str, _Api | None, dict[str, str]]:
        """Give the endpoint a request names, its API (None when unknown) and its parameters.

        An unknown Slack method keeps its method name; an unknown path is named by the path itself.
        """
        slack = _SLACK_ROUTE.fullmatch(req.path)
        if slack:
            method = slack.group("method")
            return method, self._slack_api if method in SLACK_HANDLERS else None, req.params
        if req.path == _OAUTH_ROUTE:
            return OAUTH_TOKEN, self._oauth_api, req.params
        for pattern, endpoint in _GOOGLE_ROUTES:
            m = pattern.fullmatch(req.path)
            if m:
                path_params = {k: unquote(v) for k, v in m.groupdict().items()}
                return endpoint, self._google_api, {**req.params, **path_params}
        return req.path, None, req.params

    def _pipeline(self, endpoint: str, req: Request, api: _Api) -> Reply:
        """Give the reply after auth, rate limit and fault injection, in the order the services apply them."""
        self.stats.request(endpoint)
        refused = api.authorized(req)
        if refused is not None:
            self.stats.auth_failure(endpoint)
            return refused
        wait = self.limiter.acquire(endpoint)
        if wait > 0:
            self.stats.rate_limited(endpoint)
            return api.rate_limited(wait)
        fault = self.faults.draw(endpoint)
        if fault.latency_s:
            time.sleep(fault.latency_s)
        if fault.kind is not FaultKind.NONE:
            self.stats.fault(endpoint, fault.kind.value)
        return self._faulted(fault, api) or self._answer(endpoint, req, api, fault)

    def _faulted(self, fault: Fault, api: _Api) -> Reply | None:
        """Give the reply a fault puts in place of the handler's, None when the handler answers."""
        if fault.kind is FaultKind.DROP:
            return Reply(0, drop=True)
        if fault.kind is FaultKind.ERROR:
            # A seeded 429 asks for the share of the window one call takes; a scripted one says its wait.
            wait = fault.retry_after_s if fault.retry_after_s is not None else self.settings.window_s / 60.0
            return api.injected(fault.status, wait)
        if fault.kind is FaultKind.ANSWER:
            return Reply(fault.status, fault.body, fault.headers)
        return None

    def _answer(self, endpoint: str, req: Request, api: _Api, fault: Fault) -> Reply:
        """Give the handler's reply, truncated when the fault says so."""
        try:
            reply = api.call(endpoint, req)
        except Exception:  # a bug must not kill the handler thread silently; the client sees a 500
            log.exception("sandbox %s failed", endpoint)
            reply = api.injected(500, self.settings.window_s / 60.0)
        return replace(reply, truncate=True) if fault.kind is FaultKind.TRUNCATE else reply
