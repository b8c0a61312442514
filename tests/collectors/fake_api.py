"""A small real HTTP server speaking enough Slack Web API and Google Calendar/Drive/Directory for the
live collectors' tests, with faults scripted per endpoint (429 then 200, 5xx bursts, truncated bodies,
dropped connections, 410 for expired sync tokens) and a log of every request it answered.

The sandbox server serves whole synthetic workspaces with seeded random faults; this one serves a few
hand-made records and exact fault sequences, so tests can assert request counts and waits.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from collectors._live_models import (
    GoogleAuth,
    GoogleConfig,
    GoogleOptions,
    SlackConfig,
    SlackOptions,
    SlackRates,
)
from collectors._resilience import BreakerPolicy, RetryPolicy

SLACK_TOKEN = "xoxb-fake-0123456789-secret"
GOOGLE_TOKEN = "ya29.fake-google-secret-token"
GOOGLE_PREFIXES = ("calendar.", "drive.", "directory.")


@dataclass(frozen=True)
class Fault:
    """One scripted answer: an HTTP status with headers and body, a truncated body, a drop, or a delay."""

    status: int = 500
    body: Any = None  # dict -> JSON; str/bytes as given
    headers: dict[str, str] = field(default_factory=dict)
    kind: str = "status"  # status | truncate | drop | delay
    delay: float = 0.0


def rate_limited(retry_after: int) -> Fault:
    """Give a Slack-style HTTP 429 with Retry-After."""
    return Fault(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


@dataclass(frozen=True)
class Seen:
    """A request the server answered."""

    endpoint: str
    params: dict[str, str]
    at: float
    authorization: str


@dataclass
class SlackData:
    """A tiny Slack workspace: users, channels, and messages per channel (replies carry thread_ts)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def post(self, channel: str, ts: str, text: str, user: str = "U1", thread_ts: str | None = None) -> None:
        """Add a message (a reply when `thread_ts` is given)."""
        message: dict[str, Any] = {"type": "message", "ts": ts, "user": user, "text": text}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.setdefault(channel, []).append(message)

    def top_level(self, channel: str) -> list[dict[str, Any]]:
        """Give top-level messages with thread fields as Slack computes them, newest first."""
        out = []
        for m in self.messages.get(channel, []):
            if m.get("thread_ts") not in (None, m["ts"]):
                continue
            replies = self.replies(channel, m["ts"])
            if replies:
                m = {
                    **m,
                    "thread_ts": m["ts"],
                    "reply_count": len(replies),
                    "latest_reply": replies[-1]["ts"],
                    "reply_users": sorted({r["user"] for r in replies}),
                }
            out.append(m)
        return sorted(out, key=lambda m: Decimal(m["ts"]), reverse=True)

    def replies(self, channel: str, parent: str) -> list[dict[str, Any]]:
        """Give the replies of a thread, oldest first."""
        found = [
            m for m in self.messages.get(channel, []) if m.get("thread_ts") == parent and m["ts"] != parent
        ]
        return sorted(found, key=lambda m: Decimal(m["ts"]))


@dataclass
class GoogleData:
    """Calendars (events with a change sequence), Drive files (with a change sequence), directory users."""

    calendars: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0
    expired_before: int = 0  # sync tokens older than this sequence are refused with 410

    def put_event(self, calendar: str, event: dict[str, Any]) -> None:
        """Add or replace an event (by id) in a calendar."""
        self.seq += 1
        events = self.calendars.setdefault(calendar, [])
        events[:] = [e for e in events if e["id"] != event["id"]]
        events.append({**event, "_seq": self.seq})

    def put_file(self, file: dict[str, Any], removed: bool = False) -> None:
        """Add, change or remove a Drive file."""
        self.seq += 1
        self.files[:] = [f for f in self.files if f["id"] != file["id"]]
        self.files.append({**file, "_seq": self.seq, "_removed": removed})


def _page(
    items: list[Any], params: dict[str, str], size_key: str, token_key: str, default: int
) -> tuple[list[Any], str | None]:
    """Give one page of `items` and the next token ("o<offset>") or None at the end."""
    size = int(params.get(size_key) or default)
    offset = int(params.get(token_key, "o0")[1:] or 0) if params.get(token_key) else 0
    chunk = items[offset : offset + size]
    return chunk, (f"o{offset + size}" if offset + size < len(items) else None)


class _QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print tracebacks for clients that hung up (timeouts)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore the error: a client that hung up on purpose is part of the test."""


class FakeApi:
    """The server: `url` serves Slack at `/api/<method>` and Google at the discovery paths."""

    def __init__(self, page_size: int = 2) -> None:
        self.slack = SlackData()
        self.google = GoogleData()
        self.page_size = page_size
        self.faults: dict[str, deque[Fault]] = {}
        self.seen: list[Seen] = []
        self.hooks: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, endpoint: str, *faults: Fault) -> None:
        """Answer the next requests to `endpoint` with `faults`, in order, before serving normally again."""
        with self._lock:
            self.faults.setdefault(endpoint, deque()).extend(faults)

    def requests(self, endpoint: str) -> list[Seen]:
        """Give the answered requests to `endpoint`, in arrival order."""
        with self._lock:
            return [s for s in self.seen if s.endpoint == endpoint]

    # ---- dispatch ----

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                """Stay quiet: tests read the request log the fake keeps, not stderr."""

            def do_GET(self) -> None:
                api._serve(self)

            def do_POST(self) -> None:
                api._serve(self)

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            params.update(parse_qsl(h.rfile.read(length).decode(), keep_blank_values=True))
        path = unquote(parts.path)
        endpoint = self._endpoint(path)
        if endpoint == "calendar.events.list":
            params["calendarId"] = path.split("/")[2]
        auth = h.headers.get("Authorization", "")
        with self._lock:
            self.seen.append(Seen(endpoint, params, time.monotonic(), auth))
            queued = self.faults.get(endpoint)
            fault = queued.popleft() if queued else None
        if fault is not None:
            self._fault(h, fault)
            if fault.kind != "delay":
                return
        try:
            status, body = self._answer(endpoint, params, auth)
        except KeyError as exc:
            status, body = 400, {"ok": False, "error": f"missing {exc}"}
        self._send(h, status, json.dumps(body).encode(), {"Content-Type": "application/json"})

    @staticmethod
    def _endpoint(path: str) -> str:
        if path.startswith("/api/"):
            return path[len("/api/") :]
        if path == "/token":
            return "oauth.token"
        if path == "/users/me/calendarList":
            return "calendar.calendarList.list"
        if path.startswith("/calendars/") and path.endswith("/events"):
            return "calendar.events.list"
        return {
            "/files": "drive.files.list",
            "/changes/startPageToken": "drive.changes.getStartPageToken",
            "/changes": "drive.changes.list",
            "/admin/directory/v1/users": "directory.users.list",
        }.get(path, path)

    def _fault(self, h: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return
        if fault.kind == "drop":
            h.close_connection = True
            h.connection.shutdown(2)
            return
        body = fault.body if fault.body is not None else {"ok": False, "error": "internal_error"}
        raw = (
            body
            if isinstance(body, bytes)
            else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        if fault.kind == "truncate":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(raw)))
            h.end_headers()
            h.wfile.write(raw[: len(raw) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(2)
            return
        self._send(h, fault.status, raw, {"Content-Type": "application/json", **fault.headers})

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, raw: bytes, headers: dict[str, str]) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)

    def _answer(self, endpoint: str, p: dict[str, str], auth: str) -> tuple[int, dict[str, Any]]:
        if endpoint == "oauth.token":  # Google's token endpoint: any grant gets the fake access token
            return 200, {"access_token": GOOGLE_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
        if not endpoint.startswith(GOOGLE_PREFIXES):
            if auth != f"Bearer {SLACK_TOKEN}":
                return 200, {"ok": False, "error": "invalid_auth"}
            return 200, self._slack(endpoint, p)
        if auth != f"Bearer {GOOGLE_TOKEN}":
            return 401, {
                "error": {"code": 401, "message": "Invalid Credentials", "status": "UNAUTHENTICATED"}
            }
        return self._google(endpoint, p)

    # ---- Slack ----

    def _slack(self, method: str, p: dict[str, str]) -> dict[str, Any]:
        d, size = self.slack, self.page_size
        if method == "users.list":
            return self._slack_page("members", d.users, p)
        if method == "conversations.list":
            return self._slack_page("channels", d.channels, p)
        if method == "conversations.members":
            return self._slack_page("members", d.members.get(p["channel"], []), p)
        if method == "conversations.history":
            if p["channel"] not in d.messages and not any(c["id"] == p["channel"] for c in d.channels):
                return {"ok": False, "error": "channel_not_found"}
            msgs = [m for m in d.top_level(p["channel"]) if Decimal(m["ts"]) > Decimal(p.get("oldest") or 0)]
            return self._slack_page("messages", msgs, p, has_more=True)
        if method == "conversations.replies":
            parent = next((m for m in d.top_level(p["channel"]) if m["ts"] == p["ts"]), None)
            if parent is None:
                return {"ok": False, "error": "thread_not_found"}
            replies = [
                r
                for r in d.replies(p["channel"], p["ts"])
                if Decimal(r["ts"]) > Decimal(p.get("oldest") or 0)
            ]
            page, nxt = _page(replies, p, "limit", "cursor", size)
            body = {"ok": True, "messages": [parent, *page], "has_more": nxt is not None}
            body["response_metadata"] = {"next_cursor": nxt or ""}
            return body
        return {"ok": False, "error": "unknown_method"}

    def _slack_page(
        self, key: str, items: list[Any], p: dict[str, str], has_more: bool = False
    ) -> dict[str, Any]:
        page, nxt = _page(items, p, "limit", "cursor", self.page_size)
        body: dict[str, Any] = {"ok": True, key: page, "response_metadata": {"next_cursor": nxt or ""}}
        if has_more:
            body["has_more"] = nxt is not None
        hook = self.hooks.get(key)
        return hook(body) if hook else body

    # ---- Google ----

    def _google(self, endpoint: str, p: dict[str, str]) -> tuple[int, dict[str, Any]]:
        d, size = self.google, self.page_size
        if endpoint == "calendar.calendarList.list":
            items = [{"id": c, "accessRole": "owner"} for c in sorted(d.calendars)]
            page, nxt = _page(items, p, "maxResults", "pageToken", size)
            return 200, {"items": page, **({"nextPageToken": nxt} if nxt else {})}
        if endpoint == "calendar.events.list":
            return self._events(p)
        if endpoint == "drive.changes.getStartPageToken":
            return 200, {"startPageToken": str(d.seq)}
        if endpoint == "drive.files.list":
            items = [_public(f) for f in d.files if not f["_removed"]]
            page, nxt = _page(items, p, "pageSize", "pageToken", size)
            return 200, {"files": page, **({"nextPageToken": nxt} if nxt else {})}
        if endpoint == "drive.changes.list":
            return self._changes(p)
        if endpoint == "directory.users.list":
            page, nxt = _page(d.users, p, "maxResults", "pageToken", size)
            return 200, {"users": page, **({"nextPageToken": nxt} if nxt else {})}
        return 404, {"error": {"code": 404, "message": f"no such path {endpoint}"}}

    def _events(self, p: dict[str, str]) -> tuple[int, dict[str, Any]]:
        d = self.google
        calendar = p["calendarId"]
        since = 0
        if p.get("syncToken"):
            since = int(p["syncToken"].split(":")[-1])
            if since < d.expired_before:
                return 410, {
                    "error": {
                        "code": 410,
                        "message": "Sync token is no longer valid, a full sync is required.",
                        "errors": [{"reason": "fullSyncRequired"}],
                    }
                }
        events = sorted(
            (e for e in d.calendars.get(calendar, []) if e["_seq"] > since), key=lambda e: e["_seq"]
        )
        page, nxt = _page([_public(e) for e in events], p, "maxResults", "pageToken", self.page_size)
        body: dict[str, Any] = {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": page}
        if nxt:
            body["nextPageToken"] = nxt
        else:
            body["nextSyncToken"] = f"sync:{calendar}:{d.seq}"
        return 200, body

    def _changes(self, p: dict[str, str]) -> tuple[int, dict[str, Any]]:
        d = self.google
        token = p["pageToken"]
        start, offset = (token.split("/") + ["o0"])[:2]
        changes = [
            {"fileId": f["id"], "removed": f["_removed"], **({} if f["_removed"] else {"file": _public(f)})}
            for f in sorted(d.files, key=lambda f: f["_seq"])
            if f["_seq"] > int(start)
        ]
        page, nxt = _page(
            changes, {"pageSize": p.get("pageSize", ""), "t": offset}, "pageSize", "t", self.page_size
        )
        body: dict[str, Any] = {"changes": page}
        if nxt:
            body["nextPageToken"] = f"{start}/{nxt}"
        else:
            body["newStartPageToken"] = str(d.seq)
        return 200, body


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# ---- settings for tests --------------------------------------------------------------------------------

FAST_RATES = {"tier1": 60_000, "tier2": 60_000, "tier3": 60_000, "tier4": 60_000}


def quick_retry(
    max_attempts: int = 4, base_delay: float = 0.01, max_retry_after: float = 30.0
) -> RetryPolicy:
    """Give a retry policy with tiny backoffs, so fault tests run fast."""
    return RetryPolicy(
        max_attempts=max_attempts, base_delay=base_delay, max_delay=0.05, max_retry_after=max_retry_after
    )


def slack_config(
    url: str,
    token: str = SLACK_TOKEN,
    *,
    retry: Any = None,
    breaker: Any = None,
    rates: dict[str, Any] | None = None,
    **options: Any,
) -> SlackConfig:
    """Give a SlackConfig for the server at `url` with fast rates and quick retries."""
    return SlackConfig(
        token=SecretStr(token),
        base_url=f"{url}/api/",
        timeout=5,
        rates=SlackRates(**(rates or FAST_RATES)),
        options=SlackOptions(**options),
        retry=retry or quick_retry(),
        breaker=breaker or BreakerPolicy(),
    )


def google_config(
    url: str, token: str = GOOGLE_TOKEN, *, retry: Any = None, breaker: Any = None, **options: Any
) -> GoogleConfig:
    """Give a GoogleConfig (bearer token) for the server at `url` with fast rates and quick retries."""
    return GoogleConfig(
        auth=GoogleAuth(kind="bearer", token=SecretStr(token)),
        api_endpoint=url,
        timeout=5,
        requests_per_minute=60_000,
        burst=50,
        options=GoogleOptions(**options),
        retry=retry or quick_retry(),
        breaker=breaker or BreakerPolicy(),
    )
