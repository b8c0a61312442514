"""Ad hoc meetings: Slack huddles, and join links on no calendar event that answer a "quick call?"."""

from __future__ import annotations

from core.sql import ScratchSpace, lit
from intelligence._patterns import LANGUAGE
from intelligence._sql import duration_sql

# An ad hoc call's length is not recorded anywhere; reports assume this many minutes.
CALL_MINUTES = 30
# A "quick call?" counts for a link posted at most this long after it in the same channel.
REQUEST_WINDOW_MINUTES = 30
# A participant's post in the huddle's channel up to this long after it ended still belongs to it.
HUDDLE_AFTER_MINUTES = 30
# Posts of the same link in a channel closer than this belong to the same call.
CALL_GAP_MINUTES = 60


def _unlinked(ev: str, linked: str) -> str:
    """SQL giving the evidence rows not yet linked to any meeting."""
    return f"""(SELECT e.* FROM {ev} e
               WHERE NOT EXISTS (SELECT 1 FROM {linked} l
                                 WHERE l.channel_id = e.channel_id AND l.ts = e.ts))"""


def huddle_meetings(s: ScratchSpace, ev: str) -> str:
    """Materialise one meeting per huddle room (messages sharing a room id are one huddle)."""
    return s.make(
        "huddles",
        f"""
        WITH rooms AS (
            SELECT *, first_value(channel_id) OVER w AS h_channel, first_value(ts) OVER w AS h_ts,
                   max(room_end) OVER (PARTITION BY coalesce(room_id, channel_id || ':' || ts)) AS h_end
            FROM {ev} WHERE kind = 'huddle'
            WINDOW w AS (PARTITION BY coalesce(room_id, channel_id || ':' || ts)
                         ORDER BY posted_at, channel_id, ts)
        )
        SELECT 'huddle:' || h_channel || ':' || h_ts AS meeting_id, h_channel, h_ts, channel_id, ts,
               room_participants, room_start AS start, coalesce(h_end, room_start) AS "end", posted_at
        FROM rooms
        """,
    )


def huddle_links_sql(ev: str, huddles: str, linked: str) -> str:
    """SQL giving links of huddle messages, replies in their threads and nearby posts by participants."""
    free = _unlinked(ev, linked)
    own = f"""
        SELECT meeting_id, channel_id, ts, 'huddle' AS kind, 'during' AS role, 1.0 AS score,
               ['the Slack huddle itself'] AS reasons
        FROM {huddles}"""
    head = f"SELECT * FROM {huddles} WHERE channel_id = h_channel AND ts = h_ts"
    thread = f"""
        SELECT h.meeting_id, e.channel_id, e.ts, e.kind, e.role, 0.9, ['reply in the huddle''s thread']
        FROM {free} e JOIN ({head}) h ON e.channel_id = h.h_channel AND e.thread_ts = h.h_ts
        WHERE e.kind <> 'huddle'"""
    delta = "(epoch(e.posted_at) - epoch(h.start)) / 60"
    nearby = f"""
        SELECT h.meeting_id, e.channel_id, e.ts, e.kind, e.role, 0.6,
               ['posted in the huddle''s channel ' || {duration_sql(f"abs({delta})")}
                || CASE WHEN {delta} < 0 THEN ' before' ELSE ' after' END || ' it started by a participant']
        FROM {free} e JOIN ({head}) h ON e.channel_id = h.h_channel
        WHERE e.kind IN ('joining', 'during', 'recap', 'action_items') AND e.conference_url IS NULL
          AND NOT e.answers_call
          AND coalesce(e.thread_ts, '') <> h.h_ts
          AND e.posted_at BETWEEN h.start - INTERVAL 10 MINUTE
                              AND h."end" + INTERVAL {HUDDLE_AFTER_MINUTES} MINUTE
          AND list_contains(h.room_participants, e.user_id)
        QUALIFY row_number() OVER (PARTITION BY e.channel_id, e.ts ORDER BY abs({delta}), h.meeting_id) = 1"""
    return f"""
    SELECT * FROM ({own} UNION ALL {thread} UNION ALL {nearby})
    QUALIFY row_number() OVER (PARTITION BY channel_id, ts ORDER BY score DESC, meeting_id) = 1"""


def call_meetings(s: ScratchSpace, ev: str, linked: str) -> str:
    """Materialise ad hoc calls: unlinked join links answering a call request in the same channel or thread.

    Posts of one link in one channel less than CALL_GAP_MINUTES apart are one call; the call starts at
    the first post. The request is the nearest earlier "quick call?" in the thread or channel, or the
    link message itself when it asks.
    """
    free = _unlinked(ev, linked)
    asks = f"regexp_matches(text_lc, {lit(LANGUAGE['call_request'])})"
    return s.make(
        "calls",
        f"""
        WITH posts AS (
            SELECT *, CASE WHEN lag(posted_at) OVER w IS NULL
                             OR posted_at - lag(posted_at) OVER w > INTERVAL {CALL_GAP_MINUTES} MINUTE
                           THEN 1 ELSE 0 END AS opens
            FROM {free} e
            WHERE conference_url IS NOT NULL AND kind NOT IN ('huddle', 'calendar_bot', 'calendar_link')
            WINDOW w AS (PARTITION BY channel_id, conference_url ORDER BY posted_at, ts)
        ),
        grouped AS (
            SELECT *, sum(opens) OVER (PARTITION BY channel_id, conference_url ORDER BY posted_at, ts) AS g
            FROM posts
        ),
        calls AS (
            SELECT channel_id, conference_url, g, arg_min(ts, (posted_at, ts)) AS first_ts,
                   min(posted_at) AS start, arg_min(coalesce(thread_ts, ts), (posted_at, ts)) AS thread_root,
                   bool_or({asks}) AS self_request
            FROM grouped GROUP BY ALL
        ),
        requested AS (
            SELECT c.channel_id, c.conference_url, c.g, r.ts AS request_ts,
                   (epoch(c.start) - epoch(r.posted_at)) / 60 AS request_gap
            FROM calls c JOIN {free} r ON r.channel_id = c.channel_id AND r.kind = 'call_request'
             AND r.posted_at <= c.start
             AND (r.ts = c.thread_root OR r.thread_ts = c.thread_root
                  OR r.posted_at >= c.start - INTERVAL {REQUEST_WINDOW_MINUTES} MINUTE)
            QUALIFY row_number() OVER (PARTITION BY c.channel_id, c.conference_url, c.g
                                       ORDER BY r.posted_at DESC, r.ts DESC) = 1
        )
        SELECT 'call:' || c.channel_id || ':' || c.first_ts AS meeting_id, c.channel_id, c.conference_url,
               c.g,
               c.first_ts, c.thread_root, c.start, c.start + INTERVAL {CALL_MINUTES} MINUTE AS "end",
               r.request_ts, r.request_gap, c.self_request
        FROM calls c LEFT JOIN requested r USING (channel_id, conference_url, g)
        WHERE r.request_ts IS NOT NULL OR c.self_request
        """,
    )


def call_links_sql(ev: str, calls: str, linked: str) -> str:
    """SQL giving links of each call's link posts, its request and the unlinked replies in its thread."""
    free = _unlinked(ev, linked)
    posts = f"""
        SELECT c.meeting_id, e.channel_id, e.ts, e.kind, e.role, 0.9 AS score,
               ['join link on no calendar event, posted in answer to a call request'] AS reasons
        FROM {free} e JOIN {calls} c ON c.channel_id = e.channel_id AND c.conference_url = e.conference_url
         AND e.posted_at BETWEEN c.start AND c.start + INTERVAL {CALL_GAP_MINUTES} MINUTE"""
    request = f"""
        SELECT c.meeting_id, e.channel_id, e.ts, e.kind, e.role, 0.8,
               ['asked for a call ' || {duration_sql("c.request_gap")} || ' before the link was posted']
        FROM {free} e JOIN {calls} c ON c.channel_id = e.channel_id AND c.request_ts = e.ts"""
    thread = f"""
        SELECT c.meeting_id, e.channel_id, e.ts, e.kind, e.role, 0.7, ['reply in the call''s thread']
        FROM {free} e JOIN {calls} c ON c.channel_id = e.channel_id
         AND (e.thread_ts = c.thread_root OR e.thread_ts = c.request_ts)
        WHERE e.kind NOT IN ('huddle', 'calendar_bot', 'calendar_link')
          AND e.posted_at BETWEEN c.start - INTERVAL 1 HOUR AND c.start + INTERVAL 1 DAY"""
    return f"""
    SELECT * FROM ({posts} UNION ALL {request} UNION ALL {thread})
    QUALIFY row_number() OVER (PARTITION BY channel_id, ts ORDER BY score DESC, meeting_id) = 1"""
