"""Run folders, publishing `latest`, compressing older runs, safe archive reading and retention."""

from __future__ import annotations

import io
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import ConfigurationError, DataError
from exports.archive import (
    apply_retention,
    archive_members,
    compress_runs,
    extract_run,
    latest_run,
    list_runs,
    publish,
    read_member,
    start_run_dir,
)

IDS = [
    "20260901T060000Z-aaaaaa",
    "20260902T060000Z-bbbbbb",
    "20260905T060000Z-cccccc",
    "20260908T060000Z-dddddd",
]
NOW = datetime(2026, 9, 8, 12, 0, tzinfo=UTC)


def _run(out: Path, run_id: str) -> Path:
    """Make a run folder holding a report and a nested file, as a run would."""
    run = start_run_dir(out, run_id)
    (run / "meetings.json").write_text(f'["{run_id}"]')
    (run / "html").mkdir()
    (run / "html" / "report.html").write_text("<html></html>")
    return run


def test_start_run_dir_makes_the_run_folder(tmp_path: Path) -> None:
    run = start_run_dir(tmp_path / "out", IDS[0])
    assert run == tmp_path / "out" / "runs" / IDS[0] and run.is_dir()
    assert start_run_dir(tmp_path / "out", IDS[0]) == run  # a resumed run writes to the same folder


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".hidden", "run.tar.gz", "x" * 129, "a\\b"])
def test_run_ids_that_are_not_one_plain_name_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid run id"):
        start_run_dir(tmp_path, bad)
    assert list(tmp_path.iterdir()) == []


def test_publish_points_latest_at_the_run_and_swaps_it(tmp_path: Path) -> None:
    for run_id in IDS[:2]:
        _run(tmp_path, run_id)
    publish(tmp_path, IDS[0])
    assert os.readlink(tmp_path / "latest") == f"runs/{IDS[0]}"
    assert (tmp_path / "latest" / "meetings.json").read_text() == f'["{IDS[0]}"]'
    publish(tmp_path, IDS[1])
    assert os.readlink(tmp_path / "latest") == f"runs/{IDS[1]}"
    assert (tmp_path / "LATEST").read_text() == IDS[1] + "\n"
    assert latest_run(tmp_path) == IDS[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LATEST", "latest", "runs"]


def test_publish_falls_back_to_the_latest_file_without_symlinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(tmp_path, IDS[0])

    def no_symlinks(*_args: object, **_kwargs: object) -> None:
        raise OSError("symlinks are not supported here")

    monkeypatch.setattr(Path, "symlink_to", no_symlinks)
    publish(tmp_path, IDS[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LATEST", "runs"]
    assert latest_run(tmp_path) == IDS[0]


def test_publish_refuses_a_missing_run_or_a_real_latest_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        publish(tmp_path, IDS[0])
    _run(tmp_path, IDS[0])
    (tmp_path / "latest").mkdir()
    with pytest.raises(ConfigurationError, match="exists and is not a symlink"):
        publish(tmp_path, IDS[0])
    assert latest_run(tmp_path) is None


def test_compress_runs_packs_older_runs_but_not_the_published_or_newest(tmp_path: Path) -> None:
    for run_id in IDS:
        _run(tmp_path, run_id)
    os.symlink("/etc/passwd", tmp_path / "runs" / IDS[0] / "escape")
    publish(tmp_path, IDS[1])
    archives = compress_runs(tmp_path, keep_uncompressed=1)
    assert [a.name for a in archives] == [f"{IDS[0]}.tar.gz", f"{IDS[2]}.tar.gz"]
    runs = list_runs(tmp_path)
    assert [(r.run_id, r.compressed, r.published) for r in runs] == [
        (IDS[0], True, False),
        (IDS[1], False, True),
        (IDS[2], True, False),
        (IDS[3], False, False),
    ]
    assert [r.started_at for r in runs] == [datetime(2026, 9, d, 6, tzinfo=UTC) for d in (1, 2, 5, 8)]
    assert archive_members(archives[0]) == [
        IDS[0],
        f"{IDS[0]}/html",
        f"{IDS[0]}/html/report.html",
        f"{IDS[0]}/meetings.json",
    ]  # the symlink was left out
    assert read_member(archives[0], f"{IDS[0]}/meetings.json") == f'["{IDS[0]}"]'.encode()
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        IDS[0] + ".tar.gz",
        IDS[1],
        IDS[2] + ".tar.gz",
        IDS[3],
    ]


def test_extract_run_restores_the_files(tmp_path: Path) -> None:
    _run(tmp_path / "out", IDS[0])
    _run(tmp_path / "out", IDS[1])
    (archive,) = compress_runs(tmp_path / "out", keep_uncompressed=1)
    restored = extract_run(archive, tmp_path / "restore")
    assert restored == tmp_path / "restore" / IDS[0]
    assert (restored / "meetings.json").read_text() == f'["{IDS[0]}"]'
    assert (restored / "html" / "report.html").read_text() == "<html></html>"


def _hostile_archive(path: Path, name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        ok = tarfile.TarInfo(f"{IDS[0]}/meetings.json")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"[]"))
        bad = tarfile.TarInfo(name)
        bad.type, bad.linkname = kind, target
        bad.size = 4 if kind == tarfile.REGTYPE else 0
        tar.addfile(bad, io.BytesIO(b"evil") if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize(
    ("name", "kind", "target", "why"),
    [
        (f"{IDS[0]}/../../evil.txt", tarfile.REGTYPE, "", "a path outside the run"),
        ("/tmp/evil.txt", tarfile.REGTYPE, "", "a path outside the run"),
        ("C:/evil.txt", tarfile.REGTYPE, "", "a path outside the run"),
        ("other-run/evil.txt", tarfile.REGTYPE, "", "a path outside the run"),
        (f"{IDS[0]}/link", tarfile.SYMTYPE, "/etc/passwd", "a link or special file"),
        (f"{IDS[0]}/hard", tarfile.LNKTYPE, f"{IDS[0]}/meetings.json", "a link or special file"),
        (f"{IDS[0]}/fifo", tarfile.FIFOTYPE, "", "a link or special file"),
    ],
)
def test_reading_an_archive_rejects_escaping_entries_and_links(
    tmp_path: Path, name: str, kind: bytes, target: str, why: str
) -> None:
    archive = _hostile_archive(tmp_path / f"{IDS[0]}.tar.gz", name, kind, target)
    dest = tmp_path / "restore"
    for read in (
        lambda: archive_members(archive),
        lambda: extract_run(archive, dest),
        lambda: read_member(archive, f"{IDS[0]}/meetings.json"),
    ):
        with pytest.raises(DataError, match=f"holds {why}: '{name}'"):
            read()
    assert not dest.exists() and not (tmp_path / "evil.txt").exists()


def test_a_corrupt_archive_is_a_data_error(tmp_path: Path) -> None:
    archive = tmp_path / f"{IDS[0]}.tar.gz"
    archive.write_bytes(b"not gzip")
    with pytest.raises(DataError, match="cannot read run archive"):
        archive_members(archive)


@pytest.fixture
def four_runs(tmp_path: Path) -> Path:
    """Four runs (1, 2, 5 and 8 September, 06:00 UTC): the oldest two compressed, 5 September published."""
    for run_id in IDS:
        _run(tmp_path, run_id)
    publish(tmp_path, IDS[2])
    compress_runs(tmp_path, keep_uncompressed=1)
    return tmp_path


@pytest.mark.parametrize(
    ("keep_runs", "keep_days", "deleted"),
    [
        (None, None, []),
        (2, None, [IDS[0], IDS[1]]),
        (3, None, [IDS[0]]),
        (None, 5, [IDS[0], IDS[1]]),  # older than 3 Sep 12:00
        (None, 4, [IDS[0], IDS[1]]),  # older than 4 Sep 12:00
        (3, 7, [IDS[0]]),  # 2 Sep is among the newest 3 and within 7 days: it stays
        (3, 5, [IDS[0], IDS[1]]),  # with both limits a run must pass both: 2 Sep is too old
        (1, None, [IDS[0], IDS[1]]),  # the published run (5 Sep) always stays
        (None, 1, [IDS[0], IDS[1]]),
    ],
)
def test_retention_deletes_exactly_the_runs_beyond_the_limits(
    four_runs: Path, keep_runs: int | None, keep_days: int | None, deleted: list[str]
) -> None:
    assert apply_retention(four_runs, keep_runs, keep_days, NOW) == deleted
    assert [r.run_id for r in list_runs(four_runs)] == [i for i in IDS if i not in deleted]


def test_retention_reads_age_from_mtime_when_the_id_has_no_stamp(tmp_path: Path) -> None:
    old = _run(tmp_path, "manual-export")
    stamp = datetime(2026, 8, 1, tzinfo=UTC).timestamp()
    os.utime(old, (stamp, stamp))
    _run(tmp_path, IDS[3])
    assert [(r.run_id, r.started_at) for r in list_runs(tmp_path)] == [
        ("manual-export", datetime(2026, 8, 1, tzinfo=UTC)),
        (IDS[3], datetime(2026, 9, 8, 6, tzinfo=UTC)),
    ]
    assert apply_retention(tmp_path, None, 30, NOW) == ["manual-export"]


@pytest.mark.parametrize(("keep_runs", "keep_days"), [(0, None), (None, 0), (-1, 3)])
def test_retention_limits_below_one_are_refused(
    tmp_path: Path, keep_runs: int | None, keep_days: int | None
) -> None:
    with pytest.raises(ConfigurationError, match="must be 1 or more"):
        apply_retention(tmp_path, keep_runs, keep_days, NOW)


def test_list_runs_of_an_empty_output_folder(tmp_path: Path) -> None:
    assert list_runs(tmp_path) == []
