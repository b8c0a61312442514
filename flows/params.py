"""Flow parameters that are models (kept free of Prefect so the CLI starts fast)."""

from __future__ import annotations

from pydantic import BaseModel

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
