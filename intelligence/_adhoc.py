"""Ad hoc meetings: Slack huddles, and join links posted by people on no calendar event."""

from __future__ import annotations

from core.sql import ScratchSpace, lit
from intelligence._patterns import LANGUAGE, LATER
from intelligence._sql import duration_sql

# An ad hoc call's length is not recorded anywhere; without a thread to tell, this many minutes.
CALL_MINUTES = 30
# The call's thread closes it: its last reply at least CLOSE_MIN and at most CLOSE_MAX minutes after the
# link is the end (earlier replies are people joining; later ones are follow-ups, not the call).
CLOSE_MIN_MINUTES = 5
CLOSE_MAX_MINUTES = 120
# A join link posted by a person on no calendar event scores this much on its own; structure and
# phrasing move it (see `call_meetings`), and a call scoring under CALL_THRESHOLD is no meeting.
CALL_BASE_SCORE = 0.6
CALL_THRESHOLD = 0.5
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
    """Materialise ad hoc calls: join links posted by people (not bots) that link to no calendar event.

    Posts of one link (its canonical key) less than CALL_GAP_MINUTES apart are one call; the call starts
    at the first post. The link alone makes the call; the score says how sure: CALL_BASE_SCORE, +0.2
    when the link answers a message (a reply in a thread, or a call request shortly before), +0.1 when
    someone's words ask for a call, +0.1 when people are mentioned or reply in its thread, -0.3 when the
    words put it on another day. The end is the call thread's last reply between CLOSE_MIN_MINUTES and
    CLOSE_MAX_MINUTES after the link, else CALL_MINUTES after it; `end_rule` says which.
    """
    free = _unlinked(ev, linked)
    order = "(posted_at, channel_id, ts)"
    calls = s.make(
        "call_groups",
        f"""
        WITH posts AS (
            SELECT *, CASE WHEN lag(posted_at) OVER w IS NULL
                             OR posted_at - lag(posted_at) OVER w > INTERVAL {CALL_GAP_MINUTES} MINUTE
                           THEN 1 ELSE 0 END AS opens
            FROM {free} e
            WHERE conference_url IS NOT NULL AND NOT by_bot
              AND kind NOT IN ('huddle', 'calendar_bot', 'calendar_link')
            WINDOW w AS (PARTITION BY conference_url ORDER BY posted_at, channel_id, ts)
        ),
        grouped AS (
            SELECT *, sum(opens) OVER (PARTITION BY conference_url ORDER BY posted_at, channel_id, ts) AS g
            FROM posts
        )
        SELECT conference_url, g, arg_min(channel_id, {order}) AS channel_id,
               arg_min(ts, {order}) AS first_ts,
               min(posted_at) AS start, arg_min(coalesce(thread_ts, ts), {order}) AS thread_root,
               bool_or(regexp_matches(text_lc, {lit(LANGUAGE["call_request"])})) AS self_request,
               bool_or(regexp_matches(text_lc, {lit(LATER)})) AS for_later,
               list_distinct(flatten(list(mentioned))) AS mentioned
        FROM grouped GROUP BY conference_url, g
        """,
    )
    requested = f"""
        SELECT c.conference_url, c.g, r.ts AS request_ts, r.user_id AS request_user,
               (epoch(c.start) - epoch(r.posted_at)) / 60 AS request_gap,
               regexp_matches(r.text_lc, {lit(LANGUAGE["call_request"])}) AS request_phrased
        FROM {calls} c JOIN {free} r ON r.channel_id = c.channel_id AND r.kind = 'call_request'
         AND r.posted_at <= c.start
         AND (r.ts = c.thread_root OR r.thread_ts = c.thread_root
              OR r.posted_at >= c.start - INTERVAL {REQUEST_WINDOW_MINUTES} MINUTE)
        QUALIFY row_number() OVER (PARTITION BY c.conference_url, c.g
                                   ORDER BY r.posted_at DESC, r.ts DESC) = 1"""
    threads = s.make(
        "call_threads",
        f"""
        WITH c AS (SELECT c.*, r.* EXCLUDE (conference_url, g)
                   FROM {calls} c LEFT JOIN ({requested}) r USING (conference_url, g)),
        -- replies under the thread the link was posted in, or under the request it answers: two equality
        -- joins (one join on the channel with either condition paired every call with every reply there)
        roots AS (
            SELECT conference_url, g, channel_id, start, thread_root AS root FROM c
            UNION ALL
            SELECT conference_url, g, channel_id, start, request_ts FROM c
            WHERE request_ts IS NOT NULL AND request_ts IS DISTINCT FROM thread_root
        )
        SELECT c.conference_url, c.g, m.user_id, m.posted_at
        FROM roots c JOIN slack_messages m ON m.channel_id = c.channel_id AND m.thread_ts = c.root
        LEFT JOIN slack_users u ON u.user_id = m.user_id
        WHERE m.thread_ts <> m.ts
          AND m.posted_at > c.start AND m.posted_at <= c.start + INTERVAL {CLOSE_MAX_MINUTES} MINUTE
          AND m.bot_id IS NULL AND NOT coalesce(u.is_bot, false) AND m.user_id IS NOT NULL
        """,
    )
    return s.make(
        "calls",
        f"""
        WITH c AS (SELECT c.*, r.* EXCLUDE (conference_url, g)
                   FROM {calls} c LEFT JOIN ({requested}) r USING (conference_url, g)),
        closing AS (
            SELECT conference_url, g, count(*) AS replies,
                   max(posted_at) FILTER (WHERE posted_at >= start + INTERVAL {CLOSE_MIN_MINUTES} MINUTE)
                       AS last_reply
            FROM {threads} JOIN (SELECT conference_url, g, start FROM {calls}) USING (conference_url, g)
            GROUP BY ALL
        ),
        scored AS (
            SELECT c.*, coalesce(k.replies, 0) AS replies, k.last_reply,
                   c.request_ts IS NOT NULL OR c.thread_root <> c.first_ts AS answers,
                   c.self_request OR coalesce(c.request_phrased, false) AS phrased
            FROM c LEFT JOIN closing k USING (conference_url, g)
        )
        SELECT 'call:' || channel_id || ':' || first_ts AS meeting_id, channel_id, conference_url, g,
               first_ts, thread_root, start,
               coalesce(last_reply, start + INTERVAL {CALL_MINUTES} MINUTE) AS "end",
               CASE WHEN last_reply IS NOT NULL THEN 'thread_last_reply' ELSE 'default_{CALL_MINUTES}m' END
                   AS end_rule,
               request_ts, request_user, request_gap, self_request, answers, phrased, mentioned, for_later,
               replies,
               round(least({CALL_BASE_SCORE} + 0.2 * answers::INT + 0.1 * phrased::INT
                           + 0.1 * (replies > 0 OR len(mentioned) > 0)::INT - 0.3 * for_later::INT, 1.0), 3)
                   AS score
        FROM scored
        WHERE {CALL_BASE_SCORE} + 0.2 * answers::INT + 0.1 * phrased::INT
              + 0.1 * (replies > 0 OR len(mentioned) > 0)::INT - 0.3 * for_later::INT >= {CALL_THRESHOLD}
        """,
    )


def call_reasons_sql(c: str) -> str:
    """SQL giving why call `c` (a row of `call_meetings`) is a call, strongest first."""
    return f"""list_filter([
        'join link posted by a person on no calendar event',
        CASE WHEN {c}.request_ts IS NOT NULL
             THEN 'answers a message posted ' || {duration_sql(f"{c}.request_gap")} || ' before the link'
             WHEN {c}.answers THEN 'posted in reply to a message' END,
        CASE WHEN {c}.phrased THEN 'the words ask for a call' END,
        CASE WHEN {c}.replies > 0
             THEN {c}.replies || ' repl' || CASE WHEN {c}.replies = 1 THEN 'y' ELSE 'ies' END
             || ' in its thread' END,
        CASE WHEN len({c}.mentioned) > 0 THEN 'mentions ' || len({c}.mentioned) || ' person'
             || CASE WHEN len({c}.mentioned) = 1 THEN '' ELSE 's' END END,
        CASE WHEN {c}.for_later THEN 'but its words put it on another day' END
    ], lambda r: r IS NOT NULL)"""


def call_people_sql(calls: str) -> str:
    """SQL giving (meeting_id, user_id) of each call's people: posters, who it answers, mentions, repliers.

    Repliers count when they reply in the call's thread (or its request's) between its start and end.
    """
    # One equality join per way a message belongs to a call (an OR of them would join every pair).
    posts = " UNION ALL ".join(
        f"""SELECT c.meeting_id, m.user_id, m.bot_id FROM {calls} c
            JOIN slack_messages m ON m.channel_id = c.channel_id AND m.ts = c.{key}"""
        for key in ("thread_root", "request_ts", "first_ts")
    )
    replies = " UNION ALL ".join(
        f"""SELECT c.meeting_id, m.user_id, m.bot_id FROM {calls} c
            JOIN slack_messages m ON m.channel_id = c.channel_id AND m.thread_ts = c.{key}
            WHERE m.thread_ts <> m.ts AND m.posted_at BETWEEN c.start AND c."end"
        """
        for key in ("thread_root", "request_ts")
    )
    return f"""
    SELECT p.meeting_id, p.user_id
    FROM ({posts} UNION ALL {replies}) p
    LEFT JOIN slack_users u ON u.user_id = p.user_id
    WHERE p.bot_id IS NULL AND NOT coalesce(u.is_bot, false) AND p.user_id IS NOT NULL
    UNION
    SELECT meeting_id, unnest(mentioned) FROM {calls}"""


def call_links_sql(ev: str, calls: str, linked: str) -> str:
    """SQL giving links of each call's link posts, its request and the unlinked replies in its thread."""
    free = _unlinked(ev, linked)
    posts = f"""
        SELECT c.meeting_id, e.channel_id, e.ts, e.kind, e.role, c.score, {call_reasons_sql("c")} AS reasons
        FROM {free} e JOIN {calls} c ON c.conference_url = e.conference_url AND NOT e.by_bot
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
