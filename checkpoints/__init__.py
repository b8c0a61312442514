"""The state store: raw tables, cursors, derived tables and the runs ledger in one DuckDB file."""

from checkpoints.models import RunRecord, StageStat
from checkpoints.store import StateStore

__all__ = ["RunRecord", "StageStat", "StateStore"]
