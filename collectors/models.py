"""Raw record schemas: what every collector yields and what the state store keeps.

The schemas and natural keys live in `core.tables.raw` (the store reads them too); the cursor in
`core.cursors`; the readers' bounds in `collectors.bounds`. They are re-exported here for this package's
users.
"""

from __future__ import annotations

from collectors.bounds import InputBounds
from core.chunks import Cursor
from core.tables.raw import (
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
    "InputBounds",
    "Cursor",
    "UTC_US",
    "SLACK_USERS",
    "SLACK_CHANNELS",
    "SLACK_MESSAGES",
    "CALENDAR_ATTENDEE",
    "CALENDAR_ATTACHMENT",
    "CALENDAR_EVENTS",
    "DRIVE_FILES",
    "DIRECTORY_USERS",
    "RawTable",
    "RAW_TABLES",
]
