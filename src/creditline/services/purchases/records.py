"""A purchase's records, written alike by every way of buying (a checkout, on account, a
top-up): the purchase made from an offer, read back, moved from one status to another,
described, and its ``prepaid`` grant."""

from __future__ import annotations

from datetime import datetime

from creditline.domain.amounts import MAX_MICROS, format_credits
from creditline.domain.cycles import expires_at
from creditline.domain.errors import InvalidAmount, OrganizationNotFound, PurchaseNotFound
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.packs import ANY_AMOUNT, Catalogue, Offer
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.time import Clock
from creditline.domain.topups import Trigger
from creditline.services import grace
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "describe",
    "find_purchase",
    "grant_purchase",
    "lock_purchase",
    "new_purchase",
    "store",
]


def new_purchase(
    org_id: str, offer: Offer, catalogue: Catalogue, provider: str, now: datetime, *,
    status: PurchaseStatus = PurchaseStatus.PENDING, trigger: Trigger = Trigger.MANUAL,
    email: str | None = None,
) -> Purchase:  # fmt: skip
    """A new purchase of ``offer``, sold under ``catalogue``'s refund policy."""
    return Purchase(
        id=new_id("pur"), org_id=org_id, pack=offer.pack, credits=offer.credits,
        price=offer.price, status=status, provider=provider,
        refund_policy=catalogue.refund_policy, expiry=offer.expiry, created_at=now,
        email=email, trigger=trigger,
    )  # fmt: skip


def find_purchase(uow: UnitOfWork, org_id: str, purchase_id: str) -> Purchase:
    """The organization's purchase ``purchase_id``.

    Raises:
        PurchaseNotFound: not a purchase of this organization.
    """
    found = uow.purchases.get(org_id, purchase_id)
    if found is None:
        raise PurchaseNotFound(purchase_id)
    return found


def lock_purchase(
    uow: UnitOfWork, org_id: str, purchase_id: str
) -> tuple[tuple[int, int], Purchase]:
    """Take the organization's lock (the lock every grant takes), then read its purchase
    ``purchase_id`` row-locked; the organization's balance and entry count as the lock
    returns them, and the purchase.

    Raises:
        OrganizationNotFound; PurchaseNotFound: not a purchase of this organization.
    """
    held = uow.balances.lock(org_id)
    if held is None:
        raise OrganizationNotFound(org_id)
    purchase = uow.purchases.get(org_id, purchase_id, lock=True)
    if purchase is None:
        raise PurchaseNotFound(purchase_id)
    return held, purchase


def store(
    uow: UnitOfWork, purchase: Purchase, when: tuple[PurchaseStatus, ...], clock: Clock
) -> bool:
    """Move ``purchase`` to its new state if it is still in one of ``when``, and commit."""
    changed = uow.purchases.transition(purchase, when, clock.now())
    uow.commit()
    return changed


def describe(purchase: Purchase) -> str:
    """What was bought, in words (a checkout's description, an invoice line's)."""
    what = "credits" if purchase.pack == ANY_AMOUNT else f"credits ({purchase.pack})"
    return f"{format_credits(purchase.credits)} {what}"


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
    grace.restore(uow, purchase.org_id, ("purchase", purchase.id), now)  # ends grace at once
    return grant
