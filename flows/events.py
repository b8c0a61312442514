"""The `meetintel.*` Prefect events: their names, the org resource they concern, and their payloads.

Runs emit `meetintel.run.*`, `meetintel.reports.published` and `meetintel.source.breaker-*`; the Slack Events
receiver emits `meetintel.slack.activity` and `meetintel watch` emits `meetintel.workspace.changed`. Triggers
in `prefect.yaml` match these names and the resource id `meetintel.org.<org>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from prefect.events import emit_event
from prefect.events.schemas.events import Event

RUN_STARTED = "meetintel.run.started"
RUN_COMPLETED = "meetintel.run.completed"
RUN_PARTIAL = "meetintel.run.partial"
RUN_FAILED = "meetintel.run.failed"
REPORTS_PUBLISHED = "meetintel.reports.published"
BREAKER_OPENED = "meetintel.source.breaker-opened"
BREAKER_CLOSED = "meetintel.source.breaker-closed"
SLACK_ACTIVITY = "meetintel.slack.activity"
WORKSPACE_CHANGED = "meetintel.workspace.changed"

# The run event for each final ledger status.
RUN_EVENTS = {"completed": RUN_COMPLETED, "partial": RUN_PARTIAL, "failed": RUN_FAILED}

_SLUG = re.compile(r"[^a-z0-9]+")


def org_slug(name: str) -> str:
    """Give `name` as an org slug: lower case, runs of other characters turned into one `-`."""
    return _SLUG.sub("-", name.lower()).strip("-") or "default"


def org_of(org: str | None, state: str | Path) -> str:
    """Give the org a run concerns: `org` when given, else the state file's name without its suffix."""
    return org_slug(org) if org else org_slug(Path(state).stem)


def org_resource(org: str) -> dict[str, str]:
    """Give the Prefect resource of an org: id `meetintel.org.<org>`, so triggers can match one org."""
    return {"prefect.resource.id": f"meetintel.org.{org}", "prefect.resource.name": org}


def emit(name: str, org: str, payload: Mapping[str, object]) -> Event | None:
    """Emit event `name` about org `org` with `payload`; give the event (None when events are off).

    Inside a flow run, Prefect relates the event to the run, its flow and its deployment, so the UI
    shows it on the run's page and triggers can match the deployment.
    """
    return emit_event(event=name, resource=org_resource(org), payload=dict(payload))
