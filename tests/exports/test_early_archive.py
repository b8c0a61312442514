"""The published run's archive written during the next export: swapped in only once that run is published."""

from __future__ import annotations

from pathlib import Path

from exports.archive import EarlyArchive, archive_members, list_runs, publish, read_member
from tests.exports.test_archive import _run

OLD, NEW = "20260901T060000Z-aaaaaa", "20260902T060000Z-bbbbbb"


def test_finish_swaps_the_archive_in_once_a_newer_run_is_published(tmp_path: Path) -> None:
    old = _run(tmp_path, OLD)
    publish(tmp_path, OLD)
    (tmp_path / "runs" / ".stale.tar.gz.early.tmp").write_text("left by a killed export")
    early = EarlyArchive(old)
    _run(tmp_path, NEW)
    publish(tmp_path, NEW)
    archive = early.finish()
    assert archive == tmp_path / "runs" / f"{OLD}.tar.gz"
    assert archive_members(archive) == [OLD, f"{OLD}/html", f"{OLD}/html/report.html", f"{OLD}/meetings.json"]
    assert read_member(archive, f"{OLD}/meetings.json") == f'["{OLD}"]'.encode()
    assert not old.exists()
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [f"{OLD}.tar.gz", NEW]
    assert [(r.run_id, r.compressed, r.published) for r in list_runs(tmp_path)] == [
        (OLD, True, False),
        (NEW, False, True),
    ]


def test_finish_keeps_a_run_that_is_still_published(tmp_path: Path) -> None:
    old = _run(tmp_path, OLD)
    publish(tmp_path, OLD)
    early = EarlyArchive(old)
    assert early.finish() is None
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [OLD]


def test_cancel_drops_the_archive_and_keeps_the_folder(tmp_path: Path) -> None:
    old = _run(tmp_path, OLD)
    publish(tmp_path, OLD)
    early = EarlyArchive(old)
    early.cancel()
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [OLD]
    assert (old / "meetings.json").read_text() == f'["{OLD}"]'
