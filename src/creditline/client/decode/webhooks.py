"""Outgoing webhooks: endpoints, deliveries and delivery runs."""

from __future__ import annotations

from creditline.client.decode._common import Doc, maybe_when, when
from creditline.domain.alerts import Channel
from creditline.domain.deliveries import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from creditline.services.deliveries import DeliveryRun


def webhook_endpoint(d: Doc) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=d["id"],
        url=d["url"],
        org_id=d["org_id"],
        event_types=tuple(d["event_types"]),
        description=d["description"],
        created_at=when(d["created_at"]),
        disabled_at=maybe_when(d["disabled_at"]),
        secret=d.get("secret"),
    )


def delivery_attempt(d: Doc) -> DeliveryAttempt:
    return DeliveryAttempt(
        number=d["number"],
        at=when(d["at"]),
        ok=d["ok"],
        status_code=d["status_code"],
        error=d["error"],
        duration_ms=d["duration_ms"],
    )


def delivery(d: Doc) -> Delivery:
    return Delivery(
        id=d["id"],
        channel=Channel(d["channel"]),
        endpoint_id=d["endpoint_id"],
        recipient=d["recipient"],
        org_id=d["org_id"],
        rule_id=d["rule_id"],
        event_type=d["event_type"],
        payload=d["payload"],
        status=DeliveryStatus(d["status"]),
        attempts=d["attempts"],
        next_attempt_at=maybe_when(d["next_attempt_at"]),
        created_at=when(d["created_at"]),
        last_status_code=d["last_status_code"],
        last_error=d["last_error"],
        delivered_at=maybe_when(d["delivered_at"]),
        attempt_log=tuple(delivery_attempt(a) for a in d["attempt_log"]),
    )


def delivery_run(d: Doc) -> DeliveryRun:
    return DeliveryRun(d["attempted"], d["delivered"], d["retrying"], d["failed"])
