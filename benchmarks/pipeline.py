"""Run the pipeline's stages once on a workspace and print their figures as JSON (a `make bench` child).

The stages run as plain functions, exactly as the Prefect tasks call them, so the figures are the
pipeline's own cost; `benchmarks/run.py` times the Prefect flow separately.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from checkpoints import StateStore
from flows import stages


def main(workspace: str, state: str, out: str) -> None:
    started = time.perf_counter()
    with StateStore(Path(state)) as store:
        run_id = store.start_run("bench")
        stats = [
            stages.collect(store, Path(workspace), run_id),
            stages.detect(store),
            stages.correlate_stage(store),
            stages.aggregate(store),
        ]
        stats.append(stages.export(store, Path(out), run_id)[0])
        meetings = store.count("meeting_records")
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - started,
                "meetings": meetings,
                "stages": [s.model_dump() for s in stats],
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
