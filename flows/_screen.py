"""How `meetintel run` shows itself: live stage lines on a terminal, plain lines otherwise, or JSON.

On a terminal the progress board is drawn with rich below the log records (one console for both). When
stdout is not a terminal (cron, CI, a pipe) each stage prints one line when it starts and one when it ends;
log records then go to stderr. With `--json` stdout carries only the run summary, as one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Literal

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from checkpoints import RunRecord, StateStore
from core.tables import MEETING_RECORDS, PEOPLE_RECORDS
from flows._logging import run_logging
from flows._progress import (
    ProgressBoard,
    StageLine,
    format_seconds,
    line_summary,
    source_eta,
    source_summary,
    using,
)
from flows._terminal import plain

Mode = Literal["live", "plain", "json"]
MARKS = {"waiting": ("·", "dim"), "done": ("✓", "green"), "skipped": ("–", "dim"), "failed": ("✗", "red")}


class BoardView:
    """The board as rich draws it, afresh at every refresh: one line per stage, one per live source."""

    def __init__(self, board: ProgressBoard) -> None:
        self.board = board
        self._spinner = Spinner("dots", style="cyan")

    def __rich__(self) -> RenderableType:
        now = self.board.clock()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=1)
        grid.add_column(width=9)
        grid.add_column(width=7, justify="right")
        grid.add_column(width=16)
        grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        for line in self.board.lines():
            grid.add_row(
                self._mark(line), line.stage, self._elapsed(line, now), self._bar(line), self._text(line, now)
            )
            for source in line.sources:
                eta = source_eta(source)
                text = source_summary(source) + (
                    f", ETA {format_seconds(eta)}" if eta and not source.finished else ""
                )
                state = "done" if source.finished else ""
                grid.add_row(
                    "", Text(source.source, style="bold"), "", Text(state, style="green"), Text(plain(text))
                )
        return Group(grid)

    def _mark(self, line: StageLine) -> RenderableType:
        if line.state == "running":
            return self._spinner
        mark, style = MARKS[line.state]
        return Text(mark, style=style)

    def _elapsed(self, line: StageLine, now: float) -> Text:
        if line.started is None:
            return Text("")
        seconds = line.elapsed(now)
        return Text(f"{seconds:.1f}s" if seconds < 60 else format_seconds(seconds), style="dim")

    def _bar(self, line: StageLine) -> RenderableType:
        if line.state == "running" and (line.total or line.sources):
            return ProgressBar(total=100, completed=100 * line.fraction(self.board.clock()), width=16)
        return Text("")

    def _text(self, line: StageLine, now: float) -> Text:
        if line.state == "running":
            eta = line.eta(now)
            figures = line_summary(line) or "running"
            return Text(plain(figures + (f", ETA {format_seconds(eta)}" if eta is not None else "")))
        if line.state == "waiting":
            return Text("waiting", style="dim")
        return Text(plain(end_summary(line)), style="red" if line.state == "failed" else "")


def end_summary(line: StageLine) -> str:
    """Give what a finished stage did: rows in and out and its note (or why it was skipped or failed)."""
    if line.state == "skipped":
        return f"skipped: {line.note}"
    if line.state == "failed":
        return f"failed: {line.note}"
    text = f"{line.rows_in:,} rows in, {line.rows_out:,} rows out"
    return text + (f"; {line.note}" if line.note else "")


class PlainLines:
    """A board listener printing one line when a stage starts and one when it ends (no animation)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._states: dict[str, str] = {}

    def __call__(self, line: StageLine, board: ProgressBoard) -> None:
        if self._states.get(line.stage) == line.state:
            return
        self._states[line.stage] = line.state
        if line.state == "running":
            self.write(f"{line.stage}: started")
        elif line.state in ("done", "skipped", "failed"):
            seconds = line.elapsed(board.clock())
            self.write(plain(f"{line.stage}: {line.state} in {seconds:.2f} s; {_brief(line)}"))


def _brief(line: StageLine) -> str:
    if line.state != "done":
        return line.note
    return end_summary(line)


class RunScreen:
    """What one `meetintel run` prints, and where: chosen from the terminal and `--json`."""

    def __init__(self, console: Console, err: Console, *, json_out: bool, verbose: bool) -> None:
        self.console, self.err, self.verbose = console, err, verbose
        self.mode: Mode = "json" if json_out else "live" if console.is_terminal else "plain"
        self.log_path: Path | None = None

    def say(self, text: str) -> None:
        """Print an informational line (rich markup): on stdout, unless stdout is for the JSON summary."""
        (self.err if self.mode == "json" else self.console).print(text)

    @contextmanager
    def running(self, out: Path, secrets: list[str]) -> Iterator[ProgressBoard]:
        """Show the run's progress and route its logs for the block; the log lands in runs/<id>/run.log."""
        board = ProgressBoard()
        logs_to = self.console if self.mode == "live" else self.err
        with using(board), run_logging(logs_to, out, verbose=self.verbose, secrets=secrets) as run_log:
            try:
                with ExitStack() as display:
                    if self.mode == "live":
                        display.enter_context(
                            Live(BoardView(board), console=self.console, refresh_per_second=8)
                        )
                    elif self.mode == "plain":
                        display.enter_context(
                            board.listening(PlainLines(lambda text: print(text, flush=True)))
                        )
                    yield board
            finally:
                self.log_path = run_log.place(board.run_id)


def run_summary(record: RunRecord, out: Path, state: Path, log: Path | None) -> dict[str, object]:
    """Give the run summary `--json` prints: status, id, counts, stages, report paths, quarantine counts."""
    with StateStore(state) as store:
        counts = {"meetings": store.count(MEETING_RECORDS), "people": store.count(PEOPLE_RECORDS)}
        quarantined = store.quarantine_counts(record.run_id)
    latest = out / "latest"
    reports = sorted(str(p) for p in latest.iterdir() if p.is_file()) if latest.is_dir() else []
    return {
        "status": record.status,
        "run_id": record.run_id,
        "mode": record.mode,
        "counts": counts,
        "rows_read": record.rows_read,
        "rows_written": record.rows_written,
        "stages": [
            {
                "stage": s.stage,
                "seconds": round(s.seconds, 3),
                "rows_in": s.rows_in,
                "rows_out": s.rows_out,
                "skipped": s.skipped,
                "note": s.note,
            }
            for s in record.stages
        ],
        "sources": [s.model_dump(mode="json") for s in record.sources],
        "reports": reports,
        "quarantined": quarantined,
        "log": str(log) if log else None,
        "errors": record.errors,
    }


def print_json(summary: dict[str, object]) -> None:
    """Print `summary` as one JSON object on stdout (nothing else goes there with --json)."""
    print(json.dumps(summary, default=str, sort_keys=False), flush=True)
