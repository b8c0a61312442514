"""Fault injection per endpoint: seeded, so a given spec and request order give the same faults every run."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from enum import StrEnum

from sandbox._srv_settings import FaultSpec, ServerSettings


class FaultKind(StrEnum):
    """What the server does to one request."""

    NONE = "none"
    DROP = "drop"  # close the socket without a response
    ERROR = "error"  # answer with an injected HTTP error status
    TRUNCATE = "truncate"  # send the headers and half the body, then close


@dataclass(frozen=True)
class Fault:
    """The fault drawn for one request: its kind, the status of an error, and the delay before answering."""

    kind: FaultKind = FaultKind.NONE
    status: int = 0
    latency_s: float = 0.0


NO_FAULT = Fault()


class FaultInjector:
    """Draw faults for requests: one RNG per endpoint, seeded with the spec's seed and the endpoint name."""

    def __init__(self, settings: ServerSettings) -> None:
        self._settings = settings
        self._rngs: dict[str, random.Random] = {}
        self._lock = threading.Lock()

    def draw(self, endpoint: str) -> Fault:
        """Give the fault for the next request to `endpoint` (NO_FAULT when none is configured)."""
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
