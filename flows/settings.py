"""One settings object, read at the edge from CLI options, MEETINTEL_* environment variables and the profiles
of meetintel.toml (flows.profiles)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from collectors import InputBounds
from core.errors import ConfigurationError

if TYPE_CHECKING:  # the live models load with the API clients' resilience code: only live runs import them
    from collectors import BreakerPolicy, GoogleConfig, LiveConfig, RetryPolicy, SlackConfig
    from flows.ops import Policy


class Settings(BaseSettings):
    """Where the pipeline reads, writes and keeps its state, and how it reaches live APIs.

    Tokens come only from the environment or Prefect Secret blocks, never from command-line options
    (which end up in shell history and process listings) and never from flow parameters (which the
    Prefect API stores).
    """

    model_config = SettingsConfigDict(env_prefix="MEETINTEL_", extra="ignore", hide_input_in_errors=True)

    workspace: Path | None = Field(default=None, description="workspace snapshot folder")
    out: Path = Field(default=Path("out"), description="report folder")
    state: Path = Field(default=Path("meetintel-state.duckdb"), description="state DuckDB file")
    # Where raw tables go as a partitioned Parquet dataset: a folder or s3://bucket/prefix (None: in the
    # state file). An S3-compatible store's endpoint (host:port or http(s)://host:port) comes separately;
    # its keys from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables.
    storage: str | None = None
    s3_endpoint: str | None = None

    report_tz: str = "UTC"  # time zone of dates in the Excel and HTML reports
    keep_runs: int | None = Field(default=20, ge=1)  # report runs kept under out/runs/
    keep_days: int | None = Field(default=None, ge=1)  # and/or drop runs older than this

    slack_token: SecretStr | None = None
    slack_token_block: str | None = None  # name of a Prefect Secret block holding the Slack token
    slack_base_url: str = "https://slack.com/api/"
    slack_tier2_per_minute: float = Field(default=20, gt=0)
    slack_tier3_per_minute: float = Field(default=50, gt=0)
    slack_rate_headroom: float = Field(default=0.95, gt=0, le=1)  # share of those rates the client uses

    google_token: SecretStr | None = None  # a bearer access token (the sandbox, or minted elsewhere)
    google_token_block: str | None = None
    google_service_account_file: Path | None = None
    google_subject: str | None = None  # the Workspace user a service account impersonates
    google_credentials_file: Path | None = None  # OAuth authorized-user JSON with a refresh token
    google_api_endpoint: str | None = None

    retry_attempts: int = Field(default=5, ge=1, le=20)  # attempts per API call, the first included
    retry_base_delay: float = Field(default=1.0, ge=0)  # seconds; backoff doubles from here
    breaker_fail_max: int = Field(default=5, ge=1)  # calls still failing after retries that open a breaker
    breaker_reset_seconds: float = Field(default=300, ge=0)  # how long an open breaker skips its source

    # Bounds on what the offline readers expand and extract (collectors.InputBounds says what each does);
    # an error or quarantine note names the setting when one is hit.
    ics_horizon_days: int = Field(default=InputBounds.ics_horizon_days, ge=0)
    ics_max_instances: int = Field(default=InputBounds.ics_max_instances, ge=1)
    zip_max_bytes: int = Field(default=InputBounds.zip_max_bytes, ge=1)
    zip_max_entry_bytes: int = Field(default=InputBounds.zip_max_entry_bytes, ge=1)
    zip_max_entries: int = Field(default=InputBounds.zip_max_entries, ge=1)
    zip_max_ratio: int = Field(default=InputBounds.zip_max_ratio, ge=1)
    max_text_chars: int = Field(default=InputBounds.max_text_chars, ge=1)
    max_title_chars: int = Field(default=InputBounds.max_title_chars, ge=1)

    # The monitoring service (`meetintel serve`) and its alerts.
    slack_signing_secret: SecretStr | None = None  # the Slack app's signing secret, for POST /slack/events
    api_tokens_file: Path | None = None  # SHA-256 hashes of the API's bearer tokens (`meetintel token`)
    serve_host: str = "127.0.0.1"  # loopback unless told otherwise
    serve_port: int = Field(default=8765, ge=0, le=65535)
    serve_refresh_seconds: float = Field(default=2.0, gt=0)  # how often the service reads the figures again
    pseudonym_salt: SecretStr | None = None  # analysts' pseudonyms; the exports' MEETINTEL_PSEUDONYM_SALT
    deployment_incremental: str = "meeting_intelligence/incremental-hourly"  # what POST /api/runs starts
    deployment_full_refresh: str = "meeting_intelligence/full-refresh-weekly"
    run_interval_minutes: float = Field(default=60, gt=0)  # the schedule: how often a run is expected
    health_stale_runs: float = Field(default=2, gt=0)  # last run older than this many intervals: yellow
    health_dead_runs: float = Field(default=6, gt=0)  # ...this many: red
    health_disk_yellow_mb: float = Field(default=2048, ge=0)  # free space under --out and the state
    health_disk_red_mb: float = Field(default=512, ge=0)
    health_memory_yellow_percent: float = Field(default=85, ge=0, le=100)
    health_memory_red_percent: float = Field(default=95, ge=0, le=100)
    alert_webhook_url: str | None = None  # alerts are POSTed here as JSON
    alert_block: str | None = None  # or sent through this Prefect notification block
    alert_partial_runs: int = Field(default=3, ge=1)  # partial runs in a row that raise an alert
    alert_error_rate: float = Field(default=0.05, ge=0, le=1)  # quarantined share of a run's rows read
    alert_breaker_open_minutes: float = Field(default=60, ge=0)
    alert_disk_free_mb: float = Field(default=1024, ge=0)
    trend_runs: int = Field(default=20, ge=3, le=50)  # runs the trends and anomaly flags look at

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Options, then the environment, then the profile and [default] of meetintel.toml."""
        from flows.profiles import ProfileSource

        return (
            init_settings,
            env_settings,
            dotenv_settings,
            ProfileSource(settings_cls),
            file_secret_settings,
        )

    def policy(self) -> Policy:
        """Give the health and alert thresholds (the MEETINTEL_HEALTH_* and MEETINTEL_ALERT_* settings)."""
        from flows.ops import Policy

        return Policy(
            run_interval_minutes=self.run_interval_minutes,
            stale_factor=self.health_stale_runs,
            dead_factor=self.health_dead_runs,
            disk_yellow_mb=self.health_disk_yellow_mb,
            disk_red_mb=self.health_disk_red_mb,
            memory_yellow_percent=self.health_memory_yellow_percent,
            memory_red_percent=self.health_memory_red_percent,
            partial_runs=self.alert_partial_runs,
            error_rate=self.alert_error_rate,
            breaker_open_minutes=self.alert_breaker_open_minutes,
            disk_free_mb=self.alert_disk_free_mb,
            trend_runs=self.trend_runs,
        )

    @field_validator("report_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Refuse an unknown time zone now, not after collection when the reports are written."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin"
            ) from exc
        return value

    @classmethod
    def from_cli(cls, **options: object) -> Settings:
        """Give settings from the environment, overridden by the CLI options that were given."""
        given = {k: v for k, v in options.items() if v is not None}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise invalid_setting(exc, given, set(cls.model_fields)) from exc

    def input_bounds(self) -> InputBounds:
        """Give the bounds the offline readers keep (the MEETINTEL_ICS_*, _ZIP_* and _MAX_* settings)."""
        return InputBounds(**{f.name: getattr(self, f.name) for f in dataclasses.fields(InputBounds)})

    def require_workspace(self) -> Path:
        """Give the workspace folder, or say how to set it."""
        if self.workspace is None:
            raise ConfigurationError("no workspace given", "pass --workspace DIR or set MEETINTEL_WORKSPACE")
        if not self.workspace.is_dir() and self.workspace.suffix != ".zip":
            raise ConfigurationError(
                f"workspace {self.workspace} is not a folder",
                "pass a folder holding slack/ and google/ (e.g. one made by `meetintel sandbox generate`)",
            )
        return self.workspace

    def live_config(self) -> LiveConfig:
        """Give the live-collection config for every source that has credentials."""
        from collectors import LiveConfig

        slack = self._slack()
        google = self._google()
        if slack is None and google is None:
            raise ConfigurationError(
                "live collection needs credentials and none are set",
                "set MEETINTEL_SLACK_TOKEN and/or MEETINTEL_GOOGLE_SERVICE_ACCOUNT_FILE with "
                "MEETINTEL_GOOGLE_SUBJECT (or MEETINTEL_GOOGLE_CREDENTIALS_FILE, MEETINTEL_GOOGLE_TOKEN)",
            )
        try:
            return LiveConfig(slack=slack, google=google)
        except ValidationError as exc:
            raise ConfigurationError(
                f"live settings are invalid: {exc.errors()[0]['msg']}",
                "check the MEETINTEL_SLACK_* and MEETINTEL_GOOGLE_* settings",
            ) from exc

    def _slack(self) -> SlackConfig | None:
        from collectors import SlackConfig, SlackRates

        token = self.slack_token or _secret_block(self.slack_token_block)
        if token is None:
            return None
        rates = SlackRates(
            tier2=self.slack_tier2_per_minute,
            tier3=self.slack_tier3_per_minute,
            headroom=self.slack_rate_headroom,
        )
        try:
            return SlackConfig(
                token=token,
                base_url=self.slack_base_url,
                rates=rates,
                retry=self._retry(),
                breaker=self._breaker(),
            )
        except ValidationError as exc:
            raise ConfigurationError(
                f"MEETINTEL_SLACK_TOKEN is not usable: {exc.errors()[0]['msg']}",
                "use a bot (xoxb-) or user (xoxp-) token of the Slack app",
            ) from exc

    def _google(self) -> GoogleConfig | None:
        from collectors import GoogleAuth, GoogleConfig

        token = self.google_token or _secret_block(self.google_token_block)
        if self.google_service_account_file is not None:
            auth = GoogleAuth(
                kind="service_account",
                service_account_file=self.google_service_account_file,
                subject=self.google_subject,
            )
        elif self.google_credentials_file is not None:
            auth = GoogleAuth(kind="authorized_user", authorized_user_file=self.google_credentials_file)
        elif token is not None:
            auth = GoogleAuth(kind="bearer", token=token)
        else:
            return None
        return GoogleConfig(
            auth=auth, api_endpoint=self.google_api_endpoint, retry=self._retry(), breaker=self._breaker()
        )

    def _retry(self) -> RetryPolicy:
        from collectors import RetryPolicy

        return RetryPolicy(max_attempts=self.retry_attempts, base_delay=self.retry_base_delay)

    def _breaker(self) -> BreakerPolicy:
        from collectors import BreakerPolicy

        return BreakerPolicy(fail_max=self.breaker_fail_max, reset_timeout=self.breaker_reset_seconds)


def invalid_setting(exc: ValidationError, given: dict[str, object], known: set[str]) -> ConfigurationError:
    """Say which setting is invalid, where its value came from (option, variable, file and table) and what
    it may be."""
    from flows.profiles import origin_of

    first = exc.errors()[0]
    key = str(first["loc"][0]) if first["loc"] else ""
    if key not in known:
        return ConfigurationError(f"settings are invalid: {first['msg']}", "fix or unset the setting")
    where = origin_of(key, given, known)
    if where == "--" + key.replace("_", "-"):
        place = f"option {where}"
    elif where.startswith("MEETINTEL_"):
        place = f"setting {where}"
    else:
        place = f"setting {key} in {where}"
    return ConfigurationError(
        f"{place} is invalid: {first['msg']}", f"fix or unset it; it takes {_allowed(key)}"
    )


_KINDS: dict[object, str] = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}


def _allowed(key: str) -> str:
    """Give the values setting `key` takes, in words ("a whole number >= 1, or nothing")."""
    f = Settings.model_fields[key]
    args = get_args(f.annotation) or (f.annotation,)
    names = [_KINDS.get(a, getattr(a, "__name__", repr(a))) for a in args if a is not type(None)]
    bounds = [
        f"{sign} {getattr(m, attr)}"
        for m in f.metadata
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if getattr(m, attr, None) is not None
    ]
    text = " or ".join(names) + (" " + " and ".join(bounds) if bounds else "")
    return text + (", or nothing" if type(None) in args else "")


def _secret_block(name: str | None) -> SecretStr | None:
    """Give the value of a Prefect Secret block, or None when no block is named."""
    if not name:
        return None
    from prefect.blocks.system import Secret

    try:
        block = cast(Secret, Secret.load(name))  # sync call: load() returns the block, not a coroutine
        return SecretStr(str(block.get()))
    except ValueError as exc:
        raise ConfigurationError(
            f"Prefect Secret block {name!r} was not found",
            "create it in the Prefect UI or with `Secret(value=...).save(name)`",
        ) from exc
