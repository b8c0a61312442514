"""Google door: Calendar v3, Drive v3 and Admin Directory v1 behind the one client protocol; their collectors.

The clients are `googleapiclient` services built from the bundled (static) discovery documents, pointed at
another endpoint when `api_endpoint` is given (the sandbox). Requests run with `num_retries=0` over a
urllib3 transport with retries off (`Urllib3Http`), so the source's `Guard` (tenacity) is the only retry
layer. (google-auth still retries its own token endpoint when it refreshes credentials.)

Cursors: `("calendar", <calendarId>)` is the calendar's `nextSyncToken`, `("drive", "changes")` the Drive
changes page token. The directory is listed whole each run.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.oauth2.credentials
import httplib2
import urllib3
from google.auth.credentials import Credentials
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from pydantic import SecretStr

from collectors._live_models import GoogleAuth, GoogleOptions
from collectors._normalise import Normaliser
from collectors._pagination import google_pages
from collectors._resilience import (
    AuthError,
    ResyncRequired,
    TransientError,
    Unreadable,
    redact,
    retry_after_seconds,
)
from collectors.client import ApiClient
from collectors.models import Cursor
from core.chunks import LiveChunk, Quarantined, ReplaceScope
from core.errors import ConfigurationError, DataError, FatalError

log = logging.getLogger("meetintel.collectors.google")

# (discovery name, version, read-only scope) per service.
SERVICES: dict[str, tuple[str, str, str]] = {
    "calendar": ("calendar", "v3", "https://www.googleapis.com/auth/calendar.readonly"),
    "drive": ("drive", "v3", "https://www.googleapis.com/auth/drive.metadata.readonly"),
    "directory": ("admin", "directory_v1", "https://www.googleapis.com/auth/admin.directory.user.readonly"),
}
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_TRANSIENT_HINT = "Google is unavailable or limiting us; the next run continues where this one stopped"
_AUTH_HINT = (
    "check the Google credentials (MEETINTEL_GOOGLE_SERVICE_ACCOUNT_FILE with MEETINTEL_GOOGLE_SUBJECT, or "
    "MEETINTEL_GOOGLE_CREDENTIALS_FILE): the service account's domain-wide delegation scopes and "
    "subject, or the OAuth user's consent (read-only Calendar, Drive metadata, Directory users)"
)
_BEARER_HINT = (
    "the token in MEETINTEL_GOOGLE_TOKEN (or its Secret block) is wrong or expired: mint a new one, or "
    "use MEETINTEL_GOOGLE_SERVICE_ACCOUNT_FILE / MEETINTEL_GOOGLE_CREDENTIALS_FILE, whose tokens refresh"
)


def google_credentials(auth: GoogleAuth, scopes: Sequence[str]) -> Credentials:
    """Give google-auth credentials for `auth` with `scopes` (a bearer token carries its own scopes)."""
    try:
        if auth.kind == "bearer":
            assert auth.token is not None
            return google.oauth2.credentials.Credentials(token=auth.token.get_secret_value())
        if auth.kind == "service_account":
            info = _json_secret(auth.service_account_info, auth.service_account_file, "service account key")
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
            return creds.with_subject(auth.subject) if auth.subject else creds
        info = _json_secret(auth.authorized_user_info, auth.authorized_user_file, "authorized user")
        return google.oauth2.credentials.Credentials.from_authorized_user_info(info, scopes=list(scopes))
    except (ValueError, KeyError) as exc:
        # google-auth names the missing field; never the secret itself.
        raise ConfigurationError(
            f"Google {auth.kind} credentials are unusable ({type(exc).__name__}: {_field_hint(exc)})",
            "give a complete JSON key / authorized-user file as downloaded from Google Cloud",
        ) from None


def _json_secret(secret: SecretStr | None, path: Path | None, what: str) -> dict[str, Any]:
    """Give the JSON object of a secret given inline or as a file."""
    if secret is not None:
        text = secret.get_secret_value()
    else:
        assert path is not None  # GoogleAuth validates that one of the two is given
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the Google {what} file {path} ({exc.strerror})",
                "check the path in the settings",
            ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigurationError(
            f"the Google {what} is not valid JSON",
            "paste or point at the file as downloaded from Google Cloud",
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"the Google {what} is not a JSON object", "use the file Google Cloud gives")
    return data


def _field_hint(exc: Exception) -> str:
    """Give the first line of a google-auth error, which names the missing field, capped in length."""
    return str(exc).splitlines()[0][:120] if str(exc) else "missing field"


class Urllib3Http:
    """The httplib2-style transport googleapiclient calls, on a urllib3 pool with retries and redirects off.

    httplib2 would re-send a request itself after some connection errors (even with `RETRIES = 1` it
    retries a dropped first response); urllib3 with `retries=False` never does, so the Guard's count of
    attempts is the server's count. The pool is thread-safe, so workers share it.
    """

    def __init__(self, timeout: float, pool_size: int = 8) -> None:
        self._pool = urllib3.PoolManager(
            retries=False, timeout=urllib3.Timeout(connect=timeout, read=timeout), maxsize=pool_size
        )

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        redirections: int | None = None,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        """Give the response (an httplib2.Response: status plus lower-case headers) and the body."""
        resp = self._pool.request(method, uri, body=body, headers=dict(headers or {}), redirect=False)
        info = {k.lower(): v for k, v in resp.headers.items()}
        info["status"] = str(resp.status)
        response = httplib2.Response(info)
        response.reason = resp.reason or ""
        return response, resp.data


class GoogleDiscoveryApi:
    """One Google service (Calendar, Drive, Directory) via googleapiclient; classified errors, no retries."""

    def __init__(
        self,
        service: str,
        credentials: Credentials,
        api_endpoint: str | None,
        timeout: float,
        secrets: Sequence[str] = (),
    ) -> None:
        name, version, _ = SERVICES[service]
        self.service = service
        self.api_endpoint = api_endpoint
        self._credentials = credentials
        self._secrets = tuple(secrets)
        self._http = AuthorizedHttp(credentials, http=Urllib3Http(timeout))
        options = {"api_endpoint": api_endpoint} if api_endpoint else None
        self._resource = build(
            name,
            version,
            http=self._http,
            static_discovery=True,
            cache_discovery=False,
            client_options=options,
        )

    def __repr__(self) -> str:
        return f"GoogleDiscoveryApi({self.service!r}, api_endpoint={self.api_endpoint!r})"

    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Give the response of `method` ("events.list", "changes.list"...) or raise a classified error."""
        *resources, verb = method.split(".")
        target = self._resource
        for name in resources:
            target = getattr(target, name)()
        request = getattr(target, verb)(**params)
        try:
            body = request.execute(num_retries=0)
        except HttpError as exc:
            raise self._http_error(method, exc) from None
        except google.auth.exceptions.RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise TransientError(
                    f"Google {self.service} {method}: token refresh failed, retrying", _TRANSIENT_HINT
                ) from None
            raise self._refused(method, exc) from None
        except (google.auth.exceptions.TransportError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientError(
                f"Google {self.service} {method}: {type(exc).__name__}: {self._clean(exc)}", _TRANSIENT_HINT
            ) from None
        if not isinstance(body, dict):
            # googleapiclient hands back the raw text when the body is not JSON (truncated or an HTML page).
            raise TransientError(
                f"Google {self.service} {method}: the body is not JSON (truncated?)", _TRANSIENT_HINT
            )
        return body

    def _refused(self, method: str, exc: google.auth.exceptions.RefreshError) -> AuthError:
        """Give the AuthError of refused credentials, saying which credential and what to do."""
        creds = self._credentials
        if isinstance(creds, google.oauth2.credentials.Credentials) and not creds.refresh_token:
            # A bare access token: Google answered 401 and there is nothing to refresh it with.
            return AuthError(
                f"Google {self.service} {method} refused the access token (HTTP 401); it cannot be refreshed",
                _BEARER_HINT,
            )
        return AuthError(
            f"Google {self.service} {method}: credentials refused ({self._clean(exc)})", _AUTH_HINT
        )

    def _clean(self, exc: BaseException) -> str:
        live_token = getattr(self._credentials, "token", None)
        return redact(str(exc), (*self._secrets, *([live_token] if live_token else [])))[:300]

    def _http_error(self, method: str, exc: HttpError) -> Exception:
        """Give the classified error of an HTTP error answer."""
        status = int(exc.resp.status)
        reason = _reason(exc.content)
        what = f"Google {self.service} {method}: HTTP {status}" + (f" {reason}" if reason else "")
        if status == 429 or (status == 403 and reason in _RATE_REASONS):
            wait = retry_after_seconds(exc.resp.get("retry-after"))
            return TransientError(
                f"{what} (rate limited)", _TRANSIENT_HINT, retry_after=wait, status=status, rate_limited=True
            )
        if status >= 500:
            return TransientError(what, _TRANSIENT_HINT, status=status)
        if status == 410:
            return ResyncRequired(what, "the sync token expired; the collector lists the calendar again")
        if status in (401, 403):
            return AuthError(what, _AUTH_HINT)
        if status == 404:
            return Unreadable(what, "the calendar or resource is gone or not shared with these credentials")
        return FatalError(what, "check the request parameters and settings")


def _reason(content: bytes) -> str:
    """Give Google's error reason (`errors[0].reason`, else `status`) from an error body, or ""."""
    try:
        error = json.loads(content.decode("utf-8")).get("error") or {}
    except (ValueError, AttributeError, UnicodeDecodeError):
        return ""
    if not isinstance(error, dict):
        return ""
    errors = error.get("errors") or [{}]
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return str(first.get("reason") or error.get("status") or "")


# ---- Calendar -----------------------------------------------------------------------------------------

_READABLE_ROLES = frozenset({"owner", "writer", "reader"})


def list_calendars(api: ApiClient, options: GoogleOptions) -> list[str]:
    """Give the ids of the calendars to read: the configured ones, else calendarList.list's readable ones."""
    if options.calendar_ids is not None:
        return list(options.calendar_ids)
    ids: list[str] = []
    for page in google_pages(api, "calendarList.list", {"maxResults": min(options.page_size, 250)}):
        for item in page.get("items") or []:
            # freeBusyReader calendars give busy blocks only, no meetings to read.
            if item.get("id") and item.get("accessRole", "reader") in _READABLE_ROLES:
                ids.append(item["id"])
    return ids


def _list_events(
    api: ApiClient, calendar_id: str, sync_token: str | None, options: GoogleOptions
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Give a calendar's events (all, or changed since `sync_token`), its time zone, the next sync token."""
    params: dict[str, Any] = {
        "calendarId": calendar_id,
        "singleEvents": True,
        "showDeleted": True,
        "maxResults": min(options.page_size, 2500),
    }
    if sync_token:
        params["syncToken"] = sync_token
    items: list[dict[str, Any]] = []
    time_zone = next_sync = None
    for page in google_pages(api, "events.list", params):
        items.extend(page.get("items") or [])
        time_zone = time_zone or page.get("timeZone")
        next_sync = page.get("nextSyncToken") or next_sync  # only the last page carries it
    return items, time_zone, next_sync


def collect_calendar(
    api: ApiClient, norm: Normaliser, calendar_id: str, sync_token: str | None, options: GoogleOptions
) -> Iterator[LiveChunk]:
    """Yield one chunk with a calendar's events since `sync_token` (all when None, or when the service
    refuses the token with 410); a full listing carries a replace scope for that calendar's rows."""
    try:
        items, time_zone, next_sync = _list_events(api, calendar_id, sync_token, options)
    except ResyncRequired:
        log.warning("calendar %s: sync token refused (HTTP 410); listing it again in full", calendar_id)
        sync_token = None
        items, time_zone, next_sync = _list_events(api, calendar_id, None, options)
    if next_sync is None:
        log.warning("calendar %s: no nextSyncToken given; the next run lists it in full", calendar_id)
    quarantined: list[Quarantined] = []
    shown = f"Google Calendar events of {calendar_id}"
    batch = norm.calendar_events(calendar_id, items, time_zone, shown, quarantine=quarantined)
    scope = ReplaceScope("calendar_events", "calendar_id", calendar_id) if sync_token is None else None
    cursors = [Cursor("calendar", calendar_id, next_sync)] if next_sync else []
    yield LiveChunk("calendar_events", batch, cursors, scope, source="calendar", quarantined=quarantined)


# ---- Drive --------------------------------------------------------------------------------------------

DRIVE_FILE_FIELDS = "id,name,mimeType,webViewLink,owners(emailAddress),createdTime,modifiedTime,trashed"
_ALL_DRIVES = {"supportsAllDrives": True, "includeItemsFromAllDrives": True}


def collect_drive(
    api: ApiClient, norm: Normaliser, page_token: str | None, options: GoogleOptions
) -> Iterator[LiveChunk]:
    """Yield Drive files changed since `page_token`, else all files; the last chunk carries the next token."""
    if page_token:
        yield from _drive_changes(api, norm, page_token, options)
    else:
        yield from _drive_listing(api, norm, options)


def _drive_listing(api: ApiClient, norm: Normaliser, options: GoogleOptions) -> Iterator[LiveChunk]:
    # The start token is taken before listing, so a change made while we list shows up in the next run.
    start = api.call("changes.getStartPageToken", {"supportsAllDrives": True}).get("startPageToken")
    if not start:
        raise DataError(
            "Google Drive changes.getStartPageToken gave no startPageToken",
            "report the response; the next run tries again",
        )
    params = {
        "pageSize": min(options.page_size, 1000),
        "fields": f"nextPageToken,files({DRIVE_FILE_FIELDS})",
        **_ALL_DRIVES,
    }
    pending: list[dict[str, Any]] = []
    for page in google_pages(api, "files.list", params):
        pending.extend(page.get("files") or [])
        if len(pending) >= options.chunk_rows:
            yield _drive_chunk(norm, pending, [])
            pending = []
    yield _drive_chunk(norm, pending, [Cursor("drive", "changes", str(start))])


def _drive_changes(
    api: ApiClient, norm: Normaliser, token: str, options: GoogleOptions
) -> Iterator[LiveChunk]:
    params = {
        "pageSize": min(options.page_size, 1000),
        "includeRemoved": True,
        **_ALL_DRIVES,
        "fields": f"nextPageToken,newStartPageToken,changes(fileId,removed,file({DRIVE_FILE_FIELDS}))",
    }
    pages = google_pages(api, "changes.list", params, first_token=token)
    try:
        first = next(pages)
    except (ResyncRequired, FatalError) as exc:
        if isinstance(exc, AuthError):
            raise
        # An expired or foreign page token: list everything again rather than fail every run from now on.
        log.warning("Drive changes token refused (%s); listing all files again", exc.message)
        yield from _drive_listing(api, norm, options)
        return
    pending: dict[str, dict[str, Any]] = {}
    new_start = None
    for page in itertools.chain([first], pages):
        for change in page.get("changes") or []:
            row = _changed_file(change)
            if row is not None:
                pending[row["id"]] = row  # a file changed twice: the later change wins
        new_start = page.get("newStartPageToken") or new_start
        if len(pending) >= options.chunk_rows:
            yield _drive_chunk(norm, list(pending.values()), [])
            pending = {}
    if not new_start:
        raise DataError(
            "Google Drive changes.list ended without newStartPageToken",
            "report the response; the next run reads the same changes again",
        )
    yield _drive_chunk(norm, list(pending.values()), [Cursor("drive", "changes", str(new_start))])


def _changed_file(change: Mapping[str, Any]) -> dict[str, Any] | None:
    """Give the file of a change; a removed file (deleted, or access lost) becomes a trashed row."""
    file_id = change.get("fileId") or (change.get("file") or {}).get("id")
    if not file_id:
        return None  # a shared-drive change, not a file
    if change.get("removed") or not change.get("file"):
        return {"id": file_id, "trashed": True}
    return {**change["file"], "id": file_id}


def _drive_chunk(norm: Normaliser, files: list[dict[str, Any]], cursors: list[Cursor]) -> LiveChunk:
    quarantined: list[Quarantined] = []
    batch = norm.drive_files(files, "Google Drive files", quarantine=quarantined)
    return LiveChunk("drive_files", batch, cursors, source="drive", quarantined=quarantined)


# ---- Directory ----------------------------------------------------------------------------------------


def collect_directory(api: ApiClient, norm: Normaliser, options: GoogleOptions) -> Iterator[LiveChunk]:
    """Yield every user of the directory (users.list, listed whole each run), `chunk_rows` at a time."""
    params: dict[str, Any] = {"maxResults": min(options.page_size, 500), "orderBy": "email"}
    if options.directory_domain:
        params["domain"] = options.directory_domain
    else:
        params["customer"] = options.directory_customer
    pending: list[dict[str, Any]] = []
    seen: set[str] = set()  # primary addresses of earlier chunks: a duplicate may come pages later
    for page in google_pages(api, "users.list", params):
        pending.extend(page.get("users") or [])
        if len(pending) >= options.chunk_rows:
            yield _directory_chunk(norm, pending, seen)
            pending = []
    yield _directory_chunk(norm, pending, seen)


def _directory_chunk(norm: Normaliser, users: list[dict[str, Any]], seen: set[str]) -> LiveChunk:
    quarantined: list[Quarantined] = []
    batch = norm.directory_users(users, "Google Directory users", quarantine=quarantined, seen=seen)
    return LiveChunk("directory_users", batch, source="directory", quarantined=quarantined)
