"""Buying on account: the credits at once, the price on the next monthly invoice."""

from __future__ import annotations

from dataclasses import replace

from creditline.domain.errors import OrganizationNotFound
from creditline.domain.invoices import InvoiceItem, LineKind
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases.checkout import CreatePurchase, offer_or_replay
from creditline.services.purchases.records import describe, grant_purchase, new_purchase

__all__ = ["ACCOUNT", "buy_on_account"]

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
        catalogue, offer, existing = offer_or_replay(uow, cmd)
        if existing is not None:
            return existing
        now = clock.now()
        purchase = new_purchase(
            cmd.org_id, offer, catalogue, ACCOUNT, now, status=PurchaseStatus.ON_ACCOUNT,
            email=cmd.email,
        )  # fmt: skip
        uow.purchases.add(purchase, cmd.idempotency_key, now)
        grant = grant_purchase(uow, purchase, held, now)
        bought = replace(purchase, grant_id=grant.id, paid_at=now)
        uow.purchases.transition(bought, (PurchaseStatus.ON_ACCOUNT,), now)
        what = f"{describe(bought)}, bought on account on {now:%Y-%m-%d}"
        item = InvoiceItem(
            new_id("itm"), cmd.org_id, LineKind.PURCHASE, f"purchase:{bought.id}", what,
            bought.price.currency, bought.price.minor, bought.credits, now,
        )  # fmt: skip
        uow.invoices.add_item(item, now)
        uow.commit()
    return bought
