"""Many orgs on one schedule: `meetintel fleet run orgs.toml` runs each org's pipeline as a subflow.

```toml
concurrency = 2                      # orgs running at once (a Prefect global concurrency limit)

[[org]]
name = "acme"
workspace = "acme/workspace"         # or live = true (credentials from the org's environment)
state = "acme/state.duckdb"          # relative paths are read from this file's folder
out = "acme/out"
storage = "s3://meetintel/acme"      # optional: raw tables as Parquet there
s3_endpoint = "http://minio:9000"    # optional: an S3-compatible store
```

Each org has its own state, storage and reports; its run is the usual `meeting_intelligence` flow, a child
of the `meetintel_fleet` run. An org that fails (a missing workspace, a source down, a bug) is listed as
failed; the others go on. The fleet run ends with the artifact `meetintel-fleet-summary`: one row per org.
"""

from __future__ import annotations

import hashlib
import time
import tomllib
from pathlib import Path
from typing import Any, Literal

from prefect import flow, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from checkpoints import StateStore
from checkpoints.dataset import storage_uri
from core.errors import ConfigurationError, MeetintelError
from core.tables import MEETING_RECORDS, PEOPLE_RECORDS
from flows import events
from flows._dask import record_storage
from flows._progress import own_board
from flows.params import LiveEndpoints
from flows.pipeline import meeting_intelligence

SUMMARY_KEY = "meetintel-fleet-summary"


class OrgSpec(BaseModel):
    """One org of the fleet: where its sources, state, storage and reports are."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    workspace: str | None = None
    live: bool = False
    state: str
    out: str
    storage: str | None = None
    s3_endpoint: str | None = None
    full_refresh: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> OrgSpec:
        if bool(self.workspace) == self.live:
            raise ValueError(f"org {self.name!r} needs either a workspace or live = true (not both)")
        return self

    @property
    def slug(self) -> str:
        return events.org_slug(self.name)


class FleetSpec(BaseModel):
    """The orgs and how many run at once."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(default=2, ge=1, le=64)
    orgs: list[OrgSpec] = Field(alias="org", min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> FleetSpec:
        for what in ("slug", "state", "out"):
            values = [getattr(o, what) for o in self.orgs]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"two orgs share the {'name' if what == 'slug' else what} {twice[0]!r}")
        return self


class OrgOutcome(BaseModel):
    """How one org's run went."""

    org: str
    status: Literal["completed", "partial", "failed"]
    run_id: str | None = None
    meetings: int = 0
    people: int = 0
    seconds: float = 0.0
    error: str | None = None


def load_fleet(path: Path) -> FleetSpec:
    """Read an orgs file (TOML); relative paths in it are taken from the file's folder."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the orgs file {path}: {exc}", "pass an existing TOML file"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"the orgs file {path} is not valid TOML: {exc}", "fix the line it names"
        ) from exc
    base = Path(path).resolve().parent
    for org in data.get("org", []) if isinstance(data.get("org"), list) else []:
        for key in ("workspace", "state", "out"):
            if isinstance(org, dict) and isinstance(org.get(key), str):
                org[key] = str(base / Path(org[key]).expanduser())
        if isinstance(org, dict) and isinstance(org.get("storage"), str) and "://" not in org["storage"]:
            org["storage"] = str(base / Path(org["storage"]).expanduser())
    try:
        return FleetSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(
            f"the orgs file {path} is invalid at {where or 'top level'}: {first['msg']}",
            "each [[org]] needs name, state, out and a workspace (or live = true); see docs/scale-out.md",
        ) from exc


def limit_name(fleet_file: str) -> str:
    """Give the name of the fleet's global concurrency limit (one per orgs file)."""
    digest = hashlib.sha256(str(Path(fleet_file).absolute()).encode()).hexdigest()[:8]
    return f"meetintel-fleet-{events.org_slug(Path(fleet_file).stem)}-{digest}"


@task(name="fleet-org", task_run_name="org {spec.name}", cache_policy=NO_CACHE)
def run_org(spec: OrgSpec, limit: str) -> OrgOutcome:
    """Run one org's pipeline as a subflow, holding one slot of the fleet's limit; never raise."""
    started = time.perf_counter()
    with concurrency(limit, occupy=1), own_board():  # orgs at once never share one progress board
        try:
            record_storage(Path(spec.state), storage_uri(spec.storage, spec.s3_endpoint))
            record = meeting_intelligence(
                out=spec.out,
                state=spec.state,
                workspace=spec.workspace,
                full_refresh=spec.full_refresh,
                live=LiveEndpoints(enabled=spec.live),
                org=spec.slug,
            )
        except Exception as exc:  # noqa: BLE001 - one org's failure is its outcome, never the fleet's
            error = str(exc) if isinstance(exc, MeetintelError) else f"{type(exc).__name__}: {exc}"
            return OrgOutcome(
                org=spec.slug, status="failed", seconds=time.perf_counter() - started, error=error
            )
    with StateStore(Path(spec.state)) as store:
        meetings, people = store.count(MEETING_RECORDS), store.count(PEOPLE_RECORDS)
    status: Literal["completed", "partial"] = "partial" if record.status == "partial" else "completed"
    return OrgOutcome(
        org=spec.slug,
        status=status,
        run_id=record.run_id,
        meetings=meetings,
        people=people,
        seconds=time.perf_counter() - started,
        error="; ".join(record.errors) or None,
    )


def summary_markdown(outcomes: list[OrgOutcome], concurrency_limit: int) -> str:
    """Give the fleet summary: one row per org, failures with their reasons."""
    done = sum(o.status != "failed" for o in outcomes)
    lines = [
        "# meetintel fleet",
        "",
        f"- orgs: **{len(outcomes)}**, succeeded: **{done}**, failed: **{len(outcomes) - done}**, "
        f"at once: **{concurrency_limit}**",
        "",
        "| org | status | run | meetings | people | seconds | error |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {o.org} | {o.status} | {o.run_id or ''} | {o.meetings} | {o.people} | {o.seconds:.1f} | "
        f"{(o.error or '').replace('|', '/')} |"
        for o in outcomes
    ]
    return "\n".join(lines)


@flow(name="meetintel_fleet", log_prints=False)
def meetintel_fleet(fleet: FleetSpec, limit: str = "meetintel-fleet") -> list[OrgOutcome]:
    """Run every org of `fleet`, at most `fleet.concurrency` at once; give each org's outcome."""
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(limit, fleet.concurrency)
    futures = run_org.map(fleet.orgs, unmapped(limit))
    outcomes = [f.result() for f in futures]
    create_markdown_artifact(
        markdown=summary_markdown(outcomes, fleet.concurrency),
        key=SUMMARY_KEY,
        description=f"meetintel fleet of {len(outcomes)} orgs",
    )
    return outcomes


def run_fleet(path: Path, concurrency_limit: int | None = None) -> list[OrgOutcome]:
    """Load an orgs file and run the fleet flow on a thread per concurrent org."""
    fleet = load_fleet(path)
    if concurrency_limit is not None:
        fleet = fleet.model_copy(update={"concurrency": concurrency_limit})
    runner: Any = ThreadPoolTaskRunner(max_workers=fleet.concurrency)
    flow_ = meetintel_fleet.with_options(task_runner=runner)
    return flow_(fleet=fleet, limit=limit_name(str(path)))
