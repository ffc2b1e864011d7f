"""Purchases of credit packs, and their receipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from creditline.domain.cycles import parse_expiry
from creditline.domain.money import Money
from creditline.domain.packs import RefundPolicy
from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt
from creditline.domain.topups import Trigger

from .. import tables as t

__all__ = ["PurchaseRepository", "purchase_from_row"]


def purchase_from_row(row: Row[Any]) -> Purchase:
    return Purchase(
        id=row.id,
        org_id=row.org_id,
        pack=row.pack,
        credits=row.credits_micros,
        price=Money(row.amount_minor, row.currency),
        status=PurchaseStatus(row.status),
        provider=row.provider,
        refund_policy=RefundPolicy(row.refund_policy),
        expiry=parse_expiry(row.expiry),
        created_at=row.created_at,
        checkout_url=row.checkout_url,
        session_id=row.provider_session_id,
        payment_id=row.provider_payment_id,
        grant_id=row.grant_id,
        email=row.email,
        refunded_credits=row.refunded_credits_micros,
        refunded_minor=row.refunded_minor,
        refund_id=row.provider_refund_id,
        failure=row.failure,
        paid_at=row.paid_at,
        refunded_at=row.refunded_at,
        trigger=Trigger(row.trigger),
    )


def _mutable(purchase: Purchase) -> dict[str, Any]:
    """The columns a purchase's life changes."""
    return {
        "status": purchase.status.value,
        "checkout_url": purchase.checkout_url,
        "provider_session_id": purchase.session_id,
        "provider_payment_id": purchase.payment_id,
        "grant_id": purchase.grant_id,
        "email": purchase.email,
        "refunded_credits_micros": purchase.refunded_credits,
        "refunded_minor": purchase.refunded_minor,
        "provider_refund_id": purchase.refund_id,
        "failure": purchase.failure,
        "paid_at": purchase.paid_at,
        "refunded_at": purchase.refunded_at,
    }


def _receipt_query() -> Any:
    r, p = t.receipts, t.purchases
    return select(
        r.c.id, r.c.purchase_id, r.c.org_id, r.c.email, r.c.issued_at, r.c.emailed_at,
        r.c.email_error, p.c.pack, p.c.credits_micros, p.c.amount_minor, p.c.currency,
    ).join(p, p.c.id == r.c.purchase_id)  # fmt: skip


def _receipt(row: Row[Any]) -> Receipt:
    return Receipt(
        id=row.id,
        purchase_id=row.purchase_id,
        org_id=row.org_id,
        pack=row.pack,
        credits=row.credits_micros,
        amount=Money(row.amount_minor, row.currency),
        email=row.email,
        issued_at=row.issued_at,
        emailed_at=row.emailed_at,
        email_error=row.email_error,
    )


class PurchaseRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, purchase: Purchase, idempotency_key: str | None, now: datetime) -> None:
        self._conn.execute(
            insert(t.purchases).values(
                id=purchase.id,
                org_id=purchase.org_id,
                pack=purchase.pack,
                credits_micros=purchase.credits,
                amount_minor=purchase.price.minor,
                currency=purchase.price.currency,
                provider=purchase.provider,
                refund_policy=purchase.refund_policy.value,
                expiry=purchase.expiry.to_document(),
                idempotency_key=idempotency_key,
                trigger=purchase.trigger.value,
                created_at=purchase.created_at,
                updated_at=now,
                **_mutable(purchase),
            )
        )

    def _one(self, *where: Any, lock: bool = False) -> Purchase | None:
        query = select(t.purchases).where(*where)
        if lock:
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        return None if row is None else purchase_from_row(row)

    def get(self, org_id: str, purchase_id: str, lock: bool = False) -> Purchase | None:
        p = t.purchases
        return self._one(p.c.id == purchase_id, p.c.org_id == org_id, lock=lock)

    def by_id(self, purchase_id: str) -> Purchase | None:
        return self._one(t.purchases.c.id == purchase_id)

    def by_key(self, org_id: str, key: str) -> Purchase | None:
        p = t.purchases
        return self._one(p.c.org_id == org_id, p.c.idempotency_key == key)

    def by_session(self, provider: str, session_id: str) -> Purchase | None:
        p = t.purchases
        return self._one(p.c.provider == provider, p.c.provider_session_id == session_id)

    def of_org(self, org_id: str, limit: int = 100) -> list[Purchase]:
        p = t.purchases
        rows = self._conn.execute(
            select(p).where(p.c.org_id == org_id).order_by(p.c.created_at.desc(), p.c.id.desc())
            .limit(limit)
        )  # fmt: skip
        return [purchase_from_row(row) for row in rows]

    def transition(self, purchase: Purchase, when: Sequence[PurchaseStatus], now: datetime) -> bool:
        """Store ``purchase``'s new state if the stored one's status is in ``when``;
        whether it was (the compare-and-set that makes a state change happen once)."""
        p = t.purchases
        changed = self._conn.execute(
            update(p)
            .where(p.c.id == purchase.id, p.c.status.in_([s.value for s in when]))
            .values(updated_at=now, **_mutable(purchase))
        ).rowcount
        return bool(changed)

    def add_receipt(self, receipt: Receipt) -> None:
        self._conn.execute(
            insert(t.receipts).values(
                id=receipt.id,
                purchase_id=receipt.purchase_id,
                org_id=receipt.org_id,
                email=receipt.email,
                issued_at=receipt.issued_at,
                emailed_at=receipt.emailed_at,
                email_error=receipt.email_error,
            )
        )

    def receipt(self, org_id: str, purchase_id: str) -> Receipt | None:
        r = t.receipts
        row = self._conn.execute(
            _receipt_query().where(r.c.purchase_id == purchase_id, r.c.org_id == org_id)
        ).first()
        return None if row is None else _receipt(row)

    def receipts(self, org_id: str, limit: int = 100) -> list[Receipt]:
        r = t.receipts
        rows = self._conn.execute(
            _receipt_query().where(r.c.org_id == org_id)
            .order_by(r.c.issued_at.desc(), r.c.id.desc()).limit(limit)
        )  # fmt: skip
        return [_receipt(row) for row in rows]

    def mark_emailed(self, receipt_id: str, emailed_at: datetime | None, error: str | None) -> None:
        r = t.receipts
        self._conn.execute(
            update(r).where(r.c.id == receipt_id).values(emailed_at=emailed_at, email_error=error)
        )
