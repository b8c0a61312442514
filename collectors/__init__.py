"""Collectors: raw record models, the offline workspace reader and the live API clients.

Names load on first use (PEP 562 `__getattr__`): `from collectors import InputBounds` reads the record models
only, so a command that needs a setting or a model does not pay for the Slack and Google clients (slack_sdk,
googleapiclient, pybreaker and redis), which `meetintel status` never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors._live_models import (
        BreakerPolicy,
        GoogleAuth,
        GoogleConfig,
        GoogleOptions,
        LiveConfig,
        RetryPolicy,
        SlackConfig,
        SlackOptions,
        SlackRates,
        SourceOutcome,
    )
    from collectors._normalise import Normaliser
    from collectors._resilience import AuthError, BreakerSnapshot, RedactingFilter, StatsSnapshot, redact
    from collectors._slack_export import MESSAGE_COLUMNS
    from collectors.client import ApiClient
    from collectors.files import Chunk, FileStamp, collect_workspace, workspace_paths
    from collectors.google_api import (
        GoogleDiscoveryApi,
        collect_calendar,
        collect_directory,
        collect_drive,
        list_calendars,
    )
    from collectors.live import (
        GoogleSource,
        LiveCollection,
        LiveSources,
        SlackSource,
        SourceProgress,
        build_live_sources,
        collect_live,
    )
    from collectors.models import (
        CALENDAR_ATTACHMENT,
        CALENDAR_ATTENDEE,
        CALENDAR_EVENTS,
        DIRECTORY_USERS,
        DRIVE_FILES,
        RAW_TABLES,
        SLACK_CHANNELS,
        SLACK_MESSAGES,
        SLACK_USERS,
        UTC_US,
        Cursor,
        InputBounds,
        RawTable,
    )
    from collectors.slack_api import (
        SlackWebApi,
        collect_channel_messages,
        collect_users,
        history_oldest,
        slack_limiter,
    )
    from core.chunks import LiveChunk, ReplaceScope

_HOMES: dict[str, tuple[str, ...]] = {
    "collectors._live_models": (
        "BreakerPolicy",
        "GoogleAuth",
        "GoogleConfig",
        "GoogleOptions",
        "LiveConfig",
        "RetryPolicy",
        "SlackConfig",
        "SlackOptions",
        "SlackRates",
        "SourceOutcome",
    ),
    "collectors._normalise": ("Normaliser",),
    "collectors._resilience": (
        "AuthError",
        "BreakerSnapshot",
        "RedactingFilter",
        "StatsSnapshot",
        "redact",
    ),
    "collectors._slack_export": ("MESSAGE_COLUMNS",),
    "collectors.client": ("ApiClient",),
    "collectors.files": (
        "Chunk",
        "FileStamp",
        "collect_workspace",
        "workspace_paths",
    ),
    "collectors.google_api": (
        "GoogleDiscoveryApi",
        "collect_calendar",
        "collect_directory",
        "collect_drive",
        "list_calendars",
    ),
    "collectors.live": (
        "GoogleSource",
        "LiveCollection",
        "LiveSources",
        "SlackSource",
        "SourceProgress",
        "build_live_sources",
        "collect_live",
    ),
    "collectors.models": (
        "CALENDAR_ATTACHMENT",
        "CALENDAR_ATTENDEE",
        "CALENDAR_EVENTS",
        "DIRECTORY_USERS",
        "DRIVE_FILES",
        "RAW_TABLES",
        "SLACK_CHANNELS",
        "SLACK_MESSAGES",
        "SLACK_USERS",
        "UTC_US",
        "Cursor",
        "InputBounds",
        "RawTable",
    ),
    "collectors.slack_api": (
        "SlackWebApi",
        "collect_channel_messages",
        "collect_users",
        "history_oldest",
        "slack_limiter",
    ),
    "core.chunks": (
        "LiveChunk",
        "ReplaceScope",
    ),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    """Give the public name `name`, importing the module that defines it on first use."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'collectors' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


__all__ = [
    "InputBounds",
    "MESSAGE_COLUMNS",
    "Normaliser",
    "BreakerPolicy",
    "BreakerSnapshot",
    "StatsSnapshot",
    "Cursor",
    "GoogleAuth",
    "GoogleConfig",
    "GoogleDiscoveryApi",
    "GoogleOptions",
    "LiveChunk",
    "LiveCollection",
    "LiveConfig",
    "LiveSources",
    "ReplaceScope",
    "RetryPolicy",
    "ApiClient",
    "SlackConfig",
    "SlackOptions",
    "SlackRates",
    "SlackWebApi",
    "SourceOutcome",
    "SourceProgress",
    "RedactingFilter",
    "redact",
    "build_live_sources",
    "collect_live",
    "CALENDAR_ATTACHMENT",
    "CALENDAR_ATTENDEE",
    "CALENDAR_EVENTS",
    "DIRECTORY_USERS",
    "DRIVE_FILES",
    "RAW_TABLES",
    "SLACK_CHANNELS",
    "SLACK_MESSAGES",
    "SLACK_USERS",
    "UTC_US",
    "Chunk",
    "FileStamp",
    "RawTable",
    "collect_workspace",
    "workspace_paths",
    "AuthError",
    "GoogleSource",
    "SlackSource",
    "collect_calendar",
    "collect_channel_messages",
    "collect_directory",
    "collect_drive",
    "collect_users",
    "history_oldest",
    "list_calendars",
    "slack_limiter",
]
