"""Correlation: calendar meetings, ad hoc meetings, and the evidence, people and documents linked to them."""

from __future__ import annotations

from datetime import datetime

import duckdb

from collectors.models import CALENDAR_EVENTS, SLACK_CHANNELS, SLACK_MESSAGES
from core.sql import ScratchSpace, fetch, ident, require_columns, scratch
from intelligence import _adhoc, _calendar, _linking
from intelligence.models import (
    EVIDENCE,
    EXCLUDED_EVENTS,
    MEETING_DOCUMENTS,
    MEETING_EVIDENCE,
    MEETING_PARTICIPANTS,
    MEETINGS,
    PEOPLE,
    CorrelationResult,
)


def correlate(
    con: duckdb.DuckDBPyConnection,
    evidence: str = "evidence",
    people: str = "people",
    as_of: datetime | None = None,
    calendar_cache: str | None = None,
) -> CorrelationResult:
    """Give every meeting (calendar and ad hoc) with its participants, linked evidence and documents.

    Reads the raw tables plus the stored `evidence` and `people` tables. Each evidence message links to
    at most one meeting: calendar meetings first (event link, join link, then time, attendee and title),
    then huddles, then ad hoc calls. Calendar events starting after `as_of` (the run's time) are not held
    meetings yet; without `as_of` every event counts.

    `calendar_cache` names a prefix for stored tables of the calendar side (`calendar_cache_tables`): the
    events, calendar meetings and their attendees, which depend only on `calendar_events`, `people` and
    `as_of`. They are read when they exist and written when they do not; the caller drops them whenever
    one of those inputs changed (`flows.stages` keys them on the inputs' fingerprints).
    """
    for table, schema in (
        ("calendar_events", CALENDAR_EVENTS),
        ("slack_messages", SLACK_MESSAGES),
        ("slack_channels", SLACK_CHANNELS),
        (evidence, EVIDENCE),
        (people, PEOPLE),
    ):
        require_columns(con, table, schema)
    with scratch(con) as s:
        return _correlate(con, s, ident(evidence), ident(people), as_of, calendar_cache)


def _correlate(
    con: duckdb.DuckDBPyConnection,
    s: ScratchSpace,
    evidence: str,
    people: str,
    as_of: datetime | None,
    cache: str | None = None,
) -> CorrelationResult:
    """Run the correlation steps in `s` and give their result tables."""
    person_slack = s.make(
        "person_slack",
        f"""
        SELECT user_id, min(person_id) AS person_id
        FROM (SELECT unnest(slack_user_ids) AS user_id, person_id FROM {people}) GROUP BY user_id""",
    )
    person_email = s.make(
        "person_email",
        f"""
        SELECT email, min(person_id) AS person_id
        FROM (SELECT unnest(emails) AS email, person_id FROM {people}) GROUP BY email""",
    )
    events, cal, att = _calendar.calendar_side(con, s, person_email, as_of, cache)
    ev = _linking.tagged_evidence(s, evidence, person_slack)
    cm = _linking.meeting_keys(s, cal)
    attending = _linking.attending(s, att, people, person_slack)
    cand = _linking.candidates(s, ev, cm, attending)
    scored = _linking.scored(s, ev, cm, cand, attending, person_slack)
    best = s.make("best_links", _linking.best_links(scored))
    links = s.make("links", _linking.with_threads_sql(ev, best))
    huddles = _adhoc.huddle_meetings(s, ev)
    con.execute(f"INSERT INTO {links} {_adhoc.huddle_links_sql(ev, huddles, links)}")
    calls = _adhoc.call_meetings(s, ev, links)
    con.execute(f"INSERT INTO {links} {_adhoc.call_links_sql(ev, calls, links)}")
    call_people = s.make("call_people", _adhoc.call_people_sql(calls))
    return CorrelationResult(
        meetings=fetch(con, _meetings_sql(cal, huddles, calls, links), MEETINGS),
        participants=fetch(
            con,
            _participants_sql(att, links, ev, huddles, call_people, person_slack, people),
            MEETING_PARTICIPANTS,
        ),
        links=fetch(con, f"SELECT * FROM {links} ORDER BY meeting_id, channel_id, ts", MEETING_EVIDENCE),
        documents=fetch(con, _documents_sql(events, cal, links, ev), MEETING_DOCUMENTS),
        excluded=fetch(
            con,
            f"""SELECT * FROM ({_calendar.excluded_sql(events, as_of)}) WHERE reason IS NOT NULL
                               ORDER BY calendar_event_id""",
            EXCLUDED_EVENTS,
        ),
    )


def _meetings_sql(cal: str, huddles: str, calls: str, links: str) -> str:
    """SQL giving the MEETINGS rows: calendar meetings, huddles and ad hoc calls."""
    return f"""
    WITH lk AS (
        SELECT meeting_id, count(*) AS n, max(score) AS score,
               list(reasons ORDER BY score DESC, channel_id, ts)[1] AS best,
               list_sort(list_distinct(list(channel_id))) AS channel_ids
        FROM {links} GROUP BY meeting_id
    ),
    names AS (SELECT channel_id, name FROM slack_channels),
    calendar AS (
        SELECT c.meeting_id, c.calendar_event_id, c.ical_uid, c.recurring_event_id, c.status,
               CASE WHEN lk.n > 0 THEN 'calendar+slack' ELSE 'calendar' END AS origin, c.kind, c.title,
               c.start, c."end", c.time_zone, c.organizer_email, c.conference_urls[1] AS conference_url,
               c.calendars, coalesce(lk.channel_ids, []) AS channel_ids, lk.score,
               list_concat(['scheduled in Google Calendar (seen in ' || c.calendars || ' calendar'
                            || CASE WHEN c.calendars = 1 THEN ')' ELSE 's)' END],
                           CASE WHEN lk.n > 0
                                THEN [lk.n || ' Slack message' || CASE WHEN lk.n = 1 THEN '' ELSE 's' END
                                || ' linked; strongest: ' || array_to_string(lk.best, ', ')]
                                ELSE ['no Slack activity linked'] END) AS reasons
        FROM {cal} c LEFT JOIN lk USING (meeting_id)
    ),
    huddle AS (
        SELECT h.meeting_id, NULL AS calendar_event_id, NULL AS ical_uid, NULL AS recurring_event_id,
               'held' AS status, 'slack' AS origin, 'huddle' AS kind,
               CASE WHEN n.name IS NULL THEN 'Huddle' ELSE 'Huddle in #' || n.name END AS title,
               h.start, h."end", NULL AS time_zone, NULL AS organizer_email, NULL AS conference_url,
               0 AS calendars,
               list_sort(list_distinct(list_append(coalesce(lk.channel_ids, []), h.channel_id))),
               1.0, ['Slack huddle with ' || len(h.room_participants) || ' participant'
                     || CASE WHEN len(h.room_participants) = 1 THEN '' ELSE 's' END]
        FROM {huddles} h LEFT JOIN lk USING (meeting_id) LEFT JOIN names n ON n.channel_id = h.channel_id
        WHERE h.channel_id = h.h_channel AND h.ts = h.h_ts
    ),
    call AS (
        SELECT c.meeting_id, NULL, NULL, NULL, 'held', 'slack', 'adhoc_call',
               CASE WHEN n.name IS NULL THEN 'Call' ELSE 'Call in #' || n.name END,
               c.start, c."end", NULL, NULL, c.conference_url, 0,
               list_sort(list_distinct(list_append(coalesce(lk.channel_ids, []), c.channel_id))), lk.score,
               list_concat(['join link posted in Slack matches no calendar event'],
                           {_adhoc.call_reasons_sql("c")}[2:],
                           ['end: ' || c.end_rule || CASE WHEN c.end_rule = 'thread_last_reply'
                                THEN ' (the last reply in its thread closed it)'
                                ELSE ' (no reply closed it; a call''s length is not recorded)' END])
        FROM {calls} c LEFT JOIN lk USING (meeting_id) LEFT JOIN names n ON n.channel_id = c.channel_id
    )
    SELECT * FROM calendar UNION ALL SELECT * FROM huddle UNION ALL SELECT * FROM call
    ORDER BY start, meeting_id
    """


def _participants_sql(
    att: str, links: str, ev: str, huddles: str, call_people: str, person_slack: str, people: str
) -> str:
    """SQL giving MEETING_PARTICIPANTS: invitees, posters of linked evidence, huddle and call people."""
    return f"""
    WITH src AS (
        SELECT meeting_id, person_id, email, response_status, true AS invited, organizer, optional,
               false AS evidenced
        FROM {att}
        UNION ALL
        SELECT l.meeting_id, e.person_id, NULL, NULL, false, false, false, true
        FROM {links} l JOIN {ev} e USING (channel_id, ts) WHERE e.person_id IS NOT NULL
        UNION ALL
        SELECT h.meeting_id, ps.person_id, NULL, NULL, false, false, false, true
        FROM (SELECT meeting_id, unnest(room_participants) AS user_id FROM {huddles}) h
        JOIN {person_slack} ps USING (user_id)
        UNION ALL
        SELECT c.meeting_id, ps.person_id, NULL, NULL, false, false, false, true
        FROM {call_people} c JOIN {person_slack} ps USING (user_id)
    )
    SELECT s.meeting_id, s.person_id, coalesce(max(s.email), max(p.email)) AS email,
           max(p.slack_user_id) AS slack_user_id, max(s.response_status) AS response_status,
           bool_or(s.invited) AS invited, bool_or(s.organizer) AS organizer, bool_or(s.optional) AS optional,
           bool_or(s.evidenced) AS evidenced
    FROM src s LEFT JOIN {people} p USING (person_id)
    GROUP BY s.meeting_id, s.person_id, CASE WHEN s.person_id IS NULL THEN s.email END
    ORDER BY s.meeting_id, email, s.person_id
    """


def _documents_sql(events: str, cal: str, links: str, ev: str) -> str:
    """SQL giving MEETING_DOCUMENTS: calendar attachments, description links and Drive links in evidence."""
    return f"""
    WITH d AS (
        {_calendar.attachment_documents_sql(events, cal)}
        UNION ALL
        SELECT l.meeting_id, unnest(e.drive_file_ids), 'slack_message', NULL, NULL
        FROM {links} l JOIN {ev} e USING (channel_id, ts)
    )
    SELECT meeting_id, file_id, list_sort(list_distinct(list(source))) AS sources, max(title) AS title,
           max(url) AS url
    FROM d WHERE coalesce(file_id, '') <> ''
    GROUP BY meeting_id, file_id
    ORDER BY meeting_id, file_id
    """
