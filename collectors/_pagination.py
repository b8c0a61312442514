"""Pagination, one helper per API style; each refuses to loop (a token seen twice raises DataError).

Slack pages with `cursor` / `response_metadata.next_cursor`; Google with `pageToken` / `nextPageToken`
(Drive's changes.list starts from a saved page token and pages with the same parameter).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from collectors.client import ApiClient
from core.errors import DataError

_LOOP_HINT = "the service repeated a page token; re-run later, and report it if it persists"


def _shown(token: str) -> str:
    """Give a page token shortened for messages (tokens can be long opaque strings)."""
    return token if len(token) <= 24 else f"{token[:20]}..."


def slack_pages(api: ApiClient, method: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every page of a cursor-paginated Slack method, following `response_metadata.next_cursor`."""
    seen: set[str] = set()
    cursor = ""
    while True:
        page = api.call(method, {**params, "cursor": cursor} if cursor else dict(params))
        yield page
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return
        if cursor in seen:
            raise DataError(
                f"Slack {method} ({_describe(params)}) gave the cursor {_shown(cursor)} twice", _LOOP_HINT
            )
        seen.add(cursor)


def google_pages(
    api: ApiClient, method: str, params: Mapping[str, Any], first_token: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield every page of a Google list method, following `nextPageToken` (from `first_token` if given)."""
    seen: set[str] = {first_token} if first_token else set()
    token = first_token
    while True:
        page = api.call(method, {**params, "pageToken": token} if token else dict(params))
        yield page
        token = page.get("nextPageToken") or None
        if token is None:
            return
        if token in seen:
            raise DataError(
                f"Google {method} ({_describe(params)}) gave the page token {_shown(token)} twice", _LOOP_HINT
            )
        seen.add(token)


def _describe(params: Mapping[str, Any]) -> str:
    """Give the identifying parameters of a call for messages (channel, calendar...), never tokens."""
    keys = ("channel", "ts", "calendarId", "customer", "domain")
    shown = [f"{k}={params[k]}" for k in keys if k in params]
    return ", ".join(shown) or "no parameters"
