"""Stripe, through its official SDK (``stripe``), as a :class:`PaymentProvider`.

- **Checkout**: a Checkout Session in ``payment`` mode on the organization's Stripe
  customer, with ``setup_future_usage = off_session`` so the card is saved for the
  invoices charged later (D5); the purchase id is the session's
  ``client_reference_id`` and metadata, and its idempotency key.
- **State**: re-fetched with the session's PaymentIntent expanded: paid when the session
  is ``complete`` and its ``payment_status`` is ``paid``; closed when it expired or its
  (delayed) payment failed.
- **Webhooks**: ``stripe.WebhookSignature.verify_header`` checks the ``Stripe-Signature``
  header (HMAC-SHA256 of ``"{t}.{raw body}"`` under the endpoint's secret, compared in
  constant time) and refuses a timestamp older than the tolerance; a timestamp further
  in the future than the tolerance is refused here too (the window holds both ways).
  Then the body must be a JSON object with an ``id`` (the deduplication key) and a
  ``type``: anything else is refused.
- **Refunds** and **off-session charges** (PaymentIntents confirmed without the buyer)
  carry the caller's idempotency key.

Every Stripe error is translated here, at the boundary, into
:class:`~creditline.domain.errors.PaymentProviderError` (card errors keep their code,
``card_declined``) or :class:`~creditline.domain.errors.WebhookRejected`; the Stripe
exception is the ``__cause__``.

The HTTP client is injectable (``http_client``): Stripe's SDK sends every call through
it, which is how tests run against :class:`creditline.adapters.payments.fake_stripe.FakeStripe`
without the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import stripe

from creditline.domain.errors import PaymentProviderError, WebhookRejected
from creditline.domain.money import Money
from creditline.services.ports.payments import (
    Charge,
    CheckoutRequest,
    CheckoutSession,
    CheckoutState,
    ProviderEvent,
)

__all__ = ["DEFAULT_TOLERANCE", "StripeProvider"]

DEFAULT_TOLERANCE = 300
"""Seconds a webhook's signed timestamp may be away from now, either way (Stripe's own)."""

_NAME = "stripe"


@contextmanager
def _translated() -> Iterator[None]:
    """Stripe's errors become creditline's, here and nowhere else."""
    try:
        yield
    except stripe.StripeError as exc:
        message = exc.user_message or str(exc) or type(exc).__name__
        raise PaymentProviderError(_NAME, " ".join(str(message).split()), exc.code) from exc


def _id(value: Any) -> str | None:
    """An expandable field's id: the field itself, or the expanded object's id."""
    if value is None or isinstance(value, str):
        return value
    found = value.get("id")
    return None if found is None else str(found)


class StripeProvider:
    """Stripe as the payment provider (see the module docstring).

    Args:
        api_key: the secret API key (``sk_live_...`` / ``sk_test_...``).
        webhook_secret: the webhook endpoint's signing secret (``whsec_...``).
        http_client: the SDK's HTTP client; default: the SDK's own.
        tolerance: seconds of clock difference allowed on a webhook, either way.
        max_network_retries: the SDK's retries of a failed call (idempotent: every
            creation carries an idempotency key).
        wall_clock: the seconds-since-epoch clock webhook timestamps are checked
            against (the SDK checks the past side with :func:`time.time`).
    """

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        http_client: stripe.HTTPClient | None = None,
        api_base: str | None = None,
        tolerance: int = DEFAULT_TOLERANCE,
        max_network_retries: int = 2,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            http_client=http_client,
            max_network_retries=max_network_retries,
            base_addresses={"api": api_base} if api_base else None,
        )
        self._secret = webhook_secret
        self._tolerance = tolerance
        self._wall_clock = wall_clock

    @property
    def name(self) -> str:
        return _NAME

    @property
    def enabled(self) -> bool:
        return True

    def create_customer(self, org_id: str, name: str, email: str | None) -> str:
        params: dict[str, Any] = {"name": name, "metadata": {"org_id": org_id}}
        if email:
            params["email"] = email
        with _translated():
            customer = self._client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"customer-{org_id}"},
            )
        return str(customer.id)

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = {"purchase_id": request.purchase_id, "org_id": request.org_id}
        params: dict[str, Any] = {
            "mode": "payment",
            "customer": request.customer_id,
            "client_reference_id": request.purchase_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.price.currency.lower(),
                        "unit_amount": request.price.minor,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "payment_intent_data": {"setup_future_usage": "off_session", "metadata": metadata},
            "metadata": metadata,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        with _translated():
            session = self._client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"checkout-{request.purchase_id}"},
            )
        if not session.url:
            raise PaymentProviderError(_NAME, f"checkout session {session.id} has no URL")
        return CheckoutSession(str(session.id), str(session.url))

    def checkout_state(self, session_id: str) -> CheckoutState:
        with _translated():
            session = self._client.v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["payment_intent"]}
            )
        data = session.to_dict()
        intent = data.get("payment_intent")
        intent_status = intent.get("status") if isinstance(intent, Mapping) else None
        method = _id(intent.get("payment_method")) if isinstance(intent, Mapping) else None
        status, payment_status = data.get("status"), data.get("payment_status")
        paid = status == "complete" and payment_status in ("paid", "no_payment_required")
        closed = status == "expired" or (
            status == "complete"
            and payment_status == "unpaid"
            and intent_status in ("canceled", "requires_payment_method")
        )
        details = data.get("customer_details") or {}
        return CheckoutState(
            session_id=str(data["id"]),
            paid=paid,
            closed=closed,
            status=f"{status}/{payment_status}",
            payment_id=_id(intent),
            customer_id=_id(data.get("customer")),
            payment_method_id=method,
            email=details.get("email") if isinstance(details, Mapping) else None,
        )

    def payment_succeeded(self, payment_id: str) -> bool:
        with _translated():
            intent = self._client.v1.payment_intents.retrieve(payment_id)
        return bool(intent.status == "succeeded")

    def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> str:
        with _translated():
            refund = self._client.v1.refunds.create(
                params={"payment_intent": payment_id, "amount": amount.minor},
                options={"idempotency_key": idempotency_key},
            )
        return str(refund.id)

    def charge(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: Money,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Charge:
        params: dict[str, Any] = {
            "amount": amount.minor,
            "currency": amount.currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "off_session": True,
            "confirm": True,
            "metadata": dict(metadata),
        }
        with _translated():
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return Charge(str(intent.id), intent.status == "succeeded", str(intent.status))

    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEvent:
        """Verify and read a webhook delivery.

        Raises:
            WebhookRejected: no or a malformed ``Stripe-Signature``, a signature that
                does not match the raw body, a timestamp outside the tolerance (either
                way), or a body that is not an event.
        """
        try:
            text = payload.decode("utf-8")
            stripe.WebhookSignature.verify_header(text, signature, self._secret, self._tolerance)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(_NAME, " ".join(str(exc).split())) from exc
        except UnicodeDecodeError as exc:
            raise WebhookRejected(_NAME, "the body is not a JSON event") from exc
        signed_at = _timestamp(signature or "")
        if signed_at is not None and signed_at > self._wall_clock() + self._tolerance:
            raise WebhookRejected(_NAME, f"timestamp {signed_at} is in the future")
        return _event(text)


def _event(text: str) -> ProviderEvent:
    """A verified body as an event: a JSON object with a non-empty string ``id`` and a
    ``type``; ``data.object`` (when it is an object) names what it is about."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise WebhookRejected(_NAME, "the body is not a JSON event") from exc
    if not isinstance(data, dict):
        raise WebhookRejected(_NAME, "the body is not a JSON object")
    event_id, kind = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not event_id.strip():
        raise WebhookRejected(_NAME, "the event has no id")
    if not isinstance(kind, str):
        raise WebhookRejected(_NAME, "the event has no type")
    inner = data.get("data")
    obj = inner.get("object") if isinstance(inner, dict) else None
    obj = obj if isinstance(obj, dict) else {}
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return ProviderEvent(
        id=event_id,
        type=kind,
        object_id=_id(obj) if obj else None,
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


def _timestamp(header: str) -> int | None:
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t" and value.strip().isdigit():
            return int(value)
    return None
