"""The status page at `/`: one self-contained HTML page (no script, no CDN), every value escaped by jinja2."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import jinja2

from flows.ops import StageTrend
from service.data import View

WIDTH, HEIGHT = 160, 32


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("service", "templates"),
        autoescape=True,  # every value: names, reasons, run ids may hold anything
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("status.html.j2")


def sparkline(values: Sequence[float], flags: Sequence[bool] = ()) -> dict[str, object]:
    """Give an inline-SVG sparkline of `values`: the polyline's points and the flagged points' circles."""
    if not values:
        return {"points": "", "marks": [], "width": WIDTH, "height": HEIGHT}
    if len(values) == 1:  # one run so far: a flat line, so the cell is not empty
        values = [values[0], values[0]]
        flags = [False, *flags[:1]]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = WIDTH / max(len(values) - 1, 1)
    xy = [
        (round(i * step, 1), round(HEIGHT - 2 - (v - low) / span * (HEIGHT - 4), 1))
        for i, v in enumerate(values)
    ]
    marks = [p for p, f in zip(xy, flags, strict=False) if f]
    return {"points": " ".join(f"{x},{y}" for x, y in xy), "marks": marks, "width": WIDTH, "height": HEIGHT}


def render_status_page(view: View, stage_trends: list[StageTrend], state: str) -> str:
    """Give the status page's HTML for `view`."""
    lines = [
        {
            "name": f"{t.stage} rows/s",
            "last": t.points[-1].throughput,
            "median": t.median_throughput,
            "spark": sparkline([p.throughput for p in t.points], [p.throughput_anomaly for p in t.points]),
            "anomalies": sum(p.throughput_anomaly for p in t.points),
        }
        for t in stage_trends
    ]
    lines += [
        {
            "name": name,
            "last": values[-1],
            "median": sorted(values)[len(values) // 2],
            "spark": sparkline(values),
            "anomalies": 0,
        }
        for name, values in sorted(view.history.items())
        if values
    ]
    runs = view.snapshot.runs[:10] if view.snapshot else []
    return _template().render(view=view, trends=lines, runs=runs, state=state)
