"""Coordination metrics in bulk SQL: who attended each meeting, and what the meeting cost them.

docs/metrics.md defines every figure. The work happens per (meeting, attendee) in one scratch table,
`attendance`, so per-meeting metrics, the participants table and the rollups all sum the same numbers.
Time windows are joined through day buckets (an equality DuckDB hashes on) and then filtered exactly, so
multitasking and conflicts stay linear in the data instead of comparing every pair.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregation.models import WorkingHours
from core.sql import ScratchSpace, time_bucket

# Slack subtypes a person writes themselves; joins, topic changes and bot posts are not multitasking.
HUMAN_SUBTYPES = ("thread_broadcast", "file_share", "me_message")
_DAY = 86400


@dataclass(frozen=True)
class MetricTables:
    """Scratch tables of the metrics: one row per (meeting, attendee), one row per meeting."""

    attendance: str  # meeting_id, who, person_id, email, name, department, internal, held, seconds, ...
    metrics: str  # meeting_id plus every METRIC_FIELDS column


def compute_metrics(s: ScratchSpace, t: dict[str, str], hours: WorkingHours) -> MetricTables:
    """Give the attendance and per-meeting metric tables over the tables named in `t`."""
    # One person per Slack account (the identity graph should give one; min() keeps counts honest if not).
    person_slack = s.make(
        "person_slack",
        f"SELECT user_id, min(person_id) AS person_id FROM "
        f"(SELECT unnest(slack_user_ids) AS user_id, person_id FROM {t['people']}) GROUP BY user_id",
    )
    base = _attendees(s, t, person_slack)
    work = _working_seconds(s, base, hours)
    conflicts = _conflicts(s, base)
    multitask = _multitask(s, t, base)
    attendance = s.make(
        "attendance",
        f"""
        SELECT b.*, CASE WHEN b.seconds > 0 THEN greatest(b.seconds - coalesce(w.work_seconds, 0), 0)
                         ELSE 0 END AS after_hours_seconds,
               coalesce(c.conflict_seconds, 0) AS conflict_seconds,
               coalesce(x.multitask_messages, 0) AS multitask_messages
        FROM {base} b
        LEFT JOIN {work} w USING (aid)
        LEFT JOIN {conflicts} c USING (aid)
        LEFT JOIN {multitask} x USING (aid)
        """,
    )
    return MetricTables(attendance=attendance, metrics=_per_meeting(s, t, person_slack, attendance))


def _attendees(s: ScratchSpace, t: dict[str, str], person_slack: str) -> str:
    """Materialise one row per (meeting, attendee): accepted invitees and evidenced people, with time zone.

    An attendee is keyed by `who`, the person id, or the attendee email when it resolves to nobody; `aid`
    numbers the rows and `wid` the attendees, so the range joins below hash integers, not strings. The
    time zone is the person's (Slack), else the meeting's (the calendar event's), else UTC; a name DuckDB
    does not know counts as missing.
    """
    return s.make(
        "attendees",
        f"""
        WITH posters AS (
            SELECT l.meeting_id, e.user_id
            FROM {t["links"]} l JOIN {t["evidence"]} e USING (channel_id, ts)
            UNION
            SELECT l.meeting_id, unnest(e.room_participants)
            FROM {t["links"]} l JOIN {t["evidence"]} e USING (channel_id, ts) WHERE l.kind = 'huddle'
        ),
        evidenced AS (
            SELECT DISTINCT p.meeting_id, ps.person_id AS who, ps.person_id, NULL::VARCHAR AS email,
                   true AS evidenced
            FROM posters p JOIN {person_slack} ps USING (user_id)
        ),
        accepted AS (
            SELECT DISTINCT meeting_id, coalesce(person_id, email) AS who, person_id, email,
                   false AS evidenced
            FROM {t["participants"]} WHERE invited AND response_status = 'accepted'
        ),
        who AS (
            SELECT meeting_id, who, any_value(person_id) AS person_id, any_value(email) AS email,
                   bool_or(evidenced) AS evidenced
            FROM (SELECT * FROM accepted UNION ALL SELECT * FROM evidenced) GROUP BY meeting_id, who
        ),
        zones AS (SELECT DISTINCT name FROM pg_timezone_names())
        SELECT row_number() OVER () AS aid, dense_rank() OVER (ORDER BY w.who) AS wid,
               w.meeting_id, w.who, w.person_id, coalesce(pe.email, w.email) AS email, pe.name,
               pe.department, coalesce(pe.internal, false) AS internal, w.evidenced,
               coalesce(pe.slack_user_ids, []) AS slack_user_ids,
               CASE WHEN zp.name IS NOT NULL THEN pe.tz WHEN zm.name IS NOT NULL THEN m.time_zone
                    ELSE 'UTC' END AS tz,
               m.start, m."end", m.status = 'held' AS held,
               CASE WHEN m.status = 'held' THEN greatest(epoch(m."end") - epoch(m.start), 0) ELSE 0 END
                   AS seconds
        FROM who w
        JOIN {t["meetings"]} m USING (meeting_id)
        LEFT JOIN {t["people"]} pe ON pe.person_id = w.person_id
        LEFT JOIN zones zp ON zp.name = pe.tz
        LEFT JOIN zones zm ON zm.name = m.time_zone
        """,
    )


def _working_seconds(s: ScratchSpace, base: str, hours: WorkingHours) -> str:
    """Materialise the seconds of each attendee's held meeting inside their local working hours.

    The meeting is turned into wall-clock time in the attendee's zone and intersected with the working
    window of every local day it touches, so a meeting that crosses midnight or a weekend is split right.
    """
    weekdays = ", ".join(str(d) for d in hours.weekdays)
    return s.make(
        "work",
        f"""
        WITH local AS (
            SELECT aid, timezone(tz, start) AS ls, timezone(tz, "end") AS le FROM {base} WHERE seconds > 0
        ),
        days AS (
            SELECT aid, ls, le,
                   unnest(range(ls::DATE::TIMESTAMP, le::DATE::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 DAY))
                       AS d
            FROM local
        )
        SELECT aid,
               sum(CASE WHEN isodow(d) IN ({weekdays}) THEN greatest(
                       epoch(least(le, d + INTERVAL {hours.end_hour} HOUR))
                       - epoch(greatest(ls, d + INTERVAL {hours.start_hour} HOUR)), 0) ELSE 0 END)
                   AS work_seconds
        FROM days GROUP BY aid
        """,
    )


def _day_buckets(table: str, extra: str = "") -> str:
    """SQL giving each row of `table` once per UTC day its [start, end) touches (`day`, from `first_day`)."""
    first = time_bucket("start", _DAY)
    return f"""
        SELECT *, {first} AS first_day,
               unnest(range({first}, greatest(ceil(epoch("end") / {_DAY})::BIGINT, {first} + 1))) AS day
        FROM {table} {extra}
    """


def _conflicts(s: ScratchSpace, base: str) -> str:
    """Materialise, per attendee of a held meeting, the seconds of it that overlap their other held meetings.

    Other meetings are clipped to this one's window and merged (gaps and islands), so time covered by two
    other meetings at once counts once.
    """
    buckets = s.make(
        "held_days", _day_buckets(f'(SELECT aid, wid, start, "end" FROM {base} WHERE seconds > 0)')
    )
    return s.make(
        "conflicts",
        f"""
        WITH clipped AS (
            -- A pair of meetings spanning several days meets in each; keep it on the first shared day only.
            SELECT a.aid, b.aid AS other, greatest(a.start, b.start) AS cs, least(a."end", b."end") AS ce
            FROM {buckets} a JOIN {buckets} b
              ON a.wid = b.wid AND a.day = b.day AND a.aid <> b.aid
             AND b.start < a."end" AND b."end" > a.start AND a.day = greatest(a.first_day, b.first_day)
        ),
        ordered AS (
            SELECT *, max(ce) OVER (PARTITION BY aid ORDER BY cs, ce, other
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
            FROM clipped
        ),
        islands AS (
            SELECT *, sum(CASE WHEN reach IS NULL OR cs > reach THEN 1 ELSE 0 END)
                          OVER (PARTITION BY aid ORDER BY cs, ce, other ROWS UNBOUNDED PRECEDING) AS island
            FROM ordered
        )
        SELECT aid, sum(seconds) AS conflict_seconds FROM (
            SELECT aid, epoch(max(ce)) - epoch(min(cs)) AS seconds FROM islands GROUP BY aid, island
        ) GROUP BY aid
        """,
    )


def _multitask(s: ScratchSpace, t: dict[str, str], base: str) -> str:
    """Materialise, per attendee of a held meeting, their Slack messages inside it in any channel.

    Messages linked to the same meeting as evidence (the call link, the huddle thread) are the meeting
    itself, not multitasking, and are left out.
    """
    subtypes = ", ".join(f"'{x}'" for x in HUMAN_SUBTYPES)
    windows = s.make(
        "attendee_windows",
        _day_buckets(
            f'(SELECT aid, meeting_id, start, "end", unnest(slack_user_ids) AS user_id FROM {base} '
            "WHERE seconds > 0)"
        ),
    )
    # A message falls on one day, so it meets each (attendee, Slack account) window at most once.
    return s.make(
        "multitask",
        f"""
        WITH msgs AS (
            SELECT channel_id, ts, user_id, posted_at, {time_bucket("posted_at", _DAY)} AS day
            FROM {t["messages"]}
            WHERE user_id IS NOT NULL AND (subtype IS NULL OR subtype IN ({subtypes}))
        ),
        inside AS (
            SELECT w.aid, w.meeting_id, g.channel_id, g.ts
            FROM {windows} w JOIN msgs g
              ON g.user_id = w.user_id AND g.day = w.day AND g.posted_at >= w.start AND g.posted_at < w."end"
        )
        SELECT i.aid, count(*) AS multitask_messages
        FROM inside i ANTI JOIN {t["links"]} l USING (meeting_id, channel_id, ts)
        GROUP BY i.aid
        """,
    )


def _per_meeting(s: ScratchSpace, t: dict[str, str], person_slack: str, attendance: str) -> str:
    """Materialise one row of METRIC_FIELDS per meeting."""
    return s.make(
        "metrics",
        f"""
        WITH invitees AS (
            SELECT meeting_id, count(*) FILTER (WHERE invited) AS invited,
                   count(*) FILTER (WHERE invited AND response_status = 'accepted') AS accepted,
                   count(*) FILTER (WHERE invited AND response_status = 'declined') AS declined
            FROM {t["participants"]} GROUP BY meeting_id
        ),
        linked AS (
            SELECT l.meeting_id, l.kind, l.role, e.posted_at, ps.person_id
            FROM {t["links"]} l
            LEFT JOIN {t["evidence"]} e USING (channel_id, ts)
            LEFT JOIN {person_slack} ps ON ps.user_id = e.user_id
        ),
        roles AS (
            SELECT meeting_id, count(*) FILTER (WHERE role = 'pre') AS pre_messages,
                   count(DISTINCT person_id) FILTER (WHERE role = 'pre') AS pre_people,
                   min(posted_at) FILTER (WHERE role = 'pre') AS first_pre,
                   count(*) FILTER (WHERE role = 'signal') AS signals,
                   count(*) FILTER (WHERE role = 'during') AS during_messages,
                   count(*) FILTER (WHERE role = 'post') AS followups,
                   min(posted_at) FILTER (WHERE role = 'post') AS first_post,
                   count(*) FILTER (WHERE kind = 'action_items') AS action_items,
                   count(*) AS evidence_messages
            FROM linked GROUP BY meeting_id
        ),
        people AS (
            SELECT meeting_id, count(*) AS attended, count(*) FILTER (WHERE evidenced) AS evidenced,
                   sum(seconds) AS seconds, sum(after_hours_seconds) AS after_hours_seconds,
                   sum(conflict_seconds) AS conflict_seconds,
                   sum(multitask_messages) AS multitask_messages,
                   count(*) FILTER (WHERE multitask_messages > 0) AS multitask_people,
                   sum(seconds) FILTER (WHERE multitask_messages > 0) AS multitask_seconds
            FROM {attendance} GROUP BY meeting_id
        ),
        documents_n AS (SELECT meeting_id, count(*) AS documents FROM {t["documents"]} GROUP BY meeting_id)
        SELECT m.meeting_id, coalesce(i.invited, 0) AS invited, coalesce(i.accepted, 0) AS accepted,
               coalesce(i.declined, 0) AS declined, coalesce(p.evidenced, 0) AS evidenced,
               coalesce(p.attended, 0) AS attended,
               round((epoch(m."end") - epoch(m.start)) / 60, 2) AS duration_minutes,
               round(coalesce(p.seconds, 0) / 3600, 2) AS person_hours,
               coalesce(r.pre_messages, 0) AS pre_messages, coalesce(r.pre_people, 0) AS pre_people,
               round((epoch(m.start) - epoch(r.first_pre)) / 60, 2) AS pre_lead_minutes,
               coalesce(r.signals, 0) AS signals, coalesce(r.during_messages, 0) AS during_messages,
               coalesce(p.multitask_messages, 0) AS multitask_messages,
               coalesce(p.multitask_people, 0) AS multitask_people,
               round(coalesce(p.multitask_seconds, 0) / 3600, 2) AS multitask_person_hours,
               coalesce(r.followups, 0) AS followups,
               -- greatest() skips NULLs, so a meeting without follow-ups needs the CASE to stay NULL.
               CASE WHEN r.first_post IS NOT NULL
                    THEN round(greatest(epoch(r.first_post) - epoch(m."end"), 0) / 60, 2) END
                   AS followup_latency_minutes,
               coalesce(r.action_items, 0) AS action_items,
               coalesce(r.evidence_messages, 0) AS evidence_messages,
               coalesce(dn.documents, 0) AS documents,
               round(coalesce(p.after_hours_seconds, 0) / 3600, 2) AS after_hours_person_hours,
               CASE WHEN p.seconds > 0 THEN round(p.after_hours_seconds / p.seconds, 3) END
                   AS after_hours_share,
               round(coalesce(p.conflict_seconds, 0) / 3600, 2) AS conflict_hours,
               m.kind = 'recurring' OR m.recurring_event_id IS NOT NULL AS recurring,
               m.origin = 'slack' AS adhoc, m.status = 'cancelled' AS cancelled
        FROM {t["meetings"]} m
        LEFT JOIN invitees i USING (meeting_id)
        LEFT JOIN roles r USING (meeting_id)
        LEFT JOIN people p USING (meeting_id)
        LEFT JOIN documents_n dn USING (meeting_id)
        """,
    )
