"""Outgoing webhooks (E2): endpoints, the delivery log, and sending what is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from creditline.domain.deliveries import Delivery, DeliveryStatus, WebhookEndpoint
from creditline.domain.errors import InvalidSetting
from creditline.domain.paging import check_limit
from creditline.facade.organizations import Organizations
from creditline.services import deliveries

__all__ = ["Deliveries"]


class Deliveries(Organizations):
    """Webhook endpoints and the deliveries of webhooks and alert e-mails."""

    def add_webhook(
        self,
        url: str,
        *,
        org_id: str | None = None,
        event_types: Sequence[str] = (),
        description: str | None = None,
    ) -> WebhookEndpoint:
        """Add a webhook endpoint for an organization's alert events (``org_id=None``:
        every organization's), of some event types (default: all). The result's
        ``secret`` (``whsec_...``) verifies the signatures; it is not shown again.

        The URL must be http(s), without a user name, password or control characters,
        to a public address: loopback, private, link-local, metadata and other
        non-public addresses are refused in every spelling, and so are names that
        resolve to them (:mod:`creditline.domain.webhook_urls`), except in the networks
        allowed (``webhook_allow_networks``).

        Raises:
            WebhookUrlRefused: every problem of the URL. InvalidSetting: an unknown
                event type. OrganizationNotFound: no such organization.
        """
        cmd = deliveries.AddWebhookEndpoint(url, org_id, tuple(event_types), description)
        return self._run(
            lambda: deliveries.add_endpoint(
                cmd, self._uow(), self.clock, policy=self._url_policy, resolver=self._resolver
            )
        )

    def webhook_endpoints(
        self, org_id: str | None = None, include_disabled: bool = False
    ) -> list[WebhookEndpoint]:
        """Webhook endpoints (without their secrets), oldest first: an organization's,
        or every one."""
        if org_id is not None:
            self.get_org(org_id)
        return self._tx(
            lambda uow: uow.webhooks.endpoints(org_id, include_disabled), read_only=True
        )

    def disable_webhook(self, endpoint_id: str, org_id: str | None = None) -> WebhookEndpoint:
        """Disable a webhook endpoint: nothing more is sent to it.

        Raises:
            WebhookEndpointNotFound: no such endpoint (or not ``org_id``'s).
        """
        return self._run(
            lambda: deliveries.remove_endpoint(endpoint_id, org_id, self._uow(), self.clock)
        )

    def webhook_deliveries(
        self,
        org_id: str | None = None,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The delivery log, newest first: webhooks and alert e-mails, with their status,
        attempts and last answer; of an organization (to its own endpoints, and its
        e-mails: what the operator's all-organization endpoints got of its events is
        only in the operator's log, ``org_id=None``), an endpoint, a status."""
        check_limit(limit)
        try:
            chosen = None if status is None else DeliveryStatus(status)
        except ValueError:
            raise InvalidSetting(
                "delivery status", status, f"one of {[s.value for s in DeliveryStatus]}"
            ) from None
        return self._run(
            lambda: deliveries.list_deliveries(
                self._uow(read_only=True), org_id, endpoint_id, chosen, limit
            )
        )

    def webhook_delivery(self, delivery_id: str, org_id: str | None = None) -> Delivery:
        """One delivery with every attempt (``attempt_log``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        return self._run(
            lambda: deliveries.get_delivery(delivery_id, org_id, self._uow(read_only=True))
        )

    def redeliver_webhook(self, delivery_id: str, org_id: str | None = None) -> Delivery:
        """Queue a delivery again, due now, whatever its status (the next tick, or
        :meth:`deliver_webhooks`, sends it with the same ``webhook-id``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        return self._run(lambda: deliveries.resend(delivery_id, org_id, self._uow(), self.clock))

    def deliver_webhooks(self, limit: int = 100) -> deliveries.DeliveryRun:
        """Send every delivery due now (signed webhooks, alert e-mails), retrying the
        failed ones on the back-off schedule (:meth:`tick` does it every time)."""
        return deliveries.deliver_due(
            self._tx, self._sender(), self._alert_mailer, self.clock, limit=limit
        )

    def _webhooks_job(self, now: datetime) -> dict[str, Any]:
        run = self.deliver_webhooks()
        return {
            "attempted": run.attempted,
            "delivered": run.delivered,
            "retrying": run.retrying,
            "failed": run.failed,
        }
