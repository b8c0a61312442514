"""prefect.yaml: its deployments, schedules and triggers; and, end to end on loopback, a Prefect server and a
process worker running what a signed Slack event, a published report and a failure set off, and three runs
started at once on one state going one after another."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from croniter import croniter
from prefect.flows import load_flow_from_entrypoint

from checkpoints import StateStore
from sandbox import generate_workspace
from tests.conftest import REPO

T = TypeVar("T")
SPEC = yaml.safe_load((REPO / "prefect.yaml").read_text())
DEPLOYMENTS = {d["name"]: d for d in SPEC["deployments"]}
BIN = Path(sys.executable).parent


def test_prefect_yaml_declares_incremental_full_refresh_live_and_report_pack() -> None:
    assert set(DEPLOYMENTS) == {"incremental-hourly", "full-refresh-weekly", "live-hourly", "report-pack"}
    flags = {n: d["parameters"].get("full_refresh") for n, d in DEPLOYMENTS.items() if n != "report-pack"}
    assert flags == {"incremental-hourly": False, "full-refresh-weekly": True, "live-hourly": False}
    assert DEPLOYMENTS["live-hourly"]["parameters"]["live"] == {"enabled": True}
    env = DEPLOYMENTS["live-hourly"]["work_pool"]["job_variables"]["env"]
    assert env == {
        "MEETINTEL_SLACK_TOKEN_BLOCK": "meetintel-slack-token",
        "MEETINTEL_GOOGLE_TOKEN_BLOCK": "meetintel-google-token",
    }
    assert {d["work_pool"]["name"] for d in DEPLOYMENTS.values()} == {"meetintel"}


def test_every_deployment_runs_one_at_a_time_and_queues_the_rest() -> None:
    for d in DEPLOYMENTS.values():
        assert d["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}, d["name"]


def _firing(minutes: int) -> dict[datetime, list[str]]:
    """Give, for each minute of the coming `minutes` that some active schedule fires, which deployments."""
    start = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday: the week ahead holds every weekday once
    fired: dict[datetime, list[str]] = {}
    for name, d in DEPLOYMENTS.items():
        for schedule in d.get("schedules", []):
            if schedule.get("active", True) is False:
                continue
            it = croniter(schedule["cron"], start - timedelta(minutes=1))
            while (at := it.get_next(datetime)) < start + timedelta(minutes=minutes):
                fired.setdefault(at, []).append(name)
    return fired


def test_schedules_never_start_two_runs_together_and_sunday_three_is_the_full_refresh() -> None:
    fired = _firing(7 * 24 * 60)
    assert [(at, names) for at, names in fired.items() if len(names) > 1] == []
    hourly = [at for at, names in fired.items() if names == ["incremental-hourly"]]
    assert len(hourly) == 7 * 24 - 1  # every hour of the week but one...
    assert fired[datetime(2026, 12, 6, 3, tzinfo=UTC)] == ["full-refresh-weekly"]  # ...which is Sunday 03:00


def test_triggers_start_incremental_on_activity_and_the_pack_on_published_reports() -> None:
    [activity] = DEPLOYMENTS["incremental-hourly"]["triggers"]
    assert set(activity["expect"]) == {"meetintel.slack.activity", "meetintel.workspace.changed"}
    assert (activity["posture"], activity["threshold"], activity["within"]) == ("Reactive", 1, 300)
    assert activity["match"] == {"prefect.resource.id": "meetintel.org.{{ $MEETINTEL_ORG }}"}
    [published] = DEPLOYMENTS["report-pack"]["triggers"]
    assert published["expect"] == ["meetintel.reports.published"]
    assert published["parameters"] == {
        "latest": "{{ event.payload.latest }}",
        "run_id": "{{ event.payload.run_id }}",
        "org": "{{ event.resource.name }}",
    }
    [live] = DEPLOYMENTS["live-hourly"]["triggers"]
    assert live["enabled"] is False  # off until the Secret blocks exist


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_entrypoints_load_their_flows(name: str) -> None:
    flow = load_flow_from_entrypoint(str(REPO / DEPLOYMENTS[name]["entrypoint"]))
    assert flow.name == ("report_pack" if name == "report-pack" else "meeting_intelligence")


# ---- end to end ------------------------------------------------------------------------------------------

ORG, SECRET = "acme", "e2e-signing-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Callable[[], T | None], timeout: float, logs: list[Path], step: float = 0.5) -> T:
    """Poll `check` until it gives a value; fail naming `what` and the tails of the logs after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(step)
    tails = "\n".join(
        f"--- {p.name} ---\n{p.read_text(errors='replace')[-2500:]}" for p in logs if p.exists()
    )
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")


class Hook(BaseHTTPRequestHandler):
    """A loopback webhook receiver: keeps the JSON bodies POSTed to it."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class Loopback:
    """A Prefect server, a process worker, the service and a webhook receiver, all on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.api = f"http://127.0.0.1:{_free_port()}/api"
        self.env = os.environ | {
            "PREFECT_HOME": str(root / "prefect-home"),
            "PREFECT_API_URL": self.api,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": self.api.rsplit(":", 1)[1].removesuffix("/api"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PYTHONPATH": str(REPO),
            "MEETINTEL_HOME": str(REPO),
            "MEETINTEL_ORG": ORG,
            "MEETINTEL_SLACK_SIGNING_SECRET": SECRET,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = self.root / f"{name}.log"
        self.logs.append(log)
        with open(log, "wb") as out:
            self.procs.append(
                subprocess.Popen(args, cwd=REPO, env=env or self.env, stdout=out, stderr=subprocess.STDOUT)
            )

    def prefect(self, *args: str, env: dict[str, str] | None = None) -> None:
        done = subprocess.run(
            [str(BIN / "prefect"), *args],
            cwd=REPO,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (
            f"prefect {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )

    def get(self, path: str) -> Any:
        return self.send("GET", path, None).json()

    def post(self, path: str, body: dict[str, Any], *, once: bool = False) -> Any:
        reply = self.send("POST", path, body, once=once)
        reply.raise_for_status()
        return reply.json()

    def send(
        self, method: str, path: str, body: dict[str, Any] | None, *, once: bool = False
    ) -> httpx.Response:
        """Send a request to the API, again after a 503 (SQLite busy under the worker's and runs' writes),
        and again after a read timeout, when the server is slow beside the other tests' work, unless it
        must go `once` (it creates something)."""
        for attempt in range(20):
            try:
                reply = httpx.request(method, f"{self.api}{path}", json=body, timeout=10)
            except httpx.TimeoutException:
                if once or attempt == 19:
                    raise
                continue
            if reply.status_code != 503:
                break
            time.sleep(0.5)
        return reply

    def healthy(self, url: str) -> bool | None:
        try:
            return True if httpx.get(url, timeout=2).status_code < 500 else None
        except httpx.HTTPError:
            return None

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    def deployments(self) -> dict[str, dict[str, Any]]:
        return {d["name"]: d for d in self.post("/deployments/filter", {})}

    def pause_schedules(self) -> None:
        """Switch every schedule off: this test starts each run itself, and a cron run at the top of the
        hour would add a run and a ledger row of its own."""
        for dep in self.deployments().values():
            for schedule in dep["schedules"]:
                path = f"/deployments/{dep['id']}/schedules/{schedule['id']}"
                reply = self.send("PATCH", path, {"active": False})
                assert reply.status_code == 204, reply.text

    def runs_of(self, deployment: str) -> list[dict[str, Any]]:
        """Give the runs of a deployment that no schedule made, oldest first."""
        body = {
            "deployments": {"id": {"any_": [self.deployments()[deployment]["id"]]}},
            "sort": "EXPECTED_START_TIME_ASC",
        }
        return [r for r in self.post("/flow_runs/filter", body) if not r["auto_scheduled"]]

    def finished(self, deployment: str, count: int) -> list[dict[str, Any]] | None:
        runs = self.runs_of(deployment)
        done = [r for r in runs if r["state"] and r["state"]["type"] in FINAL]
        return done if len(done) >= count else None

    def start_run(self, deployment: str, parameters: dict[str, str] | None = None) -> str:
        dep = self.deployments()[deployment]
        return str(
            self.post(
                f"/deployments/{dep['id']}/create_flow_run", {"parameters": parameters or {}}, once=True
            )["id"]
        )

    def ended(self, ids: list[str]) -> list[dict[str, Any]] | None:
        runs = [self.get(f"/flow_runs/{i}") for i in ids]
        return runs if all(r["state"] and r["state"]["type"] in FINAL for r in runs) else None

    def events(self, prefix: str) -> list[dict[str, Any]]:
        body = {"filter": {"event": {"prefix": [prefix]}, "order": "ASC"}, "limit": 50}
        return list(self.post("/events/filter", body)["events"])


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    root = tmp_path_factory.mktemp("e2e")
    lb = Loopback(root)
    ws = root / "ws"
    generate_workspace(ws, people=10, days=2, seed=3)
    lb.env |= {"MEETINTEL_WORKSPACE": str(ws), "MEETINTEL_OUT": str(root / "out")}
    lb.env |= {"MEETINTEL_STATE": str(root / "state.duckdb")}
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    lb.hook_url = f"http://127.0.0.1:{hook.server_address[1]}/hook"  # type: ignore[attr-defined]
    try:
        lb.start("server", [str(BIN / "prefect"), "server", "start"])
        _wait("the Prefect server's health check", lambda: lb.healthy(f"{lb.api}/health"), 90, lb.logs)
        lb.prefect("work-pool", "create", "meetintel", "--type", "process")
        done = subprocess.run(
            [sys.executable, "-m", "flows.notifications", lb.hook_url, "--allow-private-urls"],  # type: ignore[attr-defined]
            cwd=REPO, env=lb.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        lb.prefect("--no-prompt", "deploy", "--all")
        lb.pause_schedules()
        lb.start("worker", [str(BIN / "prefect"), "worker", "start", "--pool", "meetintel", "--limit", "4"])
        port = _free_port()
        lb.service = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        # meetintel serve reads the state, the out folder and the signing secret from MEETINTEL_* variables.
        lb.start("serve", [str(BIN / "meetintel"), "serve", "--port", str(port)])
        _wait("the service", lambda: lb.healthy(f"{lb.service}/health"), 60, lb.logs)  # type: ignore[attr-defined]
        yield lb
    finally:
        lb.stop()
        hook.shutdown()


def _slack(body: dict[str, Any], at: float | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time() if at is None else at))
    sig = "v0=" + hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return raw, {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sig,
        "Content-Type": "application/json",
    }


MESSAGE = {
    "type": "event_callback",
    "team_id": "T0ACME",
    "event_id": "Ev0E2E",
    "event_time": 1764900000,
    "event": {"type": "message", "channel": "C024BE91L", "user": "U1", "text": "joining the standup now"},
}


@pytest.mark.slow
def test_signed_slack_event_runs_incremental_then_the_report_pack(loopback: Loopback) -> None:
    lb = loopback
    url = f"{lb.service}/slack/events"  # type: ignore[attr-defined]
    unsigned = httpx.post(url, content=json.dumps(MESSAGE).encode(), timeout=10)
    stale_body, stale_headers = _slack(MESSAGE, at=time.time() - 600)
    stale = httpx.post(url, content=stale_body, headers=stale_headers, timeout=10)
    assert (unsigned.status_code, stale.status_code) == (401, 401)
    body, headers = _slack(MESSAGE)
    reply = httpx.post(url, content=body, headers=headers, timeout=10)
    assert reply.json() == {"ok": True, "emitted": True, "event": "meetintel.slack.activity"}
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 401  # replayed
    for n in (1, 2):  # the rest of a burst: new events, absorbed by the trigger's five-minute window
        more, more_headers = _slack(MESSAGE | {"event_id": f"Ev0E2E{n}"})
        assert httpx.post(url, content=more, headers=more_headers, timeout=10).json()["emitted"] is True
    [run] = _wait(
        "the incremental run the Slack event triggers",
        lambda: lb.finished("incremental-hourly", 1),
        150,
        lb.logs,
    )
    assert (run["state"]["type"], run["state"]["name"]) == ("COMPLETED", "Completed"), run["state"]
    [pack] = _wait(
        "the report pack run on meetintel.reports.published",
        lambda: lb.finished("report-pack", 1),
        90,
        lb.logs,
    )
    assert pack["state"]["type"] == "COMPLETED", pack["state"]
    activity = lb.events("meetintel.slack.activity")
    assert [a["payload"]["event_id"] for a in activity] == ["Ev0E2E", "Ev0E2E1", "Ev0E2E2"]
    assert {a["resource"]["prefect.resource.id"] for a in activity} == {"meetintel.org.acme"}
    assert "joining" not in json.dumps(activity)
    assert len(lb.runs_of("incremental-hourly")) == 1  # three events, one run
    [published] = lb.events("meetintel.reports.published")
    assert published["payload"]["latest"] == str(Path(lb.env["MEETINTEL_OUT"]).absolute() / "latest")
    related = {r["prefect.resource.role"]: r["prefect.resource.id"] for r in published["related"]}
    assert related["flow-run"] == f"prefect.flow-run.{run['id']}"
    packs = sorted((Path(lb.env["MEETINTEL_OUT"]) / "packs").glob("*.zip"))
    assert [p.name for p in packs] == [f"acme-{published['payload']['run_id']}.zip"]


@pytest.mark.slow
def test_a_failed_run_sends_the_webhook_notification(loopback: Loopback, tmp_path: Path) -> None:
    lb = loopback
    Hook.received.clear()
    params = {"workspace": str(tmp_path / "missing"), "state": str(tmp_path / "other.duckdb")}
    failing = lb.start_run("incremental-hourly", params)
    notes = _wait(
        "the webhook notification of meetintel.run.failed", lambda: list(Hook.received) or None, 120, lb.logs
    )
    assert notes[0]["subject"] == "meetintel: meetintel.run.failed for acme"
    assert "does not exist" in notes[0]["body"]
    [run] = _wait("the failing run to end", lambda: lb.ended([failing]), 60, lb.logs)
    assert run["state"]["type"] == "FAILED"


@pytest.mark.slow
def test_three_runs_started_at_once_on_one_state_complete_one_after_another(loopback: Loopback) -> None:
    lb = loopback
    state = Path(lb.env["MEETINTEL_STATE"])
    with StateStore(state) as store:  # no run is on this state now: the Slack-triggered one has ended
        rows_before = len(store.runs(100))
    ids = [lb.start_run(name) for name in ("incremental-hourly", "full-refresh-weekly", "incremental-hourly")]
    runs = _wait("the three runs to end", lambda: lb.ended(ids), 240, lb.logs)
    assert [r["state"]["type"] for r in runs] == ["COMPLETED"] * 3, [r["state"] for r in runs]
    with StateStore(state) as store:
        ledger = sorted(store.runs(100), key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC))
    assert len(ledger) == rows_before + 3
    newest = ledger[-3:]
    assert [r.status for r in newest] == ["completed"] * 3
    assert sorted(r.mode for r in newest) == ["full-refresh", "incremental", "incremental"]
    for earlier, later in zip(newest, newest[1:], strict=False):
        assert earlier.ended_at is not None and later.started_at is not None
        assert earlier.ended_at <= later.started_at, f"runs {earlier.run_id} and {later.run_id} overlapped"


def test_a_parameter_left_unrendered_at_deploy_time_names_the_variable_to_set() -> None:
    from core.errors import ConfigurationError
    from flows.pipeline import require_rendered

    require_rendered({"org": "acme", "workspace": None, "state": "/data/{x}.duckdb"})
    with pytest.raises(ConfigurationError) as refused:
        require_rendered({"org": "acme", "state": "{{ $MEETINTEL_STATE }}"})
    assert str(refused.value) == (
        "the deployment's parameter state is '{{ $MEETINTEL_STATE }}': MEETINTEL_STATE was not set at deploy "
        "time — export MEETINTEL_STATE and run `prefect --no-prompt deploy --all` again"
    )
