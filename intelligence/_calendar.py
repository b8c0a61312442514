"""Calendar meetings: one meeting per event id across every attendee's calendar, minus non-meetings."""

from __future__ import annotations

from datetime import datetime

import duckdb

from core.sql import ScratchSpace, has_table, ident, lit
from intelligence._patterns import DRIVE_LINK, join_match_sql, normalise_join_sql

# Event types that block time but are never meetings, with the reason reported for them.
NOT_MEETING_TYPES = {
    "focusTime": "focus_time",
    "outOfOffice": "out_of_office",
    "workingLocation": "working_location",
}


def calendar_events(s: ScratchSpace) -> str:
    """Materialise one representative row per event id, filling minimal cancelled instances from their series.

    The same event sits in every attendee's calendar; the most recently updated copy wins. Google lists
    a cancelled instance of a series with little more than its id, so its title, attendees and links are
    taken from the series' latest live instance; the calendars holding a copy still tell who was invited
    when no live instance was collected.
    """
    return s.make(
        "events",
        """
        WITH copies AS (
            -- Narrow first: pick each event's copy on a few columns, then fetch that copy's wide row.
            SELECT event_id, count(*) AS calendars,
                   list(lower(calendar_id) ORDER BY calendar_id) AS calendar_ids,
                   arg_min(calendar_id, (updated IS NULL, -epoch_us(updated), -len(coalesce(attendees, [])),
                                         calendar_id)) AS chosen
            FROM calendar_events GROUP BY event_id
        ),
        ranked AS (
            SELECT c.*, k.calendars, k.calendar_ids
            FROM calendar_events c JOIN copies k ON k.event_id = c.event_id AND k.chosen = c.calendar_id
        ),
        series AS (
            SELECT recurring_event_id AS sid, summary AS s_summary, attendees AS s_attendees,
                   organizer_email AS s_organizer_email, event_type AS s_event_type, all_day AS s_all_day,
                   hangout_link AS s_hangout_link, conference_uris AS s_conference_uris,
                   location AS s_location,
                   time_zone AS s_time_zone, ical_uid AS s_ical_uid, "end" - start AS span
            FROM ranked
            WHERE recurring_event_id IS NOT NULL AND status <> 'cancelled'
              AND len(coalesce(attendees, [])) > 0
            QUALIFY row_number() OVER (PARTITION BY recurring_event_id
                                       ORDER BY updated DESC NULLS LAST, event_id) = 1
        ),
        joined AS (
            SELECT r.*, s.sid IS NOT NULL AND r.status = 'cancelled' AND len(coalesce(r.attendees, [])) = 0
                   AS minimal, s.*
            FROM ranked r LEFT JOIN series s ON s.sid = r.recurring_event_id
        )
        SELECT event_id, calendars, calendar_ids, recurring_event_id, original_start,
               coalesce(status, 'confirmed') AS status,
               CASE WHEN minimal THEN coalesce(ical_uid, s_ical_uid) ELSE ical_uid END AS ical_uid,
               CASE WHEN minimal THEN coalesce(summary, s_summary) ELSE summary END AS summary,
               CASE WHEN minimal THEN coalesce(event_type, s_event_type) ELSE event_type END AS event_type,
               CASE WHEN minimal THEN coalesce(all_day, s_all_day) ELSE all_day END AS all_day,
               CASE WHEN minimal THEN s_attendees ELSE attendees END AS attendees,
               CASE WHEN minimal THEN coalesce(organizer_email, s_organizer_email) ELSE organizer_email END
                   AS organizer_email,
               CASE WHEN minimal THEN coalesce(hangout_link, s_hangout_link) ELSE hangout_link END
                   AS hangout_link,
               CASE WHEN minimal THEN coalesce(conference_uris, s_conference_uris) ELSE conference_uris END
                   AS conference_uris,
               CASE WHEN minimal THEN coalesce(location, s_location) ELSE location END AS location,
               CASE WHEN minimal THEN coalesce(time_zone, s_time_zone) ELSE time_zone END AS time_zone,
               description, attachments,
               coalesce(start, original_start) AS start,
               coalesce("end", CASE WHEN minimal THEN coalesce(start, original_start) + span END,
                        coalesce(start, original_start)) AS "end"
        FROM joined
        """,
    )


def excluded_sql(events: str, as_of: datetime | None = None) -> str:
    """SQL giving (calendar_event_id, reason) per event: why it is not a meeting, or NULL for meetings.

    An event starting after `as_of` (the run's time) has not been held yet: `future`.
    """
    future = f"WHEN start > {lit(as_of.isoformat())}::TIMESTAMPTZ THEN 'future'" if as_of else ""
    types = " ".join(f"WHEN {lit(t)} THEN {lit(r)}" for t, r in NOT_MEETING_TYPES.items())
    people = """len(list_distinct(list_concat(
                list_transform(list_filter(coalesce(attendees, []),
                               lambda a: NOT coalesce(a.resource, false) AND a.email IS NOT NULL),
                               lambda a: lower(trim(a.email))),
                list_filter(list_append(coalesce(calendar_ids, []), lower(trim(organizer_email))),
                            lambda e: e IS NOT NULL AND NOT e LIKE '%resource.calendar.google.com'))))"""
    return f"""
    SELECT event_id AS calendar_event_id,
           CASE coalesce(event_type, 'default') {types}
                ELSE CASE WHEN coalesce(all_day, false) OR start IS NULL THEN 'all_day'
                          {future}
                          WHEN {people} < 2 THEN 'solo' END
           END AS reason
    FROM {events}
    """


def calendar_meetings(s: ScratchSpace, events: str, as_of: datetime | None = None) -> str:
    """Materialise the calendar meetings (held or cancelled) with their join links and Drive file ids;
    events after `as_of` are not meetings yet (see `excluded_sql`)."""
    links = "list_concat([hangout_link, location, description], coalesce(conference_uris, []))"
    found = f"list_filter(list_transform({links}, lambda u: {join_match_sql('u')}), lambda m: m <> '')"
    norm = f"list_sort(list_distinct(list_transform(e.join_matches, lambda m: {normalise_join_sql('m')})))"
    attached = f"""list_transform(coalesce(e.attachments, []), lambda a: coalesce(nullif(a.file_id, ''),
                                  nullif(regexp_extract(a.file_url, {lit(DRIVE_LINK)}, 1), '')))"""
    described = f"regexp_extract_all(coalesce(e.description, ''), {lit(DRIVE_LINK)}, 1)"
    found_docs = f"list_filter(list_concat({attached}, {described}), lambda d: d IS NOT NULL)"
    docs = f"list_sort(list_distinct({found_docs}))"
    return s.make(
        "cal_meetings",
        f"""
        WITH e AS (SELECT *, {found} AS join_matches FROM {events})
        SELECT 'cal:' || e.event_id AS meeting_id, e.event_id AS calendar_event_id, e.ical_uid,
               e.recurring_event_id,
               CASE WHEN e.status = 'cancelled' THEN 'cancelled' ELSE 'held' END AS status,
               CASE WHEN e.recurring_event_id IS NOT NULL THEN 'recurring' ELSE 'one_off' END AS kind,
               coalesce(nullif(trim(e.summary), ''), '(no title)') AS title,
               e.start, e."end", e.original_start, e.time_zone,
               lower(trim(e.organizer_email)) AS organizer_email,
               e.calendars::INTEGER AS calendars, {norm} AS conference_urls, e.description,
               {docs} AS document_ids
        FROM e
        JOIN ({excluded_sql(events, as_of)}) x ON x.calendar_event_id = e.event_id
        WHERE x.reason IS NULL
        """,
    )


def attendees(s: ScratchSpace, events: str, meetings: str, person_email: str) -> str:
    """Materialise the invited people of each calendar meeting (resources left out), mapped to persons."""
    return s.make(
        "cal_attendees",
        f"""
        WITH listed AS (
            SELECT m.meeting_id, lower(trim(a.email)) AS email, a.response_status,
                   coalesce(a.organizer, false) OR lower(trim(a.email)) = m.organizer_email AS organizer,
                   coalesce(a.optional, false) AS optional, 0 AS pri
            FROM (SELECT event_id, unnest(attendees) AS a FROM {events}) x
            JOIN {meetings} m ON m.calendar_event_id = x.event_id
            WHERE NOT coalesce(a.resource, false) AND a.email IS NOT NULL
            UNION ALL
            SELECT meeting_id, organizer_email, NULL, true, false, 1 FROM {meetings}
            WHERE organizer_email IS NOT NULL
            UNION ALL  -- a calendar holding a copy is an invitee, even when the copy lists nobody
            SELECT m.meeting_id, c.email, NULL, false, false, 2
            FROM (SELECT event_id, unnest(calendar_ids) AS email FROM {events}) c
            JOIN {meetings} m ON m.calendar_event_id = c.event_id
        )
        SELECT l.meeting_id, pe.person_id, l.email, l.response_status, l.organizer, l.optional
        FROM listed l LEFT JOIN {person_email} pe ON pe.email = l.email
        QUALIFY row_number() OVER (PARTITION BY l.meeting_id, l.email ORDER BY l.pri) = 1
        """,
    )


def attachment_documents_sql(events: str, meetings: str) -> str:
    """SQL giving (meeting_id, file_id, source, title, url) for calendar attachments and description links."""
    return f"""
    SELECT m.meeting_id,
           coalesce(nullif(a.file_id, ''), regexp_extract(a.file_url, {lit(DRIVE_LINK)}, 1)) AS file_id,
           'calendar_attachment' AS source, a.title, a.file_url AS url
    FROM (SELECT event_id, unnest(attachments) AS a FROM {events}) x
    JOIN {meetings} m ON m.calendar_event_id = x.event_id
    UNION ALL
    SELECT meeting_id, unnest(regexp_extract_all(description, {lit(DRIVE_LINK)}, 1)), 'event_description',
           NULL, NULL
    FROM {meetings} WHERE description IS NOT NULL
    """


def calendar_cache_tables(prefix: str) -> tuple[str, str, str]:
    """Give the names of the stored calendar-side tables under `prefix`: events, meetings, attendees."""
    return (f"{prefix}events", f"{prefix}meetings", f"{prefix}attendees")


def calendar_side(
    con: duckdb.DuckDBPyConnection,
    s: ScratchSpace,
    person_email: str,
    as_of: datetime | None,
    cache: str | None,
) -> tuple[str, str, str]:
    """Give the (quoted) events, calendar meetings and attendees tables: the stored ones under the prefix
    `cache` when they exist, else built in `s` (and stored when `cache` is given)."""
    stored = calendar_cache_tables(cache) if cache else None
    if stored and all(has_table(con, name) for name in stored):
        return ident(stored[0]), ident(stored[1]), ident(stored[2])
    events = calendar_events(s)
    cal = calendar_meetings(s, events, as_of)
    att = attendees(s, events, cal, person_email)
    for name, built in zip(stored or (), (events, cal, att), strict=False):
        con.execute(f"CREATE OR REPLACE TABLE {ident(name)} AS SELECT * FROM {built}")
    return events, cal, att
