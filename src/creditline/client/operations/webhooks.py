"""Outgoing webhooks (E2): endpoints and the delivery log."""

from __future__ import annotations

from collections.abc import Sequence

from creditline.client import decode
from creditline.client._wire import Flow, op, post, seg
from creditline.domain.deliveries import Delivery, DeliveryStatus, WebhookEndpoint
from creditline.domain.errors import InvalidSetting
from creditline.services.deliveries import DeliveryRun

from ._requests import compact, fetch, fetch_each, org_get, org_post, query_params


class WebhookOperations:
    """Outgoing webhooks (E2): endpoints and the delivery log."""

    @op
    def add_webhook(
        self,
        url: str,
        *,
        org_id: str | None = None,
        event_types: Sequence[str] = (),
        description: str | None = None,
    ) -> Flow[WebhookEndpoint]:
        """Add a webhook endpoint for an organization's alert events (``org_id=None``:
        every organization's, an operator's call). The result's ``secret`` is not shown
        again."""
        body = compact(url=url, event_types=list(event_types), description=description)
        return (
            yield from fetch(decode.webhook_endpoint, org_post(org_id, "/webhook-endpoints", body))
        )

    @op
    def webhook_endpoints(
        self, org_id: str | None = None, include_disabled: bool = False
    ) -> Flow[list[WebhookEndpoint]]:
        """Webhook endpoints (without their secrets), oldest first: an organization's, or
        every one (an operator's call)."""
        query = query_params(include_disabled=include_disabled)
        return (
            yield from fetch_each(
                decode.webhook_endpoint, org_get(org_id, "/webhook-endpoints", query)
            )
        )

    @op
    def disable_webhook(self, endpoint_id: str, org_id: str | None = None) -> Flow[WebhookEndpoint]:
        """Disable a webhook endpoint: nothing more is sent to it.

        Raises:
            WebhookEndpointNotFound: no such endpoint (or not ``org_id``'s).
        """
        path = f"/webhook-endpoints/{seg(endpoint_id)}/disable"
        return (yield from fetch(decode.webhook_endpoint, org_post(org_id, path)))

    @op
    def webhook_deliveries(
        self,
        org_id: str | None = None,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | str | None = None,
        limit: int = 100,
    ) -> Flow[list[Delivery]]:
        """The delivery log, newest first: of an organization (or every one, an
        operator's call), an endpoint, a status."""
        if not 1 <= limit <= 10_000:
            raise InvalidSetting("limit", limit, "must be between 1 and 10000")
        try:
            chosen = None if status is None else DeliveryStatus(status)
        except ValueError:
            raise InvalidSetting(
                "delivery status", status, f"one of {[s.value for s in DeliveryStatus]}"
            ) from None
        query = query_params(endpoint_id=endpoint_id, status=chosen, limit=limit)
        return (
            yield from fetch_each(decode.delivery, org_get(org_id, "/webhook-deliveries", query))
        )

    @op
    def webhook_delivery(self, delivery_id: str, org_id: str | None = None) -> Flow[Delivery]:
        """One delivery with every attempt (``attempt_log``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        path = f"/webhook-deliveries/{seg(delivery_id)}"
        return (yield from fetch(decode.delivery, org_get(org_id, path)))

    @op
    def redeliver_webhook(self, delivery_id: str, org_id: str | None = None) -> Flow[Delivery]:
        """Queue a delivery again, due now, whatever its status (the same ``webhook-id``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        path = f"/webhook-deliveries/{seg(delivery_id)}/redeliver"
        return (yield from fetch(decode.delivery, org_post(org_id, path)))

    @op
    def queue_test_webhook(self, org_id: str, endpoint_id: str) -> Flow[Delivery]:
        """Queue a signed ``webhook.test`` delivery to one of the organization's endpoints.

        Raises:
            WebhookEndpointNotFound: no such active endpoint of the organization.
        """
        path = f"/webhook-endpoints/{seg(endpoint_id)}/test"
        return (yield from fetch(decode.delivery, org_post(org_id, path)))

    @op
    def deliver_webhooks(self, limit: int = 100) -> Flow[DeliveryRun]:
        """Send every delivery due now (operator); the service's scheduler does it too."""
        return (
            yield from fetch(
                decode.delivery_run,
                post("/v1/webhook-deliveries/deliver", params=query_params(limit=limit)),
            )
        )
