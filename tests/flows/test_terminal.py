"""Terminal output: data loses its escape sequences and control characters; tracebacks stay in the log."""

from __future__ import annotations

import logging
import sys

import pytest

from flows._terminal import TracebackToDebug, plain, safe


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("Weekly sync", "Weekly sync"),
        ("a\tb\nc", "a\tb\nc"),  # tab and newline are layout, kept
        ("\x1b[2J\x1b[HBudget", "Budget"),  # screen clear and cursor home
        ("\x1b[31;1mred\x1b[0m", "red"),  # colours
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 link, ST-terminated
        ("\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "click"),  # OSC 8 link, BEL-terminated
        ("\x1b]0;owned\x07title", "title"),  # window title
        ("\x9b2Jx\x9d8;;u\x9cy", "xy"),  # 8-bit CSI and OSC
        ("\x1bPq#0;1\x1b\\sixel", "sixel"),  # DCS
        ("a\rb\x08c\x00d\x7fe\x85f", "abcdef"),  # CR, backspace, NUL, DEL, C1 NEL
        ("\x1bcreset", "reset"),  # RIS
        ("trailing\x1b", "trailing"),  # a lone ESC
        ("gnp\u202e.exe", "gnp.exe"),  # right-to-left override
        ("Café 会議 🎉", "Café 会議 🎉"),  # printable Unicode untouched
    ],
)
def test_plain_strips_escape_sequences_and_control_characters(given: str, shown: str) -> None:
    assert plain(given) == shown


def test_safe_prints_rich_markup_in_data_literally() -> None:
    assert safe("[bold red]Q3[/] \x1b[2J") == "\\[bold red]Q3\\[/] "


def _record(exc_info: object) -> logging.LogRecord:
    return logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, "failed: %r", ("x",), exc_info)  # type: ignore[arg-type]


def test_a_failure_record_loses_its_traceback_on_the_terminal_unless_debug_is_on() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        info = sys.exc_info()
    prefect = logging.getLogger("prefect")
    level = prefect.level
    try:
        prefect.setLevel(logging.INFO)
        quiet = _record(info)
        assert TracebackToDebug().filter(quiet)
        assert quiet.exc_info is None and quiet.getMessage() == "failed: 'x'"
        prefect.setLevel(logging.DEBUG)
        loud = _record(info)
        assert TracebackToDebug().filter(loud)
        assert loud.exc_info is info
    finally:
        prefect.setLevel(level)
