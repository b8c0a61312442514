"""The HTML report: one self-contained page (inline SVG charts, embedded data, a small vanilla script).

Works offline: no CDN, fonts or external scripts; a Content-Security-Policy with a per-file nonce lets only
the page's own script and style run. Every string from Slack, Calendar and Drive is escaped by jinja2's
autoescape in markup, embedded as JSON with <, > and & escaped, and put into the DOM with textContent.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.files import atomic_target
from exports._figures import Figure, headline
from exports._html_data import charts, embed_json, meetings_json
from exports._sql import check_tz, require_reports

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The newest meetings the page lists; beyond this the file grows past what a browser opens comfortably.
MAX_MEETINGS = 5_000
CARDS = (
    "meetings",
    "held",
    "cancelled",
    "scheduled",
    "adhoc",
    "hours",
    "person_hours",
    "people",
    "linked",
    "documents",
)


def write_html(
    con: duckdb.DuckDBPyConnection, target: Path, *, tz: str = "UTC", max_meetings: int = MAX_MEETINGS
) -> Path:
    """Write the HTML report to `target` (through a temporary name); give its path."""
    check_tz(tz)
    require_reports(con)
    figures = {f.key: f for f in headline(con, tz)}
    data, shown, total = meetings_json(con, tz, max_meetings)
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            tz=tz,
            generated=datetime.now(UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"),
            first=_display(figures["first"]),
            last=_display(figures["last"]),
            cards=[(figures[k].label, _display(figures[k]), figures[k].note, k) for k in CARDS],
            charts=charts(con, tz),
            statuses=_distinct(con, "status"),
            origins=_distinct(con, "origin"),
            shown=shown,
            total=total,
            data=embed_json(data),
            nonce=secrets.token_urlsafe(16),
        )
    )
    with atomic_target(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def _environment() -> Environment:
    """Give the jinja2 environment: autoescape always on, undefined names an error."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    env.filters["number"] = lambda n: f"{n:,}"
    return env


def _display(figure: Figure) -> str:
    """Give a figure as people read it: 1,234 or 1,234.5 or 2026-09-07 09:00; '-' when unknown."""
    v = figure.value
    if v is None:
        return "-"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}"
    return f"{v:,}"


def _distinct(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    """Give the distinct non-null values of a report_meetings column, sorted (the filter choices)."""
    rows = con.execute(
        f'SELECT DISTINCT "{column}" FROM report_meetings WHERE "{column}" IS NOT NULL ORDER BY 1'
    ).fetchall()
    return [str(r[0]) for r in rows]
