"""`/metrics`: the current view as Prometheus metric families, on a registry of the app's own."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from flows.ops import error_groups, finished_runs
from service.data import ServiceData, View, process_tree_usage

BREAKER_VALUES = {"closed": 0, "half-open": 1, "open": 2}
HEALTH_VALUES = {"green": 0, "yellow": 1, "red": 2}


class ViewCollector(Collector):
    """Yields the metric families of the service's current view at each scrape."""

    def __init__(self, data: ServiceData) -> None:
        self.data = data

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        view = self.data.view()
        yield from _runs(view)
        yield from _sources(view)
        yield from _health(view)
        yield from _resources(view)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def _runs(view: View) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    snap = view.snapshot
    runs = CounterMetricFamily("meetintel_runs", "Runs in the ledger by outcome.", labels=["status"])
    for status, n in sorted((snap.runs_by_status if snap else {}).items()):
        runs.add_metric([status], n)
    yield runs
    done = finished_runs(snap)
    seconds = _gauge(
        "meetintel_stage_duration_seconds", "Seconds each stage took in the last run.", ["stage"]
    )
    rows = _gauge(
        "meetintel_stage_rows", "Rows in and out of each stage in the last run.", ["stage", "direction"]
    )
    if done:
        for s in done[0].stages:
            seconds.add_metric([s.stage], s.seconds)
            rows.add_metric([s.stage, "in"], s.rows_in)
            rows.add_metric([s.stage, "out"], s.rows_out)
    yield seconds
    yield rows
    last_end = done[0].ended_at if done and done[0].ended_at else None
    age = _gauge("meetintel_last_run_age_seconds", "Seconds since the last run ended.", [])
    if last_end is not None:
        age.add_metric([], (view.at - last_end).total_seconds())
    yield age
    errors = _gauge("meetintel_errors", "Errors of the recent runs by class and source.", ["class", "source"])
    for g in error_groups(snap):
        errors.add_metric([g.error_class, g.source], g.count)
    yield errors
    quarantined = _gauge("meetintel_quarantined_records", "Records in quarantine by rule.", ["rule"])
    for rule, n in sorted((snap.quarantine if snap else {}).items()):
        quarantined.add_metric([rule], n)
    yield quarantined


def _sources(view: View) -> Iterator[GaugeMetricFamily]:
    snap = view.snapshot
    done = finished_runs(snap)
    requests = _gauge("meetintel_source_requests", "HTTP requests per source in the last run.", ["source"])
    retries = _gauge("meetintel_source_retries", "Retries per source in the last run.", ["source"])
    limited = _gauge(
        "meetintel_source_rate_limited", "Rate-limited answers (429) per source in the last run.", ["source"]
    )
    if done:
        for s in done[0].sources:
            requests.add_metric([s.source], s.requests)
            retries.add_metric([s.source], s.retries)
            limited.add_metric([s.source], s.rate_limited)
    yield requests
    yield retries
    yield limited
    breaker = _gauge(
        "meetintel_breaker_state",
        "Circuit breaker per source after overrides: 0 closed, 1 half-open, 2 open.",
        ["source"],
    )
    forced = _gauge(
        "meetintel_breaker_override", "1 for the manual override in force per source.", ["source", "mode"]
    )
    saved = snap.breakers if snap else {}
    for name in sorted(set(saved) | set(view.overrides.sources)):
        mode = view.overrides.mode(name)
        state = {"force-open": "open", "force-closed": "closed"}.get(
            mode, saved[name].state if name in saved else "closed"
        )
        breaker.add_metric([name], BREAKER_VALUES.get(state, 2))
        forced.add_metric([name, mode], 1)
    yield breaker
    yield forced


def _health(view: View) -> Iterator[GaugeMetricFamily]:
    overall = _gauge("meetintel_health", "Overall health: 0 green, 1 yellow, 2 red.", [])
    overall.add_metric([], HEALTH_VALUES[view.health.status])
    yield overall
    parts = _gauge(
        "meetintel_component_health", "Health per component: 0 green, 1 yellow, 2 red.", ["component"]
    )
    for c in view.health.components:
        parts.add_metric([c.name], HEALTH_VALUES[c.status])
    yield parts
    alerts = _gauge("meetintel_alerts_active", "Alerts that hold now, by kind.", ["kind"])
    for kind in sorted({a.kind for a in view.alerts}):
        alerts.add_metric([kind], sum(1 for a in view.alerts if a.kind == kind))
    yield alerts


def _resources(view: View) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    cpu, rss = process_tree_usage()
    service_cpu = CounterMetricFamily("meetintel_service_cpu_seconds", "CPU seconds of the service process.")
    service_cpu.add_metric([], cpu)
    yield service_cpu
    service_rss = _gauge("meetintel_service_rss_bytes", "Resident memory of the service process.", [])
    service_rss.add_metric([], rss)
    yield service_rss
    disk = _gauge(
        "meetintel_disk_free_bytes", "Free bytes on the disk of the reports (out) and the state.", ["path"]
    )
    for label, free in sorted(view.readings.disk_free_bytes.items()):
        disk.add_metric([label], free)
    yield disk
    done = finished_runs(view.snapshot)
    run_cpu = _gauge(
        "meetintel_run_cpu_percent_peak",
        "Peak CPU percent of the last run's process tree per stage.",
        ["stage"],
    )
    run_rss = _gauge(
        "meetintel_run_rss_peak_bytes", "Peak RSS of the last run's process tree per stage.", ["stage"]
    )
    if done:
        for stage, r in done[0].resources.items():
            run_cpu.add_metric([stage], r.cpu_percent_peak)
            run_rss.add_metric([stage], r.rss_peak_bytes)
    yield run_cpu
    yield run_rss


def metrics_registry(data: ServiceData) -> CollectorRegistry:
    """Give a registry of the app's own (never the global one), holding the view collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ViewCollector(data))
    return registry


def render_metrics(registry: CollectorRegistry) -> tuple[bytes, str]:
    """Give the text exposition of `registry` and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
