"""Run the pipeline's stages once on a workspace and print their figures as JSON (a `make bench` child).

The stages run as plain functions, exactly as the Prefect tasks call them, so the figures are the
pipeline's own cost; `benchmarks/run.py` times the Prefect flow separately. A thread samples this
process's RSS every 20 ms and keeps the peak of each stage, so the figures say which stage holds memory.

    python benchmarks/pipeline.py WORKSPACE STATE OUT [collect]   (collect: that stage alone)

A stage that fails ends the run: the figures then name it and its error beside the stages before it, and
the process exits with status 1.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from pathlib import Path

import psutil

from checkpoints import StateStore
from flows import stages


class StagePeaks:
    """This process's peak RSS (MB) during each stage, sampled in a thread."""

    def __init__(self) -> None:
        self.current = "start"
        self.peaks: dict[str, float] = {}
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self._proc.memory_info().rss / 2**20
            self.peaks[self.current] = max(self.peaks.get(self.current, 0.0), rss)
            self._stop.wait(0.02)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {k: round(v, 1) for k, v in self.peaks.items()}


def main(workspace: str, state: str, out: str, only: str = "") -> None:
    """Run every stage (or only the one named `only`) on a fresh state and print the figures."""
    peaks = StagePeaks()
    started = time.perf_counter()
    with StateStore(Path(state)) as store:
        run_id = store.start_run("bench")
        steps = [
            ("collect", lambda: stages.collect(store, Path(workspace), run_id)),
            ("detect", lambda: stages.detect(store)),
            ("correlate", lambda: stages.correlate_stage(store)),
            ("aggregate", lambda: stages.aggregate(store)),
            ("export", lambda: stages.export(store, Path(out), run_id)[0]),
        ]
        stats = []
        failed = None
        for name, step in steps if not only else [s for s in steps if s[0] == only]:
            peaks.current = name
            try:
                stats.append(step())
            except Exception as exc:  # a benchmark reports what failed where, after what it cost so far
                traceback.print_exc()
                failed = {
                    "stage": name,
                    "seconds": time.perf_counter() - started - sum(s.seconds for s in stats),
                    "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                }
                break
        peaks.current = "end"
        meetings = store.count("meeting_records") if store.has_table("meeting_records") else 0
    figures = {
        "wall": time.perf_counter() - started,
        "meetings": meetings,
        "stages": [s.model_dump() for s in stats],
        "stage_peak_rss_mb": peaks.stop(),
    }
    print(json.dumps(figures | ({"failed": failed} if failed else {})))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main(*sys.argv[1:5])
