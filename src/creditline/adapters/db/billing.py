"""Repositories of billing: the pack catalogue, purchases and receipts, payment records
(customers and processed webhook events), and invoices. SQLAlchemy Core, in the unit
of work's transaction; every query of these tables lives here.

Locks: :meth:`PurchaseRepository.get` with ``lock=True`` and
:meth:`InvoiceRepository.next_number` take a row lock on PostgreSQL (``FOR UPDATE``);
on SQLite every write transaction already holds the database's write lock
(``BEGIN IMMEDIATE``), so the same code is serialized there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from creditline.domain.cycles import parse_expiry
from creditline.domain.invoices import (
    MONTHLY,
    BillingEvent,
    Collection,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from creditline.domain.money import Money
from creditline.domain.packs import Catalogue, RefundPolicy, parse_catalogue
from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt
from creditline.domain.topups import Trigger

from . import tables as t

__all__ = [
    "InvoiceRepository",
    "PackRepository",
    "PaymentRecordRepository",
    "PurchaseRepository",
]

_SERIES = "invoice"


class PackRepository:
    """The one pack catalogue of the database."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, catalogue: Catalogue, now: datetime) -> None:
        c = t.pack_catalogue
        values = {"name": catalogue.name, "document": catalogue.to_document(), "updated_at": now}
        changed = self._conn.execute(update(c).where(c.c.id == 1).values(**values)).rowcount
        if not changed:
            self._conn.execute(insert(c).values(id=1, **values))

    def get(self) -> Catalogue | None:
        c = t.pack_catalogue
        document = self._conn.execute(select(c.c.document).where(c.c.id == 1)).scalar()
        return None if document is None else parse_catalogue(document)


# -- purchases and receipts -------------------------------------------------------------


def _purchase(row: Row[Any]) -> Purchase:
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
        return None if row is None else _purchase(row)

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
        return [_purchase(row) for row in rows]

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


# -- customers and webhook events ---------------------------------------------------------


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

        ``INSERT ... ON CONFLICT DO NOTHING``: on PostgreSQL a second transaction
        inserting the same id waits for the first and then inserts nothing (or inserts,
        if the first rolled back), so exactly one of them records it.
        """
        make = postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        statement = (
            make(t.webhook_events)
            .values(
                provider=provider,
                event_id=event_id,
                event_type=event_type,
                outcome=outcome,
                ref=ref,
                received_at=now,
            )
            .on_conflict_do_nothing()
        )
        return bool(self._conn.execute(statement).rowcount)

    def event_outcome(self, provider: str, event_id: str) -> str | None:
        w = t.webhook_events
        outcome: str | None = self._conn.execute(
            select(w.c.outcome).where(w.c.provider == provider, w.c.event_id == event_id)
        ).scalar()
        return outcome


# -- invoices -----------------------------------------------------------------------------


class InvoiceRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def next_number(self) -> int:
        """Take the next invoice number, locking the counter until the transaction ends:
        a rolled-back invoice gives its number back, so numbers have no gaps."""
        c = t.invoice_counters
        query = select(c.c.last_number).where(c.c.series == _SERIES).with_for_update()
        last = self._conn.execute(query).scalar()
        if last is None:  # a schema made without the migration's seed row
            self._conn.execute(insert(c).values(series=_SERIES, last_number=0))
            last = 0
        number = int(last) + 1
        self._conn.execute(update(c).where(c.c.series == _SERIES).values(last_number=number))
        return number

    def add(self, invoice: Invoice, now: datetime) -> None:
        assert invoice.number is not None, "only issued invoices are stored"
        self._conn.execute(
            insert(t.invoices).values(
                id=invoice.id,
                number=invoice.number,
                org_id=invoice.org_id,
                kind=invoice.kind,
                period=invoice.period,
                currency=invoice.currency,
                total_minor=invoice.total_minor,
                issued_at=invoice.issued_at,
                updated_at=now,
                **_invoice_mutable(invoice),
            )
        )
        if invoice.lines:
            self._conn.execute(
                insert(t.invoice_lines),
                [
                    {
                        "invoice_id": invoice.id,
                        "position": i,
                        "description": line.description,
                        "credits_micros": line.credits,
                        "unit_price_minor": line.unit_price_minor,
                        "amount_minor": line.amount_minor,
                        "kind": line.kind.value,
                    }
                    for i, line in enumerate(invoice.lines)
                ],
            )

    def _many(self, *where: Any, limit: int | None = None) -> list[Invoice]:
        i = t.invoices
        query = select(i).where(*where).order_by(i.c.number.desc())
        if limit is not None:
            query = query.limit(limit)
        rows = list(self._conn.execute(query))
        if not rows:
            return []
        lines: dict[str, list[InvoiceLine]] = {row.id: [] for row in rows}
        li = t.invoice_lines
        for line in self._conn.execute(
            select(li).where(li.c.invoice_id.in_(list(lines))).order_by(li.c.position)
        ):
            lines[line.invoice_id].append(
                InvoiceLine(
                    line.description, line.credits_micros, line.unit_price_minor,
                    line.amount_minor, LineKind(line.kind),
                )
            )  # fmt: skip
        return [_invoice(row, lines[row.id]) for row in rows]

    def get(self, org_id: str, invoice_id: str) -> Invoice | None:
        i = t.invoices
        found = self._many(i.c.id == invoice_id, i.c.org_id == org_id)
        return found[0] if found else None

    def by_id(self, invoice_id: str) -> Invoice | None:
        found = self._many(t.invoices.c.id == invoice_id)
        return found[0] if found else None

    def find(self, org_id: str, kind: str, period: str) -> Invoice | None:
        i = t.invoices
        found = self._many(i.c.org_id == org_id, i.c.kind == kind, i.c.period == period)
        return found[0] if found else None

    def of_org(self, org_id: str, limit: int = 100) -> list[Invoice]:
        return self._many(t.invoices.c.org_id == org_id, limit=limit)

    def transition(self, invoice: Invoice, when: Sequence[InvoiceStatus], now: datetime) -> bool:
        """Store ``invoice``'s new state if the stored status is in ``when`` (compare-and-set)."""
        i = t.invoices
        changed = self._conn.execute(
            update(i)
            .where(i.c.id == invoice.id, i.c.status.in_([s.value for s in when]))
            .values(updated_at=now, **_invoice_mutable(invoice))
        ).rowcount
        return bool(changed)

    def flex_orgs(self, ref: str) -> list[str]:
        """The organizations that took flex credits under ``ref`` (one month), by id."""
        g = t.grants
        rows = self._conn.execute(
            select(g.c.org_id).where(g.c.kind == "flex", g.c.source_ref == ref)
            .group_by(g.c.org_id).order_by(g.c.org_id)
        )  # fmt: skip
        return [row.org_id for row in rows]

    def flex_used(self, org_id: str, ref: str) -> int:
        """Micro-credits used of an organization's flex grants under ``ref``: granted less
        what remains (credits given back by a void are not used)."""
        g = t.grants
        used = self._conn.execute(
            select(func.coalesce(func.sum(g.c.amount_micros - g.c.remaining_micros), 0)).where(
                g.c.org_id == org_id, g.c.kind == "flex", g.c.source_ref == ref
            )
        ).scalar()
        return int(used or 0)

    def uninvoiced_flex_months(self) -> list[str]:
        """Months (``"2026-03"``) in which some organization took flex credits that no
        flex invoice of that organization and month bills yet, oldest first. Months whose
        organizations cannot be invoiced (no flex price) keep coming back."""
        g, i = t.grants, t.invoices
        period = func.substr(g.c.source_ref, 6, 7)
        invoiced = (
            select(i.c.id)
            .where(i.c.org_id == g.c.org_id, i.c.kind == MONTHLY, i.c.period == period)
            .exists()
        )
        rows = self._conn.execute(
            select(period.label("month"))
            .where(g.c.kind == "flex", g.c.source_ref.like("flex:%"), ~invoiced)
            .group_by(period)
            .order_by(period)
        )
        return [row.month for row in rows]

    # -- items waiting for an invoice ---------------------------------------------------

    def add_item(self, item: InvoiceItem, now: datetime) -> None:
        self._conn.execute(
            insert(t.invoice_items).values(
                id=item.id, org_id=item.org_id, ref=item.ref, created_at=now, updated_at=now,
                **_item_mutable(item),
            )
        )  # fmt: skip

    def save_item(self, item: InvoiceItem, now: datetime) -> None:
        ii = t.invoice_items
        self._conn.execute(
            update(ii).where(ii.c.id == item.id).values(updated_at=now, **_item_mutable(item))
        )

    def item(self, org_id: str, ref: str) -> InvoiceItem | None:
        ii = t.invoice_items
        row = self._conn.execute(select(ii).where(ii.c.org_id == org_id, ii.c.ref == ref)).first()
        return None if row is None else _item(row)

    def pending_items(self, org_id: str, due_by: datetime | None = None) -> list[InvoiceItem]:
        """The organization's items no invoice holds, due by ``due_by`` (inclusive; ``None``:
        all), in the order they fall due."""
        ii = t.invoice_items
        where = [ii.c.org_id == org_id, ii.c.invoice_id.is_(None)]
        if due_by is not None:
            where.append(ii.c.due_at <= due_by)
        rows = self._conn.execute(select(ii).where(*where).order_by(ii.c.due_at, ii.c.id))
        return [_item(row) for row in rows]

    def items_of(self, invoice_id: str) -> list[InvoiceItem]:
        ii = t.invoice_items
        rows = self._conn.execute(
            select(ii).where(ii.c.invoice_id == invoice_id).order_by(ii.c.due_at, ii.c.id)
        )
        return [_item(row) for row in rows]

    def bill_items(self, item_ids: Sequence[str], invoice_id: str, now: datetime) -> int:
        """Mark items as billed by ``invoice_id`` (those no invoice holds yet); how many."""
        if not item_ids:
            return 0
        ii = t.invoice_items
        return int(
            self._conn.execute(
                update(ii)
                .where(ii.c.id.in_(list(item_ids)), ii.c.invoice_id.is_(None))
                .values(invoice_id=invoice_id, updated_at=now)
            ).rowcount
        )

    def item_orgs(self, due_by: datetime) -> list[str]:
        """Organizations with charges (items above zero) due by ``due_by`` that no invoice
        holds, by id: a credit alone waits for something to bill."""
        ii = t.invoice_items
        rows = self._conn.execute(
            select(ii.c.org_id)
            .where(ii.c.invoice_id.is_(None), ii.c.due_at <= due_by, ii.c.amount_minor > 0)
            .group_by(ii.c.org_id).order_by(ii.c.org_id)
        )  # fmt: skip
        return [row.org_id for row in rows]

    def oldest_pending_due(self) -> datetime | None:
        """When the oldest charge no invoice holds fell (or falls) due."""
        ii = t.invoice_items
        found: datetime | None = self._conn.execute(
            select(func.min(ii.c.due_at)).where(ii.c.invoice_id.is_(None), ii.c.amount_minor > 0)
        ).scalar()
        return found

    # -- dunning -----------------------------------------------------------------------

    def retries_due(self, now: datetime, limit: int = 1000) -> list[tuple[str, str]]:
        """(organization, invoice) of open invoices whose next try is due, oldest first."""
        i = t.invoices
        rows = self._conn.execute(
            select(i.c.org_id, i.c.id)
            .where(i.c.next_attempt_at <= now, i.c.status == InvoiceStatus.OPEN.value)
            .order_by(i.c.next_attempt_at, i.c.id)
            .limit(limit)
        )
        return [(row.org_id, row.id) for row in rows]

    def overdue(self, org_id: str) -> list[Invoice]:
        """The organization's open invoices whose last try failed, newest first."""
        i = t.invoices
        return self._many(
            i.c.org_id == org_id, i.c.status == InvoiceStatus.OPEN.value,
            i.c.collection == Collection.OVERDUE.value,
        )  # fmt: skip

    def hold(self, org_id: str) -> str | None:
        o = t.organizations
        found: str | None = self._conn.execute(
            select(o.c.billing_hold).where(o.c.id == org_id)
        ).scalar()
        return found

    def set_hold(self, org_id: str, hold: str | None) -> None:
        o = t.organizations
        self._conn.execute(update(o).where(o.c.id == org_id).values(billing_hold=hold))

    def add_event(
        self, org_id: str, invoice_id: str | None, *, type_: str, cause: str, ref: str,
        data: dict[str, Any], at: datetime,
    ) -> bool:  # fmt: skip
        """Record a billing event once (``False``: its ref was recorded already)."""
        make = postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        statement = (
            make(t.billing_events)
            .values(
                org_id=org_id,
                invoice_id=invoice_id,
                type=type_,
                cause=cause,
                ref=ref,
                data=data,
                at=at,
            )
            .on_conflict_do_nothing()
        )
        return bool(self._conn.execute(statement).rowcount)

    def events(
        self, org_id: str, limit: int = 100, invoice_id: str | None = None
    ) -> list[BillingEvent]:
        """The organization's billing events (of one invoice), newest first."""
        e = t.billing_events
        where = [e.c.org_id == org_id]
        if invoice_id is not None:
            where.append(e.c.invoice_id == invoice_id)
        rows = self._conn.execute(select(e).where(*where).order_by(e.c.id.desc()).limit(limit))
        return [
            BillingEvent(
                row.id, row.org_id, row.invoice_id, row.type, row.cause, dict(row.data), row.at
            )
            for row in rows
        ]


def _item_mutable(item: InvoiceItem) -> dict[str, Any]:
    return {
        "kind": item.kind.value,
        "description": item.description,
        "currency": item.currency,
        "amount_minor": item.amount_minor,
        "credits_micros": item.credits,
        "due_at": item.due_at,
        "invoice_id": item.invoice_id,
    }


def _item(row: Row[Any]) -> InvoiceItem:
    return InvoiceItem(
        id=row.id,
        org_id=row.org_id,
        kind=LineKind(row.kind),
        ref=row.ref,
        description=row.description,
        currency=row.currency,
        amount_minor=row.amount_minor,
        credits=row.credits_micros,
        due_at=row.due_at,
        invoice_id=row.invoice_id,
    )


def _invoice_mutable(invoice: Invoice) -> dict[str, Any]:
    return {
        "status": invoice.status.value,
        "paid_at": invoice.paid_at,
        "voided_at": invoice.voided_at,
        "provider_payment_id": invoice.payment_id,
        "payment_error": invoice.payment_error,
        "payment_attempts": invoice.payment_attempts,
        "collection": None if invoice.collection is None else invoice.collection.value,
        "next_attempt_at": invoice.next_attempt_at,
    }


def _invoice(row: Row[Any], lines: list[InvoiceLine]) -> Invoice:
    return Invoice(
        id=row.id,
        number=row.number,
        org_id=row.org_id,
        kind=row.kind,
        period=row.period,
        currency=row.currency,
        lines=tuple(lines),
        status=InvoiceStatus(row.status),
        issued_at=row.issued_at,
        paid_at=row.paid_at,
        voided_at=row.voided_at,
        payment_id=row.provider_payment_id,
        payment_error=row.payment_error,
        payment_attempts=row.payment_attempts,
        collection=None if row.collection is None else Collection(row.collection),
        next_attempt_at=row.next_attempt_at,
    )
