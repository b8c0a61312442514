"""Records the state store keeps about runs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


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


class SourceStatus(BaseModel):
    """How one live source went in a run: its outcome, traffic, retries and circuit breaker."""

    model_config = ConfigDict(extra="ignore")

    source: str
    status: str  # ok | skipped_breaker_open | failed
    reason: str | None = None
    rows: dict[str, int] = Field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_seconds: float = 0.0
    breaker_state: str = "closed"
    breaker_failures: int = 0
    failed_units: list[str] = Field(default_factory=list)
    skipped_units: list[str] = Field(default_factory=list)


class StageResources(BaseModel):
    """What one stage used of the machine, sampled with psutil while it ran (the process tree's)."""

    cpu_percent_peak: float = 0.0  # of one core; 200 means two cores busy
    rss_peak_bytes: int = 0
    disk_free_min_bytes: int = 0  # the least free space seen under the report folder and the state
    net_sent_bytes: int = 0  # the machine's network counters over the stage
    net_recv_bytes: int = 0
    samples: int = 0


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
    sources: list[SourceStatus] = Field(default_factory=list)  # live runs only
    error_classes: list[str] = Field(default_factory=list)  # the class of each of `errors`, in order
    resources: dict[str, StageResources] = Field(default_factory=dict)  # by stage
