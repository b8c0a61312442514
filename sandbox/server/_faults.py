"""Faults per endpoint: scripted answers first, in order, then seeded draws.

Seeded draws make a given spec and request order give the same faults every run; scripted answers give
a test the exact sequence it asserts on ("429 then 200", "503 three times", "410 on the sync token").
"""

from __future__ import annotations

import json
import random
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sandbox.server._settings import FaultSpec, ScriptedFault, ServerSettings, check_scripted


class FaultKind(StrEnum):
    """What the server does to one request."""

    NONE = "none"
    DROP = "drop"  # close the socket without a response
    ERROR = "error"  # answer with an injected HTTP error status
    TRUNCATE = "truncate"  # send the headers and half the body, then close
    ANSWER = "answer"  # send a scripted status, body and headers exactly
    DELAY = "delay"  # wait, then answer normally


@dataclass(frozen=True)
class Fault:
    """The fault for one request: its kind, the status of an error, and the delay before answering.

    `retry_after_s` is the wait a 429 error asks for (None: the rate-limit window's share);
    `body` and `headers` are what an ANSWER sends.
    """

    kind: FaultKind = FaultKind.NONE
    status: int = 0
    latency_s: float = 0.0
    retry_after_s: float | None = None
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


NO_FAULT = Fault()


class FaultInjector:
    """Give each request its fault: the endpoint's next scripted answer, else a seeded draw.

    Draws use one RNG per endpoint, seeded with the spec's seed and the endpoint name.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self._settings = settings
        self._rngs: dict[str, random.Random] = {}
        self._scripts: dict[str, deque[ScriptedFault]] = {}
        self._lock = threading.Lock()
        for endpoint, answers in settings.scripted.items():
            self.script(endpoint, answers)

    def script(self, endpoint: str, answers: Sequence[ScriptedFault]) -> None:
        """Queue `answers` for the next requests to `endpoint`, after those already queued."""
        check_scripted(endpoint, answers)
        with self._lock:
            self._scripts.setdefault(endpoint, deque()).extend(answers)

    def draw(self, endpoint: str) -> Fault:
        """Give the fault for the next request to `endpoint` (NO_FAULT when none is configured)."""
        with self._lock:
            queued = self._scripts.get(endpoint)
            if queued:
                return _scripted(queued.popleft())
        spec = self._settings.fault_for(endpoint)
        if spec is None:
            return NO_FAULT
        with self._lock:
            rng = self._rngs.get(endpoint)
            if rng is None:
                rng = self._rngs[endpoint] = random.Random(f"{spec.seed}:{endpoint}")
            roll = rng.random()
            status = rng.choice(spec.statuses) if spec.statuses else 500
        return Fault(_kind_for(spec, roll), status, spec.latency_s)


def _kind_for(spec: FaultSpec, roll: float) -> FaultKind:
    """Give the fault kind a roll in [0, 1) lands on; the shares are laid out drop, error, truncate."""
    if roll < spec.drop_rate:
        return FaultKind.DROP
    if roll < spec.drop_rate + spec.error_rate:
        return FaultKind.ERROR
    if roll < spec.drop_rate + spec.error_rate + spec.truncate_rate:
        return FaultKind.TRUNCATE
    return FaultKind.NONE


def _scripted(answer: ScriptedFault) -> Fault:
    """Give the fault a scripted answer stands for."""
    kind = FaultKind(answer.kind)
    if kind is not FaultKind.ANSWER:
        return Fault(kind, answer.status, answer.delay_s, answer.retry_after)
    if isinstance(answer.body, str):
        body, content_type = answer.body.encode("utf-8"), "text/html; charset=utf-8"
    else:
        body, content_type = json.dumps(answer.body).encode("utf-8"), "application/json; charset=utf-8"
    headers = {"Content-Type": content_type, **answer.headers}
    return Fault(kind, answer.status, body=body, headers=tuple(headers.items()))
