"""Runs at once in one process (a fleet's orgs, each in a thread) keep their progress apart: each has its
own board, which the task threads it starts see too (Prefect runs a task in a copy of the caller's context),
while the process's board, the one the CLI draws, is left alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

from checkpoints import StageStat
from flows._progress import ProgressBoard, current, own_board, using


def run_like_an_org(name: str, rows: int, started: threading.Barrier, seen: dict[str, object]) -> None:
    """Begin a run on the current board, count its collect rows from a task thread, and record the board."""
    with own_board() as board:
        current().begin(f"run-{name}")
        started.wait()  # both orgs have begun before either counts: a shared board would be reset here
        context = copy_context()
        with ThreadPoolExecutor(1) as tasks:
            tasks.submit(context.run, lambda: current().progress("collect")("slack_messages", rows)).result()
        current().finish(StageStat(stage="collect", seconds=1.0, rows_in=rows, rows_out=rows))
        seen[name] = (board, board.run_id, board.lines()[0].counts)


def test_orgs_running_at_once_each_count_on_their_own_board() -> None:
    process_board = ProgressBoard()
    seen: dict[str, object] = {}
    started = threading.Barrier(2)
    with using(process_board):
        threads = [
            threading.Thread(target=run_like_an_org, args=(name, rows, started, seen))
            for name, rows in (("acme", 1186), ("globex", 530))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert current() is process_board
    acme, globex = seen["acme"], seen["globex"]
    assert isinstance(acme, tuple) and isinstance(globex, tuple)
    assert acme[0] is not globex[0] and process_board not in (acme[0], globex[0])
    assert (acme[1], acme[2]) == ("run-acme", {"slack_messages": 1186})
    assert (globex[1], globex[2]) == ("run-globex", {"slack_messages": 530})
    assert process_board.run_id is None
