"""Inline SVG charts for the HTML report: stacked columns and horizontal bars, every label escaped.

Charts are drawn here in Python so the page needs no script library and works offline; labels come from
Slack, Calendar and the directory, so each one goes through `Markup.format`, which escapes its arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup

WIDTH = 640
SCHEDULED = "#2f6690"
ADHOC = "#e07a2f"
NEUTRAL = "#5a8f69"


@dataclass(frozen=True)
class Series:
    """One stacked series of a column chart: its name, colour and one value per column."""

    name: str
    color: str
    values: list[float]


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: label, value, colour and the hover text."""

    label: str
    value: float
    color: str
    hint: str


def _nice_max(value: float, ticks: int = 4) -> float:
    """Give a round axis maximum at or above `value` whose `ticks` steps are 1, 2, 2.5 or 5 x 10^k."""
    if value <= 0:
        return float(ticks)
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if raw <= m * power * (1 + 1e-9))
    return step * ticks


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _empty(height: int) -> Markup:
    return Markup(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="no data">'
        '<text x="{x}" y="{y}" class="empty" text-anchor="middle">No data</text></svg>'
    ).format(w=WIDTH, h=height, x=WIDTH // 2, y=height // 2)


def columns(labels: list[str], series: list[Series], *, unit: str, title: str, height: int = 240) -> Markup:
    """Give a stacked column chart (one column per label) with a y axis and a legend."""
    if not labels or not any(v for s in series for v in s.values):
        return _empty(height)
    left, right, top, bottom = 48, 8, 26, 34
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top_value = _nice_max(max(totals))
    step = plot_w / len(labels)
    parts = [
        Markup('<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">').format(
            w=WIDTH, h=height, t=title
        )
    ]
    for k in range(5):
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            Markup(
                '<line class="grid" x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}"/>'
                '<text class="axis" x="{tx}" y="{ty:.1f}" text-anchor="end">{v}</text>'
            ).format(x1=left, x2=WIDTH - right, y=y, tx=left - 6, ty=y + 4, v=_fmt(value))
        )
    every = max(1, math.ceil(len(labels) / 8))  # at most 8 axis labels, so they never overlap
    for i, label in enumerate(labels):
        x, base = left + i * step, float(top + plot_h)
        for s in series:
            v = s.values[i]
            if v <= 0:
                continue
            h = plot_h * v / top_value
            base -= h
            parts.append(
                Markup(
                    '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{c}">'
                    "<title>{label}: {name} {v} {unit}</title></rect>"
                ).format(
                    x=x + step * 0.12,
                    y=base,
                    w=step * 0.76,
                    h=h,
                    c=s.color,
                    label=label,
                    name=s.name,
                    v=_fmt(v),
                    unit=unit,
                )
            )
        if i % every == 0:
            parts.append(
                Markup('<text class="axis" x="{x:.1f}" y="{y}" text-anchor="middle">{t}</text>').format(
                    x=x + step / 2, y=height - bottom + 16, t=label
                )
            )
    parts.append(_legend(series, left))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _legend(series: list[Series], left: int) -> Markup:
    items = []
    x = left
    for s in series:
        items.append(
            Markup(
                '<rect x="{x}" y="6" width="12" height="12" fill="{c}"/>'
                '<text class="legend" x="{tx}" y="16">{name}</text>'
            ).format(x=x, c=s.color, tx=x + 17, name=s.name)
        )
        x += 30 + 8 * len(s.name)
    return Markup("").join(items)


def bars(items: list[Bar], *, unit: str, title: str) -> Markup:
    """Give a horizontal bar chart, one labelled row per item, values printed at the bar ends."""
    row, label_w, top = 24, 190, 6
    height = top * 2 + row * max(len(items), 1)
    if not items or not any(b.value > 0 for b in items):
        return _empty(max(height, 80))
    top_value = max(b.value for b in items)
    plot_w = WIDTH - label_w - 70
    parts = [
        Markup('<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">').format(
            w=WIDTH, h=height, t=title
        )
    ]
    for i, b in enumerate(items):
        y = top + i * row
        w = max(plot_w * b.value / top_value, 1.0) if b.value > 0 else 0.0
        parts.append(
            Markup(
                "<g><title>{hint}</title>"
                '<text class="label" x="{lx}" y="{ty}" text-anchor="end">{label}</text>'
                '<rect x="{x}" y="{ry}" width="{w:.1f}" height="{h}" rx="2" fill="{c}"/>'
                '<text class="value" x="{vx:.1f}" y="{ty}">{v} {unit}</text></g>'
            ).format(
                hint=b.hint,
                lx=label_w - 8,
                ty=y + 16,
                label=_short(b.label),
                x=label_w,
                ry=y + 4,
                w=w,
                h=row - 8,
                c=b.color,
                vx=label_w + w + 6,
                v=_fmt(b.value),
                unit=unit,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
