"""For the CLI hostile-input tests: a published org to break, and a digest proving nothing changed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from checkpoints import StateStore
from flows import stages


def build_and_publish(root: Path) -> None:
    """Run every stage (no Prefect) over `root/ws` into `root/state.duckdb`; publish reports in `root/out`."""
    with StateStore(root / "state.duckdb") as store:
        run_id = store.start_run("incremental")
        stages.collect(store, root / "ws", run_id)
        stages.detect(store)
        stages.correlate_stage(store)
        stages.aggregate(store)
        stages.export(store, root / "out", run_id)


def digest(folder: Path) -> dict[str, str]:
    """Give the SHA-256 of every file under `folder` (symlinks by their target), to prove nothing changed.

    Run logs are left out: every run, a failed one too, adds its own `runs/<id>/run.log`."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.name == "run.log":
            continue
        if path.is_symlink():
            found[str(path.relative_to(folder))] = os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
