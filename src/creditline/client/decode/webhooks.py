"""Outgoing webhooks: endpoints, deliveries and delivery runs."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.deliveries import Delivery, DeliveryAttempt, WebhookEndpoint
from creditline.services.deliveries import DeliveryRun


def webhook_endpoint(d: Doc) -> WebhookEndpoint:
    return record(WebhookEndpoint, d)


def delivery_attempt(d: Doc) -> DeliveryAttempt:
    return record(DeliveryAttempt, d)


def delivery(d: Doc) -> Delivery:
    return record(Delivery, d)


def delivery_run(d: Doc) -> DeliveryRun:
    return record(DeliveryRun, d)
