"""Rollups of the coordination metrics per person, team, channel and week (docs/metrics.md, "Rollups").

Every rollup sums the unrounded per-attendee seconds of `attendance` and rounds once at the end, so a
rollup equals the sum of its parts up to that last rounding.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from aggregation._metrics import MetricTables
from aggregation.models import ROLLUP_TABLES
from core.sql import ScratchSpace, fetch

# Sums over attendance rows `a`, shared by the person and team rollups.
_ATTENDEE_SUMS = """
    round(coalesce(sum(a.seconds), 0) / 3600, 2) AS {hours},
    round(coalesce(sum(a.after_hours_seconds), 0) / 3600, 2) AS after_hours_hours,
    CASE WHEN sum(a.seconds) > 0 THEN round(sum(a.after_hours_seconds) / sum(a.seconds), 3) END
        AS after_hours_share,
    round(coalesce(sum(a.conflict_seconds), 0) / 3600, 2) AS conflict_hours,
    coalesce(sum(a.multitask_messages), 0) AS multitask_messages,
    round(coalesce(sum(a.seconds) FILTER (WHERE a.multitask_messages > 0), 0) / 3600, 2) AS multitask_hours
"""

# Meeting-level sums over meetings `m`, metrics `x` and per-meeting seconds `p`, for channel and week.
_MEETING_SUMS = """
    count(*) AS meetings,
    count(*) FILTER (WHERE m.status = 'held') AS held,
    count(*) FILTER (WHERE m.status = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE m.status = 'held' AND x.recurring) AS recurring,
    count(*) FILTER (WHERE m.status = 'held' AND x.adhoc) AS adhoc,
    round(coalesce(sum(epoch(m."end") - epoch(m.start)) FILTER (WHERE m.status = 'held'), 0) / 3600, 2)
        AS meeting_hours,
    round(coalesce(sum(p.seconds), 0) / 3600, 2) AS person_hours,
    coalesce(sum(x.followups), 0) AS followups,
    coalesce(sum(x.action_items), 0) AS action_items,
    round(median(x.followup_latency_minutes) FILTER (WHERE m.status = 'held'), 2)
        AS median_followup_latency_minutes
"""


def build_rollups(
    con: duckdb.DuckDBPyConnection, s: ScratchSpace, t: dict[str, str], mt: MetricTables
) -> dict[str, pa.Table]:
    """Give the rollup tables by report name: rollup_person, rollup_team, rollup_channel, rollup_week."""
    per_meeting = s.make(
        "meeting_seconds",
        f"""
        SELECT meeting_id, sum(seconds) AS seconds, sum(after_hours_seconds) AS after_hours_seconds,
               sum(conflict_seconds) AS conflict_seconds, sum(multitask_messages) AS multitask_messages,
               sum(seconds) FILTER (WHERE multitask_messages > 0) AS multitask_seconds
        FROM {mt.attendance} GROUP BY meeting_id
        """,
    )
    sql = {
        "rollup_person": _person_sql(mt),
        "rollup_team": _team_sql(mt),
        "rollup_channel": _channel_sql(t, mt, per_meeting),
        "rollup_week": _week_sql(t, mt, per_meeting),
    }
    return {name: fetch(con, query, ROLLUP_TABLES[name]) for name, query in sql.items()}


def _person_sql(mt: MetricTables) -> str:
    """SQL giving one row per attendee (person, or attendee email resolving to nobody)."""
    return f"""
    SELECT any_value(a.person_id) AS person_id, any_value(a.email) AS email, any_value(a.name) AS name,
           any_value(a.department) AS department, bool_or(a.internal) AS internal,
           count(*) FILTER (WHERE a.held) AS meetings,
           count(*) FILTER (WHERE a.held AND x.recurring) AS recurring_meetings,
           count(*) FILTER (WHERE a.held AND x.adhoc) AS adhoc_meetings,
           count(*) FILTER (WHERE x.cancelled) AS cancelled_meetings,
           {_ATTENDEE_SUMS.format(hours="meeting_hours")}
    FROM {mt.attendance} a JOIN {mt.metrics} x USING (meeting_id)
    GROUP BY a.who
    ORDER BY meeting_hours DESC, email, person_id
    """


def _team_sql(mt: MetricTables) -> str:
    """SQL giving one row per department (attendees without one grouped as internal or external)."""
    return f"""
    SELECT coalesce(a.department, CASE WHEN a.internal THEN '(no department)' ELSE '(external)' END) AS team,
           count(DISTINCT a.who) FILTER (WHERE a.held) AS people,
           count(DISTINCT a.meeting_id) FILTER (WHERE a.held) AS meetings,
           {_ATTENDEE_SUMS.format(hours="person_hours")}
    FROM {mt.attendance} a
    GROUP BY team
    ORDER BY person_hours DESC, team
    """


def _channel_sql(t: dict[str, str], mt: MetricTables, per_meeting: str) -> str:
    """SQL giving one row per channel a meeting was discussed in (its channel_ids or linked evidence)."""
    return f"""
    WITH pairs AS (
        SELECT meeting_id, unnest(channel_ids) AS channel_id FROM {t["meetings"]}
        UNION
        SELECT meeting_id, channel_id FROM {t["links"]}
    ),
    posted AS (SELECT channel_id, count(*) AS evidence_messages FROM {t["links"]} GROUP BY channel_id),
    names AS (SELECT channel_id, min(name) AS channel_name FROM {t["channels"]} GROUP BY channel_id),
    sums AS (
        SELECT c.channel_id, {_MEETING_SUMS}
        FROM pairs c JOIN {t["meetings"]} m USING (meeting_id) JOIN {mt.metrics} x USING (meeting_id)
        LEFT JOIN {per_meeting} p USING (meeting_id)
        GROUP BY c.channel_id
    )
    SELECT s.channel_id, n.channel_name, s.meetings, s.held, s.cancelled, s.recurring, s.adhoc,
           s.meeting_hours, s.person_hours, coalesce(e.evidence_messages, 0) AS evidence_messages,
           s.followups, s.action_items, s.median_followup_latency_minutes
    FROM sums s LEFT JOIN posted e USING (channel_id) LEFT JOIN names n USING (channel_id)
    ORDER BY s.person_hours DESC, s.channel_id
    """


def _week_sql(t: dict[str, str], mt: MetricTables, per_meeting: str) -> str:
    """SQL giving one row per ISO week (Monday, UTC) that has a meeting."""
    return f"""
    SELECT date_trunc('week', timezone('UTC', m.start))::DATE AS week, {_MEETING_SUMS},
           round(coalesce(sum(p.after_hours_seconds), 0) / 3600, 2) AS after_hours_person_hours,
           CASE WHEN sum(p.seconds) > 0 THEN round(sum(p.after_hours_seconds) / sum(p.seconds), 3) END
               AS after_hours_share,
           round(coalesce(sum(p.conflict_seconds), 0) / 3600, 2) AS conflict_hours,
           coalesce(sum(p.multitask_messages), 0) AS multitask_messages,
           round(coalesce(sum(p.multitask_seconds), 0) / 3600, 2) AS multitask_person_hours,
           coalesce(sum(x.documents), 0) AS documents
    FROM {t["meetings"]} m JOIN {mt.metrics} x USING (meeting_id)
    LEFT JOIN {per_meeting} p USING (meeting_id)
    GROUP BY week
    ORDER BY week
    """
