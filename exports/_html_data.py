"""What the HTML report shows: chart series and the meetings (with details) as JSON, read from DuckDB.

These are display summaries of the report tables (sums and counts per week, channel, team, person);
the coordination metrics themselves come from aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
from markupsafe import Markup

from core.sql import columns, ident, lit
from exports import _svg
from exports._figures import LINKED
from exports._sql import calendar_links_sql, channel_names_sql, safe_url_sql, slack_link_sql

MAX_WEEKS = 104
TOP = 12
DETAIL_LIMIT = 200  # participants / evidence messages shown per meeting
# Attended as aggregation counts it (metrics.attended): accepted the invitation or left evidence.
ATTENDED = "(p.response_status = 'accepted' OR p.evidenced)"


@dataclass(frozen=True)
class Chart:
    """One chart of the page: heading, caption and the inline SVG."""

    key: str
    title: str
    caption: str
    svg: Markup


def charts(con: duckdb.DuckDBPyConnection, tz: str) -> list[Chart]:
    """Give the page's charts, in display order."""
    return [
        _weekly(con, tz),
        _by_kind(con),
        _by_channel(con),
        _by_team(con),
        _followups(con),
        _busiest(con),
    ]


def _weekly(con: duckdb.DuckDBPyConnection, tz: str) -> Chart:
    """Meeting hours per week (held meetings), scheduled and ad hoc stacked."""
    rows = con.execute(
        f"""
        WITH held AS (
            SELECT date_trunc('week', timezone({lit(tz)}, start))::DATE AS week, origin = 'slack' AS adhoc,
                   duration_minutes / 60 AS hours
            FROM report_meetings WHERE status = 'held' AND start IS NOT NULL
        ),
        span AS (SELECT min(week) AS lo, max(week) AS hi FROM held),
        weeks AS (
            SELECT unnest(generate_series(lo::TIMESTAMP, hi::TIMESTAMP, INTERVAL 7 DAY))::DATE AS week
            FROM span WHERE lo IS NOT NULL
        )
        SELECT w.week, coalesce(sum(h.hours) FILTER (WHERE NOT h.adhoc), 0),
               coalesce(sum(h.hours) FILTER (WHERE h.adhoc), 0)
        FROM weeks w LEFT JOIN held h USING (week) GROUP BY w.week ORDER BY w.week
        """
    ).fetchall()
    cut = len(rows) > MAX_WEEKS
    rows = rows[-MAX_WEEKS:]
    labels = [_week_label(r[0]) for r in rows]
    series = [
        _svg.Series("scheduled", _svg.SCHEDULED, [float(r[1]) for r in rows]),
        _svg.Series("ad hoc", _svg.ADHOC, [float(r[2]) for r in rows]),
    ]
    caption = f"Hours of held meetings per week (weeks start on Monday, {tz})."
    if rows:
        caption += f" From {rows[0][0]:%d %b %Y} to {rows[-1][0]:%d %b %Y}."
    if cut:
        caption += f" The last {MAX_WEEKS} weeks are shown."
    svg = _svg.columns(labels, series, unit="h", title="Meeting hours per week")
    return Chart("weekly", "Meeting hours per week", caption, svg)


def _week_label(week: date) -> str:
    return week.strftime("%d %b")


def _by_kind(con: duckdb.DuckDBPyConnection) -> Chart:
    """Held meetings by kind, coloured scheduled (from a calendar) or ad hoc (Slack only)."""
    rows = con.execute(
        "SELECT coalesce(kind, '(unknown)'), origin = 'slack', count(*), "
        "coalesce(sum(duration_minutes), 0) / 60 "
        "FROM report_meetings WHERE status = 'held' GROUP BY ALL ORDER BY 3 DESC, 1"
    ).fetchall()
    items = [
        _svg.Bar(
            f"{kind} ({'ad hoc' if adhoc else 'scheduled'})",
            float(n),
            _svg.ADHOC if adhoc else _svg.SCHEDULED,
            f"{kind}: {n:,} meetings, {hours:,.1f} h",
        )
        for kind, adhoc, n, hours in rows
    ]
    caption = "Held meetings by kind; scheduled ones come from a calendar event, ad hoc ones only from Slack."
    return Chart("kinds", "Scheduled vs ad hoc", caption, _svg.bars(items, unit="", title="Meetings by kind"))


def _by_channel(con: duckdb.DuckDBPyConnection) -> Chart:
    """Slack channels with the most messages linked to meetings."""
    names = channel_names_sql(con)
    label = "coalesce('#' || c.name, e.channel_id)" if names else "e.channel_id"
    join = f"LEFT JOIN ({names}) c USING (channel_id)" if names else ""
    rows = con.execute(
        f"""
        SELECT {label} AS label, count(*) AS messages, count(DISTINCT e.meeting_id) AS meetings
        FROM report_evidence e {join} WHERE {LINKED.replace("meeting_id", "e.meeting_id")}
        GROUP BY ALL ORDER BY messages DESC, label LIMIT {TOP}
        """
    ).fetchall()
    items = [
        _svg.Bar(str(lab), float(n), _svg.SCHEDULED, f"{lab}: {n:,} messages about {m:,} meetings")
        for lab, n, m in rows
    ]
    caption = f"Slack messages linked to a meeting (agenda, call links, recaps ...), top {TOP} channels."
    return Chart("channels", "Coordination by channel", caption, _svg.bars(items, unit="", title=caption))


def _by_team(con: duckdb.DuckDBPyConnection) -> Chart:
    """Hours people of each department spent in held meetings."""
    rows = con.execute(
        f"""
        SELECT coalesce(p.department,
                        CASE WHEN p.internal THEN '(no department)' ELSE '(external)' END) AS team,
               sum(m.duration_minutes) / 60 AS hours, count(DISTINCT m.meeting_id) AS meetings
        FROM report_participants p JOIN report_meetings m USING (meeting_id)
        WHERE m.status = 'held' AND {ATTENDED}
        GROUP BY team ORDER BY hours DESC, team LIMIT {TOP}
        """
    ).fetchall()
    items = [
        _svg.Bar(str(t), float(h), _svg.NEUTRAL, f"{t}: {h:,.1f} person-hours in {n:,} meetings")
        for t, h, n in rows
    ]
    caption = (
        "Person-hours in held meetings by department: each attendee (accepted, or active in Slack around "
        f"the meeting) counts the meeting's duration. Top {TOP}."
    )
    return Chart("teams", "Coordination by team", caption, _svg.bars(items, unit="h", title="Hours by team"))


def _latency_minutes(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """Give a follow-up latency column of report_meetings and SQL for it in minutes, if the report has one."""
    units = {"_seconds": " / 60", "_minutes": "", "_hours": " * 60", "_days": " * 1440"}
    for name, dtype in columns(con, "SELECT * FROM report_meetings"):
        if "latency" not in name:
            continue
        if dtype == "INTERVAL":
            return name, f"epoch({ident(name)}) / 60"
        numeric = dtype in ("DOUBLE", "FLOAT", "INTEGER", "BIGINT") or dtype.startswith("DECIMAL")
        unit = next((u for u in units if name.endswith(u)), None)
        if numeric and unit is not None:
            return name, f"{ident(name)}{units[unit]}"
    return None


def _followups(con: duckdb.DuckDBPyConnection) -> Chart:
    """Follow-up latency distribution if the report has it; else follow-up messages per held meeting."""
    found = _latency_minutes(con)
    if found:
        name, col = found
        buckets = [("< 1 h", 60), ("1-4 h", 240), ("4-24 h", 1440), ("1-3 days", 4320), ("> 3 days", None)]
        cases = " ".join(
            f"WHEN {col} < {limit} THEN {i}" for i, (_, limit) in enumerate(buckets) if limit is not None
        )
        rows = dict(
            con.execute(
                f"SELECT CASE {cases} ELSE {len(buckets) - 1} END AS b, count(*) FROM report_meetings "
                f"WHERE status = 'held' AND {col} IS NOT NULL GROUP BY b"
            ).fetchall()
        )
        items = [
            _svg.Bar(lab, float(rows.get(i, 0)), _svg.NEUTRAL, f"{lab}: {rows.get(i, 0):,} meetings")
            for i, (lab, _) in enumerate(buckets)
        ]
        caption = f"Time from a meeting's end to its first follow-up message ({name}), held meetings."
        return Chart("followups", "Follow-up latency", caption, _svg.bars(items, unit="", title=caption))
    rows = dict(
        con.execute(
            "SELECT least(followups, 5) AS n, count(*) FROM report_meetings WHERE status = 'held' GROUP BY n"
        ).fetchall()
    )
    labels = ["none", "1", "2", "3", "4", "5 or more"]
    items = [
        _svg.Bar(lab, float(rows.get(i, 0)), _svg.NEUTRAL, f"{lab}: {rows.get(i, 0):,} meetings")
        for i, lab in enumerate(labels)
    ]
    caption = (
        "The report has no follow-up latency yet, so this shows what the metrics hold instead: follow-up "
        "messages (recaps, action items) per held meeting (metrics.followups)."
    )
    return Chart(
        "followups", "Follow-ups", caption, _svg.bars(items, unit="", title="Follow-ups per meeting")
    )


def _busiest(con: duckdb.DuckDBPyConnection) -> Chart:
    """People with the most hours in held meetings."""
    rows = con.execute(
        f"""
        SELECT coalesce(any_value(p.name), any_value(p.email), any_value(p.person_id)) AS who,
               any_value(p.department) AS dept, sum(m.duration_minutes) / 60 AS hours, count(*) AS meetings
        FROM report_participants p JOIN report_meetings m USING (meeting_id)
        WHERE m.status = 'held' AND {ATTENDED}
        GROUP BY coalesce(p.person_id, lower(p.email)) ORDER BY hours DESC, who LIMIT {TOP}
        """
    ).fetchall()
    items = [
        _svg.Bar(
            str(who),
            float(h),
            _svg.SCHEDULED,
            f"{who} ({dept or 'no department'}): {h:,.1f} h in {n:,} meetings",
        )
        for who, dept, h, n in rows
    ]
    caption = (
        f"Hours in held meetings per person (accepted, or active in Slack around the meeting), top {TOP}."
    )
    return Chart("people", "Busiest people", caption, _svg.bars(items, unit="h", title="Busiest people"))


def meetings_json(con: duckdb.DuckDBPyConnection, tz: str, limit: int) -> tuple[str, int, int]:
    """Give the most recent `limit` meetings with their details as a JSON array, how many, and the total."""
    total = int(con.execute("SELECT count(*) FROM report_meetings").fetchall()[0][0])
    rows = con.execute(_meetings_sql(con, tz, limit)).fetchall()
    return "[" + ",".join(r[0] for r in rows) + "]", len(rows), total


def _meetings_sql(con: duckdb.DuckDBPyConnection, tz: str, limit: int) -> str:
    """SQL giving one JSON object per shown meeting: table fields plus participants, evidence, documents."""
    slack = slack_link_sql(con)
    calendar = calendar_links_sql(con) or "SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS html_link"
    names = channel_names_sql(con) or "SELECT NULL::VARCHAR AS channel_id, NULL::VARCHAR AS name"
    local = f"strftime(timezone({lit(tz)}, {{}}), '%Y-%m-%d %H:%M')"
    return f"""
    WITH top AS (SELECT * FROM report_meetings ORDER BY start DESC NULLS LAST, meeting_id LIMIT {int(limit)}),
    chan AS ({names}),
    parts AS (
        SELECT p.meeting_id, count(*) AS n,
               list({{'n': p.name, 'e': p.email, 'd': p.department, 'r': p.response_status, 'o': p.organizer,
                      'v': p.evidenced, 'i': p.internal}} ORDER BY p.organizer DESC, p.name, p.email) AS l
        FROM report_participants p SEMI JOIN top USING (meeting_id) GROUP BY p.meeting_id
    ),
    evs AS (
        SELECT e.meeting_id, count(*) AS n,
               list({{'t': {local.format("e.posted_at")}, 'c': coalesce('#' || c.name, e.channel_id),
                      'k': e.kind, 'r': e.role, 'm': e.matched, 's': e.score, 'w': e.reasons,
                      'u': {safe_url_sql(slack("e.channel_id", "e.ts", "e.thread_ts"))}}}
                    ORDER BY e.posted_at, e.ts) AS l
        FROM report_evidence e SEMI JOIN top USING (meeting_id) LEFT JOIN chan c USING (channel_id)
        GROUP BY e.meeting_id
    ),
    docs AS (
        SELECT d.meeting_id,
               list({{'n': d.name, 'u': {safe_url_sql("d.url")}, 'm': d.mime_type, 's': d.sources}}
                    ORDER BY d.name, d.file_id) AS l
        FROM report_documents d SEMI JOIN top USING (meeting_id) GROUP BY d.meeting_id
    ),
    chans AS (
        SELECT t.meeting_id, list(coalesce('#' || c.name, t.ch) ORDER BY t.ch) AS l
        FROM (SELECT meeting_id, unnest(string_split(channel_ids, '; ')) AS ch FROM top) t
        LEFT JOIN chan c ON c.channel_id = t.ch WHERE t.ch <> '' GROUP BY t.meeting_id
    ),
    cal AS ({calendar})
    SELECT to_json({{
        'id': m.meeting_id, 'start': {local.format("m.start")}, 'end': {local.format('m."end"')},
        'ts': epoch(m.start), 'title': m.title, 'status': m.status, 'origin': m.origin, 'kind': m.kind,
        'dur': m.duration_minutes, 'att': m.attended, 'inv': m.invited, 'ev': m.evidence_messages,
        'docs': m.documents, 'score': m.score, 'org': m.organizer_email,
        'conf': {safe_url_sql("m.conference_url")},
        'cal': {safe_url_sql("cal.html_link")}, 'why': string_split(nullif(m.reasons, ''), '; '),
        'ch': coalesce(chans.l, []), 'ph': m.person_hours,
        'p': coalesce(parts.l[1:{DETAIL_LIMIT}], []), 'pn': coalesce(parts.n, 0),
        'e': coalesce(evs.l[1:{DETAIL_LIMIT}], []), 'en': coalesce(evs.n, 0),
        'd': coalesce(docs.l, [])
    }})::VARCHAR
    FROM top m
    LEFT JOIN parts USING (meeting_id) LEFT JOIN evs USING (meeting_id) LEFT JOIN docs USING (meeting_id)
    LEFT JOIN chans USING (meeting_id) LEFT JOIN cal ON cal.event_id = m.calendar_event_id
    ORDER BY m.start DESC NULLS LAST, m.meeting_id
    """


def embed_json(text: str) -> Markup:
    """Give JSON text safe inside a <script> element: <, > and & as \\u escapes (valid JSON, inert HTML)."""
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))
