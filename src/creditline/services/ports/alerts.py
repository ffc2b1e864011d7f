"""What the alert and webhook services need from storage: rules, their states and
signals; webhook endpoints, deliveries and attempts.

The SQL implementations are in :mod:`creditline.adapters.db.alerts`; the unit of work
(:mod:`creditline.services.ports.unit_of_work`) carries one of each, in its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from creditline.domain.alerts import AlertRule, AlertState, PaymentFailure
from creditline.domain.deliveries import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookEndpoint,
)

__all__ = ["AlertStore", "WebhookStore"]


class AlertStore(Protocol):
    def add_rule(self, rule: AlertRule, state: AlertState) -> None: ...
    def rule(self, rule_id: str) -> AlertRule | None: ...
    def rules(self, org_id: str, include_disabled: bool = False) -> list[AlertRule]: ...
    def disable_rule(self, rule_id: str, now: datetime) -> bool: ...
    def orgs_with_rules(self, limit: int = 1000, after: str | None = None) -> list[str]: ...
    def save_state(self, state: AlertState) -> None: ...
    def consumed(self, org_id: str, since: datetime, until: datetime) -> int: ...
    def add_signal(
        self, org_id: str, kind: str, ref: str, data: dict[str, Any], now: datetime
    ) -> bool: ...
    def last_signal(self, org_id: str) -> int: ...
    def payment_failures(
        self, org_id: str, after: int, limit: int = 100
    ) -> list[PaymentFailure]: ...


class WebhookStore(Protocol):
    def add_endpoint(self, endpoint: WebhookEndpoint, secret: str) -> None: ...
    def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    def endpoints(
        self, org_id: str | None = None, include_disabled: bool = False
    ) -> list[WebhookEndpoint]: ...
    def disable_endpoint(self, endpoint_id: str, now: datetime) -> bool: ...
    def subscribers(self, org_id: str) -> list[WebhookEndpoint]: ...
    def add_deliveries(self, deliveries: Sequence[Delivery], now: datetime) -> None: ...
    def claim_due(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[tuple[Delivery, WebhookEndpoint | None, str | None]]: ...
    def finish(
        self,
        delivery_id: str,
        attempt: int,
        status: DeliveryStatus,
        next_attempt_at: datetime | None,
        log: DeliveryAttempt,
    ) -> bool: ...
    def delivery(self, delivery_id: str) -> Delivery | None: ...
    def deliveries(
        self,
        org_id: str | None = None,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[Delivery]: ...
    def resend(self, delivery_id: str, now: datetime) -> bool: ...
