"""Alert delivery: each newly raised alert is POSTed to a webhook and/or sent through a Prefect notification
block (Slack, Teams, e-mail, a custom webhook — whatever the block is), once, off the request path."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
from typing import cast

from flows.ops import Alert

log = logging.getLogger("meetintel.service.alerts")


class AlertSender:
    """Sends alerts on a thread of their own so a slow receiver never holds up the service."""

    def __init__(self, webhook_url: str | None, block: str | None, timeout: float = 5.0) -> None:
        self.webhook_url, self.block, self.timeout = webhook_url, block, timeout
        self.sent = 0  # deliveries that succeeded
        self.failed = 0

    def send(self, alerts: list[Alert]) -> None:
        """Deliver `alerts` in the background (nothing happens when no destination is set)."""
        if not alerts or not (self.webhook_url or self.block):
            return
        threading.Thread(target=self.deliver, args=(alerts,), name="meetintel-alerts", daemon=True).start()

    def deliver(self, alerts: list[Alert]) -> None:
        """Deliver `alerts` now: one webhook POST with all of them, one block notification each."""
        if self.webhook_url:
            self._webhook(alerts)
        if self.block:
            for alert in alerts:
                self._block(alert)

    def _webhook(self, alerts: list[Alert]) -> None:
        import httpx

        body = {"source": "meetintel", "alerts": [json.loads(a.model_dump_json()) for a in alerts]}
        try:
            answer = httpx.post(str(self.webhook_url), json=body, timeout=self.timeout)
            answer.raise_for_status()
            self.sent += 1
        except httpx.HTTPError as exc:
            self.failed += 1
            log.warning("alert webhook failed (%s); %d alerts not delivered", type(exc).__name__, len(alerts))

    def _block(self, alert: Alert) -> None:
        from prefect.blocks.abstract import NotificationBlock
        from prefect.blocks.core import Block

        try:
            block = cast(NotificationBlock, Block.load(str(self.block)))  # sync call: gives the block
            sent = block.notify(alert.message, subject=f"meetintel {alert.severity}: {alert.kind}")
            if inspect.iscoroutine(sent):  # a block whose notify is async only
                asyncio.run(sent)
            self.sent += 1
        except Exception as exc:  # noqa: BLE001 - a missing block or a failed send is logged, not raised
            self.failed += 1
            log.warning("alert through Prefect block %r failed: %s: %s", self.block, type(exc).__name__, exc)
