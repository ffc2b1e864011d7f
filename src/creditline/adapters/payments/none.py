"""No payment provider: credits come from operator grants only (the "contact sales" path).

Creating a purchase is refused with :class:`~creditline.domain.errors.PaymentsUnavailable`
(the engine checks :attr:`NoPayments.enabled` before it stores anything), webhooks are
rejected, and invoices are left open for the operator to settle.
"""

from __future__ import annotations

from collections.abc import Mapping

from creditline.domain.errors import PaymentProviderError, PaymentsUnavailable, WebhookRejected
from creditline.domain.money import Money
from creditline.services.ports.payments import (
    Charge,
    CheckoutRequest,
    CheckoutSession,
    CheckoutState,
    ProviderEvent,
)

__all__ = ["NoPayments"]

_NAME = "none"
_REASON = "no payment provider is configured"


class NoPayments:
    """The provider of a platform that takes no payments (see the module docstring)."""

    @property
    def name(self) -> str:
        return _NAME

    @property
    def enabled(self) -> bool:
        return False

    def create_customer(self, org_id: str, name: str, email: str | None) -> str:
        raise PaymentsUnavailable(org_id)

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        raise PaymentsUnavailable(request.org_id)

    def checkout_state(self, session_id: str) -> CheckoutState:
        raise PaymentProviderError(_NAME, _REASON)

    def payment_succeeded(self, payment_id: str) -> bool:
        raise PaymentProviderError(_NAME, _REASON)

    def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> str:
        raise PaymentProviderError(_NAME, _REASON)

    def charge(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: Money,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Charge:
        raise PaymentProviderError(_NAME, _REASON)

    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEvent:
        raise WebhookRejected(_NAME, _REASON)
