"""One settings object, read at the edge from CLI options and MEETINTEL_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from collectors.errors import ConfigurationError


class Settings(BaseSettings):
    """Where the pipeline reads, writes and keeps its state."""

    model_config = SettingsConfigDict(env_prefix="MEETINTEL_", extra="ignore")

    workspace: Path | None = Field(default=None, description="workspace snapshot folder")
    out: Path = Field(default=Path("out"), description="report folder")
    state: Path = Field(default=Path("meetintel-state.duckdb"), description="state DuckDB file")

    @classmethod
    def from_cli(cls, **options: Path | None) -> Settings:
        """Give settings from the environment, overridden by the CLI options that were given."""
        given = {k: v for k, v in options.items() if v is not None}
        return cls(**given)

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
