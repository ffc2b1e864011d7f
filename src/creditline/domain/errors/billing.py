"""Billing: credit packs, purchases, refunds, invoices, contact-sales requests, payment
providers and their webhooks, receipts."""

from __future__ import annotations

from creditline.domain.errors.base import CreditlineError, NotFound, ValidationError

__all__ = [
    "InvoiceNotFound",
    "NotificationFailed",
    "PackNotFound",
    "PaymentError",
    "PaymentProviderError",
    "PaymentsUnavailable",
    "PurchaseNotFound",
    "RefundRefused",
    "SalesRequestNotFound",
    "SelfServeUnavailable",
    "WebhookRejected",
]


class WebhookRejected(ValidationError):
    """A payment provider's webhook that does not verify: no or a malformed signature
    header, a signature that does not match the raw body under the endpoint's secret,
    or a timestamp outside the tolerance (either way). Nothing was done.

    Attributes:
        provider: the provider it claimed to come from (``"stripe"``).
        reason: why it was refused.
    """

    def __init__(self, provider: str, reason: str) -> None:
        self.provider = provider
        self.reason = reason
        super().__init__(f"{provider} webhook rejected: {reason}")


class PackNotFound(NotFound):
    kind = "credit pack"


class PurchaseNotFound(NotFound):
    kind = "purchase"


class InvoiceNotFound(NotFound):
    kind = "invoice"


class PaymentError(CreditlineError):
    """Buying credits, refunding a purchase or charging an invoice cannot go ahead."""


class PaymentsUnavailable(PaymentError):
    """No payment provider is configured: credits come from operator grants only, and a
    self-serve purchase is refused (the platform offers "contact sales" instead).

    Attributes:
        org_id: the organization that asked to buy.
    """

    def __init__(self, org_id: str, reason: str = "no payment provider is configured") -> None:
        self.org_id = org_id
        self.reason = reason
        super().__init__(
            f"credits cannot be bought here: {reason}; ask an operator to grant them "
            "(contact sales)"
        )


class SelfServeUnavailable(PaymentsUnavailable):
    """Self-serve buying is not available in the organization's country (D8): no
    checkout is opened; the organization is to ask sales instead, with a contact-sales
    request (``Creditline.contact_sales``, ``POST /v1/orgs/{org}/sales-requests``,
    ``creditline sales request``, the portal's buy page).

    Attributes:
        org_id: the organization that asked to buy.
        country: its country (``None``: not given, while the platform lists countries).
    """

    def __init__(self, org_id: str, country: str | None) -> None:
        where = f"in {country}" if country else "without a country on record"
        self.org_id = org_id
        self.country = country
        self.reason = f"self-serve buying is not available {where}"
        CreditlineError.__init__(
            self,
            f"organization {org_id} cannot buy credits self-serve: {self.reason}; contact "
            "sales instead (a contact-sales request)",
        )


class RefundRefused(PaymentError):
    """A refund the platform's policy or the purchase's state does not allow.

    Attributes:
        purchase_id: the purchase.
        reason: why, in words ("purchases are final and non-refundable").
    """

    def __init__(self, purchase_id: str, reason: str) -> None:
        self.purchase_id = purchase_id
        self.reason = reason
        super().__init__(f"purchase {purchase_id} cannot be refunded: {reason}")


class PaymentProviderError(PaymentError):
    """The payment provider failed or declined (a card declined, the API unreachable).

    The provider's own exception is the ``__cause__``; nothing of it leaks further.

    Attributes:
        provider: ``"stripe"``.
        reason: the provider's message.
        code: the provider's error code when it gave one (``"card_declined"``).
    """

    def __init__(self, provider: str, reason: str, code: str | None = None) -> None:
        self.provider = provider
        self.reason = reason
        self.code = code
        super().__init__(f"{provider}: {reason}" + (f" ({code})" if code else ""))


class NotificationFailed(CreditlineError):
    """A message (a receipt e-mail) was not accepted for delivery; what it reports stands.

    Attributes:
        channel: ``"email"``.
        reason: the mail server's or the network's words.
    """

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel} not sent: {reason}")


class SalesRequestNotFound(NotFound):
    kind = "contact-sales request"
