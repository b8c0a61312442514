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
from sandbox._srv_ratelimit import RateLimiter, retry_after_header
from sandbox.server import FaultSpec, SandboxServer, ServerSettings
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
        client.auth_test()
        assert time.perf_counter() - started < 0.3


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
    ],
)
def test_bad_settings_raise_configuration_error_naming_the_setting(settings: dict, named: str) -> None:
    """Out-of-range settings fail at construction with a message naming the setting and what to do."""
    with pytest.raises(ConfigurationError) as raised:
        ServerSettings(**settings)
    assert named in str(raised.value)
