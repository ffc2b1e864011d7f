"""What the billing services need from a payment provider and from a mail server.

:class:`PaymentProvider` is implemented by the adapters in
:mod:`creditline.adapters.payments` (``StripeProvider``, and ``NoPayments`` for a
platform whose credits come from operator grants only). Every method speaks
creditline's types (money as :class:`~creditline.domain.money.Money`) and raises only
creditline errors: a provider's own exceptions are translated at the adapter, as
:class:`~creditline.domain.errors.PaymentProviderError` (or
:class:`~creditline.domain.errors.WebhookRejected` for a webhook that does not verify).

Every call that creates something at the provider takes an idempotency key, so that a
retried call (after a timeout, a crash, a transaction retried whole) creates it once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from creditline.domain.money import Money
from creditline.domain.purchases import Receipt
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "Charge",
    "CheckoutRequest",
    "CheckoutSession",
    "CheckoutState",
    "PaymentProvider",
    "ProviderEvent",
    "ReceiptSender",
    "Transactions",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A checkout for one purchase.

    Attributes:
        purchase_id: the purchase (also the idempotency key of the session).
        org_id: the buyer.
        customer_id: the buyer's customer at the provider (saves the payment method).
        description: what is bought, as the buyer sees it.
        price: what to pay.
        success_url, cancel_url: where the checkout sends the buyer back.
        email: the buyer's e-mail, if known.
    """

    purchase_id: str
    org_id: str
    customer_id: str
    description: str
    price: Money
    success_url: str
    cancel_url: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """A checkout the buyer is sent to: ``url``."""

    id: str
    url: str


@dataclass(frozen=True, slots=True)
class CheckoutState:
    """A checkout session as the provider knows it now (re-fetched, never from a webhook).

    Attributes:
        session_id: the session.
        paid: the payment is confirmed (Stripe: ``payment_status`` is ``paid``).
        closed: the session expired or its payment failed; it will never be paid.
        status: the provider's own words for the state, for the record.
        payment_id: the payment (Stripe PaymentIntent), once there is one.
        customer_id: the provider's customer.
        payment_method_id: the payment method used, saved for later charges.
        email: the buyer's e-mail as given at the checkout.
    """

    session_id: str
    paid: bool
    closed: bool
    status: str
    payment_id: str | None = None
    customer_id: str | None = None
    payment_method_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge of a saved payment method: ``succeeded`` once the money is taken."""

    id: str
    succeeded: bool
    status: str


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified webhook event.

    Attributes:
        id: the provider's event id (what deliveries are deduplicated by).
        type: ``checkout.session.completed``, ``payment_intent.succeeded``...
        object_id: the id of the object it is about (a session, a payment).
        metadata: the object's metadata (``purchase_id``, ``invoice_id``).
    """

    id: str
    type: str
    object_id: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)


class PaymentProvider(Protocol):
    """A payment provider, as the services use it (see the module docstring)."""

    @property
    def name(self) -> str:
        """How purchases record it: ``"stripe"``; ``"none"`` for no provider."""
        ...

    @property
    def enabled(self) -> bool:
        """Whether buyers can pay through it (``False``: operator grants only)."""
        ...

    def create_customer(self, org_id: str, name: str, email: str | None) -> str: ...
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...
    def checkout_state(self, session_id: str) -> CheckoutState: ...
    def payment_succeeded(self, payment_id: str) -> bool: ...
    def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> str: ...
    def charge(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: Money,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Charge: ...
    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEvent: ...


class ReceiptSender(Protocol):
    """Sends a paid purchase's receipt to its buyer (an SMTP mailer).

    Raises :class:`~creditline.domain.errors.NotificationFailed` when the mail server
    does not accept it.
    """

    def send_receipt(self, receipt: Receipt, org_name: str) -> None: ...


class Transactions(Protocol):
    """Runs ``work`` in one unit of work (entered, so ``work`` only calls ``commit``),
    retrying the whole transaction on transient conflicts. A service that calls a
    provider between transactions takes this instead of one unit of work."""

    def __call__(self, work: Callable[[UnitOfWork], T], *, read_only: bool = False) -> T: ...
