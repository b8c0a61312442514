"""Records and settings of live collection: what `collect_live` yields and reports, and how it is configured.

Secrets are `SecretStr` and the models hide their input in validation errors, so a token never reaches a
log line, a repr or an exception text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from collectors._resilience import BreakerPolicy, BreakerSnapshot, RetryPolicy, StatsSnapshot
from core.chunks import SourceName

SOURCES: tuple[SourceName, ...] = ("directory", "slack", "calendar", "drive")  # the order collect_live runs


OutcomeStatus = Literal["ok", "skipped_breaker_open", "failed"]


@dataclass(frozen=True)
class SourceOutcome:
    """How one source's collection went in one run, for the runs ledger and the flow's logs."""

    source: SourceName
    status: OutcomeStatus
    reason: str | None  # why it failed or was skipped; what failed when only some units did
    rows: dict[str, int]  # rows yielded per raw table
    stats: StatsSnapshot  # requests, retries, rate limits... of this run
    breaker: BreakerSnapshot  # the breaker after the run
    failed_units: tuple[str, ...] = ()  # channels or calendars that failed (the rest was collected)
    skipped_units: tuple[str, ...] = ()  # channels the credentials cannot read (not a member, not found)

    @property
    def retries(self) -> int:
        """Give the number of retried calls of this run."""
        return self.stats.retries

    def as_dict(self) -> dict[str, object]:
        """Give the outcome as plain JSON-able values."""
        return {
            "source": self.source,
            "status": self.status,
            "reason": self.reason,
            "rows": dict(self.rows),
            "requests": self.stats.requests,
            "retries": self.stats.retries,
            "rate_limited": self.stats.rate_limited,
            "transient_faults": self.stats.transient_faults,
            "failures": self.stats.failures,
            "short_circuited": self.stats.short_circuited,
            "waited_seconds": self.stats.waited_seconds,
            "breaker_state": self.breaker.state,
            "breaker_failures": self.breaker.fail_counter,
            "breaker_opened_at": self.breaker.opened_at.isoformat() if self.breaker.opened_at else None,
            "failed_units": list(self.failed_units),
            "skipped_units": list(self.skipped_units),
        }


# ---- settings -----------------------------------------------------------------------------------------

_SECRET_SAFE = ConfigDict(frozen=True, hide_input_in_errors=True, extra="forbid")


class SlackRates(BaseModel):
    """Client-side calls per minute for each Slack rate tier, and bursts.

    Slack counts a tier's limit per method (per workspace), so every method gets a bucket of its own at its
    tier's rate. The buckets run at `headroom` times the published rate: a call admitted on time by the
    client can still reach the server a few milliseconds early or late, and at exactly the published rate
    that jitter alone lands calls over a sliding-window limit, each 429 then costing a whole second.
    """

    model_config = _SECRET_SAFE

    tier1: float = Field(default=1, gt=0)
    tier2: float = Field(default=20, gt=0)
    tier3: float = Field(default=50, gt=0)
    tier4: float = Field(default=100, gt=0)
    burst: int = Field(default=1, ge=1)  # calls a bucket may save up
    headroom: float = Field(default=0.95, gt=0, le=1)  # share of the published rate the buckets use
    # Method -> tier; methods not listed are tier 3. Non-Marketplace apps: set tier3 to 1 and page_size to 15.
    method_tiers: dict[str, int] = Field(
        default_factory=lambda: {
            "users.list": 2,
            "conversations.list": 2,
            "conversations.history": 3,
            "conversations.replies": 3,
            "conversations.members": 4,
            "team.info": 3,
            "auth.test": 4,
        }
    )

    def per_minute(self, tier: int) -> float:
        """Give the published calls per minute of `tier` (1..4)."""
        return {1: self.tier1, 2: self.tier2, 3: self.tier3, 4: self.tier4}[tier]

    def client_per_minute(self, method: str) -> float:
        """Give the calls per minute the client allows itself for `method` (its tier's rate less headroom)."""
        return self.per_minute(self.method_tiers.get(method, 3)) * self.headroom


class SlackOptions(BaseModel):
    """What the Slack collector reads and how (no secrets)."""

    model_config = _SECRET_SAFE

    conversation_types: str = "public_channel,private_channel"  # add mpim,im when the token has the scopes
    page_size: int = Field(default=200, ge=1, le=999)  # `limit` of history and replies
    list_page_size: int = Field(
        default=200, ge=1, le=1000
    )  # `limit` of users.list, conversations.list, members
    thread_lookback_days: float = Field(default=7.0, ge=0)  # threads whose parent is this close to the newest
    history_days: float | None = Field(
        default=None, gt=0
    )  # first or full run: read this far back (None: all)
    workers: int = Field(default=4, ge=1, le=32)  # channels collected at once (sharing the tier buckets)
    member_channels_only: bool = True  # skip channels conversations.list says the token is not in
    fetch_members: bool = True  # conversations.members per channel (fills SLACK_CHANNELS.members)
    chunk_rows: int = Field(default=5000, ge=1)  # messages per chunk


class SlackConfig(BaseModel):
    """How to reach Slack: a bot or user token, the API base URL, limits, retries and the breaker."""

    model_config = _SECRET_SAFE

    token: SecretStr
    base_url: str = "https://slack.com/api/"
    timeout: float = Field(default=30.0, gt=0)
    rates: SlackRates = SlackRates()
    options: SlackOptions = SlackOptions()
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()

    @model_validator(mode="after")
    def _check(self) -> SlackConfig:
        if not self.token.get_secret_value().startswith(("xoxb-", "xoxp-", "xoxe.", "xoxa-")):
            raise ValueError("the Slack token must be a bot (xoxb-) or user (xoxp-) token")
        return self


GoogleAuthKind = Literal["service_account", "authorized_user", "bearer"]


class GoogleAuth(BaseModel):
    """Google credentials: a service account with domain-wide delegation (impersonating `subject`),
    OAuth user credentials (an authorized-user JSON with a refresh token), or a plain bearer token."""

    model_config = _SECRET_SAFE

    kind: GoogleAuthKind
    service_account_info: SecretStr | None = None  # the key file's JSON text
    service_account_file: Path | None = None
    subject: str | None = None  # the Workspace user the service account acts as
    authorized_user_info: SecretStr | None = None  # JSON with client_id, client_secret, refresh_token
    authorized_user_file: Path | None = None
    token: SecretStr | None = None  # bearer access token (sandbox, or a token minted elsewhere)

    @model_validator(mode="after")
    def _check(self) -> GoogleAuth:
        needs = {
            "service_account": (self.service_account_info, self.service_account_file),
            "authorized_user": (self.authorized_user_info, self.authorized_user_file),
            "bearer": (self.token,),
        }[self.kind]
        if sum(v is not None for v in needs) != 1:
            raise ValueError(f"Google auth kind {self.kind!r} needs exactly one of its credential fields")
        return self


class GoogleOptions(BaseModel):
    """What the Google collectors read and how (no secrets)."""

    model_config = _SECRET_SAFE

    calendar: bool = True
    drive: bool = True
    directory: bool = True
    calendar_ids: tuple[str, ...] | None = None  # read these calendars instead of calendarList.list
    calendar_workers: int = Field(default=4, ge=1, le=32)
    directory_customer: str = "my_customer"
    directory_domain: str | None = None  # list one domain instead of the whole customer
    page_size: int = Field(
        default=500, ge=1, le=2500
    )  # maxResults / pageSize, capped per method by the service
    chunk_rows: int = Field(default=5000, ge=1)


class GoogleConfig(BaseModel):
    """How to reach Google: credentials, an optional API endpoint (the sandbox), limits and retries."""

    model_config = _SECRET_SAFE

    auth: GoogleAuth
    api_endpoint: str | None = None  # None: the real Google endpoints from the discovery documents
    timeout: float = Field(default=30.0, gt=0)
    requests_per_minute: float = Field(default=600, gt=0)  # per service (Calendar, Drive, Directory)
    burst: int = Field(default=5, ge=1)
    options: GoogleOptions = GoogleOptions()
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()


class LiveConfig(BaseModel):
    """Which live sources to collect and how; a source left out is not collected."""

    model_config = _SECRET_SAFE

    slack: SlackConfig | None = None
    google: GoogleConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> LiveConfig:
        if self.slack is None and self.google is None:
            raise ValueError("configure at least one live source (slack or google)")
        return self
