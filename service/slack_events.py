"""`POST /slack/events`: the Slack Events API receiver, which turns workspace activity into Prefect events.

Every request must carry Slack's `v0` signature (HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the app's
signing secret) and a timestamp within five minutes; a signature seen before is a replay. Anything else gets
401 and emits nothing. Message, channel and member events become `meetintel.slack.activity` events about the
org (never with the message text); the incremental deployment's trigger turns a burst of them into one run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from flows.events import SLACK_ACTIVITY, emit, org_slug

router = APIRouter(tags=["slack"])

WINDOW_SECONDS = 300  # Slack's own advice: refuse requests older than five minutes
MAX_BODY_BYTES = 256 * 1024  # Slack event payloads are a few kilobytes
MAX_REMEMBERED = 10_000  # signatures and event ids kept for replay refusal, oldest dropped first

# Event types that mean the workspace changed in a way the next run should collect.
ACTIVITY_TYPES = frozenset(
    {
        "message",
        "channel_created",
        "channel_deleted",
        "channel_rename",
        "channel_archive",
        "channel_unarchive",
        "member_joined_channel",
        "member_left_channel",
        "team_join",
        "user_change",
    }
)


class SeenWithin:
    """Keys seen in the last `window` seconds, at most `limit` of them (the oldest go first)."""

    def __init__(self, window: float = WINDOW_SECONDS, limit: int = MAX_REMEMBERED) -> None:
        self.window, self.limit = window, limit
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, now: float) -> bool:
        """Remember `key`; give False when it was already seen within the window."""
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now - self.window):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)
            return True


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Give Slack's `v0=` signature of a request body sent at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _refuse(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=f"Slack request refused: {reason}")


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float, seen: SeenWithin) -> None:
    """Raise 401 unless the request is signed with `secret`, fresh, and not seen before."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    given = headers.get("x-slack-signature", "")
    if not timestamp or not given:
        raise _refuse("the X-Slack-Signature and X-Slack-Request-Timestamp headers are required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise _refuse("the request timestamp is not a number") from None
    if abs(now - sent) > WINDOW_SECONDS:
        raise _refuse("the request timestamp is more than five minutes from this server's clock")
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        raise _refuse("the signature does not match the signing secret")
    if not seen.add("sig:" + given, now):
        raise _refuse("this request was already received (replay)")


def activity_payload(envelope: Mapping[str, object]) -> dict[str, object] | None:
    """Give the `meetintel.slack.activity` payload of an `event_callback`, or None when it is not activity.

    Ids and types only: the message text and user profiles stay out of the event.
    """
    event = envelope.get("event")
    if not isinstance(event, Mapping) or event.get("type") not in ACTIVITY_TYPES:
        return None
    channel = event.get("channel")
    if isinstance(channel, Mapping):  # channel_created/rename carry the channel as an object
        channel = channel.get("id")
    return {
        "team_id": envelope.get("team_id"),
        "event_id": envelope.get("event_id"),
        "event_time": envelope.get("event_time"),
        "event_type": event.get("type"),
        "subtype": event.get("subtype"),
        "channel_id": channel if isinstance(channel, str) else None,
    }


def _state(request: Request) -> tuple[str, SeenWithin, SeenWithin]:
    secret = getattr(request.app.state, "slack_signing_secret", None)
    if not secret:
        raise HTTPException(
            status_code=503,
            detail="Slack events are not configured: set MEETINTEL_SLACK_SIGNING_SECRET to the app's "
            "signing secret (Slack app settings, Basic Information) and restart `meetintel serve`",
        )
    app_state = request.app.state
    if not hasattr(app_state, "slack_seen_signatures"):
        app_state.slack_seen_signatures = SeenWithin()
        app_state.slack_seen_events = SeenWithin()
    return str(secret), app_state.slack_seen_signatures, app_state.slack_seen_events


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail=f"Slack request body over {MAX_BODY_BYTES} bytes")
    body = b""
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail=f"Slack request body over {MAX_BODY_BYTES} bytes")
    return body


def _org(request: Request) -> str | None:
    """Give the org the events are about: the app's `meetintel_org`, else MEETINTEL_ORG (the same value the
    deployments' triggers match), else None (the Slack team id is used)."""
    return getattr(request.app.state, "meetintel_org", None) or os.environ.get("MEETINTEL_ORG") or None


@router.post("/slack/events", summary="Slack Events API receiver")
async def slack_events(request: Request) -> JSONResponse:
    """Answer Slack's URL verification; turn signed activity events into `meetintel.slack.activity`."""
    secret, seen_signatures, seen_events = _state(request)
    body = await _body(request)
    now = time.time()
    verify(secret, request.headers, body, now, seen_signatures)
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(status_code=400, detail="Slack request body is not JSON") from None
    if not isinstance(envelope, dict):
        raise HTTPException(status_code=400, detail="Slack request body is not a JSON object")
    if envelope.get("type") == "url_verification":
        return JSONResponse({"challenge": str(envelope.get("challenge", ""))})
    payload = activity_payload(envelope) if envelope.get("type") == "event_callback" else None
    if payload is None:
        return JSONResponse({"ok": True, "emitted": False, "reason": "not workspace activity"})
    # Slack retries a delivery with a new signature and the same event id: acknowledge, emit once.
    if payload["event_id"] and not seen_events.add(f"event:{payload['event_id']}", now):
        return JSONResponse({"ok": True, "emitted": False, "reason": "event already received"})
    org = _org(request) or str(payload["team_id"] or "slack")
    emit(SLACK_ACTIVITY, org_slug(org), payload)
    return JSONResponse({"ok": True, "emitted": True, "event": SLACK_ACTIVITY})
