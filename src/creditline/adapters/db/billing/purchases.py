"""Purchases of credit packs, and their receipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from creditline.domain.cycles import parse_expiry
from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt

from .. import tables as t
from ..records import Codec
from .states import change_state

__all__ = ["PurchaseRepository", "purchase_from_row"]


_PURCHASE = Codec(
    Purchase,
    columns={
        "credits": "credits_micros",
        "price": "amount_minor",
        "session_id": "provider_session_id",
        "payment_id": "provider_payment_id",
        "refunded_credits": "refunded_credits_micros",
        "refund_id": "provider_refund_id",
    },
    skip={"expiry"},
)
_MUTABLE = (
    "status", "checkout_url", "session_id", "payment_id", "grant_id", "email",
    "refunded_credits", "refunded_minor", "refund_id", "failure", "paid_at", "refunded_at",
)  # fmt: skip
"""The fields a purchase's life changes."""

_RECEIPT = Codec(Receipt, columns={"credits": "credits_micros", "amount": "amount_minor"})
_RECEIPT_COLUMNS = (
    "id",
    "purchase_id",
    "org_id",
    "email",
    "issued_at",
    "emailed_at",
    "email_error",
)
"""The fields stored in ``receipts`` (the others are the purchase's)."""


def purchase_from_row(row: Row[Any]) -> Purchase:
    return _PURCHASE.decode(row, expiry=parse_expiry(row.expiry))


def _receipt_query() -> Any:
    r, p = t.receipts, t.purchases
    return select(
        r.c.id, r.c.purchase_id, r.c.org_id, r.c.email, r.c.issued_at, r.c.emailed_at,
        r.c.email_error, p.c.pack, p.c.credits_micros, p.c.amount_minor, p.c.currency,
    ).join(p, p.c.id == r.c.purchase_id)  # fmt: skip


class PurchaseRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, purchase: Purchase, idempotency_key: str | None, now: datetime) -> None:
        self._conn.execute(
            insert(t.purchases).values(
                expiry=purchase.expiry.to_document(),
                idempotency_key=idempotency_key,
                updated_at=now,
                **_PURCHASE.encode(purchase),
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
        values = {"updated_at": now, **_PURCHASE.encode(purchase, *_MUTABLE)}
        return change_state(self._conn, t.purchases, purchase.id, when, values)

    def add_receipt(self, receipt: Receipt) -> None:
        self._conn.execute(insert(t.receipts).values(**_RECEIPT.encode(receipt, *_RECEIPT_COLUMNS)))

    def receipt(self, org_id: str, purchase_id: str) -> Receipt | None:
        r = t.receipts
        row = self._conn.execute(
            _receipt_query().where(r.c.purchase_id == purchase_id, r.c.org_id == org_id)
        ).first()
        return None if row is None else _RECEIPT.decode(row)

    def receipts(self, org_id: str, limit: int = 100) -> list[Receipt]:
        r = t.receipts
        rows = self._conn.execute(
            _receipt_query().where(r.c.org_id == org_id)
            .order_by(r.c.issued_at.desc(), r.c.id.desc()).limit(limit)
        )  # fmt: skip
        return [_RECEIPT.decode(row) for row in rows]

    def mark_emailed(self, receipt_id: str, emailed_at: datetime | None, error: str | None) -> None:
        r = t.receipts
        self._conn.execute(
            update(r).where(r.c.id == receipt_id).values(emailed_at=emailed_at, email_error=error)
        )
