"""Buying credits by checkout: a pending purchase stored with the offer's terms, then a
checkout session opened at the provider.

**Creating a purchase** stores it ``pending`` with the offer's terms, then opens a
checkout session at the provider (idempotency key: the purchase id, so a retried
creation opens the same session), on the organization's customer at the provider (made
once, so that the payment method is saved for later charges), and stores the session.
Nothing is granted: that waits for the provider to confirm the payment
(:mod:`creditline.services.purchases.confirming`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from creditline.domain.countries import EVERYWHERE, SelfServeCountries
from creditline.domain.errors import (
    IdempotencyKeyReused,
    OrganizationNotFound,
    PackNotFound,
    PaymentProviderError,
    PaymentsUnavailable,
)
from creditline.domain.packs import ANY_AMOUNT, Catalogue, Offer
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.time import Clock
from creditline.services.ports.payments import CheckoutRequest, PaymentProvider, Transactions
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases.records import describe, new_purchase, store
from creditline.services.sales import require_self_serve

__all__ = ["CANCEL_URL", "SUCCESS_URL", "CreatePurchase", "offer_or_replay", "create_purchase"]

SUCCESS_URL = "https://example.invalid/credits/thanks"
"""Where a checkout sends the buyer after paying, unless the platform says (its page)."""
CANCEL_URL = "https://example.invalid/credits"
"""Where a checkout sends a buyer who gives up, unless the platform says."""


@dataclass(frozen=True, slots=True)
class CreatePurchase:
    """Buy ``pack`` (or ``credits`` micro-credits at the any-amount rate) in ``currency``.

    A retry with the same ``idempotency_key`` returns the same purchase (and checkout).
    """

    org_id: str
    currency: str
    pack: str | None = None
    credits: int | None = None
    success_url: str = SUCCESS_URL
    cancel_url: str = CANCEL_URL
    email: str | None = None
    idempotency_key: str | None = None


def offer_or_replay(
    uow: UnitOfWork, cmd: CreatePurchase
) -> tuple[Catalogue, Offer, Purchase | None]:
    """The catalogue and the offer ``cmd`` buys, and the purchase its idempotency key made
    already, if any.

    Raises:
        PackNotFound, InvalidSetting, InvalidAmount: not an offer of the catalogue.
        IdempotencyKeyReused: the key made a purchase of another offer.
    """
    catalogue = uow.packs.get()
    if catalogue is None:
        raise PackNotFound(cmd.pack or ANY_AMOUNT)
    offer = catalogue.offer(cmd.currency, cmd.pack, cmd.credits)
    if cmd.idempotency_key is None:
        return catalogue, offer, None
    existing = uow.purchases.by_key(cmd.org_id, cmd.idempotency_key)
    if existing is not None:
        same = (existing.pack, existing.credits, existing.price) == (
            offer.pack,
            offer.credits,
            offer.price,
        )
        if not same:
            raise IdempotencyKeyReused(cmd.idempotency_key)
    return catalogue, offer, existing


_Opened = tuple[Purchase, str, "tuple[str, str | None] | None"]
"""A purchase stored (or found again), its organization's name and its customer record."""


def _open_purchase(
    cmd: CreatePurchase, provider: str, clock: Clock, self_serve: SelfServeCountries
) -> Callable[[UnitOfWork], _Opened]:
    """The first transaction of :func:`create_purchase`."""

    def work(uow: UnitOfWork) -> _Opened:
        org = uow.orgs.get(cmd.org_id)
        if org is None:
            raise OrganizationNotFound(cmd.org_id)
        require_self_serve(org, self_serve)
        catalogue, offer, existing = offer_or_replay(uow, cmd)
        customer = uow.payments.customer(cmd.org_id, provider)
        if existing is not None:
            return existing, org.name, customer
        now = clock.now()
        purchase = new_purchase(cmd.org_id, offer, catalogue, provider, now, email=cmd.email)
        uow.purchases.add(purchase, cmd.idempotency_key, now)
        uow.commit()
        return purchase, org.name, customer

    return work


def create_purchase(
    cmd: CreatePurchase,
    tx: Transactions,
    payments: PaymentProvider,
    clock: Clock,
    *,
    self_serve: SelfServeCountries = EVERYWHERE,
) -> Purchase:
    """Store a pending purchase and open its checkout; returns it with ``checkout_url``.

    An organization that ``self_serve`` does not let buy (country gating, D8) is refused
    before anything is stored or asked of the provider.

    Raises:
        SelfServeUnavailable: not available in the organization's country: contact sales.
        PaymentsUnavailable: no payment provider (operator grants only).
        OrganizationNotFound, PackNotFound, InvalidSetting, InvalidAmount: bad request.
        IdempotencyKeyReused: the key was used for another purchase.
        PaymentProviderError: the provider refused or failed; the purchase is ``failed``.
    """
    if not payments.enabled:
        tx(lambda uow: _require_org(uow, cmd.org_id, self_serve), read_only=True)
        raise PaymentsUnavailable(cmd.org_id)
    purchase, org_name, known = tx(_open_purchase(cmd, payments.name, clock, self_serve))
    if purchase.checkout_url is not None or purchase.status is not PurchaseStatus.PENDING:
        return purchase
    try:
        customer_id = (
            known[0] if known else payments.create_customer(cmd.org_id, org_name, cmd.email)
        )
        session = payments.create_checkout(
            CheckoutRequest(
                purchase_id=purchase.id,
                org_id=cmd.org_id,
                customer_id=customer_id,
                description=describe(purchase),
                price=purchase.price,
                success_url=cmd.success_url,
                cancel_url=cmd.cancel_url,
                email=cmd.email,
            )
        )
    except PaymentProviderError as exc:
        failed = replace(purchase, status=PurchaseStatus.FAILED, failure=str(exc))
        tx(lambda uow: store(uow, failed, (PurchaseStatus.PENDING,), clock))
        raise
    opened = replace(purchase, session_id=session.id, checkout_url=session.url)

    def attach(uow: UnitOfWork) -> Purchase:
        uow.balances.lock(cmd.org_id)  # one customer record per organization, even racing
        if known is None and uow.payments.customer(cmd.org_id, payments.name) is None:
            uow.payments.put_customer(cmd.org_id, payments.name, customer_id, clock.now())
        if uow.purchases.transition(opened, (PurchaseStatus.PENDING,), clock.now()):
            uow.commit()
            return opened
        stored = uow.purchases.get(cmd.org_id, purchase.id)
        assert stored is not None
        return stored

    return tx(attach)


def _require_org(uow: UnitOfWork, org_id: str, self_serve: SelfServeCountries = EVERYWHERE) -> None:
    org = uow.orgs.get(org_id)
    if org is None:
        raise OrganizationNotFound(org_id)
    require_self_serve(org, self_serve)
