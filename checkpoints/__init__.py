"""The state store: raw tables, cursors, derived tables and the runs ledger in one DuckDB file."""

from checkpoints.models import RunRecord, SourceStatus, StageResources, StageStat
from checkpoints.store import StateStore, discard, prepare_refresh, swap_in

__all__ = [
    "RunRecord",
    "SourceStatus",
    "StageResources",
    "StageStat",
    "StateStore",
    "discard",
    "prepare_refresh",
    "swap_in",
]
