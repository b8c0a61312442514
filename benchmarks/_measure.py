"""Measuring helpers for `make bench`: a child's whole process tree, the load, new messages, the scaling plot.

Every figure `benchmarks/run.py` writes comes from a child process measured here: wall time, the child's
own peak RSS and the peak of the whole process tree's summed RSS, which counts what the child starts —
Prefect's temporary API server, a sandbox server — beside it. Both are sampled with psutil every 50 ms;
wait4's figure is kept too, but it is the largest single process of the tree, the child's or a descendant's.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SECONDS = 0.05


def load() -> float:
    """Give the one-minute load average (2 cores here: above 2, others wait for a core)."""
    return os.getloadavg()[0]


@dataclass
class Measured:
    """One child process run: its JSON output, wall time, own peak RSS, and its process tree's peak RSS."""

    output: dict
    wall: float
    peak_rss_mb: float  # the child process's own, sampled
    tree_peak_mb: float = 0.0  # the child and its descendants, summed, sampled
    largest_mb: float = 0.0  # wait4's ru_maxrss: the largest single process of the tree
    load_before: float = 0.0
    load_after: float = 0.0
    samples: int = 0
    stderr: str = field(default="", repr=False)

    def as_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "stderr"}


class TreeSampler:
    """Samples the summed RSS of a process and all its descendants every `SAMPLE_SECONDS`, in a thread.

    RSS of separate processes is summed as the kernel reports it; pages shared between them (the same
    shared libraries) count once per process, so the sum is an upper bound of what the tree holds.
    """

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_mb = 0.0
        self.root_peak_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> tuple[float, float]:
        """Give the root's RSS and the tree's summed RSS in MB now (a process ending meanwhile counts 0)."""
        sizes = []
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return 0.0, 0.0
        for proc in procs:
            try:
                sizes.append(proc.memory_info().rss / 2**20)
            except psutil.Error:
                sizes.append(0.0)
        return sizes[0], sum(sizes)

    def _run(self) -> None:
        while not self._stop.is_set():
            root, tree = self.sample()
            self.root_peak_mb = max(self.root_peak_mb, root)
            self.peak_mb = max(self.peak_mb, tree)
            self.samples += 1
            self._stop.wait(SAMPLE_SECONDS)


def child_env(changes: Mapping[str, str | None]) -> dict[str, str]:
    """Give this process's environment with `changes` applied (None removes a variable)."""
    env = {**os.environ, **{k: v for k, v in changes.items() if v is not None}}
    for key in (k for k, v in changes.items() if v is None):
        env.pop(key, None)
    return env


def last_json(text: str) -> dict:
    """Give the last line of `text` that is a JSON object, or {} when there is none."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}


def run_child(
    args: Sequence[str], env: Mapping[str, str | None] | None = None, check: bool = True, python: bool = True
) -> Measured:
    """Run a child (a Python script by default), sample its process tree, and give its figures.

    `env` adds to this process's environment (a None value removes the variable). The child's stdout's
    last JSON line is its output.
    """
    before = load()
    command = [sys.executable, *args] if python else list(args)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(env or {}),
    )
    with TreeSampler(proc.pid) as sampler:
        err: list[str] = []
        reader = threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else ""))
        reader.start()
        text = proc.stdout.read() if proc.stdout else ""
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode not in (0,):
        tail = "\n".join(err[0].splitlines()[-15:]) if err else ""
        raise SystemExit(f"benchmark child {list(args)} failed with exit code {proc.returncode}:\n{tail}")
    return Measured(
        last_json(text),
        wall,
        sampler.root_peak_mb,
        max(sampler.peak_mb, sampler.root_peak_mb),
        usage.ru_maxrss / 1024,
        before,
        load(),
        sampler.samples,
        err[0] if err else "",
    )


# ---- new data for the incremental runs --------------------------------------------------------------


def add_new_messages(source: Path, target: Path, fraction: float) -> int:
    """Make `target` a copy of the workspace `source` (hard links) plus new Slack day files; give how
    many messages they add (about `fraction` of the export's messages, a little more).

    Each round writes every channel's last day again, shifted one more day later (every `ts`, `thread_ts`
    and `latest_reply` moved by whole days): what a nightly export adds, in the export's own shape.
    """
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, copy_function=os.link)
    channels = sorted(p for p in (target / "slack").iterdir() if p.is_dir())
    lasts = {c: max(c.glob("*.json")) for c in channels}
    total = sum(len(json.loads(f.read_text())) for c in channels for f in c.glob("*.json"))
    wanted, added, shift = max(1, round(total * fraction)), 0, 0
    while added < wanted:
        shift += 1
        for channel in channels:
            added += _shifted_day(lasts[channel], shift)
            if added >= wanted:
                break
    return added


def _shifted_day(day: Path, shift: int) -> int:
    """Write `day`'s messages `shift` days later as a new day file beside it; give how many it holds."""
    messages = json.loads(day.read_text())
    for m in messages:
        for key in ("ts", "thread_ts", "latest_reply"):
            if isinstance(m.get(key), str) and "." in m[key]:
                whole, frac = m[key].split(".", 1)
                m[key] = f"{int(whole) + shift * 86400}.{frac}"
        m.pop("replies", None)  # a parent's reply list names the old day's replies
    name = (date.fromisoformat(day.stem) + timedelta(days=shift)).isoformat()
    (day.parent / f"{name}.json").write_text(json.dumps(messages))
    return len(messages)


# ---- the scaling plot ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line of the plot: (messages, value) points, a label and a colour."""

    label: str
    unit: str
    points: list[tuple[float, float]]
    colour: str


def _ticks(low: float, high: float) -> list[float]:
    """Give the powers of ten (and 2x, 5x of them) that fall between `low` and `high`."""
    out = []
    for exp in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        out += [m * 10**exp for m in (1, 2, 5) if low <= m * 10**exp <= high]
    return out


def _label(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:.3g}"


def scaling_svg(series: Sequence[Series], title: str) -> str:
    """Give an SVG with one log-log panel per series: value against messages, each point labelled.

    A dashed line through the smallest size's point has slope 1: a series that keeps to it scales linearly.
    """
    width, panel_h, left, right, top, gap = 760, 260, 70, 30, 40, 50
    height = top + len(series) * (panel_h + gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{_esc(title)}</text>',
    ]
    for i, s in enumerate(series):
        y0 = top + i * (panel_h + gap)
        parts += _panel(s, left, y0, width - left - right, panel_h - 30)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _panel(s: Series, x0: float, y0: float, w: float, h: float) -> list[str]:
    xs = [p[0] for p in s.points]
    ys = [p[1] for p in s.points]
    xlo, xhi = min(xs) / 1.5, max(xs) * 1.5
    ylo, yhi = min(ys) / 2, max(ys) * 2

    def px(x: float) -> float:
        return x0 + w * (math.log10(x) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo))

    def py(y: float) -> float:
        return y0 + h - h * (math.log10(y) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo))

    out = [f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    out.append(f'<text x="{x0}" y="{y0 - 8}" font-size="13">{_esc(s.label)} ({_esc(s.unit)}, log)</text>')
    for t in _ticks(xlo, xhi):
        out.append(f'<line x1="{px(t):.1f}" y1="{y0}" x2="{px(t):.1f}" y2="{y0 + h}" stroke="#eee"/>')
        out.append(f'<text x="{px(t):.1f}" y="{y0 + h + 15}" text-anchor="middle">{_label(t)}</text>')
    for t in _ticks(ylo, yhi):
        out.append(f'<line x1="{x0}" y1="{py(t):.1f}" x2="{x0 + w}" y2="{py(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_label(t)}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 30}" text-anchor="middle">messages (log)</text>')
    (x1, y1) = s.points[0]
    x2 = xhi
    y2 = y1 * x2 / x1
    out.append(
        f'<line x1="{px(x1):.1f}" y1="{py(y1):.1f}" x2="{px(x2):.1f}" y2="{py(min(y2, yhi)):.1f}" '
        'stroke="#bbb" stroke-dasharray="4 4"/>'
        if y2 <= yhi
        else f'<line x1="{px(x1):.1f}" y1="{py(y1):.1f}" x2="{px(x1 * yhi / y1):.1f}" y2="{py(yhi):.1f}" '
        'stroke="#bbb" stroke-dasharray="4 4"/>'
    )
    path = " ".join(f"{'M' if k == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for k, (x, y) in enumerate(s.points))
    out.append(f'<path d="{path}" fill="none" stroke="{s.colour}" stroke-width="2"/>')
    for x, y in s.points:
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{s.colour}"/>')
        out.append(f'<text x="{px(x) + 7:.1f}" y="{py(y) - 7:.1f}">{_label(y)}</text>')
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def marked_block(old: str, begin: str, end: str) -> str:
    """Give the text between (and with) the markers `begin` and `end` in `old`, or '' when either is missing:
    a hand-written part of a generated page, kept from one run to the next."""
    if begin in old and end in old:
        return old[old.index(begin) : old.index(end) + len(end)]
    return ""
