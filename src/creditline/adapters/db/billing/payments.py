"""Payment records: each organization's customer at a payment provider, and the
provider's webhook events already processed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from .. import tables as t
from ..inserts import insert_once

__all__ = ["PaymentRecordRepository"]


class PaymentRecordRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def customer(self, org_id: str, provider: str) -> tuple[str, str | None] | None:
        c = t.billing_customers
        row = self._conn.execute(
            select(c.c.customer_id, c.c.payment_method_id).where(
                c.c.org_id == org_id, c.c.provider == provider
            )
        ).first()
        return None if row is None else (row.customer_id, row.payment_method_id)

    def put_customer(self, org_id: str, provider: str, customer_id: str, now: datetime) -> None:
        c = t.billing_customers
        changed = self._conn.execute(
            update(c)
            .where(c.c.org_id == org_id, c.c.provider == provider)
            .values(customer_id=customer_id, updated_at=now)
        ).rowcount
        if not changed:
            self._conn.execute(
                insert(c).values(
                    org_id=org_id, provider=provider, customer_id=customer_id, updated_at=now
                )
            )

    def set_payment_method(
        self, org_id: str, provider: str, payment_method_id: str, now: datetime
    ) -> None:
        c = t.billing_customers
        self._conn.execute(
            update(c)
            .where(c.c.org_id == org_id, c.c.provider == provider)
            .values(payment_method_id=payment_method_id, updated_at=now)
        )

    def record_event(
        self,
        provider: str,
        event_id: str,
        *,
        event_type: str,
        outcome: str,
        ref: str | None,
        now: datetime,
    ) -> bool:
        """Store an event as processed; ``False`` when its id was stored already.

        ``INSERT ... ON CONFLICT DO NOTHING`` (:func:`insert_once`): on PostgreSQL a
        second transaction inserting the same id waits for the first and then inserts
        nothing (or inserts, if the first rolled back), so exactly one of them records it.
        """
        return insert_once(
            self._conn,
            t.webhook_events,
            provider=provider,
            event_id=event_id,
            event_type=event_type,
            outcome=outcome,
            ref=ref,
            received_at=now,
        )

    def event_outcome(self, provider: str, event_id: str) -> str | None:
        w = t.webhook_events
        outcome: str | None = self._conn.execute(
            select(w.c.outcome).where(w.c.provider == provider, w.c.event_id == event_id)
        ).scalar()
        return outcome
