"""Resource sampling per stage: the process tree's CPU and RSS, the least free disk, network counters."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from checkpoints import StageResources
from flows._resources import CORES, ResourceSampler, resources_markdown

MB = 1_000_000


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_a_busy_stage_shows_a_core_busy_and_its_memory(tmp_path: Path) -> None:
    sampler = ResourceSampler([tmp_path], interval=0.05)
    free_before = psutil.disk_usage(str(tmp_path)).free
    with sampler.stage("busy"):
        held = bytearray(150 * MB)  # touched below, so it is resident
        held[::4096] = b"x" * len(held[::4096])
        started, cpu = time.monotonic(), time.process_time()
        spins = 0  # the loop's body: one thread kept busy
        while time.monotonic() - started < 0.8:
            spins += 1
        average = 100 * (time.process_time() - cpu) / (time.monotonic() - started)
    with sampler.stage("idle"):
        time.sleep(0.5)
    busy, idle = sampler.peaks["busy"], sampler.peaks["idle"]
    assert list(sampler.peaks) == ["busy", "idle"]
    # One thread spinning for 0.8 s: the peak over the sampling windows is at least the stage's average
    # (however busy the machine is), and never more than the machine's cores can give.
    assert 0.8 * average <= busy.cpu_percent_peak <= 100 * CORES
    assert idle.cpu_percent_peak < 30
    assert busy.rss_peak_bytes >= 150 * MB
    # The least free space seen lies within what the disk had around the stage (other writers may move it).
    seen = (free_before, psutil.disk_usage(str(tmp_path)).free)
    assert min(seen) - 200 * MB <= busy.disk_free_min_bytes <= max(seen) + 200 * MB
    assert busy.samples >= 2 and idle.samples >= 5
    del held


def test_the_peaks_render_as_a_markdown_table() -> None:
    figures = StageResources(
        cpu_percent_peak=87.5,
        rss_peak_bytes=412 * MB,
        disk_free_min_bytes=12_300 * MB,
        net_sent_bytes=2048,
        net_recv_bytes=10_000,
        samples=9,
    )
    peaks = {"collect": figures}
    assert resources_markdown(peaks) == [
        "",
        "| stage | CPU peak % | RSS peak MB | disk free min GB | net sent KB | net received KB |",
        "|---|---:|---:|---:|---:|---:|",
        "| collect | 88 | 412 | 12.3 | 2 | 10 |",
    ]
    assert resources_markdown({}) == []
