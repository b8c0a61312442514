"""Where a run's log records go: one console handler drawn above the live progress, and run.log in full.

During `meetintel run` the root logger's console handlers (Prefect's among them) are swapped for one
`RichHandler` on the console the progress is drawn on, so a record never lands on a progress line. The
terminal shows meetintel's own INFO lines and every warning; Prefect's INFO chatter (the temporary-server
notice, task state lines) only with `-v`. Every record from INFO up also goes to `<out>/runs/<id>/run.log`,
tokens removed. The run id is known only once the flow has started, so the log is written beside the
run folders first and moved in when the run ends.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from flows._terminal import plain
from flows.settings import Settings

# collectors' redaction and exports' names load when a run starts logging, not when the CLI starts: they
# bring the API clients' resilience code and the report writers, which `meetintel status` never needs.

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_FLOWS = Path(__file__).resolve().parent


class ConsoleLevels(logging.Filter):
    """Let meetintel's records through from INFO and everyone else's from WARNING (from INFO if verbose)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return record.levelno >= logging.INFO and (self.verbose or is_ours(record))


def is_ours(record: logging.LogRecord) -> bool:
    """Give whether meetintel wrote `record`: its loggers, or the flow's run logger called from flows/."""
    if record.name == "meetintel" or record.name.startswith("meetintel."):
        return True
    return Path(record.pathname).resolve().parent == _FLOWS


class CleanFormatter(logging.Formatter):
    """Format a record with control characters stripped (messages carry data) and secrets redacted,
    tracebacks included; tracebacks only when `tracebacks` (the terminal shows them with -v)."""

    def __init__(
        self, fmt: str, secrets: Sequence[str], tracebacks: bool = True, datefmt: str = "%Y-%m-%d %H:%M:%S"
    ) -> None:
        super().__init__(fmt, datefmt=datefmt)
        self.secrets, self.tracebacks = list(secrets), tracebacks
        self.redact = _redactor(self.secrets)

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks or not record.exc_info:
            return self.redact(plain(super().format(record)), self.secrets)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return self.redact(plain(super().format(record)), self.secrets)
        finally:
            record.exc_info, record.exc_text = saved


def _unchanged(text: str, secrets: Sequence[str]) -> str:
    return text


def _redactor(secrets: Sequence[str]) -> Callable[[str, Sequence[str]], str]:
    """Give collectors' `redact` when there are secrets to remove, else a function that keeps the text.

    collectors' redaction lives with the API clients' resilience code, which brings pybreaker and redis
    (0.3 s): an offline run without tokens or a salt has nothing to redact and need not load them.
    """
    if not secrets:
        return _unchanged
    from collectors import redact

    return redact


def secret_values(salt_env: str) -> list[str]:
    """Give the secrets a log must never hold: the tokens set now, and the pseudonymisation salt."""
    settings = Settings.from_cli()
    tokens = [settings.slack_token, settings.google_token]
    found = [t.get_secret_value() for t in tokens if t is not None]
    salt = os.environ.get(salt_env)
    return [s for s in [*found, salt] if s]


def _is_console(handler: logging.Handler) -> bool:
    """Give whether `handler` writes to the terminal (Prefect's console handler, a plain stream one)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    if isinstance(handler, PrefectConsoleHandler):
        return True
    streams = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    return type(handler) is logging.StreamHandler and handler.stream in streams


class RunLog:
    """The run's log file: written beside the run folders, then moved into `runs/<id>/run.log`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = out / "runs" / f".run-{stamp}-{os.getpid()}.log"  # hidden: not a run folder
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def place(self, run_id: str | None) -> Path:
        """Move the log into the run's folder (created if the run exported nothing); give where it is."""
        from exports.health import RUN_LOG

        if run_id is None or not self.path.exists():
            return self.path
        target = self.out / "runs" / run_id / RUN_LOG
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        self.path = target
        return target


@contextmanager
def run_logging(console: Console, out: Path, *, verbose: bool, secrets: Sequence[str]) -> Iterator[RunLog]:
    """Route every record to `console` (quiet unless `verbose`) and all of them to the run's log file."""
    root, ours = logging.getLogger(), logging.getLogger("meetintel")
    swapped = [h for h in root.handlers if _is_console(h)]
    level = ours.level
    run_log = RunLog(out)
    file = logging.FileHandler(run_log.path, encoding="utf-8")
    file.setLevel(logging.INFO)
    file.setFormatter(CleanFormatter(FILE_FORMAT, secrets))
    screen = RichHandler(console=console, show_path=False, markup=False)
    if secrets:  # nothing to remove otherwise (see `_redactor`)
        from collectors import RedactingFilter

        file.addFilter(RedactingFilter(secrets))
        screen.addFilter(RedactingFilter(secrets))
    screen.addFilter(ConsoleLevels(verbose))
    debug = logging.getLogger("prefect").isEnabledFor(logging.DEBUG)
    screen.setFormatter(CleanFormatter("%(message)s", secrets, verbose or debug, datefmt="%H:%M:%S"))
    for handler in swapped:
        root.removeHandler(handler)
    root.addHandler(file)  # first: it sees each record whole, before any other handler touches it
    root.addHandler(screen)
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
    try:
        yield run_log
    finally:
        root.removeHandler(screen)
        root.removeHandler(file)
        file.close()
        for handler in swapped:
            # Prefect stops its temporary server at exit and says so; that stays as quiet as the run was.
            if not any(isinstance(f, ConsoleLevels) for f in handler.filters):
                handler.addFilter(ConsoleLevels(verbose))
            root.addHandler(handler)
        ours.setLevel(level)
