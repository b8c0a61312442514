"""The Slack Events receiver over real HTTP: signed, fresh, first-seen requests emit; the rest get 401."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from prefect.events.clients import AssertingEventsClient
from prefect.events.schemas.events import Event
from prefect.events.worker import EventsWorker

from service.slack_events import MAX_BODY_BYTES, WINDOW_SECONDS, SeenWithin, router, signature

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

# Each receiver's uvicorn server and events worker take seconds to stop: the full suite, not the fast lane.
pytestmark = pytest.mark.slow


class Receiver:
    """A small app with the router, served by uvicorn on loopback, and the events it emitted."""

    def __init__(self, base: str, app: FastAPI, worker: EventsWorker) -> None:
        self.base, self.app, self.worker = base, app, worker

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.base}/slack/events", content=body, headers=headers or {}, timeout=10)

    def signed(self, envelope: dict[str, object], at: float | None = None) -> httpx.Response:
        body = json.dumps(envelope).encode()
        return self.post(body, sign(body, at))

    def events(self) -> list[Event]:
        self.worker.wait_until_empty()
        client = AssertingEventsClient.last
        return list(getattr(client, "events", []))


def sign(body: bytes, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(secret, stamp, body),
        "Content-Type": "application/json",
    }


def message(event_id: str = "Ev01", text: str = "agenda for the 3pm sync") -> dict[str, object]:
    return {
        "type": "event_callback",
        "team_id": "T0ACME",
        "event_id": event_id,
        "event_time": 1764900000,
        "event": {"type": "message", "channel": "C024BE91L", "user": "U2147483697", "text": text},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    AssertingEventsClient.reset()
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    app = FastAPI()
    app.include_router(router)
    app.state.slack_signing_secret = SECRET
    app.state.meetintel_org = "Acme Corp"
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start on loopback within 10 s"
        time.sleep(0.02)
    try:
        yield Receiver(f"http://127.0.0.1:{port}", app, worker)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        worker.drain()


def test_url_verification_answers_the_challenge(receiver: Receiver) -> None:
    reply = receiver.signed({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV"})
    assert reply.status_code == 200
    assert reply.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    assert receiver.events() == []


def test_a_signed_message_emits_one_activity_event_without_its_text(receiver: Receiver) -> None:
    reply = receiver.signed(message())
    assert reply.status_code == 200
    assert reply.json() == {"ok": True, "emitted": True, "event": "meetintel.slack.activity"}
    [event] = receiver.events()
    assert event.event == "meetintel.slack.activity"
    assert event.resource.id == "meetintel.org.acme-corp"
    assert event.payload == {
        "team_id": "T0ACME",
        "event_id": "Ev01",
        "event_time": 1764900000,
        "event_type": "message",
        "subtype": None,
        "channel_id": "C024BE91L",
    }
    assert "agenda" not in event.model_dump_json()


def test_channel_and_member_events_name_their_channel(receiver: Receiver) -> None:
    created = {"type": "channel_created", "channel": {"id": "C0NEW", "name": "launch", "creator": "U1"}}
    joined = {"type": "member_joined_channel", "channel": "C0OLD", "user": "U2"}
    for n, event in enumerate((created, joined)):
        envelope = {"type": "event_callback", "team_id": "T0ACME", "event_id": f"Ev1{n}", "event": event}
        assert receiver.signed(envelope).status_code == 200
    assert [(e.payload["event_type"], e.payload["channel_id"]) for e in receiver.events()] == [
        ("channel_created", "C0NEW"),
        ("member_joined_channel", "C0OLD"),
    ]


def test_other_event_types_are_acknowledged_and_emit_nothing(receiver: Receiver) -> None:
    envelope = {
        "type": "event_callback",
        "team_id": "T0ACME",
        "event_id": "Ev20",
        "event": {"type": "emoji_changed"},
    }
    reply = receiver.signed(envelope)
    assert reply.json() == {"ok": True, "emitted": False, "reason": "not workspace activity"}
    assert receiver.events() == []


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "headers are required"),
        ({"X-Slack-Request-Timestamp": "1764900000"}, "headers are required"),
        ({"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, "not a number"),
    ],
)
def test_unsigned_requests_get_401_and_emit_nothing(
    receiver: Receiver, headers: dict[str, str], reason: str
) -> None:
    reply = receiver.post(json.dumps(message()).encode(), headers)
    assert reply.status_code == 401
    assert reason in reply.json()["detail"]
    assert receiver.events() == []


def test_a_stale_timestamp_gets_401_even_when_correctly_signed(receiver: Receiver) -> None:
    # A minute beyond the window each way: the stamp is truncated to whole seconds and the server reads its
    # clock a moment later, so a second past the window is not reliably outside it on a busy machine.
    reply = receiver.signed(message(), at=time.time() - WINDOW_SECONDS - 60)
    assert reply.status_code == 401
    assert "five minutes" in reply.json()["detail"]
    assert receiver.signed(message(), at=time.time() + WINDOW_SECONDS + 60).status_code == 401
    assert receiver.events() == []


def test_a_wrong_secret_or_altered_body_gets_401(receiver: Receiver) -> None:
    body = json.dumps(message()).encode()
    assert receiver.post(body, sign(body, secret="not-the-secret")).status_code == 401
    altered = receiver.post(body.replace(b"C024BE91L", b"C999999999"), sign(body))
    assert altered.status_code == 401
    assert "does not match" in altered.json()["detail"]
    assert receiver.events() == []


def test_a_replayed_request_gets_401_and_is_emitted_once(receiver: Receiver) -> None:
    body = json.dumps(message()).encode()
    headers = sign(body)
    assert receiver.post(body, headers).status_code == 200
    replay = receiver.post(body, headers)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]
    assert len(receiver.events()) == 1


def test_a_slack_retry_of_the_same_event_is_acknowledged_not_emitted_again(receiver: Receiver) -> None:
    assert receiver.signed(message("Ev30")).json()["emitted"] is True
    retry = receiver.signed(message("Ev30", text="agenda for the 3pm sync "))  # new signature, same event id
    assert retry.status_code == 200
    assert retry.json() == {"ok": True, "emitted": False, "reason": "event already received"}
    assert len(receiver.events()) == 1


def test_an_oversized_body_is_refused_before_it_is_read(receiver: Receiver) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    reply = receiver.post(body, sign(body))
    assert reply.status_code == 413
    assert receiver.events() == []


def test_without_a_signing_secret_the_receiver_says_how_to_set_it(receiver: Receiver) -> None:
    receiver.app.state.slack_signing_secret = None
    reply = receiver.signed(message())
    assert reply.status_code == 503
    assert "MEETINTEL_SLACK_SIGNING_SECRET" in reply.json()["detail"]
    assert receiver.events() == []


def test_seen_keys_are_bounded_and_expire_after_the_window() -> None:
    seen = SeenWithin(window=300, limit=2)
    assert [seen.add(k, 1000.0) for k in ("a", "b", "a")] == [True, True, False]
    assert seen.add("c", 1001.0) is True  # "a" is dropped: only two are kept
    assert seen.add("a", 1002.0) is True
    assert seen.add("c", 1002.0 + 301) is True  # expired
