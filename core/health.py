"""Findings of health checks: what the state and report checks give, and what `meetintel doctor` prints."""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True)
class Finding:
    """One thing doctor found: how bad, what it is, what to do, and what `--repair` would do to it.

    `code` names the kind of finding for tests and tooling; `keys` are the rows or files it concerns.
    """

    severity: str  # error | warning | info
    code: str
    what: str
    todo: str
    keys: tuple[str, ...] = ()
