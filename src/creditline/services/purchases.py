"""Buying credits through a payment provider (D1, D2, D3): checkout, confirmation,
receipts and refunds.

**Creating a purchase** stores it ``pending`` with the offer's terms, then opens a
checkout session at the provider (idempotency key: the purchase id, so a retried
creation opens the same session), on the organization's customer at the provider (made
once, so that the payment method is saved for later charges), and stores the session.
Nothing is granted.

**Confirming a payment** happens on a webhook or on a manual :func:`refresh_purchase`.
Webhooks are at-least-once, unordered and forgeable (RELIABILITY rule 6): the event is
verified by the provider adapter (signature over the raw body, timestamp window), and
its body is only used to find the purchase: the session's state is **re-fetched from
the provider**. Then, in **one transaction** holding the organization's lock
(the lock every grant takes):

1. a delivery whose event id is already recorded is a duplicate: nothing happens;
2. the purchase is read (row-locked); if the provider says paid and the purchase is
   still ``pending`` (or ``failed``), its ``prepaid`` grant is made (cost basis = price
   per credit, expiry from the pack's rule counted from now), the purchase is marked
   ``paid`` with a compare-and-set on its status, and its receipt is recorded;
3. the event id is recorded as processed.

A second delivery, a redelivery racing the first, an older event arriving last or a
refresh racing a webhook all find the purchase ``paid`` (or the event recorded) under
the same lock, and grant nothing: the credits appear exactly once, never before the
provider confirms the payment. The receipt is e-mailed after the commit when a mailer
is configured; a failed e-mail is recorded on the receipt and never undoes the grant.

**Refunds** follow the policy the purchase was sold under: ``final`` purchases are
refused (:class:`~creditline.domain.errors.RefundRefused`); a ``refundable`` one has
the unspent, unexpired part of its grant reversed (a ``refund`` entry, cause
``refund:<purchase>``) and the money for that part refunded at the provider (the paid
price x refunded share, rounded half up: :func:`creditline.domain.purchases.refund_money`).
The reversal is committed first, so the credits cannot be spent meanwhile; if the
provider then refuses, a compensating ``refund`` entry gives them back and the purchase
is ``paid`` again. A refund interrupted after its reversal (a crash) is completed by
calling it again: the provider call reuses its idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from creditline.domain.amounts import MAX_MICROS, format_credits
from creditline.domain.countries import EVERYWHERE, SelfServeCountries
from creditline.domain.cycles import expires_at
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InvalidAmount,
    NotificationFailed,
    OrganizationNotFound,
    PackNotFound,
    PaymentProviderError,
    PaymentsUnavailable,
    PurchaseNotFound,
    RefundRefused,
)
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.invoices import InvoiceItem, LineKind
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.money import Money
from creditline.domain.packs import ANY_AMOUNT, Offer, RefundPolicy
from creditline.domain.purchases import (
    Purchase,
    PurchaseStatus,
    Receipt,
    refund_money,
    refundable_credits,
)
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.payments import (
    CheckoutRequest,
    CheckoutState,
    PaymentProvider,
    ProviderEvent,
    ReceiptSender,
    Transactions,
)
from creditline.services.posting import post
from creditline.services.sales import require_self_serve
from creditline.services.unit_of_work import UnitOfWork

__all__ = [
    "ACCOUNT",
    "CANCEL_URL",
    "CHECKOUT_EVENTS",
    "SUCCESS_URL",
    "CreatePurchase",
    "buy_on_account",
    "Settled",
    "create_purchase",
    "grant_purchase",
    "refresh_purchase",
    "refund_purchase",
    "send_receipt",
    "settle_checkout",
]

log = logging.getLogger(__name__)

CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
"""Events about a checkout session: each makes the session's state be re-fetched."""

_OPEN = (PurchaseStatus.PENDING, PurchaseStatus.FAILED)

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


@dataclass(frozen=True, slots=True)
class Settled:
    """What confirming a checkout did.

    Attributes:
        purchase: the purchase afterwards.
        outcome: ``granted`` (paid now: its grant was made), ``failed``, ``unchanged``
            (nothing to do: already paid, or not paid yet) or ``duplicate`` (an event
            already processed).
        receipt: the receipt made now (to e-mail), when ``granted``.
    """

    purchase: Purchase
    outcome: str
    receipt: Receipt | None = None


# -- creating ---------------------------------------------------------------------------


def _check_replay(existing: Purchase, offer: Offer, key: str) -> Purchase:
    same = (existing.pack, existing.credits, existing.price) == (
        offer.pack,
        offer.credits,
        offer.price,
    )
    if not same:
        raise IdempotencyKeyReused(key)
    return existing


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
        catalogue = uow.packs.get()
        if catalogue is None:
            raise PackNotFound(cmd.pack or ANY_AMOUNT)
        offer = catalogue.offer(cmd.currency, cmd.pack, cmd.credits)
        customer = uow.payments.customer(cmd.org_id, provider)
        if cmd.idempotency_key is not None:
            existing = uow.purchases.by_key(cmd.org_id, cmd.idempotency_key)
            if existing is not None:
                return _check_replay(existing, offer, cmd.idempotency_key), org.name, customer
        now = clock.now()
        purchase = Purchase(
            id=new_id("pur"),
            org_id=cmd.org_id,
            pack=offer.pack,
            credits=offer.credits,
            price=offer.price,
            status=PurchaseStatus.PENDING,
            provider=provider,
            refund_policy=catalogue.refund_policy,
            expiry=offer.expiry,
            created_at=now,
            email=cmd.email,
        )
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
                description=_describe(purchase),
                price=purchase.price,
                success_url=cmd.success_url,
                cancel_url=cmd.cancel_url,
                email=cmd.email,
            )
        )
    except PaymentProviderError as exc:
        failed = replace(purchase, status=PurchaseStatus.FAILED, failure=str(exc))
        tx(lambda uow: _store(uow, failed, (PurchaseStatus.PENDING,), clock))
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


def _store(
    uow: UnitOfWork, purchase: Purchase, when: tuple[PurchaseStatus, ...], clock: Clock
) -> bool:
    changed = uow.purchases.transition(purchase, when, clock.now())
    uow.commit()
    return changed


def _describe(purchase: Purchase) -> str:
    what = "credits" if purchase.pack == ANY_AMOUNT else f"credits ({purchase.pack})"
    return f"{format_credits(purchase.credits)} {what}"


ACCOUNT = "account"
"""The provider a purchase on account records: it is paid through the invoice."""


def buy_on_account(cmd: CreatePurchase, uow: UnitOfWork, clock: Clock) -> Purchase:
    """Buy on account: the credits are granted at once (``prepaid``, like a paid
    purchase) and the price waits for the next monthly invoice as a purchase line
    (:class:`~creditline.domain.invoices.InvoiceItem`), in one transaction under the
    organization's lock. No checkout; no payment provider needed. A retry with the same
    ``idempotency_key`` returns the same purchase.

    Raises:
        OrganizationNotFound, PackNotFound, InvalidSetting, InvalidAmount: bad request.
        IdempotencyKeyReused: the key was used for another purchase.
    """
    with uow:
        held = uow.balances.lock(cmd.org_id)
        if held is None:
            raise OrganizationNotFound(cmd.org_id)
        catalogue = uow.packs.get()
        if catalogue is None:
            raise PackNotFound(cmd.pack or ANY_AMOUNT)
        offer = catalogue.offer(cmd.currency, cmd.pack, cmd.credits)
        if cmd.idempotency_key is not None:
            existing = uow.purchases.by_key(cmd.org_id, cmd.idempotency_key)
            if existing is not None:
                return _check_replay(existing, offer, cmd.idempotency_key)
        now = clock.now()
        purchase = Purchase(
            id=new_id("pur"), org_id=cmd.org_id, pack=offer.pack, credits=offer.credits,
            price=offer.price, status=PurchaseStatus.ON_ACCOUNT, provider=ACCOUNT,
            refund_policy=catalogue.refund_policy, expiry=offer.expiry, created_at=now,
            email=cmd.email,
        )  # fmt: skip
        uow.purchases.add(purchase, cmd.idempotency_key, now)
        grant = grant_purchase(uow, purchase, held, now)
        bought = replace(purchase, grant_id=grant.id, paid_at=now)
        uow.purchases.transition(bought, (PurchaseStatus.ON_ACCOUNT,), now)
        what = f"{_describe(bought)}, bought on account on {now:%Y-%m-%d}"
        item = InvoiceItem(
            new_id("itm"), cmd.org_id, LineKind.PURCHASE, f"purchase:{bought.id}", what,
            bought.price.currency, bought.price.minor, bought.credits, now,
        )  # fmt: skip
        uow.invoices.add_item(item, now)
        uow.commit()
    return bought


# -- confirming -------------------------------------------------------------------------


def grant_purchase(
    uow: UnitOfWork, purchase: Purchase, held: tuple[int, int], now: datetime
) -> Grant:
    """The purchase's prepaid grant, written like every grant: one ``grant`` entry."""
    balance, entry_count = held
    if balance + purchase.credits > MAX_MICROS:
        raise InvalidAmount(purchase.credits, "the organization's balance would overflow")
    offer = Offer(purchase.pack, purchase.credits, purchase.price, purchase.expiry)
    new = NewGrant(
        org_id=purchase.org_id,
        kind=GrantKind.PREPAID,
        amount=purchase.credits,
        effective_at=now,
        expires_at=expires_at(purchase.expiry, now),
        source=GrantSource(SourceType.PURCHASE, purchase.id),
        cost_basis=offer.cost_basis,
        metadata={"pack": purchase.pack},
    ).validate()
    grant = uow.grants.add(new_id("grt"), new, now, seq=entry_count)
    cause = Cause(CauseType.PURCHASE, purchase.id)
    uow.ledger.append(
        [NewEntry(purchase.org_id, grant.id, EntryType.GRANT, new.amount, cause, now)], now
    )
    uow.balances.apply(purchase.org_id, new.amount, 1, now)
    return grant


def _paid(
    uow: UnitOfWork, purchase: Purchase, state: CheckoutState, held: tuple[int, int], now: datetime
) -> Settled | None:
    grant = grant_purchase(uow, purchase, held, now)
    paid = replace(
        purchase,
        status=PurchaseStatus.PAID,
        grant_id=grant.id,
        payment_id=state.payment_id or purchase.payment_id,
        email=purchase.email or state.email,
        failure=None,
        checkout_url=None,
        paid_at=now,
    )
    if not uow.purchases.transition(paid, _OPEN, now):
        return None  # cannot happen under the locks; the caller rolls back
    receipt = Receipt(
        new_id("rcp"), paid.id, paid.org_id, paid.pack, paid.credits, paid.price, paid.email, now
    )
    uow.purchases.add_receipt(receipt)
    if state.customer_id and state.payment_method_id:  # saved for off-session charges (D5)
        if uow.payments.customer(paid.org_id, paid.provider) is None:
            uow.payments.put_customer(paid.org_id, paid.provider, state.customer_id, now)
        uow.payments.set_payment_method(paid.org_id, paid.provider, state.payment_method_id, now)
    return Settled(paid, "granted", receipt)


def settle_checkout(
    uow: UnitOfWork,
    org_id: str,
    purchase_id: str,
    state: CheckoutState,
    *,
    event: ProviderEvent | None,
    clock: Clock,
) -> Settled:
    """Apply a re-fetched checkout state to a purchase, exactly once (module docstring).

    Runs in ``uow`` (entered): locks the organization, deduplicates ``event`` by its id,
    grants on the first confirmation of payment, and commits.
    """
    held = uow.balances.lock(org_id)
    if held is None:
        raise OrganizationNotFound(org_id)
    now = clock.now()
    purchase = uow.purchases.get(org_id, purchase_id, lock=True)
    if purchase is None:
        raise PurchaseNotFound(purchase_id)
    if event is not None and uow.payments.event_outcome(purchase.provider, event.id):
        return Settled(purchase, "duplicate")
    settled: Settled | None = Settled(purchase, "unchanged")
    if state.paid and purchase.status in _OPEN:
        settled = _paid(uow, purchase, state, held, now)
    elif state.closed and purchase.status is PurchaseStatus.PENDING:
        failed = replace(purchase, status=PurchaseStatus.FAILED, failure=state.status)
        if uow.purchases.transition(failed, (PurchaseStatus.PENDING,), now):
            settled = Settled(failed, "failed")
    if settled is None:
        return Settled(purchase, "unchanged")
    if event is not None and not uow.payments.record_event(
        purchase.provider,
        event.id,
        event_type=event.type,
        outcome=settled.outcome,
        ref=purchase.id,
        now=now,
    ):
        return Settled(purchase, "duplicate")  # rolled back: recorded by another
    uow.commit()
    return settled


def confirm_from_event(
    event: ProviderEvent,
    purchase: Purchase,
    tx: Transactions,
    payments: PaymentProvider,
    clock: Clock,
) -> Settled:
    """Settle ``purchase`` from a verified event: its session re-fetched, then one
    transaction (:func:`settle_checkout`)."""
    if purchase.session_id is None:
        return Settled(purchase, "unchanged")
    state = payments.checkout_state(purchase.session_id)
    return tx(
        lambda uow: settle_checkout(
            uow, purchase.org_id, purchase.id, state, event=event, clock=clock
        )
    )


def refresh_purchase(
    org_id: str, purchase_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Settled:
    """Ask the provider for the purchase's checkout state now and apply it (the "I paid
    but see no credits" button). Safe to race with webhooks: it grants at most once."""
    purchase = tx(lambda uow: _purchase(uow, org_id, purchase_id), read_only=True)
    if purchase.session_id is None or purchase.status not in _OPEN:
        return Settled(purchase, "unchanged")
    state = payments.checkout_state(purchase.session_id)
    return tx(lambda uow: settle_checkout(uow, org_id, purchase_id, state, event=None, clock=clock))


def _purchase(uow: UnitOfWork, org_id: str, purchase_id: str) -> Purchase:
    found = uow.purchases.get(org_id, purchase_id)
    if found is None:
        raise PurchaseNotFound(purchase_id)
    return found


def send_receipt(
    receipt: Receipt, tx: Transactions, mailer: ReceiptSender | None, clock: Clock
) -> Receipt:
    """E-mail a receipt when there is a mailer and an address; record how it went."""
    if mailer is None or receipt.email is None:
        return receipt
    org_name = tx(lambda uow: _org_name(uow, receipt.org_id), read_only=True)
    try:
        mailer.send_receipt(receipt, org_name)
    except NotificationFailed as exc:
        log.warning("receipt %s not e-mailed: %s", receipt.id, exc.reason)
        sent = replace(receipt, email_error=exc.reason)
    else:
        sent = replace(receipt, emailed_at=clock.now(), email_error=None)

    def record(uow: UnitOfWork) -> None:
        uow.purchases.mark_emailed(sent.id, sent.emailed_at, sent.email_error)
        uow.commit()

    tx(record)
    return sent


def _org_name(uow: UnitOfWork, org_id: str) -> str:
    org = uow.orgs.get(org_id)
    return org.name if org is not None else org_id


# -- refunding --------------------------------------------------------------------------


def _reverse(org_id: str, purchase_id: str, clock: Clock) -> Callable[[UnitOfWork], Purchase]:
    def work(uow: UnitOfWork) -> Purchase:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        now = clock.now()
        purchase = uow.purchases.get(org_id, purchase_id, lock=True)
        if purchase is None:
            raise PurchaseNotFound(purchase_id)
        if purchase.refund_policy is RefundPolicy.FINAL:
            raise RefundRefused(purchase_id, "purchases are final and non-refundable")
        if purchase.status is PurchaseStatus.REFUNDED:
            if purchase.refund_id is None and purchase.refunded_minor > 0:
                return purchase  # reversed, but the provider's refund is not confirmed yet
            raise RefundRefused(purchase_id, "it is refunded already")
        if purchase.status is not PurchaseStatus.PAID or purchase.grant_id is None:
            raise RefundRefused(purchase_id, f"it is {purchase.status.value}, not paid")
        grant = uow.grants.get(org_id, purchase.grant_id)
        assert grant is not None
        credits = refundable_credits(grant, now)
        if credits == 0:
            raise RefundRefused(
                purchase_id, "nothing is left to refund: its credits are spent or expired"
            )
        cause = Cause(CauseType.REFUND, purchase.id)
        post(uow, org_id, [NewEntry(org_id, grant.id, EntryType.REFUND, -credits, cause, now)], now)
        refunded = replace(
            purchase,
            status=PurchaseStatus.REFUNDED,
            refunded_credits=credits,
            refunded_minor=refund_money(purchase, credits),
            refunded_at=now,
        )
        uow.purchases.transition(refunded, (PurchaseStatus.PAID,), now)
        uow.commit()
        return refunded

    return work


def _restore(purchase: Purchase, reason: str, clock: Clock) -> Callable[[UnitOfWork], Purchase]:
    """Give back the credits of a refund the provider refused: the purchase is paid again."""

    def work(uow: UnitOfWork) -> Purchase:
        uow.balances.lock(purchase.org_id)
        now = clock.now()
        assert purchase.grant_id is not None
        cause = Cause(CauseType.REFUND, purchase.id)
        entry = NewEntry(
            purchase.org_id, purchase.grant_id, EntryType.REFUND, purchase.refunded_credits,
            cause, now, metadata={"reversed": "the provider refused the refund"},
        )  # fmt: skip
        post(uow, purchase.org_id, [entry], now)
        paid = replace(
            purchase, status=PurchaseStatus.PAID, refunded_credits=0, refunded_minor=0,
            refunded_at=None, failure=f"refund refused by {purchase.provider}: {reason}",
        )  # fmt: skip
        uow.purchases.transition(paid, (PurchaseStatus.REFUNDED,), now)
        uow.commit()
        return paid

    return work


def _refund_key(purchase: Purchase) -> str:
    """One key per refund attempt: a retry after a crash reuses it (one refund at the
    provider), an attempt after a refused one (credits given back) gets a new one."""
    assert purchase.refunded_at is not None
    return f"refund-{purchase.id}-{int(purchase.refunded_at.timestamp() * 1_000_000)}"


def refund_purchase(
    org_id: str, purchase_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Purchase:
    """Refund a refundable purchase's unspent credits and the money for them.

    Raises:
        RefundRefused: the policy is ``final``, the purchase is not paid (or refunded
            already), or nothing of its grant is left.
        PurchaseNotFound, OrganizationNotFound: no such purchase in this organization.
        PaymentProviderError: the provider refused the refund; the credits are given
            back and the purchase is ``paid`` again.
    """
    refunded = tx(_reverse(org_id, purchase_id, clock))
    if refunded.refunded_minor == 0 or refunded.refund_id is not None:
        return refunded
    assert refunded.payment_id is not None, "a paid purchase has the provider's payment"
    try:
        refund_id = payments.refund(
            refunded.payment_id,
            Money(refunded.refunded_minor, refunded.price.currency),
            idempotency_key=_refund_key(refunded),
        )
    except PaymentProviderError as exc:
        tx(_restore(refunded, exc.reason, clock))
        raise
    done = replace(refunded, refund_id=refund_id)
    tx(lambda uow: _store(uow, done, (PurchaseStatus.REFUNDED,), clock))
    return done
