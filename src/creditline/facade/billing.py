"""Billing (D1-D6): credit packs, purchases, refunds and invoices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from creditline.domain.errors import InvoiceNotFound, PurchaseNotFound
from creditline.domain.invoices import (
    BillingEvent,
    BillingRecord,
    Invoice,
    InvoiceItem,
    InvoiceStatus,
    parse_month,
)
from creditline.domain.packs import Catalogue, load_catalogue
from creditline.domain.purchases import Purchase, Receipt
from creditline.facade.organizations import Organizations
from creditline.services import invoices, purchases, webhooks
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases import CANCEL_URL, SUCCESS_URL

__all__ = ["Billing"]


class Billing(Organizations):
    """Packs, purchases, refunds and invoices."""

    def load_packs(self, text: str | bytes) -> Catalogue:
        """Store the credit pack catalogue of a TOML document (a platform's ``packs.toml``),
        replacing the one stored; purchases already made keep their own terms.

        Raises:
            InvalidSetting: listing every problem; nothing is stored.
        """
        catalogue = load_catalogue(text)

        def work(uow: UnitOfWork) -> Catalogue:
            uow.packs.put(catalogue, self.clock.now())
            uow.commit()
            return catalogue

        return self._tx(work)

    def packs(self) -> Catalogue | None:
        """The pack catalogue, or ``None`` when none is loaded."""
        return self._tx(lambda uow: uow.packs.get(), read_only=True)

    def create_purchase(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        success_url: str = SUCCESS_URL,
        cancel_url: str = CANCEL_URL,
        email: str | None = None,
        idempotency_key: str | None = None,
    ) -> Purchase:
        """Start buying ``pack`` (or ``credits`` micro-credits at the any-amount rate):
        a pending purchase and its checkout (``purchase.checkout_url``). The credits are
        granted once the provider confirms the payment (a webhook or
        :meth:`refresh_purchase`), exactly once.

        Raises:
            SelfServeUnavailable: self-serve buying is not available in the organization's
                country (:meth:`self_serve`): nothing is asked of the payment provider;
                the organization contacts sales instead (:meth:`contact_sales`).
            PaymentsUnavailable: no payment provider (operator grants only).
            PackNotFound, InvalidSetting, InvalidAmount: not something the catalogue sells.
            PaymentProviderError: the provider failed; the purchase is ``failed``.
        """
        cmd = purchases.CreatePurchase(
            org_id, currency, pack, credits, success_url, cancel_url, email, idempotency_key
        )
        return purchases.create_purchase(
            cmd, self._tx, self.payments, self.clock, self_serve=self._self_serve
        )

    def buy_on_account(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        idempotency_key: str | None = None,
    ) -> Purchase:
        """Buy ``pack`` (or ``credits`` at the any-amount rate) on account: the credits are
        granted now and the price is a line of the next monthly invoice (no checkout).

        Raises:
            OrganizationNotFound, PackNotFound, InvalidSetting, InvalidAmount: bad request.
            IdempotencyKeyReused: the key was used for another purchase.
        """
        cmd = purchases.CreatePurchase(
            org_id, currency, pack, credits, idempotency_key=idempotency_key
        )
        return self._run(lambda: purchases.buy_on_account(cmd, self._uow(), self.clock))

    def handle_webhook(self, payload: bytes, signature: str | None) -> webhooks.WebhookOutcome:
        """Act on a payment provider's webhook delivery (raw body and signature header):
        verified, deduplicated by event id, applied from re-fetched state.

        Raises:
            WebhookRejected: a forged, tampered or stale delivery; nothing was done.
        """
        return webhooks.handle_webhook(
            payload, signature, self._tx, self.payments, clock=self.clock, mailer=self._mailer
        )

    def refresh_purchase(self, org_id: str, purchase_id: str) -> Purchase:
        """Ask the provider about a pending purchase now and grant it if it is paid
        ("I bought credits but don't see them")."""
        settled = purchases.refresh_purchase(
            org_id, purchase_id, self._tx, self.payments, self.clock
        )
        if settled.receipt is not None:
            purchases.send_receipt(settled.receipt, self._tx, self._mailer, self.clock)
        return settled.purchase

    def refund_purchase(self, org_id: str, purchase_id: str) -> Purchase:
        """Refund a purchase under its refund policy: its unspent credits are taken back
        (``refund`` entries) and the money for them returned.

        Raises:
            RefundRefused: the purchase is final (non-refundable), not paid, refunded
                already, or has nothing left.
            PaymentProviderError: the provider refused; the credits are given back.
        """
        return purchases.refund_purchase(org_id, purchase_id, self._tx, self.payments, self.clock)

    def purchase(self, org_id: str, purchase_id: str) -> Purchase:
        return self._find(
            lambda uow: uow.purchases.get(org_id, purchase_id), PurchaseNotFound(purchase_id)
        )

    def purchases(self, org_id: str, limit: int = 100) -> list[Purchase]:
        """The organization's purchases, newest first (its purchase history, D4)."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.purchases.of_org(org_id, limit), read_only=True)

    def receipt(self, org_id: str, purchase_id: str) -> Receipt:
        return self._find(
            lambda uow: uow.purchases.receipt(org_id, purchase_id), PurchaseNotFound(purchase_id)
        )

    def invoice_month(self, month: str | datetime | None = None) -> invoices.MonthRun:
        """Issue the month's invoices (default: the previous month), one per organization
        with something to bill: its plan's fees due by the month's end, its flex credits
        used in the month, its purchases on account. Numbered without gaps, each charged
        to the saved payment method when there is one. Running it again issues nothing
        twice. The scheduler runs it for every month not yet invoiced (:meth:`tick`).

        Raises:
            InvalidSetting: a malformed month, or one that is not over yet.
        """
        chosen = None if month is None else parse_month(month)
        return invoices.invoice_month(chosen, self._tx, self.payments, self.clock)

    def invoice_flex(self, month: str | datetime | None = None) -> invoices.MonthRun:
        """:meth:`invoice_month`, by its name from when invoices billed flex only."""
        return self.invoice_month(month)

    def _invoices_job(self, now: datetime) -> dict[str, Any]:
        runs = invoices.invoice_due(self._tx, self.payments, self.clock)
        return {
            "months": [r.month for r in runs],
            "issued": sum(len(r.issued) for r in runs),
            "paid": sum(r.paid for r in runs),
            "unpriced": sorted({org for r in runs for org in r.unpriced}),
            "failed_charges": [i for r in runs for i in r.failed_charges],
        }

    def retry_payments(self) -> list[Invoice]:
        """Charge again every open invoice whose next dunning try has come (the
        scheduler's job); the invoices afterwards."""
        return invoices.retry_payments(self._tx, self.payments, self.clock)

    def _payment_retries_job(self, now: datetime) -> dict[str, Any]:
        done = self.retry_payments()
        return {
            "tried": len(done),
            "paid": [i.id for i in done if i.status is InvoiceStatus.PAID],
            "failed": [i.id for i in done if i.payment_error is not None],
        }

    def mark_invoice_paid(
        self, org_id: str, invoice_id: str, reference: str | None = None
    ) -> Invoice:
        """An operator marks an open invoice paid (paid outside the provider: a transfer);
        a suspension it caused is lifted. ``reference`` is recorded with the event.

        Raises:
            InvoiceNotFound, InvalidSetting: not an open invoice of the organization.
        """
        return self._run(
            lambda: invoices.settle_invoice(org_id, invoice_id, self._uow(), self.clock, reference)
        )

    def billing_events(
        self, org_id: str, limit: int = 100, invoice_id: str | None = None
    ) -> list[BillingEvent]:
        """The steps of the organization's invoices' collection (issued, payment failed,
        retry scheduled, suspended, paid, restored...), each with its cause, newest first."""
        return self._run(
            lambda: invoices.billing_events(org_id, self._uow(read_only=True), limit, invoice_id)
        )

    def pending_items(self, org_id: str) -> list[InvoiceItem]:
        """What waits for the organization's next invoice (fees, prorations, purchases on
        account, credits carried), in the order they fall due."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.invoices.pending_items(org_id), read_only=True)

    def billing_hold(self, org_id: str) -> str | None:
        """The overdue invoice (``INV-000042``) the organization is suspended for, or
        ``None``."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.invoices.hold(org_id), read_only=True)

    def invoices(self, org_id: str, limit: int = 100) -> list[Invoice]:
        """The organization's invoices, newest first."""
        self.get_org(org_id)
        return self._tx(lambda uow: uow.invoices.of_org(org_id, limit), read_only=True)

    def invoice(self, org_id: str, invoice_id: str) -> Invoice:
        return self._find(
            lambda uow: uow.invoices.get(org_id, invoice_id), InvoiceNotFound(invoice_id)
        )

    def invoice_html(self, org_id: str, invoice_id: str) -> str:
        from creditline.adapters.documents import invoice_html

        return invoice_html(self.invoice(org_id, invoice_id), self.get_org(org_id).name)

    def invoice_pdf(self, org_id: str, invoice_id: str) -> bytes:
        from creditline.adapters.documents import invoice_pdf

        return invoice_pdf(self.invoice(org_id, invoice_id), self.get_org(org_id).name)

    def pay_invoice(self, org_id: str, invoice_id: str) -> Invoice:
        """Charge an open invoice to the saved payment method (again, after a decline)."""
        return invoices.pay_invoice(org_id, invoice_id, self._tx, self.payments, self.clock)

    def void_invoice(self, org_id: str, invoice_id: str) -> Invoice:
        """Cancel an open invoice; it keeps its number."""
        return self._run(lambda: invoices.void_invoice(org_id, invoice_id, self._uow(), self.clock))

    def billing_history(self, org_id: str, limit: int = 100) -> list[BillingRecord]:
        """Purchases, refunds and invoices of the organization, newest first (D4)."""
        return self._run(lambda: invoices.billing_history(org_id, self._uow(read_only=True), limit))
