"""POST /api/runs starts a run of the Prefect deployment (admin), and does not wait for it."""

from __future__ import annotations

import httpx
import pytest

from tests.service.served import Org, auth, config_for, serve


@pytest.mark.slow
def test_an_admin_starts_a_run_of_each_deployment(
    org: Org, prefect_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    api = str(PREFECT_API_URL.value())
    monkeypatch.setenv("PREFECT_API_URL", api)  # the service's request threads read it from the environment
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("meeting_intelligence")
        for name, full in (("incremental-hourly", False), ("full-refresh-weekly", True)):
            client.create_deployment(flow_id=flow_id, name=name, parameters={"full_refresh": full})
    with serve(config_for(org, prefect_api_url=api)) as s:
        started = {}
        for full in (False, True):
            answer = httpx.post(
                f"{s.url}/api/runs", headers=auth(org.admin), json={"full_refresh": full}, timeout=60
            )
            assert answer.status_code == 202, answer.text
            started[full] = answer.json()
        health = s.get("/health").json()
    assert started[False]["deployment"] == "meeting_intelligence/incremental-hourly"
    assert started[True]["deployment"] == "meeting_intelligence/full-refresh-weekly"
    assert {b["state"] for b in started.values()} == {"Scheduled"}
    with get_client(sync_client=True) as client:
        runs = {str(r.id): r for r in client.read_flow_runs()}
    for body in started.values():
        run = runs[body["flow_run_id"]]
        assert sorted(run.tags) == ["by-ops", "meetintel-api"]
    assert runs[started[True]["flow_run_id"]].parameters == {"full_refresh": True}
    assert {c["name"]: c["status"] for c in health["components"]}["prefect_api"] == "green"
