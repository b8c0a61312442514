"""The run summary's report links go through `latest/`, so they still open after later runs compress the
run folder they were written from; the report pack zips what `latest/` holds."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from core.errors import ConfigurationError
from exports import compress_runs, link_current, publish, start_run_dir
from flows.downstream import pack_task
from flows.pipeline import REPORT_FILES, report_links


def _export(out: Path, run_id: str) -> None:
    run = start_run_dir(out, run_id)
    for name in REPORT_FILES:
        (run / name).write_text(f"{run_id} {name}")
    publish(out, run_id)
    link_current(out, list(REPORT_FILES))


def _targets(markdown: str) -> list[Path]:
    return [Path(unquote(urlparse(url).path)) for url in re.findall(r"\]\((file://[^)]+)\)", markdown)]


def test_summary_links_survive_the_run_folder_being_archived(tmp_path: Path) -> None:
    out = tmp_path / "out reports"  # a space: the links are proper file URLs
    first = "20261205T010000Z-aaaaaa"
    _export(out, first)
    links = report_links(out, first)
    targets = _targets(links)
    assert [t.name for t in targets] == list(REPORT_FILES)
    assert {t.parent for t in targets} == {out.absolute() / "latest"}
    assert links.endswith(f"; this run's copy: `runs/{first}/` (later `runs/{first}.tar.gz`)")
    for later in ("20261205T020000Z-bbbbbb", "20261205T030000Z-cccccc"):
        _export(out, later)
        compress_runs(out)
    assert not (out / "runs" / first).exists()
    assert (out / "runs" / f"{first}.tar.gz").is_file()
    assert [t.read_text() for t in targets] == [f"20261205T030000Z-cccccc {n}" for n in REPORT_FILES]


def test_without_published_reports_the_summary_says_so(tmp_path: Path) -> None:
    assert report_links(tmp_path / "out") == f"none published yet in `{tmp_path / 'out'}`"


def test_the_report_pack_zips_the_published_reports_under_one_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _export(out, "20261205T010000Z-aaaaaa")
    pack = Path(pack_task.fn(str(out / "latest"), "20261205T010000Z-aaaaaa", "acme"))
    assert pack == out / "packs" / "acme-20261205T010000Z-aaaaaa.zip"
    with zipfile.ZipFile(pack) as z:
        assert z.namelist() == [f"acme-20261205T010000Z-aaaaaa/{n}" for n in sorted(REPORT_FILES)]
    assert [p.name for p in (out / "packs").iterdir()] == [pack.name]  # no temp file left behind
    with pytest.raises(ConfigurationError, match="does not exist"):
        pack_task.fn(str(tmp_path / "nowhere" / "latest"), "r", "acme")
