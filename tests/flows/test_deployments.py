"""prefect.yaml declares the two scheduled deployments of the real flow."""

from __future__ import annotations

import yaml
from prefect.flows import load_flow_from_entrypoint

from tests.conftest import REPO


def test_prefect_yaml_has_hourly_incremental_and_weekly_full_refresh() -> None:
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {"incremental-hourly", "full-refresh-weekly"}
    hourly, weekly = deployments["incremental-hourly"], deployments["full-refresh-weekly"]
    assert (hourly["schedules"][0]["cron"], hourly["parameters"]["full_refresh"]) == ("0 * * * *", False)
    assert (weekly["schedules"][0]["cron"], weekly["parameters"]["full_refresh"]) == ("0 3 * * 0", True)
    assert {d["work_pool"]["name"] for d in deployments.values()} == {"meetintel"}


def test_deployment_entrypoint_loads_the_flow() -> None:
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    entry = spec["deployments"][0]["entrypoint"]
    flow = load_flow_from_entrypoint(str(REPO / entry))
    assert flow.name == "meeting_intelligence"
