"""What `create_app` needs to know: paths, tokens, thresholds and where alerts go (built from Settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from flows.ops import Policy


class ServiceConfig(BaseModel):
    """The service's configuration; `meetintel serve` builds it from the settings and its options."""

    state: Path
    out: Path
    tokens_file: Path | None = None  # MEETINTEL_API_TOKENS_FILE; None: every authenticated route answers 401
    slack_signing_secret: SecretStr | None = None
    policy: Policy = Field(default_factory=Policy)
    refresh_seconds: float = 2.0  # how often the figures are read again (and alerts evaluated)
    pseudonym_salt: SecretStr | None = None  # MEETINTEL_PSEUDONYM_SALT; a random one per process when None
    prefect_api_url: str | None = None  # PREFECT_API_URL; None: no server to check or start runs on
    deployment: str = "meeting_intelligence/incremental-hourly"
    full_refresh_deployment: str = "meeting_intelligence/full-refresh-weekly"
    alert_webhook_url: str | None = None  # alerts are POSTed here as JSON
    alert_block: str | None = None  # or sent through this Prefect notification block
    max_body_bytes: int = 64 * 1024
    cors_origins: list[str] = Field(default_factory=list)  # empty: CORS off (no cross-origin reads)
