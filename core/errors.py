"""The error hierarchy every package raises: each says what happened and what to do next."""

from __future__ import annotations


class MeetintelError(Exception):
    """Base of all classified errors. `hint` tells the user what to do next."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class RetriableError(MeetintelError):
    """A transient fault (rate limit, 5xx, timeout); retrying later can succeed."""


class FatalError(MeetintelError):
    """A fault retrying cannot fix (bad credentials, revoked access)."""


class ConfigurationError(MeetintelError):
    """A setting, path or option is missing or wrong."""


class DataError(MeetintelError):
    """Input data is malformed; the message names the file or record."""
