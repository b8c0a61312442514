"""Alerts: raised once when a threshold is crossed, listed by /api/alerts, delivered to a loopback receiver
through the webhook or a Prefect notification block."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.ops import Policy
from tests.service.served import Org, config_for, serve

# The whole module runs in the full suite, not the fast lane: a served org and a webhook receiver cost
# 1-1.5 s per test.
pytestmark = pytest.mark.slow


class Receiver:
    """A loopback HTTP server that keeps every POST body it gets."""

    def __init__(self) -> None:
        received: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("content-length", "0"))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, seconds: float = 15) -> list[dict]:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


# Every disk has less than a petabyte free: the disk alert holds for both paths.
LOW_DISK = Policy(disk_free_mb=1e9)


def test_a_crossed_threshold_is_posted_once_and_listed(org: Org, receiver: Receiver) -> None:
    with serve(config_for(org, policy=LOW_DISK, alert_webhook_url=receiver.url, refresh_seconds=0.2)) as s:
        (posted,) = receiver.wait_for(1)
        listed = s.get("/api/alerts", org.analyst).json()
        time.sleep(1.0)  # five more refreshes: the same alerts are not sent again
    assert posted["source"] == "meetintel"
    assert sorted(a["key"] for a in posted["alerts"]) == ["disk_low:out", "disk_low:state"]
    assert {a["kind"] for a in posted["alerts"]} == {"disk_low"}
    assert sorted(a["key"] for a in listed) == ["disk_low:out", "disk_low:state"]
    assert len(receiver.received) == 1


def test_no_alert_no_post(org: Org, receiver: Receiver) -> None:
    with serve(config_for(org, alert_webhook_url=receiver.url, refresh_seconds=0.2)) as s:
        assert s.get("/api/alerts", org.analyst).json() == []
        time.sleep(0.6)
    assert receiver.received == []


def test_alerts_go_through_a_prefect_notification_block(
    org: Org, receiver: Receiver, prefect_server: None
) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    CustomWebhookNotificationBlock(
        name="meetintel-test",
        url=receiver.url,
        json_data={"text": "{{subject}}: {{body}}"},
        allow_private_urls=True,  # the receiver is on loopback
    ).save("meetintel-alerts", overwrite=True)
    with serve(config_for(org, policy=LOW_DISK, alert_block="custom-webhook/meetintel-alerts")):
        got = receiver.wait_for(2, seconds=30)
    texts = sorted(g["text"] for g in got)
    assert len(texts) == 2
    assert texts[0].startswith("meetintel critical: disk_low: out: ")
    assert texts[1].startswith("meetintel critical: disk_low: state: ")
