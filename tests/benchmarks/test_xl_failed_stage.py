"""A size whose stages fail (XL over the memory limit) is a figure in BENCHMARKS.md, not the run's end."""

from __future__ import annotations

from pathlib import Path

from benchmarks._measure import Measured, run_child
from benchmarks.run import render


def _stage(name: str, seconds: float) -> dict[str, object]:
    return {"stage": name, "seconds": seconds, "rows_in": 10, "rows_out": 5, "skipped": False, "note": ""}


def _size(size: str, people_days: list[int], wall: float, failed: dict[str, object] | None) -> dict:
    output: dict[str, object] = {
        "stages": [_stage("collect", wall / 2), _stage("detect", wall / 4)],
        "stage_peak_rss_mb": {"collect": 400.0, "detect": 430.0, "correlate": 610.0},
    }
    more = {"failed": failed} if failed else {}
    result = {"size": size, "people_days": people_days, "messages": 1000, "generate_seconds": 1.0,
              "added": 0, "full": Measured(output | more, wall, 610.0)}  # fmt: skip
    return result | more


def test_a_failed_xl_shows_its_stage_error_and_peak_and_misses_both_targets() -> None:
    failed = {"stage": "correlate", "seconds": 40.25, "error": "OutOfMemoryException: Out of Memory Error"}
    L = _size("L", [600, 150], 20.0, None)
    L["floor"] = Measured({"auto_seconds": 2.0, "columns_seconds": 1.0}, 2.0, 100.0)
    L["new"] = Measured({"stages": []}, 1.0, 100.0)
    text = render([L, _size("XL", [600, 1500], 300.0, failed)], "python benchmarks/run.py", None, None, "")
    assert "| XL peak RSS <= 1 GB (stages) | 610 MB until correlate failed | **not met** |" in text
    assert (
        "| XL time <= 11x L (stages) | 15.0x until correlate failed "
        "(OutOfMemoryException: Out of Memory Error) | **not met** |"
    ) in text
    assert "| XL | 600 × 1500 | 1,000 | 300.0 (failed in correlate) | 610 |" in text
    assert (
        "| correlate | 40.25 | 610 | - | - | - | **failed**: OutOfMemoryException: Out of Memory Error |"
        in text
    )
    assert "L → XL" not in text  # no ratio against stages that did not finish


def test_the_stages_child_names_the_stage_that_failed(tmp_path: Path) -> None:
    missing = tmp_path / "no-workspace"
    m = run_child(
        ["benchmarks/pipeline.py", str(missing), str(tmp_path / "s.duckdb"), str(tmp_path / "out")],
        check=False,
    )
    failed = m.output["failed"]
    assert (m.output["stages"], m.output["meetings"], failed["stage"]) == ([], 0, "collect")
    assert failed["error"] == (
        f"ConfigurationError: workspace {missing} does not exist — pass --workspace pointing at a folder "
        "with slack/ and google/ (see README)"
    )
