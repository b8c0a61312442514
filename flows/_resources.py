"""Resource use per stage, sampled with psutil on a thread while the stage runs: CPU and RSS of the whole
process tree (a Prefect temporary server or Dask workers included), the least free disk under the report
folder and the state, and the machine's network counters over the stage. The peaks go into the runs ledger
(`RunRecord.resources`), the summary artifact and `/metrics`."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psutil

from checkpoints import StageResources

CPU_WINDOW = 0.2  # seconds
CORES = psutil.cpu_count() or 1


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


def _nearest(path: Path) -> Path:
    probe = path.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


class _Stage:
    """The running figures of one stage."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = [_nearest(p) for p in paths]
        self.cpu_peak = 0.0
        self.rss_peak = 0
        self.disk_min: int | None = None
        self.samples = 0
        self._cpu: dict[int, float] = {}  # CPU seconds per process at the last sample
        self._at = time.monotonic()
        net = psutil.net_io_counters()
        self._net = (net.bytes_sent, net.bytes_recv) if net else (0, 0)

    def sample(self, root: psutil.Process) -> None:
        """Add one sample: the tree's CPU since the last sample, its RSS now, the free disk now."""
        now = time.monotonic()
        cpu, rss, seen = 0.0, 0, {}
        for proc in _tree(root):
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    used = times.user + times.system
                    rss += proc.memory_info().rss
            except psutil.Error:  # gone between listing and reading it
                continue
            seen[proc.pid] = used
            cpu += used - self._cpu.get(proc.pid, used)
        elapsed = now - self._at
        # CPU times tick in 10 ms steps: measure over windows of CPU_WINDOW seconds or more, and never above
        # what the machine's cores can give.
        if not self.samples or elapsed >= CPU_WINDOW:
            if self.samples:
                self.cpu_peak = max(self.cpu_peak, min(100.0 * cpu / elapsed, 100.0 * CORES))
            self._cpu, self._at = seen, now
        self.rss_peak = max(self.rss_peak, rss)
        for path in self.paths:
            free = int(psutil.disk_usage(str(path)).free)
            self.disk_min = free if self.disk_min is None else min(self.disk_min, free)
        self.samples += 1

    def result(self) -> StageResources:
        net = psutil.net_io_counters()
        sent, recv = (net.bytes_sent, net.bytes_recv) if net else self._net
        return StageResources(
            cpu_percent_peak=round(self.cpu_peak, 1),
            rss_peak_bytes=self.rss_peak,
            disk_free_min_bytes=self.disk_min or 0,
            net_sent_bytes=max(sent - self._net[0], 0),
            net_recv_bytes=max(recv - self._net[1], 0),
            samples=self.samples,
        )


class ResourceSampler:
    """Samples every `interval` seconds while a stage runs; `peaks` holds each finished stage's figures."""

    def __init__(self, paths: Sequence[Path], interval: float = 0.25, pid: int | None = None) -> None:
        self.paths = list(paths)
        self.interval = interval
        self.root = psutil.Process(pid or os.getpid())
        self.peaks: dict[str, StageResources] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Sample while the block runs (a first sample at its start and a last one at its end)."""
        figures = _Stage(self.paths)
        figures.sample(self.root)
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.interval):
                figures.sample(self.root)

        thread = threading.Thread(target=loop, name=f"meetintel-resources-{name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            figures.sample(self.root)
            self.peaks[name] = figures.result()


def resources_markdown(peaks: dict[str, StageResources]) -> list[str]:
    """Give the summary artifact's lines for the peaks of each stage (none when nothing was sampled)."""
    if not peaks:
        return []
    lines = [
        "",
        "| stage | CPU peak % | RSS peak MB | disk free min GB | net sent KB | net received KB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stage, r in peaks.items():
        lines.append(
            f"| {stage} | {r.cpu_percent_peak:.0f} | {r.rss_peak_bytes / 1e6:,.0f} | "
            f"{r.disk_free_min_bytes / 1e9:,.1f} | {r.net_sent_bytes / 1e3:,.0f} | "
            f"{r.net_recv_bytes / 1e3:,.0f} |"
        )
    return lines
