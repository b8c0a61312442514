"""The status page: self-contained, every value escaped, and drawn by headless Chromium from a live serve."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checkpoints import RunRecord, StageStat
from flows.monitor import BreakerOverrides, MonitorSnapshot
from flows.ops import Component, Health, Readings
from service.data import View
from service.page import render_status_page, sparkline
from tests.exports.test_html import chromium, parse
from tests.service.served import Org, config_for, serve

HOSTILE = '<script>alert("x")</script>'


def test_every_value_is_escaped_and_nothing_is_fetched() -> None:
    now = datetime(2026, 9, 10, tzinfo=UTC)
    run = RunRecord(
        run_id=HOSTILE,
        status="failed",
        started_at=now,
        ended_at=now,
        errors=[HOSTILE],
        stages=[StageStat(stage=HOSTILE, seconds=1.0, rows_in=10)],
    )
    snap = MonitorSnapshot(written_at=now, state=HOSTILE, runs=[run])
    health = Health(
        status="red", checked_at=now, components=[Component(name=HOSTILE, status="red", reason=HOSTILE)]
    )
    view = View(
        now, snap, BreakerOverrides(), Readings(), health, [], HOSTILE, {"memory_percent": [1.0, 2.0]}
    )
    html = render_status_page(view, [], HOSTILE)
    assert "<script" not in html
    assert (
        html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") == 6
    )  # state, run shown, component, reason, run id, error
    assert "http" not in html.replace('http-equiv="refresh"', "")  # no CDN, no remote font or image


@pytest.mark.parametrize(
    ("values", "flags", "points", "marks"),
    [
        ([1, 2, 3], [False, False, True], "0.0,30.0 80.0,16.0 160.0,2.0", [(160.0, 2.0)]),
        ([5, 5], [], "0.0,30.0 160.0,30.0", []),
        ([7], [True], "0.0,30.0 160.0,30.0", [(160.0, 30.0)]),
        ([], [], "", []),
    ],
)
def test_sparklines_scale_into_the_box(
    values: list[float], flags: list[bool], points: str, marks: list
) -> None:
    line = sparkline(values, flags)
    assert (line["points"], line["marks"]) == (points, marks)


@pytest.mark.slow
def test_the_status_page_in_headless_chromium(org: Org, tmp_path: Path) -> None:
    """Chromium (loopback only) renders the page: every component row in its colour, the trends drawn."""
    with serve(config_for(org)) as s:
        args = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=3000",
        ]
        dom = subprocess.run([*args, "--dump-dom", s.url + "/"], capture_output=True, text=True, timeout=120)
        shot = tmp_path / "status.png"
        subprocess.run(
            [*args, "--window-size=1200,1000", f"--screenshot={shot}", s.url + "/"],
            capture_output=True,
            timeout=120,
            check=True,
        )
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = parse(dom.stdout)
    (overall,) = page.find("span", id="overall")
    assert overall.attrs["class"] == "badge green"
    (table,) = page.find("table", id="components")
    rows = [tr for tr in table.find("tr") if "data-status" in tr.attrs]
    assert [tr.attrs["data-status"] for tr in rows] == ["green"] * 6
    (trends,) = page.find("table", id="trends")
    assert len(trends.find("polyline")) == 5 + 3  # five stages, memory and two disks
    assert shot.stat().st_size > 10_000  # a real picture, not a blank page
