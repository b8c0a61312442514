"""The state store: raw tables, cursors, derived tables and the runs ledger in one DuckDB file.

Names load on first use (`core.lazy`): `meetintel status` reads the ledger through `checkpoints.ledger`
and the run records without importing the store, its Parquet dataset or Arrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_names

if TYPE_CHECKING:
    from checkpoints.models import RunRecord, SourceStatus, StageResources, StageStat
    from checkpoints.store import StateStore, discard, prepare_refresh, swap_in

_HOMES: dict[str, tuple[str, ...]] = {
    "checkpoints.models": ("RunRecord", "SourceStatus", "StageResources", "StageStat"),
    "checkpoints.store": ("StateStore", "discard", "prepare_refresh", "swap_in"),
}
__getattr__, __dir__ = lazy_names(__name__, globals(), _HOMES)

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
