"""What the sandbox's Google APIs share: error bodies, partial responses (`fields`), times, page sizes,
and the OAuth token endpoint that service-account and refresh-token credentials call."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.server._files import decode_token, dump, splice
from sandbox.server._settings import ServerSettings

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_INJECTED = {
    400: ("badRequest", "Bad Request"),
    401: ("authError", "Invalid Credentials"),
    403: ("forbidden", "Forbidden"),
    404: ("notFound", "Not Found"),
    # 410 is how Calendar refuses an expired sync token, the one 410 these APIs send.
    410: ("fullSyncRequired", "Sync token is no longer valid, a full sync is required."),
    429: ("rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("backendError", "Backend Error"),
    502: ("backendError", "Bad Gateway"),
    503: ("backendError", "Service Unavailable"),
    504: ("backendError", "Deadline Exceeded"),
}


class GoogleError(Exception):
    """A Google API error answer in Google's JSON shape, with its HTTP status."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        domain: str = "global",
        location: str | None = None,
        location_type: str = "parameter",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type

    def body(self) -> dict[str, Any]:
        """Give `{"error": {"code", "message", "errors": [{"message", "domain", "reason"...}], "status"}}`."""
        detail: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
        if self.location:
            detail["location"] = self.location
            detail["locationType"] = self.location_type
        error: dict[str, Any] = {"code": self.status, "message": self.message, "errors": [detail]}
        if self.status in _STATUS_NAMES:
            error["status"] = _STATUS_NAMES[self.status]
        return {"error": error}


def invalid(name: str, message: str | None = None) -> GoogleError:
    """Give the 400 Google answers for a bad parameter value."""
    return GoogleError(400, "invalid", message or f"Invalid value for parameter {name}", location=name)


def page_offset(params: Mapping[str, str], kind: str, epoch: str, message: str) -> int:
    """Give the list offset a `kind` page token carries (0 without one); 400 `message` for a foreign token."""
    raw = params.get("pageToken")
    if not raw:
        return 0
    token = decode_token(raw)
    if not token or token.get("t") != kind or token.get("e") != epoch or not isinstance(token.get("o"), int):
        raise invalid("pageToken", message)
    return int(token["o"])


def injected_error(status: int) -> GoogleError:
    """Give the error for an injected fault with `status`, shaped as Google shapes that status."""
    reason, message = _INJECTED.get(status, ("backendError", "Backend Error"))
    domain = "usageLimits" if status == 429 else "global"
    return GoogleError(status, reason, message, domain=domain)


def rate_limit_error(status: int) -> GoogleError:
    """Give Google's rate-limit answer (403 or 429 with reason rateLimitExceeded, which clients retry)."""
    return GoogleError(status, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")


def auth_error() -> GoogleError:
    """Give Google's answer to a missing or wrong OAuth token."""
    return GoogleError(
        401,
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        location="Authorization",
        location_type="header",
    )


# --------------------------------------------------------------------------------------- OAuth tokens

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_GRANT_PARAMS = {JWT_GRANT: ("assertion",), "refresh_token": ("refresh_token", "client_id")}


class OAuthError(Exception):
    """An OAuth 2 token-endpoint error: `{"error", "error_description"}` with its HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        """Give the JSON answer of the error."""
        return {"error": self.error, "error_description": self.description}


def token_grant(settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give an access token (the sandbox's `google_token`) for a JWT-bearer or refresh-token grant.

    Signatures and refresh tokens are not checked: the sandbox knows no keys, only the grant's shape.
    """
    grant = params.get("grant_type") or ""
    if grant not in _GRANT_PARAMS:
        raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
    missing = [name for name in _GRANT_PARAMS[grant] if not params.get(name)]
    if missing:
        raise OAuthError(400, "invalid_request", f"Missing required parameter: {missing[0]}")
    if grant == JWT_GRANT and params["assertion"].count(".") != 2:
        raise OAuthError(400, "invalid_grant", "Invalid JWT: the assertion is not header.claims.signature")
    token = {"access_token": settings.google_token, "expires_in": 3600, "token_type": "Bearer"}
    return dump(token).encode("utf-8")


def flag(params: Mapping[str, str], name: str, default: bool = False) -> bool:
    """Give a boolean query parameter ("true"/"false", as googleapiclient sends them)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise invalid(name)


def page_size(settings: ServerSettings, endpoint: str, params: Mapping[str, str], name: str) -> int:
    """Give the page size asked for by `name` (maxResults or pageSize), clamped to the method's cap."""
    raw = params.get(name)
    if raw in (None, ""):
        return settings.page_size(endpoint, None)
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name) from None
    if value < 1:
        raise invalid(name)
    return settings.page_size(endpoint, value)


def parse_time(name: str, raw: str) -> float:
    """Give an RFC 3339 timestamp with an offset as epoch seconds; 400 for anything else, as Google does."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(name, f"Bad Request: {name} is not an RFC 3339 timestamp") from None
    if value.tzinfo is None:
        raise invalid(name, f"Bad Request: {name} must carry a time zone offset, e.g. 2026-09-07T00:00:00Z")
    return value.timestamp()


def rfc3339(epoch: float) -> str:
    """Give epoch seconds as Google writes times: UTC with milliseconds and a Z."""
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )


# ---------------------------------------------------------------------------------- partial responses

FieldTree = dict[str, "FieldTree | None"]
_NAME = re.compile(r"\s*([A-Za-z0-9_*@.-]+)\s*")


def parse_fields(spec: str) -> FieldTree:
    """Give the tree of a `fields` selector such as "nextPageToken,files(id,owners/emailAddress)"."""
    tree, pos = _parse_list(spec, 0)
    if pos != len(spec):
        raise invalid("fields", f"Invalid field selection {spec}")
    return tree


def _parse_list(spec: str, pos: int) -> tuple[FieldTree, int]:
    """Give the tree of a comma-separated selection starting at `pos`, and where it ends."""
    tree: FieldTree = {}
    while True:
        path, pos = _parse_path(spec, pos)
        sub: FieldTree | None = None
        if spec.startswith("(", pos):
            sub, pos = _parse_list(spec, pos + 1)
            if not spec.startswith(")", pos):
                raise invalid("fields", f"Invalid field selection {spec}")
            pos += 1
        _merge_path(tree, path, sub)
        pos = _skip_ws(spec, pos)
        if not spec.startswith(",", pos):
            return tree, pos
        pos += 1


def _parse_path(spec: str, pos: int) -> tuple[list[str], int]:
    """Give the names of a slash path (`a/b/c`) starting at `pos`, and where it ends."""
    names = []
    while True:
        m = _NAME.match(spec, pos)
        if not m:
            raise invalid("fields", f"Invalid field selection {spec}")
        names.append(m.group(1))
        pos = m.end()
        if not spec.startswith("/", pos):
            return names, pos
        pos += 1


def _skip_ws(spec: str, pos: int) -> int:
    """Give the position of the next non-blank character."""
    while pos < len(spec) and spec[pos].isspace():
        pos += 1
    return pos


def _merge_path(tree: FieldTree, path: list[str], leaf: FieldTree | None) -> None:
    """Add `a/b/c(leaf)` to `tree`; a whole-object selection (None) wins over a narrower one."""
    node = tree
    for name in path[:-1]:
        child = node.get(name, {})
        if child is None:
            return
        node[name] = child
        node = child
    last = path[-1]
    if last in node and node[last] is None:
        return
    if leaf is None or last not in node:
        node[last] = leaf
    else:
        for k, v in leaf.items():
            _merge_path(node[last], [k], v)  # type: ignore[arg-type]


def select(value: Any, tree: FieldTree | None) -> Any:
    """Give the part of `value` that the field tree selects (lists are selected element by element)."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    out = dict(value) if "*" in tree else {}
    for key, sub in tree.items():
        if key != "*" and key in value:
            out[key] = select(value[key], sub)
    return out


def respond(
    head: dict[str, Any], key: str, items: list[str], tail: dict[str, Any], fields: str | None
) -> bytes:
    """Give the JSON body of a list answer, reduced to `fields` when the request names some."""
    if not fields:
        return splice(head, key, items, tail)
    whole = {**head, key: [json.loads(i) for i in items], **tail}
    return dump(select(whole, parse_fields(fields))).encode("utf-8")
