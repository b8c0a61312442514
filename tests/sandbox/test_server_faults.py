"""Rate limits and injected faults of the sandbox server, seen through the real clients and raw HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from googleapiclient.errors import HttpError
from slack_sdk.errors import SlackApiError

from core.errors import ConfigurationError
from sandbox.server import FaultSpec, SandboxServer, ScriptedFault, ServerSettings
from sandbox.server._ratelimit import RateLimiter, retry_after_header
from tests.sandbox._server_workspace import ALICE_CAL, GENERAL, build_workspace, google, slack_client


def _raw_get(url: str, path: str, token: str = "xoxb-sandbox") -> http.client.HTTPResponse:
    """Send one GET over a fresh connection and give the response (body unread)."""
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=5)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    return conn.getresponse()


# ------------------------------------------------------------------------------------------- rate limits


def test_slack_tier_exceeded_gives_429_with_integer_retry_after(tmp_path: Path) -> None:
    """Past a tier's quota a call gets 429 `ratelimited` with whole-second Retry-After; later ones pass."""
    settings = ServerSettings(tiers={"conversations.list": 3}, time_scale=120)  # window 0.5 s
    with SandboxServer(build_workspace(tmp_path), settings) as srv:
        client = slack_client(srv.url, retry_handlers=[])
        for _ in range(3):
            assert client.conversations_list()["ok"] is True
        with pytest.raises(SlackApiError) as raised:
            client.conversations_list()
        response = raised.value.response
        assert (response.status_code, response["error"], response.headers["Retry-After"]) == (
            429,
            "ratelimited",
            "1",
        )
        assert 0 < float(response.headers["X-Sandbox-Retry-After"]) <= 0.5
        assert client.users_list()["ok"] is True  # another method has its own quota
        time.sleep(float(response.headers["X-Sandbox-Retry-After"]) + 0.01)
        assert client.conversations_list()["ok"] is True
        assert srv.stats.rate_limited == {"conversations.list": 1}
        assert srv.stats.requests == {"conversations.list": 5, "users.list": 1}


def test_default_tiers_match_slack_tiers_at_scale(tmp_path: Path) -> None:
    """At time_scale=60 Tier 2 admits 20 calls per second: the 21st conversations.list is refused."""
    with SandboxServer(build_workspace(tmp_path), ServerSettings(time_scale=60)) as srv:
        client = slack_client(srv.url, retry_handlers=[])
        statuses = []
        for _ in range(21):
            try:
                statuses.append(client.conversations_list().status_code)
            except SlackApiError as err:
                statuses.append(err.response.status_code)
        assert statuses == [200] * 20 + [429]


def test_google_rate_limit_uses_google_error_shape_and_configured_status(tmp_path: Path) -> None:
    """Google rate limits answer 403 (or 429) with reason rateLimitExceeded, which clients retry."""
    settings = ServerSettings(tiers={"calendar.events.list": 1}, time_scale=60, google_rate_limit_status=403)
    with SandboxServer(build_workspace(tmp_path), settings) as srv:
        events = google("calendar", "v3", srv.url).events()
        events.list(calendarId=ALICE_CAL).execute()
        with pytest.raises(HttpError) as raised:
            events.list(calendarId=ALICE_CAL).execute()
        error = json.loads(raised.value.content)["error"]
        assert (raised.value.resp.status, error["code"], error["errors"][0]["reason"]) == (
            403,
            403,
            "rateLimitExceeded",
        )
        assert raised.value.resp["retry-after"] == "1"


def test_rate_limits_can_be_switched_off(tmp_path: Path) -> None:
    """rate_limits=False admits every call whatever the tiers say."""
    settings = ServerSettings(tiers={"conversations.list": 1}, rate_limits=False)
    with SandboxServer(build_workspace(tmp_path), settings) as srv:
        client = slack_client(srv.url)
        assert [client.conversations_list().status_code for _ in range(3)] == [200, 200, 200]


def test_rate_limiter_sliding_window_with_a_fake_clock() -> None:
    """A slot frees exactly one window after the oldest admitted call; refused calls are not counted."""
    now = [100.0]
    limiter = RateLimiter({"m": 2}, window_s=10.0, clock=lambda: now[0])
    assert [limiter.acquire("m"), limiter.acquire("m")] == [0.0, 0.0]
    now[0] = 104.0
    assert limiter.acquire("m") == pytest.approx(6.0)
    now[0] = 110.0
    assert limiter.acquire("m") == 0.0
    assert limiter.acquire("other") == 0.0


@pytest.mark.parametrize(("wait", "header"), [(0.001, "1"), (1.0, "1"), (1.2, "2"), (29.5, "30")])
def test_retry_after_header_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    """Retry-After is an integer (slack_sdk parses it with int()), rounded up, at least 1."""
    assert retry_after_header(wait) == header


# ------------------------------------------------------------------------------------------------ faults


def test_injected_errors_use_each_services_error_shape(tmp_path: Path) -> None:
    """error_rate=1 gives the configured status: Slack `service_unavailable`, Google `backendError`."""
    faults = {
        "conversations.history": FaultSpec(error_rate=1.0, statuses=(503,)),
        "drive.files.list": FaultSpec(error_rate=1.0, statuses=(500,)),
    }
    with SandboxServer(build_workspace(tmp_path), ServerSettings(faults=faults)) as srv:
        with pytest.raises(SlackApiError) as slack_err:
            slack_client(srv.url, retry_handlers=[]).conversations_history(channel=GENERAL)
        assert (slack_err.value.response.status_code, slack_err.value.response["error"]) == (
            503,
            "service_unavailable",
        )
        with pytest.raises(HttpError) as google_err:
            google("drive", "v3", srv.url).files().list().execute()
        error = json.loads(google_err.value.content)["error"]
        assert (google_err.value.resp.status, error["errors"][0]["reason"]) == (500, "backendError")
        assert slack_client(srv.url).conversations_list()["ok"] is True  # other endpoints are untouched
        assert srv.stats.faults == {"conversations.history": {"error": 1}, "drive.files.list": {"error": 1}}


def test_injected_429_carries_retry_after(tmp_path: Path) -> None:
    """An injected 429 looks like a real rate limit: `ratelimited` with Retry-After."""
    faults = {"conversations.replies": FaultSpec(error_rate=1.0, statuses=(429,))}
    with SandboxServer(build_workspace(tmp_path), ServerSettings(faults=faults)) as srv:
        with pytest.raises(SlackApiError) as raised:
            slack_client(srv.url, retry_handlers=[]).conversations_replies(
                channel=GENERAL, ts="1757206800.000100"
            )
        assert (raised.value.response.status_code, raised.value.response.headers["Retry-After"]) == (429, "1")


def test_dropped_connection_gets_no_response(tmp_path: Path) -> None:
    """drop_rate=1 closes the socket without a status line; slack_sdk raises a connection error."""
    faults = {"*": FaultSpec(drop_rate=1.0)}
    with SandboxServer(build_workspace(tmp_path), ServerSettings(faults=faults)) as srv:
        with pytest.raises(http.client.RemoteDisconnected):
            _raw_get(srv.url, "/api/auth.test")
        with pytest.raises(Exception) as raised:
            slack_client(srv.url, retry_handlers=[]).auth_test()
        assert "closed connection without response" in str(raised.value)
        assert srv.stats.faults == {"auth.test": {"drop": 2}}


def test_truncated_body_ends_before_content_length(tmp_path: Path) -> None:
    """truncate_rate=1 announces the full Content-Length, sends half the body, then closes."""
    faults = {"users.list": FaultSpec(truncate_rate=1.0)}
    with SandboxServer(build_workspace(tmp_path), ServerSettings(faults=faults)) as srv:
        response = _raw_get(srv.url, "/api/users.list")
        assert response.status == 200
        declared = int(response.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as raised:
            response.read()
        assert len(raised.value.partial) == declared // 2
        assert srv.stats.faults == {"users.list": {"truncate": 1}}


def test_latency_delays_every_call_of_the_endpoint(tmp_path: Path) -> None:
    """latency_s delays the answer by at least that many seconds, and the answer is still correct."""
    faults = {"team.info": FaultSpec(latency_s=0.3)}
    with SandboxServer(build_workspace(tmp_path), ServerSettings(faults=faults)) as srv:
        client = slack_client(srv.url)
        started = time.perf_counter()
        assert client.team_info()["team"]["name"] == "Acme"
        assert time.perf_counter() - started >= 0.3
        started = time.perf_counter()
        assert client.team_info()["team"]["name"] == "Acme"
        assert time.perf_counter() - started >= 0.3  # every call, not only the first
        # No upper bound on other endpoints' calls: a loaded machine makes any call slow.
        assert client.auth_test()["ok"] is True


def test_fault_draws_are_seeded_and_follow_the_configured_shares(tmp_path: Path) -> None:
    """Faults come from random.Random(f"{seed}:{endpoint}"): rolls < drop, < drop+error, < +truncate."""
    spec = FaultSpec(drop_rate=0.2, error_rate=0.3, truncate_rate=0.1, statuses=(500, 503), seed=7)
    rng = random.Random("7:auth.test")
    expected: dict[str, int] = {}
    for _ in range(40):
        roll = rng.random()
        rng.choice(spec.statuses)
        kind = "drop" if roll < 0.2 else "error" if roll < 0.5 else "truncate" if roll < 0.6 else None
        if kind:
            expected[kind] = expected.get(kind, 0) + 1
    with SandboxServer(build_workspace(tmp_path), ServerSettings(faults={"auth.test": spec})) as srv:
        for _ in range(40):
            with contextlib.suppress(http.client.RemoteDisconnected, http.client.IncompleteRead):
                _raw_get(srv.url, "/api/auth.test").read()
        assert srv.stats.faults == {"auth.test": expected}
        assert srv.stats.requests == {"auth.test": 40}


# ---------------------------------------------------------------------------------------- scripted faults


def test_scripted_answers_come_once_each_in_order_then_the_endpoint_answers_normally(tmp_path: Path) -> None:
    """An error in Slack's shape, an exact answer and a 429 with its wait, then normal answers."""
    scripted = {
        "conversations.list": [
            ScriptedFault.error(503),
            ScriptedFault.answer(200, {"ok": False, "error": "ratelimited"}),
            ScriptedFault.error(429, retry_after=2),
        ]
    }
    with SandboxServer(build_workspace(tmp_path), ServerSettings(scripted=scripted)) as srv:
        answers = []
        for _ in range(4):
            response = _raw_get(srv.url, "/api/conversations.list")
            answers.append(
                (response.status, json.loads(response.read()).get("error"), response.getheader("Retry-After"))
            )
        assert answers == [
            (503, "service_unavailable", None),
            (200, "ratelimited", None),
            (429, "ratelimited", "2"),
            (200, None, None),
        ]
        assert srv.stats.faults == {"conversations.list": {"error": 2, "answer": 1}}


def test_answers_scripted_at_run_time_queue_after_those_left(tmp_path: Path) -> None:
    """srv.script adds to the endpoint's queue: a drop from the settings, then a truncated body, then 200."""
    settings = ServerSettings(scripted={"users.list": [ScriptedFault.drop()]})
    with SandboxServer(build_workspace(tmp_path), settings) as srv:
        srv.script("users.list", ScriptedFault.truncate())
        with pytest.raises(http.client.RemoteDisconnected):
            _raw_get(srv.url, "/api/users.list")
        with pytest.raises(http.client.IncompleteRead):
            _raw_get(srv.url, "/api/users.list").read()
        assert json.loads(_raw_get(srv.url, "/api/users.list").read())["ok"] is True
        assert srv.stats.faults == {"users.list": {"drop": 1, "truncate": 1}}


def test_scripted_google_errors_use_googles_shape_and_410_asks_for_a_full_sync(tmp_path: Path) -> None:
    """A scripted 410 on events.list is Calendar's fullSyncRequired; the next call lists normally."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        srv.script("calendar.events.list", ScriptedFault.error(410))
        events = google("calendar", "v3", srv.url).events()
        with pytest.raises(HttpError) as raised:
            events.list(calendarId=ALICE_CAL).execute()
        error = json.loads(raised.value.content)["error"]
        assert (raised.value.resp.status, error["errors"][0]["reason"]) == (410, "fullSyncRequired")
        assert events.list(calendarId=ALICE_CAL).execute()["items"]


def test_a_scripted_delay_answers_normally_after_the_wait(tmp_path: Path) -> None:
    """delay(0.3): the one delayed call takes at least 0.3 s and is answered correctly; the next is not."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        srv.script("team.info", ScriptedFault.delay(0.3))
        client = slack_client(srv.url)
        started = time.perf_counter()
        assert client.team_info()["team"]["name"] == "Acme"
        assert time.perf_counter() - started >= 0.3
        assert client.team_info()["team"]["name"] == "Acme"
        assert srv.stats.faults == {"team.info": {"delay": 1}}  # the script held one answer only


def test_scripted_answers_go_before_seeded_faults_and_after_auth(tmp_path: Path) -> None:
    """A refused token does not use up a scripted answer; once the script is spent the seeded faults
    apply again."""
    faults = {"auth.test": FaultSpec(error_rate=1.0, statuses=(500,))}
    with SandboxServer(build_workspace(tmp_path), ServerSettings(faults=faults)) as srv:
        srv.script("auth.test", ScriptedFault.answer(200, {"ok": True, "scripted": True}))
        assert (
            json.loads(_raw_get(srv.url, "/api/auth.test", token="xoxb-wrong").read())["error"]
            == "invalid_auth"
        )
        assert json.loads(_raw_get(srv.url, "/api/auth.test").read()) == {"ok": True, "scripted": True}
        assert _raw_get(srv.url, "/api/auth.test").status == 500


def test_scripting_an_unknown_endpoint_or_a_bad_answer_is_a_configuration_error(tmp_path: Path) -> None:
    """srv.script checks what it is given as the settings do."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        with pytest.raises(ConfigurationError, match="unknown endpoint 'chat.postMessage'"):
            srv.script("chat.postMessage", ScriptedFault.drop())
        with pytest.raises(ConfigurationError, match="status 200"):
            srv.script("users.list", ScriptedFault.error(200))


# ------------------------------------------------------------------------------------------ request log


def test_the_request_log_keeps_every_request_without_its_secrets(tmp_path: Path) -> None:
    """Each request is logged on arrival, refused or not: endpoint, params with credentials redacted,
    arrival time and the Authorization header as sent; unknown methods and paths are logged by name."""
    with SandboxServer(build_workspace(tmp_path)) as srv:
        conn = http.client.HTTPConnection(urlsplit(srv.url).netloc, timeout=5)
        conn.request("GET", "/api/users.list?token=xoxb-sandbox&limit=2")
        conn.getresponse().read()
        _raw_get(srv.url, "/api/users.list", token="xoxb-wrong").read()
        _raw_get(srv.url, "/api/chat.postMessage").read()
        _raw_get(srv.url, "/nowhere").read()
        logged = srv.requests()
        assert [(r.endpoint, r.params, r.authorization) for r in logged] == [
            ("users.list", {"token": "[redacted]", "limit": "2"}, None),
            ("users.list", {}, "Bearer xoxb-wrong"),
            ("chat.postMessage", {}, "Bearer xoxb-sandbox"),
            ("/nowhere", {}, "Bearer xoxb-sandbox"),
        ]
        assert logged[0].at <= logged[1].at <= time.monotonic()
        assert srv.requests("users.list") == logged[:2]
        srv.reset_stats()
        assert (srv.requests(), srv.stats.total_requests) == ([], 0)


def test_the_request_log_keeps_the_newest_requests_only(tmp_path: Path) -> None:
    """request_log_size bounds the log, so a long-running server does not grow without end."""
    with SandboxServer(build_workspace(tmp_path), ServerSettings(request_log_size=2)) as srv:
        for limit in (1, 2, 3):
            _raw_get(srv.url, f"/api/users.list?limit={limit}").read()
        assert [r.params["limit"] for r in srv.requests()] == ["2", "3"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"faults": {"conversations.history": FaultSpec(error_rate=1.5)}}, "error_rate"),
        ({"faults": {"conversations.history": FaultSpec(error_rate=0.6, drop_rate=0.6)}}, "sum to <= 1"),
        ({"faults": {"chat.postMessage": FaultSpec()}}, "unknown endpoints"),
        ({"faults": {"*": FaultSpec(error_rate=0.1, statuses=(200,))}}, "statuses"),
        ({"time_scale": 0}, "time_scale"),
        ({"tiers": {"users.list": 0}}, "tiers['users.list']"),
        ({"google_rate_limit_status": 500}, "google_rate_limit_status"),
        ({"scripted": {"chat.postMessage": [ScriptedFault.drop()]}}, "unknown endpoint"),
        ({"scripted": {"users.list": [ScriptedFault.answer(700, "")]}}, "status 700"),
        ({"scripted": {"users.list": [ScriptedFault.delay(-1)]}}, "delay_s"),
        ({"scripted": {"users.list": ["drop"]}}, "ScriptedFault"),
        ({"request_log_size": -1}, "request_log_size"),
    ],
)
def test_bad_settings_raise_configuration_error_naming_the_setting(settings: dict, named: str) -> None:
    """Out-of-range settings fail at construction with a message naming the setting and what to do."""
    with pytest.raises(ConfigurationError) as raised:
        ServerSettings(**settings)
    assert named in str(raised.value)
