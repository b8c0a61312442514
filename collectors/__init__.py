"""Collectors: raw record models, the error hierarchy, and the offline workspace reader."""

from collectors.errors import (
    ConfigurationError,
    DataError,
    FatalError,
    MeetintelError,
    RetriableError,
)
from collectors.files import Chunk, FileStamp, collect_workspace
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
    RawTable,
)

__all__ = [
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
    "ConfigurationError",
    "DataError",
    "FatalError",
    "FileStamp",
    "MeetintelError",
    "RawTable",
    "RetriableError",
    "collect_workspace",
]
