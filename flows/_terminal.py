"""What reaches the terminal: data without control characters, and Prefect failures in one line.

Titles, channel names, file paths and error messages come from the sources; an escape sequence in any of
them could clear the screen, recolour the output or hide a link (OSC 8) when written raw. Every CLI print
of data goes through `safe` (rich markup) or `plain` (print, CSV).
"""

from __future__ import annotations

import logging
import re

from rich.markup import escape

# ESC sequences first (so their parameters go with them), then the lone control characters.
_CONTROL = re.compile(
    r"\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC: window titles, OSC 8 hyperlinks
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: colours, cursor moves, screen clear
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # CSI in its 8-bit form
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC in its 8-bit form
    r"|\x1b[ -/]*[0-~]?"  # any other escape (charset switches, RIS ...)
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0 but tab and newline, DEL, C1
    r"|[\u202a-\u202e\u2066-\u2069]"  # bidirectional overrides, which reorder what the eye reads
)


def plain(value: object) -> str:
    """Give `value` as text with escape sequences and control characters (but tab and newline) removed."""
    return _CONTROL.sub("", str(value))


def safe(value: object) -> str:
    """Give `value` as `plain` text, escaped so rich prints it literally (no markup from data)."""
    return escape(plain(value))


class TracebackToDebug(logging.Filter):
    """Keep tracebacks of Prefect's failure records off the terminal unless debug logging is on.

    The record's first line (what failed) stays; Prefect's API log handler has already sent the whole
    record, traceback included, to the run's log. With PREFECT_LOGGING_LEVEL=DEBUG the terminal shows it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not logging.getLogger("prefect").isEnabledFor(logging.DEBUG):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_tracebacks() -> None:
    """Install `TracebackToDebug` on the console handlers of the root logger (Prefect's console)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TracebackToDebug) for f in handler.filters):
            handler.addFilter(TracebackToDebug())
