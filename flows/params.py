"""Flow parameters that are models (kept free of Prefect so the CLI starts fast)."""

from __future__ import annotations

import hashlib
import os

from pydantic import BaseModel

from core.errors import ConfigurationError
from flows.settings import Settings


class LiveEndpoints(BaseModel):
    """Where the live APIs are. No secrets here: flow parameters are stored by the Prefect API."""

    enabled: bool = False
    slack_base_url: str | None = None
    google_api_endpoint: str | None = None

    def settings(self) -> Settings:
        """Give settings from the environment with these endpoints applied."""
        return Settings.from_cli(
            slack_base_url=self.slack_base_url, google_api_endpoint=self.google_api_endpoint
        )


class ExportOptions(BaseModel):
    """How reports are written and kept: the time zone of Excel/HTML dates and the retention policy."""

    tz: str = "UTC"
    keep_runs: int | None = 20
    keep_days: int | None = None
    pseudonymise: bool = False  # salted hashes for people (email domain kept), names dropped
    salt_env: str = "MEETINTEL_PSEUDONYM_SALT"  # the variable holding the salt: never the salt itself
    redact_text: bool = False  # replace message text in reports with [redacted]

    def privacy_tag(self) -> str:
        """Give a short tag of the privacy mode, for the export's version marker."""
        if not self.pseudonymise:
            return ""
        digest = hashlib.sha256(self.salt().encode()).hexdigest()[:8]
        return f":pseudonymised-{digest}" + (":redacted" if self.redact_text else "")

    def salt(self) -> str:
        """Give the pseudonymisation salt from its environment variable, or say how to set it."""
        value = os.environ.get(self.salt_env, "")
        if not value:
            raise ConfigurationError(
                f"pseudonymised export needs a salt and {self.salt_env} is not set",
                f"set {self.salt_env} to a secret of at least 16 characters and keep it for later runs",
            )
        return value
