"""Raw record schemas: what every collector yields and what the state store keeps.

Each raw table is an Arrow schema plus its natural key. Collectors (offline files or live APIs)
yield `pyarrow.RecordBatch`es of exactly these schemas; `checkpoints/` upserts them by key.
Nested vendor fields that no stage reads column-wise (reactions, files, attachments, the huddle
`room`) travel as JSON text so the store never needs a schema migration when Slack adds a field.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_US = pa.timestamp("us", tz="UTC")

SLACK_USERS = pa.schema(
    [
        ("user_id", pa.string()),
        ("team_id", pa.string()),
        ("name", pa.string()),
        ("real_name", pa.string()),
        ("display_name", pa.string()),
        ("email", pa.string()),  # null when the workspace hides it
        ("tz", pa.string()),  # IANA name, e.g. "Europe/Berlin"
        ("tz_offset", pa.int32()),  # seconds east of UTC
        ("is_bot", pa.bool_()),
        ("deleted", pa.bool_()),
        ("is_restricted", pa.bool_()),  # guest accounts
    ]
)

SLACK_CHANNELS = pa.schema(
    [
        ("channel_id", pa.string()),
        ("name", pa.string()),
        ("is_private", pa.bool_()),
        ("is_im", pa.bool_()),
        ("is_mpim", pa.bool_()),
        ("created", pa.int64()),  # epoch seconds
        ("topic", pa.string()),
        ("purpose", pa.string()),
        ("members", pa.list_(pa.string())),
    ]
)

SLACK_MESSAGES = pa.schema(
    [
        ("channel_id", pa.string()),
        ("ts", pa.string()),  # Slack's "1700000000.000100"; a string so no precision is lost
        ("thread_ts", pa.string()),  # null for messages outside threads
        ("user_id", pa.string()),
        ("bot_id", pa.string()),
        ("subtype", pa.string()),
        ("text", pa.string()),
        ("reply_count", pa.int32()),
        ("latest_reply", pa.string()),
        ("edited_ts", pa.string()),
        ("reactions", pa.string()),  # JSON text of the vendor array, or null
        ("files", pa.string()),  # JSON text
        ("attachments", pa.string()),  # JSON text (calendar-bot posts live here)
        ("room", pa.string()),  # JSON text of the huddle room object
        ("posted_at", UTC_US),  # ts as a timestamp, for time windows
    ]
)

CALENDAR_ATTENDEE = pa.struct(
    [
        ("email", pa.string()),
        ("display_name", pa.string()),
        ("response_status", pa.string()),  # needsAction | declined | tentative | accepted
        ("optional", pa.bool_()),
        ("organizer", pa.bool_()),
        ("is_self", pa.bool_()),
        ("resource", pa.bool_()),
    ]
)

CALENDAR_ATTACHMENT = pa.struct([("file_id", pa.string()), ("title", pa.string()), ("file_url", pa.string())])

CALENDAR_EVENTS = pa.schema(
    [
        ("calendar_id", pa.string()),  # the calendar the row was read from (an attendee's email)
        ("event_id", pa.string()),  # instance id for recurring events: <base>_<YYYYMMDDTHHMMSSZ>
        ("ical_uid", pa.string()),
        ("recurring_event_id", pa.string()),
        ("original_start", UTC_US),
        ("status", pa.string()),  # confirmed | tentative | cancelled
        ("event_type", pa.string()),  # default | focusTime | outOfOffice | workingLocation ...
        ("summary", pa.string()),
        ("description", pa.string()),
        ("location", pa.string()),
        ("start", UTC_US),
        ("end", UTC_US),
        ("all_day", pa.bool_()),
        ("time_zone", pa.string()),  # the event's start time zone, if given
        ("organizer_email", pa.string()),
        ("creator_email", pa.string()),
        ("attendees", pa.list_(CALENDAR_ATTENDEE)),
        ("hangout_link", pa.string()),
        ("conference_uris", pa.list_(pa.string())),  # conferenceData entry points (video)
        ("transparency", pa.string()),
        ("html_link", pa.string()),
        ("attachments", pa.list_(CALENDAR_ATTACHMENT)),
        ("updated", UTC_US),
        ("etag", pa.string()),
    ]
)

DRIVE_FILES = pa.schema(
    [
        ("file_id", pa.string()),
        ("name", pa.string()),
        ("mime_type", pa.string()),
        ("web_view_link", pa.string()),
        ("owner_emails", pa.list_(pa.string())),
        ("created_time", UTC_US),
        ("modified_time", UTC_US),
        ("trashed", pa.bool_()),
    ]
)

DIRECTORY_USERS = pa.schema(
    [
        ("person_id", pa.string()),  # directory user id
        ("primary_email", pa.string()),
        ("aliases", pa.list_(pa.string())),  # aliases and nonEditableAliases, lower case
        ("full_name", pa.string()),
        ("given_name", pa.string()),
        ("family_name", pa.string()),
        ("department", pa.string()),
        ("title", pa.string()),
        ("manager_email", pa.string()),
        ("suspended", pa.bool_()),
        # emails[].address (the API) or the secondary-email columns (the CSV) that are neither the primary
        # nor an alias, lower case: they identify the person, but their domains are not the company's.
        ("other_emails", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class RawTable:
    """A raw table: its name in the store, its schema and its natural key.

    `stub` is an SQL condition on a new row `b` that marks it as a stub: Google reports a deleted event or a
    removed file with its key and status only. A stub keeps the stored row's other fields (the title, the
    times, the attendees), so a cancelled meeting still shows what it was.
    """

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    stub: str | None = None


RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in (
        RawTable("slack_users", SLACK_USERS, ("user_id",)),
        RawTable("slack_channels", SLACK_CHANNELS, ("channel_id",)),
        RawTable("slack_messages", SLACK_MESSAGES, ("channel_id", "ts")),
        RawTable(
            "calendar_events",
            CALENDAR_EVENTS,
            ("calendar_id", "event_id"),
            stub="b.status = 'cancelled' AND b.start IS NULL AND b.summary IS NULL",
        ),
        RawTable("drive_files", DRIVE_FILES, ("file_id",), stub="b.trashed AND b.name IS NULL"),
        RawTable("directory_users", DIRECTORY_USERS, ("person_id",)),
    )
}
