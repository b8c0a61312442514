"""Evidence -> calendar meeting links: candidates by event link, join link, attendee, title; then scores."""

from __future__ import annotations

from core.sql import ScratchSpace, lit, time_bucket
from intelligence._patterns import MENTION
from intelligence._people import SLACKBOT, stand_ins_sql
from intelligence._sql import duration_sql
from intelligence.models import EVIDENCE_ROLES

# Action items posted by the recap's author this soon after it belong to the same meeting.
FOLLOW_UP_MINUTES = 30
# A join link this soon after a "quick call?" in its channel answers it.
CALL_ANSWER_MINUTES = 30
# A pair this strong fixes the meeting's channel; weaker pairs in that channel get a bonus.
HOME_SCORE = 0.85
# A link needs at least this score; below it the evidence stays unlinked (or feeds ad hoc meetings).
LINK_THRESHOLD = 0.5
# A recap that names no meeting and carries none of its event link, join link or documents counts only in the
# meeting's home channel, at most this long after it ended: the word "recap" alone says little about which
# meeting (or whether any) it follows.
UNTITLED_POST_MINUTES = 120

# Kinds that can name the meeting in their text, so a title match means something.
_TITLED = (
    "agenda",
    "recap",
    "action_items",
    "reschedule",
    "cancellation",
    "calendar_bot",
    "calendar_link",
    "joining",
)
# Title words too common to say which meeting a message is about.
_GENERIC_TITLE_WORDS = "('sync', 'meeting', 'weekly', 'daily', 'with', 'call', 'team', 'review', 'check')"
# An invitee who declined does not attend: their posts and mentions are no attendee's.
_ATTENDING = "coalesce(a.response_status, '') <> 'declined'"
# Talk whose kind its thread shape can overrule (join links, bot posts and change announcements keep theirs).
_REKINDABLE = "('agenda', 'joining', 'during')"
# Kinds that never link to a calendar event: huddles are their own meetings, and a "quick call?" asks
# for a call nobody scheduled (unless it names a meeting of its author: `_TIMING_KIND`).
_NOT_CALENDAR = ("huddle", "call_request")
# A call request by an invitee naming every distinctive word of a meeting's title speaks of that meeting
# (its agenda, its cancellation, its recap), whatever words made it look like a request: it links with
# the kind its timing gives, as a post found by its title alone does in context evidence.
_TIMING_KIND = """CASE WHEN delta <= 0
                       THEN CASE WHEN status = 'cancelled' THEN 'cancellation' ELSE 'agenda' END
                       WHEN delta <= dur THEN 'during' ELSE 'recap' END"""

# Per kind: the window around the meeting (minutes relative to start, or to the end for `post`) in
# which it counts, and the scale over which its closeness decays.
# Kinds that only happen in a meeting that took place.
_HELD_ONLY = "'joining', 'call_link', 'during', 'recap', 'action_items'"
_WINDOW_SQL = """CASE
    WHEN kind IN ('joining', 'call_link') THEN delta BETWEEN -15 AND 15
    WHEN kind = 'reschedule' THEN delta BETWEEN -1440 AND 5 OR delta_orig BETWEEN -1440 AND 5
    WHEN kind = 'cancellation' THEN delta BETWEEN -1440 AND 15
    WHEN role = 'pre' THEN delta BETWEEN -1440 AND 5
    -- a recap or action items follow a meeting: at least its first half is over
    WHEN role = 'post' THEN delta BETWEEN dur / 2 AND dur + 1440
    WHEN role = 'during' THEN delta BETWEEN -5 AND dur + 5
    ELSE false END"""
_CLOSENESS_SQL = """CASE
    WHEN kind IN ('joining', 'call_link') THEN 1 - least(abs(delta), 15) / 15
    WHEN role = 'post' THEN 1 - least(greatest(delta - dur, 0), 240) / 240
    -- chatter belongs to a meeting that is running: a few minutes before its start or after its end, less so
    WHEN role = 'during' THEN 1 - least(greatest(-delta, delta - dur, 0), 10) / 10
    ELSE 1 - least(abs(least(delta, 0)), 480) / 480 END"""


def tagged_evidence(s: ScratchSpace, evidence: str, person_slack: str) -> str:
    """Materialise evidence with its poster's person id, lower-cased text, UTC day and context flags.

    `by_bot` marks posts of bots (their join links make no ad hoc call); `mentioned` lists the Slack
    users the message mentions.

    `in_huddle_thread` marks replies under a huddle; `answers_call` marks replies in a "quick call?"
    thread and join links posted in its channel shortly after it: only an identical event link or join
    link can tie those to a calendar meeting. `answered_call` marks requests with a join link in their
    thread: they asked for a call, whatever meeting they name. Talk its author followed with action items
    becomes a recap (`_closed_by_action_items_sql`).
    """
    answer_b = time_bucket("posted_at", CALL_ANSWER_MINUTES * 60)
    return s.make(
        "ev",
        f"""
        WITH huddles AS (SELECT channel_id, ts FROM {evidence} WHERE kind = 'huddle'),
        requests AS (SELECT channel_id, ts, posted_at FROM {evidence} WHERE kind = 'call_request'),
        answers AS (  -- equality joins only: a join on the channel alone pairs every request with
                      -- every link of a busy channel (56 M pairs at XL)
            SELECT e.channel_id, e.ts
            FROM {evidence} e JOIN requests r ON r.channel_id = e.channel_id AND r.ts = e.thread_ts
            UNION
            -- a join link at most CALL_ANSWER_MINUTES after the request: the request's bucket of that
            -- many minutes is the link's or the one before
            SELECT e.channel_id, e.ts
            FROM (SELECT channel_id, ts, posted_at, unnest([{answer_b}, {answer_b} - 1]) AS b
                  FROM {evidence} WHERE conference_url IS NOT NULL) e
            JOIN (SELECT *, {answer_b} AS b FROM requests) r
              ON r.channel_id = e.channel_id AND r.b = e.b
            WHERE r.posted_at BETWEEN e.posted_at - INTERVAL {CALL_ANSWER_MINUTES} MINUTE AND e.posted_at
        ),
        answered AS (
            SELECT DISTINCT r.channel_id, r.ts
            FROM requests r JOIN {evidence} e ON e.channel_id = r.channel_id AND e.thread_ts = r.ts
            WHERE e.conference_url IS NOT NULL AND e.ts <> r.ts
        ),
        closed AS ({_closed_by_action_items_sql(evidence)})
        SELECT e.* REPLACE (CASE WHEN c.ts IS NULL THEN e.kind ELSE 'recap' END AS kind,
                            CASE WHEN c.ts IS NULL THEN e.role ELSE 'post' END AS role),
               ps.person_id, lower(coalesce(m.text, '')) AS text_lc,
               CAST(e.posted_at AT TIME ZONE 'UTC' AS DATE) AS day,
               h.ts IS NOT NULL AND e.kind <> 'huddle' AS in_huddle_thread,
               a.ts IS NOT NULL AS answers_call, q.ts IS NOT NULL AS answered_call,
               coalesce(m.bot_id IS NOT NULL OR m.subtype = 'bot_message' OR e.user_id = '{SLACKBOT}'
                        OR u.is_bot, false) AS by_bot,
               regexp_extract_all(coalesce(m.text, ''), {lit(MENTION)}, 1) AS mentioned
        FROM {evidence} e
        LEFT JOIN {person_slack} ps ON ps.user_id = e.user_id
        LEFT JOIN slack_users u ON u.user_id = e.user_id
        LEFT JOIN slack_messages m ON m.channel_id = e.channel_id AND m.ts = e.ts
        LEFT JOIN huddles h ON h.channel_id = e.channel_id AND h.ts = e.thread_ts
        LEFT JOIN answers a ON a.channel_id = e.channel_id AND a.ts = e.ts
        LEFT JOIN answered q ON q.channel_id = e.channel_id AND q.ts = e.ts
        LEFT JOIN closed c ON c.channel_id = e.channel_id AND c.ts = e.ts
        """,
    )


def _closed_by_action_items_sql(evidence: str) -> str:
    """SQL giving (channel_id, ts) of top-level talk its author followed with action items: in its thread,
    or as their next post in the channel within FOLLOW_UP_MINUTES when no recap of theirs came shortly before
    them (`with_threads_sql` gives those to that recap). Action items close a meeting, so what
    they follow is its recap, whatever its words looked like (talk found by its timing alone takes the
    phase its words fit best, and a recap posted while its author sits in the next meeting reads as that
    meeting's talk)."""
    # Pairs and blockers are found through FOLLOW_UP_MINUTES time buckets (equality joins): joined on
    # (channel, person) alone, a person's posts pair with all their others (6.3 M pairs at XL).
    bucket = time_bucket("posted_at", FOLLOW_UP_MINUTES * 60)
    return f"""
    WITH top AS (
        SELECT channel_id, ts, user_id, posted_at, kind, {bucket} AS b
        FROM {evidence} WHERE coalesce(thread_ts, ts) = ts
    ),
    in_thread AS (
        SELECT e.channel_id, e.ts FROM top e JOIN {evidence} ai
          ON ai.channel_id = e.channel_id AND ai.user_id = e.user_id AND ai.thread_ts = e.ts AND ai.ts <> e.ts
        WHERE ai.kind = 'action_items' AND e.kind IN {_REKINDABLE}
    ),
    -- top-level action items `a` by the same person at most FOLLOW_UP_MINUTES after the post: a's bucket
    -- is the post's or the next one
    followed AS (
        SELECT e.channel_id, e.ts, e.user_id, e.posted_at, a.posted_at AS ai_at, a.b AS ai_b
        FROM (SELECT *, unnest([b, b + 1]) AS nb FROM top WHERE kind IN {_REKINDABLE}) e
        JOIN top a ON a.channel_id = e.channel_id AND a.user_id = e.user_id AND a.b = e.nb
        WHERE a.kind = 'action_items' AND a.ts <> e.ts
          AND a.posted_at BETWEEN e.posted_at AND e.posted_at + INTERVAL {FOLLOW_UP_MINUTES} MINUTE
    ),
    -- no later post of theirs in between, and no recap of theirs the action items follow: either lies in
    -- the FOLLOW_UP_MINUTES before the action items, so in their bucket or the one before
    blocked AS (
        SELECT DISTINCT f.channel_id, f.ts, f.ai_at
        FROM followed f JOIN (SELECT *, unnest([b, b + 1]) AS nb FROM top) x
          ON x.channel_id = f.channel_id AND x.user_id = f.user_id AND x.nb = f.ai_b
        WHERE x.ts <> f.ts AND x.posted_at < f.ai_at
          AND (x.posted_at > f.posted_at
               OR (x.kind = 'recap' AND x.posted_at >= f.ai_at - INTERVAL {FOLLOW_UP_MINUTES} MINUTE))
    )
    SELECT channel_id, ts FROM in_thread
    UNION
    SELECT f.channel_id, f.ts FROM followed f
    ANTI JOIN blocked k ON k.channel_id = f.channel_id AND k.ts = f.ts AND k.ai_at = f.ai_at
    """


def attending(s: ScratchSpace, attendees: str, people: str, person_slack: str) -> str:
    """Materialise `attendees` plus, for each invitee a Slack account stands in for (`stand_ins_sql`), a
    copy of their row under that account's person: linking counts its posts and mentions as theirs, as
    context evidence does."""
    return s.make(
        "attending",
        f"""
        SELECT * FROM {attendees}
        UNION ALL
        SELECT a.* REPLACE (ps.person_id AS person_id)
        FROM {attendees} a JOIN ({stand_ins_sql(people)}) si USING (person_id)
        JOIN {person_slack} ps ON ps.user_id = si.user_id
        """,
    )


def meeting_keys(s: ScratchSpace, meetings: str) -> str:
    """Materialise per calendar meeting its lower-cased title, distinctive title words and UTC day."""
    return s.make(
        "cm",
        f"""
        SELECT meeting_id, calendar_event_id, recurring_event_id, status, start, "end", original_start,
               conference_urls, document_ids, lower(title) AS title_lc,
               list_filter(list_distinct(string_split_regex(lower(title), '[^a-z0-9]+')),
                           lambda w: length(w) >= 4 AND w NOT IN {_GENERIC_TITLE_WORDS})
                   AS title_words,
               CAST(start AT TIME ZONE 'UTC' AS DATE) AS day
        FROM {meetings}
        """,
    )


def candidates(s: ScratchSpace, ev: str, cm: str, attendees: str) -> str:
    """Materialise distinct (evidence, meeting) pairs worth scoring.

    Day buckets turn the attendee time-window join into a hash join: a meeting within a day of a post
    starts on the post's UTC day, the day after, or one of the two days before. A join link shared by a
    whole series (or a personal room) only proposes the nearest meetings before and after the post. A
    Drive file the event carries proposes that event. A title is only searched for evidence that found
    no meeting otherwise, which keeps the costly substring test off the bulk of the pairs.
    """
    not_cal = ", ".join(f"'{k}'" for k in _NOT_CALENDAR)
    titled = ", ".join(f"'{k}'" for k in _TITLED)
    near = 'e.posted_at BETWEEN m.start - INTERVAL 1 DAY AND m."end" + INTERVAL 1 DAY'
    usable = f"(SELECT * FROM {ev} WHERE kind NOT IN ({not_cal}) AND NOT in_huddle_thread)"
    # Each path is its own statement: combined in one query, DuckDB plans the day-bucket join badly.
    by_event = s.make(
        "cand_event",
        f"""
        SELECT e.channel_id, e.ts, m.meeting_id FROM {ev} e JOIN {cm} m ON m.calendar_event_id = e.event_id
        UNION ALL
        SELECT e.channel_id, e.ts, m.meeting_id FROM {ev} e JOIN {cm} m ON m.recurring_event_id = e.event_id
        WHERE {near}""",
    )
    by_url = s.make(
        "cand_url",
        f"""
        WITH linked AS (SELECT * FROM {usable} WHERE conference_url IS NOT NULL),
        url AS (SELECT meeting_id, unnest(conference_urls) AS url, start FROM {cm})
        SELECT e.channel_id, e.ts, u.meeting_id
        FROM linked e ASOF JOIN url u ON u.url = e.conference_url AND e.posted_at >= u.start
        UNION ALL
        SELECT e.channel_id, e.ts, u.meeting_id
        FROM linked e ASOF JOIN url u ON u.url = e.conference_url AND e.posted_at < u.start""",
    )
    # Materialised on their own so the optimizer cannot join posts to every meeting of the day first.
    # Call requests are proposed to their author's meetings, which they may name (`_TIMING_KIND`).
    posts = s.make(
        "cand_posts",
        f"""
        SELECT channel_id, ts, person_id, posted_at, unnest([day - 2, day - 1, day, day + 1]) AS d
        FROM {ev} WHERE kind <> 'huddle' AND NOT in_huddle_thread AND person_id IS NOT NULL""",
    )
    invitations = s.make(
        "cand_invitations",
        f"""
        SELECT a.meeting_id, a.person_id, m.day, m.start, m."end"
        FROM {attendees} a JOIN {cm} m USING (meeting_id) WHERE a.person_id IS NOT NULL""",
    )
    by_attendee = s.make(
        "cand_attendee",
        f"""
        SELECT e.channel_id, e.ts, m.meeting_id
        FROM {posts} e JOIN {invitations} m ON m.person_id = e.person_id AND m.day = e.d WHERE {near}""",
    )
    by_document = s.make(
        "cand_document",
        f"""
        WITH shared AS (SELECT channel_id, ts, posted_at, unnest(drive_file_ids) AS file_id
                        FROM {usable} WHERE len(drive_file_ids) > 0),
        carried AS (SELECT meeting_id, start, "end", unnest(document_ids) AS file_id FROM {cm})
        SELECT e.channel_id, e.ts, m.meeting_id FROM shared e JOIN carried m USING (file_id) WHERE {near}""",
    )
    linked = s.make(
        "cand_direct",
        f"""
        SELECT DISTINCT * FROM (SELECT * FROM {by_event} UNION ALL SELECT * FROM {by_url}
                                UNION ALL SELECT * FROM {by_attendee}
                                UNION ALL SELECT * FROM {by_document})""",
    )
    return s.make(
        "cand",
        f"""
        WITH lonely AS (
            SELECT e.channel_id, e.ts, e.text_lc, e.posted_at,
                   unnest([e.day - 2, e.day - 1, e.day, e.day + 1]) AS d
            FROM {ev} e
            WHERE e.kind IN ({titled}) AND NOT e.in_huddle_thread
              AND NOT EXISTS (SELECT 1 FROM {linked} c WHERE c.channel_id = e.channel_id AND c.ts = e.ts)
        )
        SELECT * FROM {linked}
        UNION ALL
        SELECT e.channel_id, e.ts, m.meeting_id
        FROM lonely e JOIN {cm} m ON m.day = e.d
        WHERE length(m.title_lc) >= 4 AND contains(e.text_lc, m.title_lc) AND {near}
        """,
    )


def scored(s: ScratchSpace, ev: str, cm: str, cand: str, attendees: str, person_slack: str) -> str:
    """Materialise every candidate pair with its features and score (reasons come with the best pairs).

    Besides time, attendee and title, the channel counts (meetings are discussed where their people
    are, and channels are often named after the team or project a meeting is about), and so does a
    Drive document the event also carries. An invitee who declined is no attendee, and a message that
    mentions someone who does not attend a meeting is less likely about it.
    """
    share = s.make(
        "channel_share",
        f"""
        WITH pairs AS (SELECT DISTINCT meeting_id, channel_id FROM {cand}),
        accounts AS (SELECT DISTINCT a.meeting_id, ps.user_id
                     FROM {attendees} a JOIN {person_slack} ps USING (person_id)),
        membership AS (SELECT DISTINCT channel_id, unnest(members) AS user_id FROM slack_channels)
        SELECT p.meeting_id, p.channel_id, count(mb.user_id) / count(*) AS members_share
        FROM pairs p JOIN accounts a USING (meeting_id)
        LEFT JOIN membership mb ON mb.channel_id = p.channel_id AND mb.user_id = a.user_id
        GROUP BY p.meeting_id, p.channel_id
        """,
    )
    strangers = s.make(
        "mentioned_strangers",
        f"""
        WITH named AS (SELECT DISTINCT e.channel_id, e.ts, ps.person_id
                       FROM (SELECT channel_id, ts, unnest(mentioned) AS user_id FROM {ev}
                             WHERE len(mentioned) > 0) e
                       JOIN {person_slack} ps USING (user_id))
        SELECT c.channel_id, c.ts, c.meeting_id, count(*) AS strangers
        FROM {cand} c JOIN named n USING (channel_id, ts)
        ANTI JOIN {attendees} a ON a.meeting_id = c.meeting_id AND a.person_id = n.person_id
                               AND {_ATTENDING}
        GROUP BY ALL
        """,
    )
    roles = " ".join(
        f"WHEN {lit(k)} THEN {lit(EVIDENCE_ROLES[k])}" for k in ("agenda", "cancellation", "during", "recap")
    )
    feats = s.make(
        "feats",
        f"""
        SELECT * REPLACE (CASE WHEN asked_call THEN {_TIMING_KIND} ELSE kind END AS kind,
                          CASE WHEN asked_call THEN CASE {_TIMING_KIND} {roles} END ELSE role END AS role)
        FROM (
        SELECT c.channel_id, c.ts, c.meeting_id, e.kind, e.role, m.status,
               e.kind = 'call_request' AND NOT e.answered_call AS asked_call,
               e.answers_call AND e.kind <> 'call_request' AS answers_call,
               coalesce(e.event_id = m.calendar_event_id, false) AS eid_hit,
               coalesce(e.event_id = m.recurring_event_id, false) AS series_hit,
               coalesce(list_contains(m.conference_urls, e.conference_url), false) AS url_hit,
               e.conference_url,
               a.person_id IS NOT NULL AS by_attendee, coalesce(a.organizer, false) AS by_organizer,
               e.conference_url IS NOT NULL AND len(m.conference_urls) > 0
                   AND NOT list_contains(m.conference_urls, e.conference_url) AS other_url,
               e.conference_url IS NOT NULL AND len(m.conference_urls) = 0 AS link_without_event_link,
               len(list_intersect(e.drive_file_ids, m.document_ids)) > 0 AS shares_document,
               length(m.title_lc) >= 4 AND contains(e.text_lc, m.title_lc) AS title_full,
               CASE WHEN len(m.title_words) = 0 THEN 0.0
                    ELSE len(list_filter(m.title_words, lambda w: contains(e.text_lc, w)))
                         / len(m.title_words)
               END AS title_frac,
               (epoch(e.posted_at) - epoch(m.start)) / 60 AS delta,
               (epoch(e.posted_at) - epoch(coalesce(m.original_start, m.start))) / 60 AS delta_orig,
               (epoch(m."end") - epoch(m.start)) / 60 AS dur,
               coalesce(m.original_start <> m.start, false) AS moved,
               coalesce(sh.members_share, 0.0) AS members_share,
               ms.strangers IS NOT NULL AS mentions_stranger,
               coalesce(len(list_filter(m.title_words, lambda w: contains(lower(ch.name), w))) > 0, false)
                   AS channel_named, ch.name AS channel_name
        FROM {cand} c
        JOIN {ev} e USING (channel_id, ts)
        JOIN {cm} m USING (meeting_id)
        LEFT JOIN {attendees} a ON a.meeting_id = c.meeting_id AND a.person_id = e.person_id AND {_ATTENDING}
        LEFT JOIN {strangers} ms USING (channel_id, ts, meeting_id)
        LEFT JOIN {share} sh ON sh.meeting_id = c.meeting_id AND sh.channel_id = c.channel_id
        LEFT JOIN slack_channels ch ON ch.channel_id = c.channel_id
        )""",
    )
    return s.make(
        "scored",
        f"""
        WITH w AS (
            SELECT *, {_WINDOW_SQL} AS in_window, {_CLOSENESS_SQL} AS closeness,
                   abs(delta) <= 1440 OR delta BETWEEN 0 AND dur + 1440 AS within_day,
                   kind = 'recap' AND NOT (eid_hit OR series_hit OR url_hit OR shares_document OR title_full
                                           OR title_frac >= 0.5)
                       AS untitled_post
            FROM {feats}
        ),
        sc AS (
            SELECT *, CASE
                WHEN eid_hit THEN 1.0
                WHEN series_hit AND within_day THEN 0.85 + 0.15 * (1 - least(abs(delta), 1440) / 1440)
                WHEN url_hit AND within_day
                    THEN 0.8 + 0.1 * by_attendee::INT + 0.1 * (1 - least(abs(delta), 1440) / 1440)
                WHEN answers_call THEN 0.0
                -- a request answered with a join link, or naming no meeting of its author
                WHEN kind = 'call_request' THEN 0.0
                WHEN asked_call AND NOT (by_attendee AND (title_full OR title_frac = 1)) THEN 0.0
                WHEN in_window THEN 0.15 + 0.35 * by_attendee::INT
                    + CASE WHEN title_full THEN 0.35 WHEN title_frac >= 0.5 THEN 0.2 ELSE 0 END
                    + 0.15 * closeness + 0.1 * members_share + 0.1 * channel_named::INT
                    + 0.25 * shares_document::INT
                    + 0.05 * by_organizer::INT - 0.3 * other_url::INT - 0.15 * link_without_event_link::INT
                    - 0.1 * mentions_stranger::INT
                    + CASE WHEN kind = 'cancellation' AND status = 'cancelled' THEN 0.1
                           WHEN kind = 'reschedule' AND moved THEN 0.1
                           -- a meeting that did not take place has no one joining, talking or recapping
                           WHEN kind IN ({_HELD_ONLY}) AND status = 'cancelled' THEN -0.5 ELSE 0 END
                ELSE 0.0 END AS raw
            FROM w
        )
        SELECT * FROM sc WHERE raw > 0
        """,
    )


def best_links(scored_pairs: str) -> str:
    """SQL giving each evidence's best meeting, if it reaches the threshold.

    Two rounds: strong links first tell each meeting's home channel(s); then every pair posted in its
    meeting's home channel gains a bonus, which settles most overlaps between meetings. A recap
    naming no meeting (`untitled_post`) takes part only in the second round, in a home channel, at
    most UNTITLED_POST_MINUTES after the meeting ended. Ties go to
    the meeting nearest in time. Scores are capped at 1 only for display, so ranking keeps them apart.
    """
    rank = (
        "QUALIFY row_number() OVER (PARTITION BY channel_id, ts ORDER BY {0} DESC, abs(delta), meeting_id)=1"
    )
    timely = f"delta <= dur + {UNTITLED_POST_MINUTES}"
    return f"""
    WITH first AS (SELECT * FROM {scored_pairs} WHERE raw >= {LINK_THRESHOLD} AND NOT untitled_post
                   {rank.format("raw")}),
    home AS (SELECT DISTINCT meeting_id, channel_id FROM first WHERE raw >= {HOME_SCORE}),
    second AS (
        SELECT p.*, h.meeting_id IS NOT NULL AND p.raw < {HOME_SCORE} AS home_channel,
               p.raw + CASE WHEN h.meeting_id IS NOT NULL AND p.raw < {HOME_SCORE} THEN 0.1 ELSE 0 END
                   AS final
        FROM {scored_pairs} p LEFT JOIN home h USING (meeting_id, channel_id)
        WHERE NOT p.untitled_post OR (h.meeting_id IS NOT NULL AND p.{timely})
    )
    SELECT meeting_id, channel_id, ts, kind, role, round(least(final, 1.0), 3) AS score,
           {_reasons_sql()} AS reasons
    FROM (SELECT * FROM second WHERE final >= {LINK_THRESHOLD} {rank.format("final")})
    """


def _reasons_sql() -> str:
    """SQL giving the plain-language reasons of a scored pair, strongest first."""
    provider = """CASE WHEN conference_url LIKE '%meet.google.com%' THEN 'Meet'
                       WHEN conference_url LIKE '%zoom.us%' THEN 'Zoom'
                       WHEN conference_url LIKE '%teams.%' THEN 'Teams'
                       WHEN conference_url LIKE '%webex.com%' THEN 'Webex' ELSE 'call' END"""
    return f"""list_filter([
        CASE WHEN eid_hit THEN 'the calendar link in the message points to this event' END,
        CASE WHEN series_hit AND NOT eid_hit THEN 'the calendar link points to this recurring series' END,
        CASE WHEN url_hit THEN 'same ' || {provider} || ' link as the event' END,
        'posted ' || {duration_sql("abs(delta)")} || CASE
            WHEN delta < 0 THEN ' before start'
            WHEN delta <= dur THEN ' after start (during the meeting)'
            ELSE ' after start' END
            || CASE WHEN by_organizer THEN ' by the organizer' WHEN by_attendee THEN ' by an attendee'
                    ELSE '' END,
        CASE WHEN other_url THEN 'but its join link differs from the event''s' END,
        CASE WHEN mentions_stranger THEN 'but it mentions someone not attending' END,
        CASE WHEN home_channel THEN 'other messages about this meeting were posted in this channel' END,
        CASE WHEN title_full THEN 'mentions the title'
             WHEN title_frac >= 0.5 THEN 'mentions words of the title' END,
        CASE WHEN shares_document THEN 'links a document attached to the event' END,
        CASE WHEN asked_call THEN 'reads as a call request, but names this meeting of its author' END,
        CASE WHEN channel_named THEN 'posted in #' || channel_name || ', named like the title' END,
        CASE WHEN members_share >= 0.5 THEN 'posted in a channel where '
             || CAST(round(100 * members_share) AS INTEGER) || '% of the attendees are members' END,
        CASE WHEN kind = 'cancellation' AND status = 'cancelled' THEN 'the event was cancelled' END,
        CASE WHEN kind = 'reschedule' AND moved THEN 'the event was moved from its usual time' END
    ], lambda r: r IS NOT NULL)"""


def with_threads_sql(ev: str, links: str) -> str:
    """SQL giving `links` where replies follow their linked thread parent unless their own link is strong.

    A reply in the thread of an agenda or recap belongs to that meeting even when its poster also
    attends another meeting nearby; only an event link or a join link of its own (score >= 0.9) wins.
    """
    return f"""
    WITH inherited AS (
        SELECT p.meeting_id, e.channel_id, e.ts, e.kind, e.role, 0.8 AS score,
               ['reply in the thread of a message linked to this meeting'] AS reasons
        FROM {ev} e JOIN {links} p ON p.channel_id = e.channel_id AND p.ts = e.thread_ts
        WHERE e.thread_ts <> e.ts AND NOT e.in_huddle_thread
        UNION ALL
        SELECT p.meeting_id, e.channel_id, e.ts, e.kind, e.role, 0.8,
               ['posted by the same person right after the recap of this meeting']
        FROM {ev} e JOIN {links} p ON p.channel_id = e.channel_id AND p.kind = 'recap'
        JOIN {ev} r ON r.channel_id = p.channel_id AND r.ts = p.ts
        WHERE e.kind = 'action_items' AND e.user_id = r.user_id
          AND e.posted_at BETWEEN r.posted_at AND r.posted_at + INTERVAL {FOLLOW_UP_MINUTES} MINUTE
        QUALIFY row_number() OVER (PARTITION BY e.channel_id, e.ts ORDER BY r.posted_at DESC) = 1
    )
    SELECT meeting_id, channel_id, ts, kind, role, score, reasons
    FROM (SELECT *, 0 AS inherited FROM {links} UNION ALL SELECT *, 1 FROM inherited)
    QUALIFY row_number() OVER (PARTITION BY channel_id, ts
                               ORDER BY score >= 0.9 DESC, inherited DESC, score DESC, meeting_id,
                                        reasons[1]) = 1  -- two thread rules may tie: pick one stably
    """
