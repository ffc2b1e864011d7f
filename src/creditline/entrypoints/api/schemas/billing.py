"""Purchases, receipts, invoices and the billing history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from creditline.domain.invoices import BillingEvent, BillingRecord, Invoice, InvoiceItem
from creditline.domain.purchases import Purchase, Receipt
from creditline.entrypoints.api.schema_rules import at_most_one
from creditline.entrypoints.api.schemas.common import (
    _FORBID,
    Currency,
    MoneyOut,
    Name,
    PositiveCreditsText,
    _credits,
    _iso,
    _money,
    _PackOrAmount,
    answer,
)


class PurchaseCreate(_PackOrAmount):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"pack": "50-credits", "currency": "EUR"}]},
    )
    pack: Name | None = Field(None, description="A pack of the catalogue.")
    amount: PositiveCreditsText | None = Field(None, description="Any amount, at the fixed rate.")
    # amount_micros: the base's, after amount
    currency: Currency
    success_url: Annotated[StrictStr, Field(max_length=2000)] | None = None
    cancel_url: Annotated[StrictStr, Field(max_length=2000)] | None = None
    email: Annotated[StrictStr, Field(min_length=3, max_length=320)] | None = None

    schema_rules: ClassVar[dict[str, Any]] = at_most_one("amount", "amount_micros")


class PurchaseOut(BaseModel):
    id: str
    org_id: str
    pack: str
    credits: str
    credits_micros: int
    price: MoneyOut
    status: str
    provider: str
    refund_policy: str
    checkout_url: str | None
    grant_id: str | None
    email: str | None
    refunded_credits: str
    refunded_credits_micros: int
    refunded_minor: int
    failure: str | None
    created_at: datetime
    paid_at: datetime | None
    refunded_at: datetime | None
    trigger: str = Field(description="manual, automatic or recurring (a top-up).")

    @classmethod
    def of(cls, p: Purchase) -> PurchaseOut:
        return answer(
            cls,
            p,
            **_credits("credits", p.credits),
            price=_money(p.price),
            **_credits("refunded_credits", p.refunded_credits),
            paid_at=_iso(p.paid_at),
            refunded_at=_iso(p.refunded_at),
        )


class ReceiptOut(BaseModel):
    id: str
    purchase_id: str
    org_id: str
    pack: str
    credits: str
    credits_micros: int
    amount: MoneyOut
    email: str | None
    issued_at: datetime
    emailed_at: datetime | None

    @classmethod
    def of(cls, r: Receipt) -> ReceiptOut:
        return answer(
            cls,
            r,
            **_credits("credits", r.credits),
            amount=_money(r.amount),
            emailed_at=_iso(r.emailed_at),
        )


class InvoiceLineOut(BaseModel):
    kind: str = Field(description="fee, proration, flex, purchase or credit.")
    description: str
    credits: str
    credits_micros: int
    unit_price_minor: int
    amount_minor: int = Field(description="Minor units; negative for a credit.")


class InvoiceOut(BaseModel):
    id: str
    number: str
    org_id: str
    kind: str
    period: str
    status: str
    total: MoneyOut
    lines: list[InvoiceLineOut]
    issued_at: datetime
    paid_at: datetime | None
    voided_at: datetime | None
    payment_error: str | None
    payment_attempts: int = 0
    collection: str | None = Field(
        None, description="Dunning: retrying, overdue, or null (not in dunning)."
    )
    next_attempt_at: datetime | None = Field(None, description="When the charge is retried.")

    @classmethod
    def of(cls, i: Invoice) -> InvoiceOut:
        return answer(
            cls,
            i,
            number=i.display_number,
            total=_money(i.total),
            lines=[
                answer(InvoiceLineOut, line, **_credits("credits", line.credits))
                for line in i.lines
            ],
            paid_at=_iso(i.paid_at),
            voided_at=_iso(i.voided_at),
            next_attempt_at=_iso(i.next_attempt_at),
        )


class InvoiceItemOut(BaseModel):
    """An amount waiting for the next invoice."""

    id: str
    kind: str
    ref: str
    description: str
    currency: str
    amount_minor: int = Field(description="Minor units; negative for a credit.")
    credits_micros: int
    due_at: datetime

    @classmethod
    def of(cls, i: InvoiceItem) -> InvoiceItemOut:
        return answer(cls, i, credits_micros=i.credits)


class BillingEventOut(BaseModel):
    """A step of an invoice's collection, with its cause."""

    id: int
    invoice_id: str | None
    type: str
    cause: str
    data: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, e: BillingEvent) -> BillingEventOut:
        return answer(cls, e)


class InvoiceMarkPaid(BaseModel):
    model_config = _FORBID
    reference: Annotated[StrictStr, Field(max_length=200)] | None = Field(
        None, description="How it was paid (a transfer's reference), recorded with it."
    )


class PaymentRetryOut(BaseModel):
    invoices: list[InvoiceOut]


class InvoiceRunIn(BaseModel):
    model_config = _FORBID
    month: Annotated[StrictStr, Field(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$")] | None = Field(
        None, description="The month to invoice (default: the previous one)."
    )


class InvoiceRunOut(BaseModel):
    month: str
    issued: list[InvoiceOut]
    existing: int
    unpriced: list[str]
    failed_charges: list[str]


class BillingRecordOut(BaseModel):
    at: datetime
    kind: str
    ref: str
    description: str
    amount: MoneyOut
    status: str

    @classmethod
    def of(cls, r: BillingRecord) -> BillingRecordOut:
        return answer(cls, r, amount=_money(r.amount))


class WebhookOut(BaseModel):
    received: bool
    event_id: str
    outcome: str
