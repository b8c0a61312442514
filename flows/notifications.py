"""Failure and breaker notifications: a Prefect webhook notification block and the automation that sends
through it whenever a run fails or a source's circuit breaker opens.

    python -m flows.notifications https://hooks.example.com/meetintel

`prefect.yaml` cannot hold this automation (its action names the block by id), so this sets both up, and
running it again replaces them.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from uuid import UUID

from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

from flows.events import BREAKER_OPENED, RUN_FAILED

BLOCK_NAME = "meetintel-alerts"
AUTOMATION_NAME = "meetintel-alerts"
SUBJECT = "meetintel: {{ event.event }} for {{ event.resource.name }}"
BODY = (
    "{{ event.event }} for org {{ event.resource.name }} at {{ event.occurred }}\n"
    "run: {{ event.payload.run_id }}\n"
    "{% if event.payload.source %}source: {{ event.payload.source }} "
    "({{ event.payload.last_error }})\n{% endif %}"
    "{% if event.payload.reasons %}reasons: {{ event.payload.reasons | join('; ') }}{% endif %}"
)


def save_webhook(url: str, allow_private_urls: bool = False) -> CustomWebhookNotificationBlock:
    """Save (or overwrite) the webhook block that POSTs `{"subject", "body"}` as JSON to `url`."""
    block = CustomWebhookNotificationBlock(
        name=BLOCK_NAME,
        url=url,
        method="POST",
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
        headers={"User-Agent": "meetintel-alerts"},
        cookies=None,
        allow_private_urls=allow_private_urls,
    )
    block.save(BLOCK_NAME, overwrite=True)
    return block


def ensure_alerts(url: str, allow_private_urls: bool = False) -> UUID:
    """Save the webhook block and (re)create the automation that notifies on failed runs and open
    breakers; give the automation's id."""
    block = save_webhook(url, allow_private_urls)
    if block._block_document_id is None:
        raise RuntimeError(f"Prefect did not give the saved block {BLOCK_NAME} an id")
    trigger = EventTrigger(
        expect={RUN_FAILED, BREAKER_OPENED},
        match={"prefect.resource.id": "meetintel.org.*"},
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )
    action = SendNotification(block_document_id=block._block_document_id, subject=SUBJECT, body=BODY)
    automation = AutomationCore(
        name=AUTOMATION_NAME,
        description="Notify through the meetintel-alerts webhook when a run fails or a breaker opens.",
        trigger=trigger,
        actions=[action],
    )
    with get_client(sync_client=True) as client:
        for old in client.read_automations_by_name(AUTOMATION_NAME):
            client.delete_automation(old.id)
        return client.create_automation(automation)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the webhook URL notifications are POSTed to")
    parser.add_argument("--allow-private-urls", action="store_true", help="allow a loopback or private host")
    args = parser.parse_args(argv)
    automation = ensure_alerts(args.url, args.allow_private_urls)
    print(f"automation {AUTOMATION_NAME} ({automation}) notifies through block {BLOCK_NAME}")


if __name__ == "__main__":
    main()
