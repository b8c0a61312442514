"""Produce the next items of a generator on a thread of its own while the caller works on the current one.

Collect reads a chunk of files (DuckDB's `read_json`, which lets go of the GIL) and commits it to the store
(DuckDB again). One after the other, each waits for the other; with the next chunk read while the current
one commits, the two overlap on the machine's cores. At most `depth` items are produced or waiting beside
the one being worked on: memory grows by that, not by the source.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from contextvars import copy_context
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Stopped(Exception):
    """Raised inside the producer when the consumer stopped listening."""


@contextlib.contextmanager
def read_ahead(make: Callable[[], Iterator[T]], depth: int = 1) -> Iterator[Iterator[T]]:
    """Give the items of the iterator `make()` gives, produced on a thread `depth` items ahead.

    The thread runs in a copy of the caller's context (context variables set around this block hold there
    too). An exception of the generator reaches the caller at the point it would have without the thread,
    after the items before it. Leaving the block early (an error of the caller's own, a `break`) stops the
    thread at its next item and closes the generator there, so its own clean-up (`finally`, `with`) runs;
    the block's exit waits for that.
    """
    # A slot is taken before each item is produced and given back when the caller takes the item, so at
    # most `depth` items exist beyond the caller's own, the one being produced included.
    slots = threading.Semaphore(depth)
    handoff: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()
    stop = threading.Event()

    def wait_for_slot() -> None:
        while not slots.acquire(timeout=0.05):
            if stop.is_set():
                raise _Stopped
        if stop.is_set():
            raise _Stopped

    def produce() -> None:
        try:
            wait_for_slot()
            items = make()
            try:
                for item in items:
                    handoff.put((item, None))
                    wait_for_slot()
            finally:
                if isinstance(items, Generator):
                    items.close()
            handoff.put((_DONE, None))
        except _Stopped:
            return
        except BaseException as exc:  # handed to the caller, which raises it where it reads
            handoff.put((_DONE, exc))

    def consume() -> Iterator[T]:
        while True:
            item, error = handoff.get()
            slots.release()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]

    thread = threading.Thread(target=copy_context().run, args=(produce,), name="meetintel-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
