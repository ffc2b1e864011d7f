"""Invoices: numbered invoices with their lines, the items waiting for one, and dunning
(retries of failed payments, billing holds and the billing events)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from creditline.domain.invoices import (
    MONTHLY,
    BillingEvent,
    Collection,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
)

from .. import tables as t
from ..inserts import insert_once
from ..records import Codec
from .states import change_state

__all__ = ["InvoiceRepository"]

_SERIES = "invoice"

_INVOICE = Codec(Invoice, columns={"payment_id": "provider_payment_id"}, skip={"lines"})
_INVOICE_MUTABLE = (
    "status", "paid_at", "voided_at", "payment_id", "payment_error", "payment_attempts",
    "collection", "next_attempt_at",
)  # fmt: skip
"""The fields an invoice's life changes."""
_LINE = Codec(InvoiceLine, columns={"credits": "credits_micros"})
_ITEM = Codec(InvoiceItem, columns={"credits": "credits_micros"})
_ITEM_KEY = ("id", "org_id", "ref")
"""The fields an item keeps from its creation."""
_EVENT = Codec(BillingEvent)


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
                total_minor=invoice.total_minor, updated_at=now, **_INVOICE.encode(invoice)
            )
        )
        if invoice.lines:
            self._conn.execute(
                insert(t.invoice_lines),
                [
                    {"invoice_id": invoice.id, "position": i, **_LINE.encode(line)}
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
            lines[line.invoice_id].append(_LINE.decode(line))
        return [_INVOICE.decode(row, lines=tuple(lines[row.id])) for row in rows]

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
        values = {"updated_at": now, **_INVOICE.encode(invoice, *_INVOICE_MUTABLE)}
        return change_state(self._conn, t.invoices, invoice.id, when, values)

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
            insert(t.invoice_items).values(created_at=now, updated_at=now, **_ITEM.encode(item))
        )

    def save_item(self, item: InvoiceItem, now: datetime) -> None:
        ii = t.invoice_items
        self._conn.execute(
            update(ii)
            .where(ii.c.id == item.id)
            .values(updated_at=now, **_ITEM.encode(item, without=_ITEM_KEY))
        )

    def item(self, org_id: str, ref: str) -> InvoiceItem | None:
        ii = t.invoice_items
        row = self._conn.execute(select(ii).where(ii.c.org_id == org_id, ii.c.ref == ref)).first()
        return None if row is None else _ITEM.decode(row)

    def pending_items(self, org_id: str, due_by: datetime | None = None) -> list[InvoiceItem]:
        """The organization's items no invoice holds, due by ``due_by`` (inclusive; ``None``:
        all), in the order they fall due."""
        ii = t.invoice_items
        where = [ii.c.org_id == org_id, ii.c.invoice_id.is_(None)]
        if due_by is not None:
            where.append(ii.c.due_at <= due_by)
        rows = self._conn.execute(select(ii).where(*where).order_by(ii.c.due_at, ii.c.id))
        return [_ITEM.decode(row) for row in rows]

    def items_of(self, invoice_id: str) -> list[InvoiceItem]:
        ii = t.invoice_items
        rows = self._conn.execute(
            select(ii).where(ii.c.invoice_id == invoice_id).order_by(ii.c.due_at, ii.c.id)
        )
        return [_ITEM.decode(row) for row in rows]

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
        return insert_once(
            self._conn,
            t.billing_events,
            org_id=org_id,
            invoice_id=invoice_id,
            type=type_,
            cause=cause,
            ref=ref,
            data=data,
            at=at,
        )

    def events(
        self, org_id: str, limit: int = 100, invoice_id: str | None = None
    ) -> list[BillingEvent]:
        """The organization's billing events (of one invoice), newest first."""
        e = t.billing_events
        where = [e.c.org_id == org_id]
        if invoice_id is not None:
            where.append(e.c.invoice_id == invoice_id)
        rows = self._conn.execute(select(e).where(*where).order_by(e.c.id.desc()).limit(limit))
        return [_EVENT.decode(row) for row in rows]
