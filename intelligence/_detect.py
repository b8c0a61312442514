"""Evidence detection: one SQL pass that classifies Slack messages as meeting activity."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from collectors.models import SLACK_MESSAGES, SLACK_USERS
from core.sql import fetch, ident, lit, require_columns
from intelligence._patterns import (
    ANNOUNCEMENT_SECONDS,
    DRIVE_LINK,
    EVENT_LINK,
    EVENT_PAGE,
    HARD_NEGATIVE,
    JOIN_LINK,
    LANGUAGE,
    LANGUAGE_PRIORITY,
    OWN_ORGANISER_EVENTS,
    PREFILTER,
    drive_ids_sql,
    eid_event_sql,
    inline_flags,
    join_match_sql,
    normalise_join_sql,
)
from intelligence._people import SLACKBOT
from intelligence.models import EVIDENCE, EVIDENCE_ROLES

# Replies to a "quick call?" this long after it come after the call: follow-ups, not coordination.
REQUEST_FOLLOW_UP_MINUTES = 15
# A message answered in its thread by a person's join link at most this long after it asked for the call.
LINK_ANSWER_MINUTES = 30
# Parents whose thread replies are evidence of the same meeting (besides the structural ones: a parent
# carrying a join link, or answered by one).
PARENT_KINDS = "|".join(inline_flags(LANGUAGE[k]) for k in ("agenda", "call_request"))
# Subtypes that are system notices, never a person's words.
_NOTICE_SUBTYPES = (
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "tombstone",
)


def detect_evidence(
    con: duckdb.DuckDBPyConnection, messages: str = "slack_messages", thread_messages: str = "slack_messages"
) -> pa.Table:
    """Give one EVIDENCE row per message of `messages` that looks like meeting activity.

    A row depends only on the message itself, its thread and its channel's event pages (looked up in
    `thread_messages`: every collected message, or at least those of the scanned messages' channels, since a
    thread never leaves its channel) and `slack_users`. Thread shape is structure: a message answered in its
    thread by a person's join link asked for a call whatever its words, and replies under a join link or such
    a question coordinate the call. So is an organiser's event page recurring in a channel (its own
    meetings), with its author's posts beside it. Scanning only new messages gives the same rows as a full
    scan, except that a question scanned before the link answering it arrived (or an event page before its
    organiser's second) stays without a row until it is scanned again.
    """
    require_columns(con, messages, SLACK_MESSAGES)
    require_columns(con, thread_messages, SLACK_MESSAGES)
    require_columns(con, "slack_users", SLACK_USERS)
    return fetch(con, _evidence_sql(ident(messages), ident(thread_messages)), EVIDENCE)


def _evidence_sql(messages: str, thread_messages: str) -> str:
    """SQL giving the EVIDENCE rows of `messages`, their threads looked up in `thread_messages`."""
    notices = ", ".join(lit(s) for s in _NOTICE_SUBTYPES)
    flags = ",\n".join(f"regexp_matches(t, {lit(p)}) AS is_{k}" for k, p in LANGUAGE.items())
    phrases = ",\n".join(f"regexp_extract(t, {lit(p)}) AS m_{k}" for k, p in LANGUAGE.items())
    return f"""
    WITH bots AS (SELECT user_id FROM slack_users WHERE is_bot),
    threads AS (
        SELECT channel_id, ts FROM {messages}
        UNION SELECT channel_id, thread_ts FROM {messages} WHERE thread_ts <> ts
    ),
    link_answers AS (
        -- Threads (of the scanned messages) where a person answered with a join link, and when first.
        SELECT r.channel_id, r.thread_ts, min(r.posted_at) AS first_link_at
        FROM {thread_messages} r SEMI JOIN threads k ON k.channel_id = r.channel_id AND k.ts = r.thread_ts
        WHERE r.thread_ts <> r.ts AND {_by_person_sql("r")}
          AND regexp_matches(coalesce(r.text, '') || ' ' || coalesce(r.attachments, ''), {lit(JOIN_LINK)})
        GROUP BY ALL
    ),
    event_pages AS (
        -- Event pages (an organiser's event on an event site) posted by people in the scanned channels.
        SELECT e.channel_id, e.ts, e.user_id, e.posted_at,
               lower(regexp_extract(e.blob, {lit(EVENT_PAGE)}, 1)) AS organiser,
               regexp_extract(e.blob, {lit(EVENT_PAGE)}, 2) AS event
        FROM (SELECT *, coalesce(text, '') || ' ' || coalesce(attachments, '') AS blob FROM {thread_messages}
              -- a cheap test first: the regular expression then runs on the few posts with such a path
              WHERE contains(text, '/events/') OR contains(attachments, '/events/')) e
        SEMI JOIN (SELECT DISTINCT channel_id FROM {messages}) c ON c.channel_id = e.channel_id
        WHERE regexp_matches(e.blob, {lit(EVENT_PAGE)}) AND {_by_person_sql("e")}
    ),
    own_pages AS (
        -- Those of an organiser whose distinct events recur in the channel: the channel's own meetings.
        SELECT p.* FROM event_pages p
        SEMI JOIN (SELECT channel_id, organiser FROM event_pages GROUP BY ALL
                   HAVING count(DISTINCT event) >= {OWN_ORGANISER_EVENTS}) o
               ON o.channel_id = p.channel_id AND o.organiser = p.organiser
    ),
    parents AS (
        -- Thread parents that give their replies a meaning: huddles (with their end), agendas, call requests
        -- (by their words, or by structure: a person's join link in the parent or answering it), and the
        -- channel's own event pages (their replies discuss the gathering, as under an agenda).
        SELECT p.channel_id, p.ts, p.posted_at,
               coalesce(subtype = 'huddle_thread' OR room IS NOT NULL, false) AS is_huddle,
               regexp_matches(coalesce(text, ''), {lit(LANGUAGE["call_request"])})
               OR (NOT regexp_matches(coalesce(text, ''), {lit(LANGUAGE["agenda"])})
                   AND (a.thread_ts IS NOT NULL
                        OR ({_by_person_sql("p")}
                            AND regexp_matches(coalesce(text, '') || ' ' || coalesce(attachments, ''),
                                               {lit(JOIN_LINK)}))))
                   AS is_request,
               CASE WHEN room IS NOT NULL AND json_valid(room)
                         AND try_cast(json_extract_string(room, '$.date_end') AS DOUBLE) > 0
                    THEN to_timestamp(try_cast(json_extract_string(room, '$.date_end') AS DOUBLE))
               END AS room_end
        FROM {thread_messages} p
        SEMI JOIN (SELECT DISTINCT channel_id, thread_ts FROM {messages} WHERE thread_ts <> ts) r
               ON r.channel_id = p.channel_id AND r.thread_ts = p.ts
        LEFT JOIN link_answers a ON a.channel_id = p.channel_id AND a.thread_ts = p.ts
             AND a.first_link_at <= p.posted_at + INTERVAL {LINK_ANSWER_MINUTES} MINUTE
        WHERE (subtype = 'huddle_thread' OR room IS NOT NULL
               OR (bot_id IS NULL AND regexp_matches(coalesce(text, ''), {lit(PARENT_KINDS)})
                   AND NOT regexp_matches(coalesce(text, ''), {lit(HARD_NEGATIVE)}))
               OR ({_by_person_sql("p")} AND (a.thread_ts IS NOT NULL
                                 OR regexp_matches(coalesce(text, '') || ' ' || coalesce(attachments, ''),
                                                   {lit(JOIN_LINK)})))
               OR EXISTS (SELECT 1 FROM own_pages o WHERE o.channel_id = p.channel_id AND o.ts = p.ts))
    ),
    candidates AS (
        SELECT m.channel_id, m.ts, m.thread_ts, m.user_id, m.posted_at, m.subtype, m.room,
               coalesce(m.text, '') AS t,
               coalesce(m.text, '') || ' ' || coalesce(m.attachments, '') AS blob,
               coalesce(m.subtype = 'huddle_thread' OR m.room IS NOT NULL, false) AS is_huddle,
               coalesce(p.is_huddle, false) AS in_huddle_thread,
               coalesce(NOT p.is_huddle AND NOT p.is_request, false) AS in_agenda_thread,
               coalesce(NOT p.is_huddle AND p.is_request, false) AS in_request_thread,
               coalesce(m.posted_at - p.posted_at >= INTERVAL {REQUEST_FOLLOW_UP_MINUTES} MINUTE, false)
                   AS late_in_thread,
               coalesce(p.is_huddle AND m.posted_at > p.room_end, false) AS after_huddle,
               coalesce(m.bot_id IS NOT NULL OR m.subtype = 'bot_message' OR m.user_id = '{SLACKBOT}'
                        OR m.user_id IN (SELECT user_id FROM bots), false) AS by_bot,
               coalesce(m.subtype, '') IN ({notices}) AS is_notice,
               a.thread_ts IS NOT NULL AS answered_by_link,
               o.ts IS NOT NULL AS is_event_page,
               EXISTS (SELECT 1 FROM own_pages b
                       WHERE b.channel_id = m.channel_id AND b.user_id = m.user_id AND b.ts <> m.ts
                         AND abs(epoch(m.posted_at) - epoch(b.posted_at)) <= {ANNOUNCEMENT_SECONDS})
                   AS beside_event_page
        FROM {messages} m
        LEFT JOIN parents p ON p.channel_id = m.channel_id AND p.ts = m.thread_ts AND m.thread_ts <> m.ts
        LEFT JOIN link_answers a ON a.channel_id = m.channel_id AND a.thread_ts = m.ts
             AND coalesce(m.thread_ts, m.ts) = m.ts
             AND a.first_link_at <= m.posted_at + INTERVAL {LINK_ANSWER_MINUTES} MINUTE
        LEFT JOIN own_pages o ON o.channel_id = m.channel_id AND o.ts = m.ts
        WHERE m.subtype = 'huddle_thread' OR m.room IS NOT NULL OR p.ts IS NOT NULL OR a.thread_ts IS NOT NULL
           OR o.ts IS NOT NULL OR beside_event_page
           OR regexp_matches(coalesce(m.text, '') || ' ' || coalesce(m.attachments, ''), {lit(PREFILTER)})
    ),
    features AS (
        SELECT *,
               {join_match_sql("blob")} AS join_m,
               regexp_extract(blob, {lit(EVENT_LINK)}, 1) AS eid,
               CASE WHEN regexp_matches(blob, {lit(DRIVE_LINK)}) THEN {drive_ids_sql("blob")}
                    ELSE []::VARCHAR[] END AS drive_file_ids,
               NOT by_bot AND NOT is_notice AND NOT regexp_matches(t, {lit(HARD_NEGATIVE)}) AS may_speak,
               {flags},
               {phrases}
        FROM candidates
    ),
    classified AS (
        SELECT *, {_kind_sql()} AS kind FROM features
    )
    SELECT channel_id, ts, thread_ts, user_id, posted_at, kind,
           CASE kind {" ".join(f"WHEN {lit(k)} THEN {lit(r)}" for k, r in EVIDENCE_ROLES.items())}
           END AS role,
           {_matched_sql()} AS matched,
           {normalise_join_sql("join_m")} AS conference_url,
           CASE WHEN eid <> '' THEN {eid_event_sql("eid")} END AS event_id,
           drive_file_ids,
           {_room_sql()}
    FROM classified
    WHERE kind IS NOT NULL
    ORDER BY channel_id, ts
    """


def _by_person_sql(alias: str) -> str:
    """SQL true when message `alias` was posted by a person: no bot, no Slackbot, no system notice."""
    notices = ", ".join(lit(s) for s in ("bot_message", *_NOTICE_SUBTYPES))
    return f"""({alias}.bot_id IS NULL AND coalesce({alias}.subtype, '') NOT IN ({notices})
                AND coalesce({alias}.user_id, '') <> '{SLACKBOT}'
                AND coalesce({alias}.user_id, '') NOT IN (SELECT user_id FROM bots))"""


def _kind_sql() -> str:
    """SQL CASE picking one kind per message: huddle, calendar link, language (by priority), link, request."""
    language = "\n".join(f"WHEN may_speak AND is_{k} THEN '{k}'" for k in LANGUAGE_PRIORITY)
    return f"""CASE
        WHEN is_huddle THEN 'huddle'
        WHEN eid <> '' AND by_bot THEN 'calendar_bot'
        WHEN eid <> '' AND NOT is_notice THEN 'calendar_link'
        WHEN is_event_page AND NOT is_notice THEN 'calendar_link'
        {language}
        WHEN join_m <> '' AND NOT is_notice THEN 'call_link'
        WHEN may_speak AND is_call_request THEN 'call_request'
        WHEN answered_by_link AND NOT by_bot AND NOT is_notice THEN 'call_request'
        WHEN in_huddle_thread AND NOT by_bot AND NOT is_notice
            THEN CASE WHEN after_huddle THEN 'recap' ELSE 'during' END
        WHEN in_agenda_thread AND may_speak THEN 'agenda'
        WHEN in_request_thread AND may_speak THEN CASE WHEN late_in_thread THEN 'recap' ELSE 'joining' END
        WHEN beside_event_page AND may_speak THEN 'agenda'
    END"""


def _matched_sql() -> str:
    """SQL giving the phrase or link that made a message evidence (for explanations)."""
    language = " ".join(f"WHEN '{k}' THEN m_{k}" for k in LANGUAGE)
    return f"""coalesce(nullif(CASE kind
        WHEN 'huddle' THEN 'huddle'
        WHEN 'calendar_bot' THEN 'calendar event link'
        WHEN 'calendar_link' THEN CASE WHEN eid <> '' THEN 'calendar event link' ELSE 'event page link' END
        WHEN 'call_link' THEN join_m
        {language}
    END, ''), CASE WHEN in_huddle_thread THEN 'reply in a huddle thread'
                   WHEN in_agenda_thread THEN 'reply to an agenda'
                   WHEN in_request_thread THEN 'reply to a call request'
                   WHEN answered_by_link THEN 'answered with a join link in its thread'
                   WHEN beside_event_page THEN 'posted by its author beside an event page' END)"""


def _room_sql() -> str:
    """SQL giving room_id, room_start, room_end and room_participants from the huddle room JSON."""
    valid = "kind = 'huddle' AND room IS NOT NULL AND json_valid(room)"
    epoch = "try_cast(json_extract_string(room, '$.{0}') AS DOUBLE)"
    history = "try(from_json(json_extract(room, '$.participant_history'), '[\"VARCHAR\"]'))"
    present = "try(from_json(json_extract(room, '$.participants'), '[\"VARCHAR\"]'))"
    return f"""
           CASE WHEN {valid} THEN json_extract_string(room, '$.id') END AS room_id,
           CASE WHEN kind = 'huddle' THEN coalesce(
               CASE WHEN {valid} AND {epoch.format("date_start")} > 0
                    THEN to_timestamp({epoch.format("date_start")}) END, posted_at) END AS room_start,
           CASE WHEN {valid} AND {epoch.format("date_end")} > 0
                THEN to_timestamp({epoch.format("date_end")}) END AS room_end,
           CASE WHEN {valid} THEN list_sort(list_distinct(list_concat(
                coalesce({history}, []), coalesce({present}, []),
                list_filter([json_extract_string(room, '$.created_by')], lambda u: u IS NOT NULL))))
           ELSE []::VARCHAR[] END AS room_participants"""
