"""Settings of the sandbox API server: tokens, rate-limit tiers, page caps, injected and scripted faults.

Defaults behave like the real services at `time_scale=1`; every knob is a plain value so tests and
benchmarks build the exact server they need.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import ConfigurationError

# Endpoint names: Slack methods as Slack spells them, Google methods as `<api>.<resource>.<method>`.
SLACK_METHODS = (
    "auth.test",
    "team.info",
    "users.list",
    "conversations.list",
    "conversations.info",
    "conversations.members",
    "conversations.history",
    "conversations.replies",
)
GOOGLE_METHODS = (
    "calendar.calendarList.list",
    "calendar.events.list",
    "drive.files.list",
    "drive.changes.getStartPageToken",
    "drive.changes.list",
    "directory.users.list",
)
# Google's OAuth token endpoint (`/token`): service-account and refresh-token grants get `google_token`.
OAUTH_TOKEN = "oauth.token"
ENDPOINTS = (*SLACK_METHODS, *GOOGLE_METHODS, OAUTH_TOKEN)

# Slack's tiers in calls per minute (Tier 1 = 1+, 2 = 20+, 3 = 50+, 4 = 100+); `auth.test` is "special".
SLACK_TIER_CALLS = {1: 1, 2: 20, 3: 50, 4: 100}
SLACK_METHOD_TIERS = {
    "auth.test": 4,
    "team.info": 3,
    "users.list": 2,
    "conversations.list": 2,
    "conversations.info": 3,
    "conversations.members": 4,
    "conversations.history": 3,
    "conversations.replies": 3,
}
# Google quotas are per project and user and configurable in the console; these are the published defaults'
# order of magnitude per minute (Calendar 600, Drive 12,000, Admin SDK Directory 2,400).
GOOGLE_CALLS_PER_MINUTE = {
    "calendar.calendarList.list": 600,
    "calendar.events.list": 600,
    "drive.files.list": 12_000,
    "drive.changes.getStartPageToken": 12_000,
    "drive.changes.list": 12_000,
    "directory.users.list": 2_400,
}
DEFAULT_TIERS: dict[str, int] = {
    **{m: SLACK_TIER_CALLS[t] for m, t in SLACK_METHOD_TIERS.items()},
    **GOOGLE_CALLS_PER_MINUTE,
}

# Largest page per method: a larger `limit` / `maxResults` / `pageSize` is clamped, as the services do.
DEFAULT_PAGE_CAP: dict[str, int] = {
    "users.list": 1000,
    "conversations.list": 1000,
    "conversations.members": 1000,
    "conversations.history": 999,
    "conversations.replies": 999,
    "calendar.calendarList.list": 250,
    "calendar.events.list": 2500,
    "drive.files.list": 1000,
    "drive.changes.list": 1000,
    "directory.users.list": 500,
}
# Page size when the caller gives none (then clamped by the cap, so a cap of 15 also makes 15 the default).
DEFAULT_PAGE_SIZE: dict[str, int] = {
    "users.list": 1000,
    "conversations.list": 100,
    "conversations.members": 100,
    "conversations.history": 100,
    "conversations.replies": 1000,
    "calendar.calendarList.list": 100,
    "calendar.events.list": 250,
    "drive.files.list": 100,
    "drive.changes.list": 100,
    "directory.users.list": 100,
}


@dataclass(frozen=True)
class FaultSpec:
    """Faults injected into one endpoint: each request draws once from a seeded RNG.

    `drop_rate`, `error_rate` and `truncate_rate` are disjoint shares of requests (their sum is at most 1):
    a dropped request gets its socket closed without a response, an error gets a status from `statuses`
    (429 behaves like a rate limit, with `Retry-After`), a truncated one gets half its body then a close.
    `latency_s` delays every request of the endpoint.
    """

    error_rate: float = 0.0
    statuses: tuple[int, ...] = (500,)
    latency_s: float = 0.0
    truncate_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0

    def validate(self, endpoint: str) -> None:
        """Raise ConfigurationError naming the endpoint when a rate or status is out of range."""
        where = f"faults[{endpoint!r}]"
        for name in ("error_rate", "truncate_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"{where}.{name} is {value}", "give a share between 0 and 1")
        if self.error_rate + self.truncate_rate + self.drop_rate > 1.0 + 1e-9:
            raise ConfigurationError(
                f"{where}: error_rate + truncate_rate + drop_rate exceeds 1",
                "lower the rates so they sum to <= 1",
            )
        if self.latency_s < 0 or not math.isfinite(self.latency_s):
            raise ConfigurationError(
                f"{where}.latency_s is {self.latency_s}", "give a non-negative number of seconds"
            )
        if self.error_rate > 0 and not self.statuses:
            raise ConfigurationError(
                f"{where}.statuses is empty", "list the HTTP statuses to inject, e.g. (500, 503)"
            )
        bad = [s for s in self.statuses if not 400 <= s <= 599]
        if bad:
            raise ConfigurationError(
                f"{where}.statuses has {bad}", "use HTTP error statuses between 400 and 599"
            )


ScriptKind = Literal["error", "answer", "drop", "truncate", "delay"]
SCRIPT_KINDS: tuple[ScriptKind, ...] = ("error", "answer", "drop", "truncate", "delay")


@dataclass(frozen=True)
class ScriptedFault:
    """One scripted answer: the next request to its endpoint gets it, once, before any seeded fault.

    - `error`: `status` in the service's error shape; a 429 is a rate limit asking to wait `retry_after` s;
    - `answer`: exactly `status`, `body` (a dict or list is sent as JSON, a str as it is) and `headers`;
    - `drop`: the socket is closed without a response;
    - `truncate`: the normal answer's headers, full Content-Length and half its body, then a close;
    - `delay`: `delay_s` seconds of silence, then the normal answer.
    """

    kind: ScriptKind = "error"
    status: int = 500
    retry_after: float = 1.0
    body: dict[str, Any] | list[Any] | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @classmethod
    def error(cls, status: int = 500, retry_after: float = 1.0) -> ScriptedFault:
        """Give an error answer with `status`, shaped as the endpoint's service shapes it."""
        return cls("error", status, retry_after=retry_after)

    @classmethod
    def answer(
        cls,
        status: int,
        body: dict[str, Any] | list[Any] | str,
        headers: Mapping[str, str] | None = None,
    ) -> ScriptedFault:
        """Give an answer sent exactly as written (an `ok: false` at HTTP 200, an HTML page, a bad token)."""
        return cls("answer", status, body=body, headers=dict(headers or {}))

    @classmethod
    def drop(cls) -> ScriptedFault:
        """Give a closed connection without a response."""
        return cls("drop")

    @classmethod
    def truncate(cls) -> ScriptedFault:
        """Give the normal answer cut in half after announcing its full length."""
        return cls("truncate")

    @classmethod
    def delay(cls, seconds: float) -> ScriptedFault:
        """Give the normal answer after `seconds` of silence (longer than a client's timeout: a timeout)."""
        return cls("delay", delay_s=seconds)

    def validate(self, endpoint: str) -> None:
        """Raise ConfigurationError naming the endpoint when the kind, status or a time is out of range."""
        where = f"scripted[{endpoint!r}]"
        if self.kind not in SCRIPT_KINDS:
            raise ConfigurationError(f"{where} has kind {self.kind!r}", f"use one of {SCRIPT_KINDS}")
        lowest = 100 if self.kind == "answer" else 400
        if not lowest <= self.status <= 599:
            raise ConfigurationError(
                f"{where} has status {self.status}", f"use an HTTP status between {lowest} and 599"
            )
        for name in ("retry_after", "delay_s"):
            value = getattr(self, name)
            if value < 0 or not math.isfinite(value):
                raise ConfigurationError(
                    f"{where}.{name} is {value}", "give a non-negative number of seconds"
                )


def check_scripted(endpoint: str, answers: Sequence[ScriptedFault]) -> None:
    """Raise ConfigurationError unless `endpoint` is known and every answer scripted for it is valid."""
    if endpoint not in ENDPOINTS:
        raise ConfigurationError(
            f"scripted faults name an unknown endpoint {endpoint!r}", f"use one of {ENDPOINTS}"
        )
    for answer in answers:
        if not isinstance(answer, ScriptedFault):
            raise ConfigurationError(
                f"scripted[{endpoint!r}] holds {answer!r}",
                "give ScriptedFault values, e.g. ScriptedFault.drop()",
            )
        answer.validate(endpoint)


@dataclass
class ServerSettings:
    """Every knob of the sandbox server; the defaults behave like the real services at scale 1.

    `tiers` and `page_cap` are merged over the defaults, so `tiers={"conversations.history": 1}` changes
    that method only. `time_scale` shrinks every rate-limit window to `60 / time_scale` seconds.
    `scripted` gives each endpoint an exact sequence of answers, served before its seeded `faults`.
    """

    slack_token: str = "xoxb-sandbox"
    google_token: str = "ya29.sandbox"
    time_scale: float = 1.0
    rate_limits: bool = True
    tiers: dict[str, int] = field(default_factory=dict)
    page_cap: dict[str, int] = field(default_factory=dict)
    faults: dict[str, FaultSpec] = field(default_factory=dict)
    scripted: dict[str, Sequence[ScriptedFault]] = field(default_factory=dict)
    bot_user_id: str = "USANDBOXBOT"  # the token's bot user (auth.test); member of every public channel
    bot_id: str = "BSANDBOX01"
    # Public channels (ids) the app has not joined: listed with `is_member: false`, not readable.
    unjoined_channels: tuple[str, ...] = ()
    google_user: str | None = None  # the account `primary` and calendarList's owner entry refer to
    google_customer_id: str = "C0sandbox1"
    google_rate_limit_status: int = 429  # Google answers rate limits with 429 or 403 rateLimitExceeded
    max_cached_messages: int = 500_000  # Slack messages kept indexed before least-recent channels are evicted
    request_log_size: int = (
        10_000  # requests the log keeps (the newest), so a long-running server stays small
    )

    def __post_init__(self) -> None:
        self.tiers = {**DEFAULT_TIERS, **self.tiers}
        self.page_cap = {**DEFAULT_PAGE_CAP, **self.page_cap}
        self.validate()

    @classmethod
    def non_marketplace(cls, **overrides: Any) -> ServerSettings:
        """Give settings for a commercially distributed non-Marketplace Slack app: 1 call/min, 15 a page."""
        tiers = {"conversations.history": 1, "conversations.replies": 1, **overrides.pop("tiers", {})}
        caps = {"conversations.history": 15, "conversations.replies": 15, **overrides.pop("page_cap", {})}
        return cls(tiers=tiers, page_cap=caps, **overrides)

    @property
    def window_s(self) -> float:
        """Give the length of a rate-limit window in seconds."""
        return 60.0 / self.time_scale

    def page_size(self, endpoint: str, requested: int | None) -> int:
        """Give the page size to serve: the request's, else the method's default, clamped to the cap."""
        cap = self.page_cap.get(endpoint, 1000)
        size = requested if requested else DEFAULT_PAGE_SIZE.get(endpoint, cap)
        return max(1, min(size, cap))

    def fault_for(self, endpoint: str) -> FaultSpec | None:
        """Give the fault spec that applies to `endpoint` (its own, else the `*` spec), if any."""
        return self.faults.get(endpoint) or self.faults.get("*")

    def validate(self) -> None:
        """Raise ConfigurationError naming the first setting that is out of range."""
        if not self.slack_token or not self.google_token:
            raise ConfigurationError(
                "slack_token and google_token must not be empty", "give the sandbox tokens"
            )
        if not self.time_scale > 0 or not math.isfinite(self.time_scale):
            raise ConfigurationError(f"time_scale is {self.time_scale}", "give a positive factor, e.g. 60")
        for name, table in (("tiers", self.tiers), ("page_cap", self.page_cap)):
            for method, value in table.items():
                if not isinstance(value, int) or value < 1:
                    raise ConfigurationError(f"{name}[{method!r}] is {value!r}", "give a whole number >= 1")
        self._validate_faults()
        if self.google_rate_limit_status not in (403, 429):
            raise ConfigurationError(
                f"google_rate_limit_status is {self.google_rate_limit_status}",
                "use 403 or 429 as Google does",
            )
        if self.max_cached_messages < 1:
            raise ConfigurationError("max_cached_messages must be >= 1", "give a message count, e.g. 500000")
        if self.request_log_size < 0:
            raise ConfigurationError("request_log_size must be >= 0", "give a number of requests, e.g. 10000")

    def _validate_faults(self) -> None:
        """Raise ConfigurationError naming the first fault spec or scripted answer that is invalid."""
        unknown = sorted(k for k in self.faults if k != "*" and k not in ENDPOINTS)
        if unknown:
            raise ConfigurationError(
                f"faults name unknown endpoints {unknown}", f"use '*' or one of {ENDPOINTS}"
            )
        for endpoint, spec in self.faults.items():
            spec.validate(endpoint)
        for endpoint, answers in self.scripted.items():
            check_scripted(endpoint, answers)
