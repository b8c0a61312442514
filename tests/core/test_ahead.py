"""`core.ahead.read_ahead`: the next items come from a thread, in order, bounded, with errors and clean-up
where they would be without the thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar

import pytest

from core.ahead import read_ahead

WHO = ContextVar("who", default="nobody")


class Source:
    """A generator that records what it produced, on which thread, and whether its clean-up ran."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.produced: list[int] = []
        self.closed_on: str | None = None
        self.seen_context: list[str] = []

    def items(self) -> Iterator[int]:
        try:
            for i in range(self.count):
                if i == self.fail_at:
                    raise ValueError(f"item {i} is bad")
                self.seen_context.append(WHO.get())
                self.produced.append(i)
                yield i
        finally:
            self.closed_on = threading.current_thread().name


def test_every_item_arrives_in_order_and_the_source_is_closed_on_its_thread() -> None:
    source = Source(50)
    with read_ahead(source.items) as items:
        assert list(items) == list(range(50))
    assert source.closed_on == "meetintel-ahead"


def test_a_source_error_arrives_after_the_items_before_it() -> None:
    source = Source(10, fail_at=4)
    got: list[int] = []
    with pytest.raises(ValueError, match="item 4 is bad"), read_ahead(source.items) as items:
        for item in items:
            got.append(item)
    assert got == [0, 1, 2, 3]
    assert source.closed_on == "meetintel-ahead"


def _produced(source: Source, count: int, within: float = 5.0) -> int:
    """Wait until `source` produced `count` items (or `within` seconds passed); give how many it has."""
    deadline = time.monotonic() + within
    while len(source.produced) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # time enough for a producer that is not held back to run on
    return len(source.produced)


@pytest.mark.parametrize("depth", [1, 3])
def test_the_producer_runs_at_most_depth_items_ahead_of_the_caller(depth: int) -> None:
    source = Source(100)
    with read_ahead(source.items, depth=depth) as items:
        first = next(items)
        # While the caller holds item 0, the thread has made the next `depth` items and no more.
        assert (first, _produced(source, 1 + depth)) == (0, 1 + depth)
        assert next(items) == 1
        assert _produced(source, 2 + depth) == 2 + depth


def test_leaving_early_stops_the_thread_and_closes_the_source() -> None:
    source = Source(100)
    with read_ahead(source.items) as items:
        for item in items:
            if item == 2:
                assert _produced(source, 4) == 4
                break
    assert source.closed_on == "meetintel-ahead"
    assert len(source.produced) == 4  # the caller's three and the one made ahead; no more after the stop
    assert not [t for t in threading.enumerate() if t.name == "meetintel-ahead"]


def test_an_error_of_the_caller_stops_the_thread_and_is_raised() -> None:
    source = Source(100)
    with pytest.raises(RuntimeError, match="commit failed"), read_ahead(source.items) as items:
        for item in items:
            if item == 1:
                assert _produced(source, 3) == 3
                raise RuntimeError("commit failed")
    assert source.closed_on == "meetintel-ahead"
    assert len(source.produced) == 3


def test_the_thread_sees_the_callers_context_variables() -> None:
    source = Source(3)
    token = WHO.set("collect")
    try:
        with read_ahead(source.items) as items:
            assert list(items) == [0, 1, 2]
    finally:
        WHO.reset(token)
    assert source.seen_context == ["collect"] * 3
