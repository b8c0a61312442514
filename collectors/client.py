"""The one client protocol every collector talks to: a call by method name, giving the decoded JSON body.

The Slack Web API client, the Google discovery clients, the guard that wraps them (rate limit, retry,
breaker) and test doubles all satisfy it, so pagination and collection code never know which is behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ApiClient(Protocol):
    """An API client: `call("conversations.history", {...})` or `call("calendar.events.list", {...})`."""

    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]: ...
