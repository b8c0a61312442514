"""Collectors: raw record models, the offline workspace reader and the live API clients.

Names load on first use (PEP 562 `__getattr__`): `from collectors import InputBounds` reads that dataclass
only, so a command that needs a setting or a model does not pay for the Slack and Google clients (slack_sdk,
googleapiclient, pybreaker and redis), which `meetintel status` never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_names

if TYPE_CHECKING:
    from collectors._io import FingerprintCache, reuse_fingerprints
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
    from collectors.bounds import InputBounds
    from collectors.client import ApiClient
    from collectors.files import CHUNK_FILES, Chunk, FileStamp, collect_workspace, workspace_paths
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
    "collectors._io": ("FingerprintCache", "reuse_fingerprints"),
    "collectors.bounds": ("InputBounds",),
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
        "CHUNK_FILES",
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
__getattr__, __dir__ = lazy_names(__name__, globals(), _HOMES)

__all__ = [
    "FingerprintCache",
    "reuse_fingerprints",
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
    "CHUNK_FILES",
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
