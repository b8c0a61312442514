"""Records the state store keeps about runs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class StageStat(BaseModel):
    """How one pipeline stage went: rows in and out, and its wall time."""

    stage: str
    seconds: float
    rows_in: int = 0
    rows_out: int = 0
    skipped: bool = False
    note: str = ""
    by_table: dict[str, int] = Field(default_factory=dict)  # rows per raw table, for the collect stage

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds > 0 else 0.0


class RunRecord(BaseModel):
    """One entry of the runs ledger."""

    run_id: str
    mode: str = "incremental"
    status: str = "running"  # running | completed | partial | failed
    started_at: datetime | None = None
    ended_at: datetime | None = None
    rows_read: dict[str, int] = Field(default_factory=dict)
    rows_written: dict[str, int] = Field(default_factory=dict)
    stages: list[StageStat] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
