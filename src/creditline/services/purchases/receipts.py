"""Receipts: issued in the transaction that marks a purchase paid, e-mailed after its
commit when a mailer is configured; a failed e-mail is recorded on the receipt and never
undoes the grant."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from creditline.domain.errors import NotificationFailed
from creditline.domain.purchases import Purchase, Receipt
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.ports.payments import ReceiptSender, Transactions
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["issue_receipt", "send_receipt"]

log = logging.getLogger(__name__)


def issue_receipt(uow: UnitOfWork, paid: Purchase, now: datetime) -> Receipt:
    """Record the receipt of a purchase paid now (the caller commits)."""
    receipt = Receipt(
        new_id("rcp"), paid.id, paid.org_id, paid.pack, paid.credits, paid.price, paid.email, now
    )
    uow.purchases.add_receipt(receipt)
    return receipt


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
