"""The sandbox server's request pipeline: route, check the token, rate-limit, inject faults, answer.

Transport-free: `SandboxApp.handle` takes a parsed `Request` and gives a `Reply`; `_srv_http` moves
them over HTTP. Slack and Google differ only in how they authenticate and shape errors, which the two
small adapter classes below hold.
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
from sandbox._srv_calendar import CalendarStore, calendar_list, events_list
from sandbox._srv_directory import DirectoryStore, users_list
from sandbox._srv_drive import DriveStore, changes_list, files_list, start_page_token
from sandbox._srv_faults import FaultInjector, FaultKind
from sandbox._srv_files import dump
from sandbox._srv_google import GoogleError, auth_error, injected_error, rate_limit_error
from sandbox._srv_ratelimit import RateLimiter, retry_after_header
from sandbox._srv_settings import ServerSettings
from sandbox._srv_slack import SLACK_HANDLERS, SlackError, SlackStore
from sandbox._srv_stats import StatsRecorder

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
    def injected(self, status: int, window_s: float) -> Reply: ...
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

    def injected(self, status: int, window_s: float) -> Reply:
        if status == 429:
            return self.rate_limited(window_s / 60.0)
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

    def injected(self, status: int, window_s: float) -> Reply:
        if status == 429:
            return _google_reply(rate_limit_error(429), _retry_headers(window_s / 60.0))
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
        self._slack_api = _SlackApi(self.slack, settings)
        self._google_api = _GoogleApi(self._google_handlers(), settings)

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
        """Give the reply to one request, counting it in the stats."""
        slack = _SLACK_ROUTE.fullmatch(req.path)
        if slack:
            method = slack.group("method")
            if method not in SLACK_HANDLERS:
                return _slack_reply(200, {"ok": False, "error": "unknown_method"})
            return self._pipeline(method, req, self._slack_api)
        for pattern, endpoint in _GOOGLE_ROUTES:
            m = pattern.fullmatch(req.path)
            if m:
                path_params = {k: unquote(v) for k, v in m.groupdict().items()}
                return self._pipeline(
                    endpoint, replace(req, params={**req.params, **path_params}), self._google_api
                )
        return _google_reply(GoogleError(404, "notFound", f"Not Found: {req.path}"))

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
        if fault.kind is FaultKind.DROP:
            return Reply(0, drop=True)
        if fault.kind is FaultKind.ERROR:
            return api.injected(fault.status, self.settings.window_s)
        try:
            reply = api.call(endpoint, req)
        except Exception:  # a bug must not kill the handler thread silently; the client sees a 500
            log.exception("sandbox %s failed", endpoint)
            reply = api.injected(500, self.settings.window_s)
        return replace(reply, truncate=True) if fault.kind is FaultKind.TRUNCATE else reply
