"""Buying credits (purchases through the payment provider, its webhook), refunds,
invoices and the billing history."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from starlette.concurrency import run_in_threadpool

from creditline.domain.errors import PaymentProviderError, WebhookRejected
from creditline.entrypoints.api.routes.common import Engine, EngineKey, Meter, make_router
from creditline.entrypoints.api.schemas.billing import (
    BillingEventOut,
    BillingRecordOut,
    InvoiceItemOut,
    InvoiceMarkPaid,
    InvoiceOut,
    InvoiceRunIn,
    InvoiceRunOut,
    PaymentRetryOut,
    PurchaseCreate,
    PurchaseOut,
    ReceiptOut,
    WebhookOut,
)
from creditline.entrypoints.api.security import OperatorKey, OrgOperator, OrgReader, OrgWriter
from creditline.services.purchases import CANCEL_URL, SUCCESS_URL

router = make_router("billing")

__all__ = ["router"]

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post(
    "/v1/orgs/{org_id}/purchases",
    status_code=201,
    summary="Start buying credits: a pending purchase and its checkout_url",
)
def create_purchase(
    *, body: PurchaseCreate, scope: OrgWriter, cl: Engine, key: EngineKey
) -> PurchaseOut:
    purchase = cl.create_purchase(
        scope.org_id,
        body.pack,
        credits=body.micros,
        currency=body.currency.upper(),
        success_url=body.success_url or SUCCESS_URL,
        cancel_url=body.cancel_url or CANCEL_URL,
        email=body.email,
        idempotency_key=key,
    )
    return PurchaseOut.of(purchase)


@router.post(
    "/v1/orgs/{org_id}/purchases/on-account",
    summary="Buy on account (operator): credited now, billed on the next monthly invoice",
)
def buy_on_account(
    *, body: PurchaseCreate, scope: OrgOperator, cl: Engine, key: EngineKey
) -> PurchaseOut:
    purchase = cl.buy_on_account(
        scope.org_id,
        body.pack,
        credits=body.micros,
        currency=body.currency.upper(),
        idempotency_key=key,
    )
    return PurchaseOut.of(purchase)


@router.get("/v1/orgs/{org_id}/purchases", summary="Purchase history, newest first")
def list_purchases(*, scope: OrgReader, cl: Engine, limit: Limit = 100) -> list[PurchaseOut]:
    return [PurchaseOut.of(p) for p in cl.purchases(scope.org_id, limit)]


@router.get("/v1/orgs/{org_id}/purchases/{purchase_id}", summary="One purchase")
def get_purchase(*, scope: OrgReader, purchase_id: str, cl: Engine) -> PurchaseOut:
    return PurchaseOut.of(cl.purchase(scope.org_id, purchase_id))


@router.post(
    "/v1/orgs/{org_id}/purchases/{purchase_id}/refresh",
    summary="Ask the provider now; grant the credits if it is paid",
)
def refresh_purchase(*, scope: OrgWriter, purchase_id: str, cl: Engine) -> PurchaseOut:
    return PurchaseOut.of(cl.refresh_purchase(scope.org_id, purchase_id))


@router.post(
    "/v1/orgs/{org_id}/purchases/{purchase_id}/refund",
    summary="Refund a purchase under its policy (operator)",
)
def refund_purchase(*, scope: OrgOperator, purchase_id: str, cl: Engine) -> PurchaseOut:
    return PurchaseOut.of(cl.refund_purchase(scope.org_id, purchase_id))


@router.get(
    "/v1/orgs/{org_id}/purchases/{purchase_id}/receipt", summary="A paid purchase's receipt"
)
def receipt(*, scope: OrgReader, purchase_id: str, cl: Engine) -> ReceiptOut:
    return ReceiptOut.of(cl.receipt(scope.org_id, purchase_id))


@router.get("/v1/orgs/{org_id}/invoices", summary="Invoices, newest first")
def list_invoices(*, scope: OrgReader, cl: Engine, limit: Limit = 100) -> list[InvoiceOut]:
    return [InvoiceOut.of(i) for i in cl.invoices(scope.org_id, limit)]


@router.get("/v1/orgs/{org_id}/invoices/{invoice_id}", summary="One invoice")
def get_invoice(*, scope: OrgReader, invoice_id: str, cl: Engine) -> InvoiceOut:
    return InvoiceOut.of(cl.invoice(scope.org_id, invoice_id))


@router.get(
    "/v1/orgs/{org_id}/invoices/{invoice_id}/html",
    summary="An invoice as HTML",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "The invoice."}},
)
def invoice_html(*, scope: OrgReader, invoice_id: str, cl: Engine) -> Response:
    return Response(cl.invoice_html(scope.org_id, invoice_id), media_type="text/html")


@router.get(
    "/v1/orgs/{org_id}/invoices/{invoice_id}/pdf",
    summary="An invoice as PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The invoice."}},
)
def invoice_pdf(*, scope: OrgReader, invoice_id: str, cl: Engine) -> Response:
    return Response(cl.invoice_pdf(scope.org_id, invoice_id), media_type="application/pdf")


@router.post(
    "/v1/orgs/{org_id}/invoices/{invoice_id}/pay",
    summary="Charge an open invoice to the saved payment method",
)
def pay_invoice(*, scope: OrgWriter, invoice_id: str, cl: Engine) -> InvoiceOut:
    return InvoiceOut.of(cl.pay_invoice(scope.org_id, invoice_id))


@router.post(
    "/v1/orgs/{org_id}/invoices/{invoice_id}/void", summary="Cancel an open invoice (operator)"
)
def void_invoice(*, scope: OrgOperator, invoice_id: str, cl: Engine) -> InvoiceOut:
    return InvoiceOut.of(cl.void_invoice(scope.org_id, invoice_id))


@router.post(
    "/v1/orgs/{org_id}/invoices/{invoice_id}/mark-paid",
    summary="Mark an open invoice paid outside the provider (operator); lifts a suspension",
)
def mark_invoice_paid(
    *, body: InvoiceMarkPaid, scope: OrgOperator, invoice_id: str, cl: Engine
) -> InvoiceOut:
    return InvoiceOut.of(cl.mark_invoice_paid(scope.org_id, invoice_id, body.reference))


@router.get(
    "/v1/orgs/{org_id}/invoice-items",
    summary="What waits for the next invoice: fees, prorations, purchases on account",
)
def pending_items(*, scope: OrgReader, cl: Engine) -> list[InvoiceItemOut]:
    return [InvoiceItemOut.of(i) for i in cl.pending_items(scope.org_id)]


@router.get(
    "/v1/orgs/{org_id}/billing-events",
    summary="The steps of the invoices' collection (dunning), with their causes, newest first",
)
def billing_events(
    *, scope: OrgReader, cl: Engine, limit: Limit = 100, invoice_id: str | None = None
) -> list[BillingEventOut]:
    return [BillingEventOut.of(e) for e in cl.billing_events(scope.org_id, limit, invoice_id)]


@router.post("/v1/payments/retry", summary="Retry the charges whose dunning try is due (operator)")
def retry_payments(*, cl: Engine, _: OperatorKey) -> PaymentRetryOut:
    return PaymentRetryOut(invoices=[InvoiceOut.of(i) for i in cl.retry_payments()])


@router.post("/v1/invoices/run", summary="Issue a month's invoices (operator)")
def run_invoices(*, body: InvoiceRunIn, cl: Engine, _: OperatorKey) -> InvoiceRunOut:
    run = cl.invoice_month(body.month)
    return InvoiceRunOut(
        month=run.month,
        issued=[InvoiceOut.of(i) for i in run.issued],
        existing=run.existing,
        unpriced=list(run.unpriced),
        failed_charges=list(run.failed_charges),
    )


@router.get(
    "/v1/orgs/{org_id}/billing-history", summary="Purchases, refunds and invoices, newest first"
)
def billing_history(*, scope: OrgReader, cl: Engine, limit: Limit = 100) -> list[BillingRecordOut]:
    return [BillingRecordOut.of(r) for r in cl.billing_history(scope.org_id, limit)]


@router.post(
    "/webhooks/stripe",
    summary="Stripe webhook endpoint (signed; no API key)",
    description="Verifies the `Stripe-Signature` over the raw body, deduplicates by event "
    "id and acts on the re-fetched state. 200 for an event processed, ignored or already "
    "processed; 400 for a delivery that does not verify; 502 when Stripe could not be "
    "asked, so that Stripe retries.",
    openapi_extra={
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "description": '`t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">`.',
                "schema": {"type": "string", "minLength": 1},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["id", "type"],
                        "properties": {
                            "id": {"type": "string", "minLength": 1},
                            "type": {"type": "string"},
                        },
                    }
                }
            },
        },
    },
)
async def stripe_webhook(*, request: Request, cl: Engine, meter: Meter) -> WebhookOut:
    payload = await request.body()
    signature = request.headers.get("Stripe-Signature")
    try:
        if not signature:  # refused before anything else is asked, configured or not
            raise WebhookRejected("stripe", "No Stripe-Signature header")
        # The engine's calls block (database, Stripe): off the event loop.
        outcome = await run_in_threadpool(cl.handle_webhook, payload, signature)
    except (WebhookRejected, PaymentProviderError):
        meter.webhook_failures.labels("stripe").inc()
        raise
    return WebhookOut(received=True, event_id=outcome.event_id, outcome=outcome.outcome)
