"""The service over real HTTP against a state made by a real pipeline run: every route, auth and roles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aggregation import MeetingFilter, filter_meetings
from checkpoints import StateStore
from flows.ops import Policy
from service.tokens import revoke_token
from tests.service.served import Org, Served, auth, config_for, serve

COMPONENTS = ["state_store", "last_run", "prefect_api", "disk:out", "disk:state", "memory"]


def colours(body: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in body["components"]}


@contextmanager
def override(served: Served, token: str, source: str, mode: str) -> Iterator[httpx.Response]:
    """Set a breaker override through the API for the block, then give the source back to `auto`."""
    answer = httpx.put(f"{served.url}/api/breakers/{source}", headers=auth(token), json={"mode": mode})
    try:
        yield answer
    finally:
        httpx.put(f"{served.url}/api/breakers/{source}", headers=auth(token), json={"mode": "auto"})


# ---- health ------------------------------------------------------------------------------------------


def test_health_is_green_after_a_completed_run_and_needs_no_token(served: Served, org: Org) -> None:
    answer = served.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "green"
    assert list(colours(body)) == COMPONENTS
    assert set(colours(body).values()) == {"green"}
    last = next(c for c in body["components"] if c["name"] == "last_run")
    assert last["reason"].startswith(f"run {org.run_id} completed ")


def test_health_turns_red_with_a_breaker_forced_open_and_yellow_forced_closed(
    served: Served, org: Org
) -> None:
    with override(served, org.admin, "slack", "force-open") as put:
        assert put.status_code == 200
        assert put.json()["effective"] == "open"
        body = served.get("/health").json()
        assert body["status"] == "red"
        assert colours(body)["source:slack"] == "red"
        reason = next(c["reason"] for c in body["components"] if c["name"] == "source:slack")
        assert reason.startswith("breaker forced open by an operator (the next run skips the source)")
    with override(served, org.admin, "calendar", "force-closed"):
        body = served.get("/health").json()
        assert body["status"] == "yellow"
        assert colours(body)["source:calendar"] == "yellow"
    assert served.get("/health").json()["status"] == "green"


def test_health_turns_yellow_then_red_as_the_last_run_gets_stale(org: Org) -> None:
    # The run ended seconds ago: with a run expected every 0.001 min it is stale (yellow) or dead (red).
    stale = Policy(run_interval_minutes=0.001, stale_factor=2, dead_factor=1e9)
    with serve(config_for(org, policy=stale)) as s:
        body = s.get("/health").json()
        assert (body["status"], colours(body)["last_run"]) == ("yellow", "yellow")
    dead = Policy(run_interval_minutes=0.001, stale_factor=1, dead_factor=2)
    with serve(config_for(org, policy=dead)) as s:
        body = s.get("/health").json()
        assert (body["status"], colours(body)["last_run"]) == ("red", "red")
        reason = next(c["reason"] for c in body["components"] if c["name"] == "last_run")
        assert reason.endswith("expected every 0 min")


def test_health_is_red_without_a_state(tmp_path) -> None:
    from service.config import ServiceConfig

    with serve(ServiceConfig(state=tmp_path / "none.duckdb", out=tmp_path / "out")) as s:
        body = s.get("/health").json()
    assert body["status"] == "red"
    assert colours(body)["state_store"] == "red"
    assert colours(body)["last_run"] == "yellow"


# ---- auth --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/metrics"),
        ("GET", "/api/runs"),
        ("GET", "/api/meetings"),
        ("GET", "/api/people"),
        ("GET", "/api/errors"),
        ("GET", "/api/trends"),
        ("GET", "/api/breakers"),
        ("GET", "/api/alerts"),
        ("PUT", "/api/breakers/slack"),
        ("POST", "/api/runs"),
    ],
)
def test_every_api_route_refuses_a_request_without_a_token(served: Served, method: str, path: str) -> None:
    answer = httpx.request(method, served.url + path, json={"mode": "auto"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    wrong = httpx.request(method, served.url + path, headers=auth("mi_not-a-token"), json={"mode": "auto"})
    assert wrong.status_code == 401


def test_an_analyst_gets_403_on_admin_routes(served: Served, org: Org) -> None:
    put = httpx.put(
        f"{served.url}/api/breakers/slack", headers=auth(org.analyst), json={"mode": "force-open"}
    )
    assert put.status_code == 403
    post = httpx.post(f"{served.url}/api/runs", headers=auth(org.analyst), json={"full_refresh": False})
    assert post.status_code == 403
    assert served.get("/api/breakers", org.analyst).status_code == 200


def test_a_revoked_token_is_refused_at_once(served: Served, org: Org) -> None:
    from service.tokens import create_token

    token, entry = create_token(org.tokens_file, "short-lived", "analyst")
    assert served.get("/api/runs", token).status_code == 200
    revoke_token(org.tokens_file, entry.id)
    assert served.get("/api/runs", token).status_code == 401


def test_a_body_over_the_limit_gets_413(served: Served, org: Org) -> None:
    big = json.dumps({"mode": "auto", "pad": "x" * (served.config.max_body_bytes + 1)})
    answer = httpx.put(
        f"{served.url}/api/breakers/slack",
        headers=auth(org.admin) | {"content-type": "application/json"},
        content=big,
    )
    assert answer.status_code == 413


def test_cors_is_off_by_default(served: Served, org: Org) -> None:
    answer = httpx.get(
        served.url + "/api/runs", headers=auth(org.analyst) | {"Origin": "http://evil.example"}
    )
    assert "access-control-allow-origin" not in answer.headers


def test_starting_a_run_without_a_prefect_api_says_what_to_do(served: Served, org: Org) -> None:
    answer = httpx.post(f"{served.url}/api/runs", headers=auth(org.admin), json={"full_refresh": True})
    assert answer.status_code == 503
    assert answer.json()["detail"] == "no Prefect API is configured, so no deployment can be started"


# ---- runs, meetings, people --------------------------------------------------------------------------


def test_runs_match_the_ledger(served: Served, org: Org) -> None:
    with StateStore(org.state) as store:
        ledger = store.runs(10)
    body = served.get("/api/runs", org.analyst).json()
    assert body["total"] == 1
    assert [r["run_id"] for r in body["items"]] == [r.run_id for r in ledger]
    one = served.get(f"/api/runs/{org.run_id}", org.analyst).json()
    assert [s["stage"] for s in one["stages"]] == ["collect", "detect", "correlate", "aggregate", "export"]
    assert one["rows_read"] == ledger[0].rows_read
    assert served.get("/api/runs/nope", org.analyst).status_code == 404
    assert served.get("/api/runs", org.analyst, status="failed").json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"origin": "slack"},
        {"status": "held", "min_score": 0.5},
        {"text": "sync"},
        {"since": "2026-09-08"},
    ],
)
def test_meetings_filter_like_meetintel_query(served: Served, org: Org, params: dict) -> None:
    with StateStore(org.state) as store:
        expected = filter_meetings(store.con, MeetingFilter.model_validate(params))
    body = served.get("/api/meetings", org.admin, limit=500, **params).json()
    assert body["total"] == expected.num_rows
    assert [m["meeting_id"] for m in body["items"]] == expected.column("meeting_id").to_pylist()
    assert body["reports_run"] == org.run_id


def test_meetings_are_paginated(served: Served, org: Org) -> None:
    everything = served.get("/api/meetings", org.admin, limit=500).json()
    page = served.get("/api/meetings", org.admin, offset=5, limit=4).json()
    assert (page["total"], page["offset"], page["limit"]) == (everything["total"], 5, 4)
    assert [m["meeting_id"] for m in page["items"]] == [m["meeting_id"] for m in everything["items"][5:9]]


def test_a_bad_filter_is_a_422(served: Served, org: Org) -> None:
    assert served.get("/api/meetings", org.admin, origin="fax").status_code == 422
    assert served.get("/api/meetings", org.admin, since="2026-09-09", until="2026-09-08").status_code == 422


def test_analysts_see_pseudonymised_people_unless_their_token_allows_names(served: Served, org: Org) -> None:
    with StateStore(org.state) as store:
        names = {r[0] for r in store.con.execute("SELECT name FROM report_people").fetchall()}
        emails = {r[0] for r in store.con.execute("SELECT email FROM report_people").fetchall()}
    plain = served.get("/api/people", org.analyst_names, limit=500).json()
    hidden = served.get("/api/people", org.analyst, limit=500).json()
    assert plain["total"] == hidden["total"] == len(emails)
    assert {p["name"] for p in plain["items"]} == names
    assert {p["email"] for p in plain["items"]} == emails
    assert {p["name"] for p in hidden["items"]} == {None}
    assert not {p["email"] for p in hidden["items"]} & emails
    assert all(p["email"].startswith("p") for p in hidden["items"] if p["email"])
    # Meetings too: the organiser's address is pseudonymised for the analyst, as published for the admin.
    shown = served.get("/api/meetings", org.analyst, limit=500).json()["items"]
    assert not {m["organizer_email"] for m in shown} & emails


# ---- metrics, errors, trends, breakers, alerts ----------------------------------------------------


def test_metrics_parse_and_match_the_ledger(served: Served, org: Org) -> None:
    with StateStore(org.state) as store:
        (run,) = store.runs(1)
    text = served.get("/metrics", org.analyst).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert samples[("meetintel_runs_total", (("status", "completed"),))] == 1
    for s in run.stages:
        assert samples[("meetintel_stage_rows", (("direction", "in"), ("stage", s.stage)))] == s.rows_in
        assert samples[("meetintel_stage_duration_seconds", (("stage", s.stage),))] == pytest.approx(
            s.seconds
        )
    assert samples[("meetintel_health", ())] == 0
    assert families["meetintel_service_rss_bytes"].samples[0].value > 1_000_000
    assert {s.labels["path"] for s in families["meetintel_disk_free_bytes"].samples} == {"out", "state"}


def test_breakers_list_the_override_and_the_state(served: Served, org: Org) -> None:
    assert served.get("/api/breakers", org.analyst).json() == []
    with override(served, org.admin, "drive", "force-open"):
        (drive,) = served.get("/api/breakers", org.analyst).json()
        assert (drive["source"], drive["state"], drive["override"], drive["effective"]) == (
            "drive",
            "closed",
            "force-open",
            "open",
        )
        assert served.get("/api/errors", org.analyst).json() == []
    bad = httpx.put(f"{served.url}/api/breakers/fax", headers=auth(org.admin), json={"mode": "auto"})
    assert bad.status_code == 422
    bad = httpx.put(f"{served.url}/api/breakers/slack", headers=auth(org.admin), json={"mode": "sometimes"})
    assert bad.status_code == 422


def test_trends_have_one_point_per_stage_of_the_run(served: Served, org: Org) -> None:
    body = served.get("/api/trends", org.analyst).json()
    assert [t["stage"] for t in body] == ["collect", "detect", "correlate", "aggregate", "export"]
    assert {len(t["points"]) for t in body} == {1}
    assert {t["points"][0]["run_id"] for t in body} == {org.run_id}


def test_no_alert_holds_after_a_good_run(served: Served, org: Org) -> None:
    assert served.get("/api/alerts", org.analyst).json() == []


def test_the_status_page_shows_every_component(served: Served) -> None:
    answer = served.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    for name in COMPONENTS:
        assert f"<td>{name}</td>" in answer.text
    assert "<script" not in answer.text and "http://" not in answer.text.replace(served.url, "")


def test_meetings_carry_the_published_values_unchanged(served: Served, org: Org) -> None:
    """The rows come from the published CSV tables; text with commas, quotes or formula leads reads back as
    it was stored."""
    cols = (
        "meeting_id",
        "title",
        "status",
        "origin",
        "kind",
        "organizer_email",
        "channel_ids",
        "score",
        "reasons",
    )
    with StateStore(org.state) as store:
        expected = filter_meetings(store.con, MeetingFilter()).select(list(cols)).to_pylist()
    shown = served.get("/api/meetings", org.admin, limit=500).json()["items"]
    assert [{c: m[c] for c in cols} for m in shown] == expected
