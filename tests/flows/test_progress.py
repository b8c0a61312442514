"""The progress model and its ETA arithmetic, without Prefect: what a stage line says as counts grow."""

from __future__ import annotations

import threading
from contextvars import ContextVar

import pytest

from checkpoints import StageStat
from collectors import SourceProgress
from flows._progress import (
    ArtifactFeed,
    LatestSender,
    ProgressBoard,
    collection_eta,
    describe,
    format_seconds,
    linear_eta,
    source_eta,
)
from flows._screen import PlainLines


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def slack(**given: object) -> SourceProgress:
    figures: dict[str, object] = {
        "source": "slack",
        "finished": False,
        "units_total": 100,
        "units_started": 10,
        "units_done": 10,
        "rows": {"slack_messages": 2_000},
        "requests": 40,
        "rate_limited": 2,
        "unit_calls": {"conversations.history": 20, "conversations.members": 10},
        "rates": {"conversations.history": 50 * 0.95 / 60, "conversations.members": 100 * 0.95 / 60},
    }
    return SourceProgress(**{**figures, **given})  # type: ignore[arg-type]


def test_source_eta_is_calls_left_over_the_allowed_rate_of_the_slowest_bucket() -> None:
    # 90 channels left at 2 history calls each = 180 calls at 47.5 a minute; members need 90 at 95.
    assert source_eta(slack()) == pytest.approx(180 / (50 * 0.95 / 60))


def test_a_unit_in_progress_counts_as_half_done() -> None:
    eta = source_eta(
        slack(
            units_started=14, unit_calls={"conversations.history": 24}, rates={"conversations.history": 1.0}
        )
    )
    # 12 units seen (10 done + 4 half done): 2 calls each; 88 units left -> 176 calls at 1 a second.
    assert eta == pytest.approx(176.0)


def test_no_eta_before_a_unit_finishes_and_none_left_once_finished() -> None:
    assert source_eta(slack(units_done=0, units_started=4)) is None
    assert source_eta(slack(finished=True)) == 0.0


def test_the_collection_waits_for_its_slowest_source_and_is_unknown_while_one_is() -> None:
    calendar = slack(source="calendar", unit_calls={"calendar": 10}, rates={"calendar": 1.0})
    drive = slack(source="drive", units_total=0, units_done=0, units_started=0)
    assert collection_eta([calendar, slack(), drive]) == pytest.approx(180 / (50 * 0.95 / 60))
    assert collection_eta([calendar, slack(units_done=0)]) is None
    assert collection_eta([drive]) is None


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "expected"),
    [(0, 10, 5.0, None), (5, None, 5.0, None), (5, 10, 5.0, 5.0), (10, 10, 7.0, 0.0), (1, 4, 2.0, 6.0)],
)
def test_linear_eta_extrapolates_the_pace_so_far(
    done: int, total: int | None, elapsed: float, expected: float | None
) -> None:
    assert linear_eta(done, total, elapsed) == expected


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00:00"), (59.6, "0:01:00"), (3725, "1:02:05"), (90000, "25:00:00")]
)
def test_durations_read_as_hours_minutes_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_a_stage_line_grows_with_its_callbacks_and_ends_with_its_figures() -> None:
    clock = Clock()
    board = ProgressBoard(clock)
    board.begin("r1")
    board.start("collect")
    progress = board.progress("collect")
    progress.total(4, "files")
    progress("slack_messages", 300)
    progress("slack_messages", 200)
    progress.advance(2)
    clock.now += 10
    line = board.lines()[0]
    assert (line.state, line.counts, line.done, line.total) == ("running", {"slack_messages": 500}, 2, 4)
    assert line.eta(clock.now) == pytest.approx(10.0)
    assert board.fraction() == pytest.approx(0.5 / 5)
    board.finish(StageStat(stage="collect", seconds=10, rows_in=500, rows_out=500, note="4 files changed"))
    line = board.lines()[0]
    assert (line.state, line.elapsed(clock.now), line.note) == ("done", 10.0, "4 files changed")
    assert line.eta(clock.now) is None


def test_live_sources_are_read_from_their_probe_whenever_the_board_is_drawn() -> None:
    board = ProgressBoard(Clock())
    board.start("collect")
    figures = [slack(units_done=1)]
    board.progress("collect").watch(lambda: figures)
    assert board.lines()[0].sources[0].units_done == 1
    figures[0] = slack(units_done=7)
    assert board.lines()[0].sources[0].units_done == 7


def test_a_failed_block_marks_its_stage_failed_and_raises() -> None:
    board = ProgressBoard(Clock())
    with pytest.raises(RuntimeError), board.stage("detect"):
        raise RuntimeError("disk full")
    line = board.lines()[1]
    assert (line.state, line.note) == ("failed", "disk full")


def test_plain_lines_print_one_line_at_each_start_and_end() -> None:
    clock, printed = Clock(), []
    board = ProgressBoard(clock)
    with board.listening(PlainLines(printed.append)):
        board.start("detect")
        board.progress("detect")("evidence", 5)  # counts print nothing
        clock.now += 1.5
        board.finish(StageStat(stage="detect", seconds=1.5, rows_in=10, rows_out=5))
        board.start("correlate")
        board.finish(StageStat(stage="correlate", seconds=0, skipped=True, note="no new data"))
    assert printed == [
        "detect: started",
        "detect: done in 1.50 s; 10 rows in, 5 rows out",
        "correlate: started",
        "correlate: skipped in 0.00 s; no new data",
    ]


def test_the_artifact_feed_sends_every_change_of_state_and_counts_at_most_every_few_seconds() -> None:
    clock, sent = Clock(), []
    board = ProgressBoard(clock)
    with board.listening(ArtifactFeed(lambda share, text: sent.append((share, text)), every=2.0)):
        board.start("collect")
        progress = board.progress("collect")
        progress("slack_messages", 10)  # within 2 s of the start: not sent
        clock.now += 3
        progress("slack_messages", 10)
        board.finish(StageStat(stage="collect", seconds=3, rows_in=20, rows_out=20))
    assert [share for share, _ in sent] == [0.0, 0.0, 20.0]
    assert sent[1][1] == "collect: slack_messages 20"
    assert sent[2][1] == "stages finished: collect"


def test_the_sender_sends_in_its_own_thread_and_skips_what_a_later_update_replaced() -> None:
    entered, release, sent = threading.Event(), threading.Event(), []
    caller = threading.get_ident()

    def update(share: float, text: str) -> None:
        assert threading.get_ident() != caller  # the run does not wait for the API
        entered.set()
        release.wait(5)
        sent.append((share, text))

    sender = LatestSender(update)
    sender(0.0, "collect: started")
    assert entered.wait(5)  # the first update is on its way and holds the thread ...
    sender(10.0, "collect: slack_messages 10")
    sender(20.0, "collect: slack_messages 20")  # ... so this one replaces the one before it
    sender(40.0, "stages finished: collect")
    release.set()
    sender.close()
    assert sent == [(0.0, "collect: started"), (40.0, "stages finished: collect")]
    sender(60.0, "after close")  # nothing is sent once closed
    assert len(sent) == 2


def test_the_sender_sends_in_the_callers_context_and_survives_a_failed_update(
    caplog: pytest.LogCaptureFixture,
) -> None:
    run: ContextVar[str] = ContextVar("run", default="none")
    run.set("run-7")
    seen: list[str] = []

    def update(text: str) -> None:
        seen.append(f"{run.get()} {text}")
        if text == "bad":
            raise ConnectionError("the API is gone")

    failed = threading.Event()
    caplog.handler.addFilter(lambda record: failed.set() or True)
    sender = LatestSender(update)
    sender("bad")
    assert failed.wait(5)  # the failure was logged ...
    sender("next")  # ... and the thread still sends
    sender.close()  # sends what waits, then stops
    assert seen == ["run-7 bad", "run-7 next"]
    assert "the progress artifact was not updated: ConnectionError: the API is gone" in caplog.text


def test_describe_names_the_running_stage_its_sources_and_the_time_left() -> None:
    board = ProgressBoard(Clock())
    board.start("collect")
    board.progress("collect").sources([slack()])
    text = describe(board.lines(), 100.0)
    assert text.startswith("collect: running; slack channels 10/100, slack_messages 2,000, 40 requests")
    assert text.endswith("about 0:03:47 left")
