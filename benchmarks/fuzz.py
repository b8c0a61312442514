"""Fuzz every offline parser with a large hypothesis budget; print per parser how inputs ended, as JSON.

    .venv/bin/python benchmarks/fuzz.py [--examples 2000] [--seed 0]

Each parser gets `--examples` random inputs (structured files, truncated ones and raw bytes; see
tests/collectors/fuzz_targets.py). An input is `parsed`, `refused` (a MeetintelError naming the file) or a
`crash` (anything else, listed with the input that caused it). Exit status 1 when any parser crashed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds the fuzz targets

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from tests.collectors.fuzz_targets import TARGETS, Target, check  # noqa: E402


def fuzz(target: Target, examples: int, rng_seed: int) -> dict[str, object]:
    """Give the outcome counts of `examples` inputs to one parser, and the first crashes seen."""
    counts = {"parsed": 0, "refused": 0, "crash": 0}
    crashes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="meetintel-fuzz-") as folder:

        @seed(rng_seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(target.contents)
        def run(content: bytes) -> None:
            try:
                counts[check(target, Path(folder), content)] += 1
            except Exception as exc:  # noqa: BLE001 - a crash is what this counts
                counts["crash"] += 1
                if len(crashes) < 5:
                    crashes.append(f"{type(exc).__name__}: {str(exc)[:160]} <- {content[:80]!r}")

        started = time.perf_counter()
        run()
    return {
        "parser": target.name,
        **counts,
        "seconds": round(time.perf_counter() - started, 1),
        "crashes": crashes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # icalendar warns about guessed time zones on every odd TZID
    results = [fuzz(t, args.examples, args.seed) for t in TARGETS]
    print(json.dumps(results, indent=2))
    sys.exit(1 if any(r["crash"] for r in results) else 0)


if __name__ == "__main__":
    main()
