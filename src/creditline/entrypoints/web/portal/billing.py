"""Purchases (the page that waits for the payment's webhook, the receipt) and invoices
(HTML and PDF)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from creditline.entrypoints.web import describe
from creditline.entrypoints.web.render import page
from creditline.entrypoints.web.sessions import Engine, PortalUser, PortalWrite, act, show

__all__ = ["add_routes"]


# -- a purchase and its receipt ----------------------------------------------------------------


def purchase(purchase_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    bought = cl.purchase(who.org_id, purchase_id)
    return show(
        request,
        cl,
        "portal/purchase.html",
        {**describe.portal_context(cl, who, "billing"), "purchase": bought},
    )


def purchase_status(
    purchase_id: str, request: Request, cl: Engine, who: PortalUser
) -> HTMLResponse:
    """The purchase's status panel alone (the purchase page polls it while pending)."""
    bought = cl.purchase(who.org_id, purchase_id)
    return page(request, "portal/_purchase_status.html", {"purchase": bought})


def refresh_purchase(
    purchase_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    """Ask the payment provider now (\"I paid but see no credits\")."""
    back = f"/portal/purchases/{purchase_id}"
    cl.purchase(who.org_id, purchase_id)

    def action() -> str:
        found = cl.refresh_purchase(who.org_id, purchase_id)
        return f"The payment provider says: {found.status.value}."

    return act(request, cl, back, action)


def receipt(purchase_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    found = cl.receipt(who.org_id, purchase_id)
    return show(
        request,
        cl,
        "portal/receipt.html",
        {**describe.portal_context(cl, who, "billing"), "receipt": found},
    )


# -- purchases and invoices ----------------------------------------------------------------------


def billing(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    purchases = cl.purchases(who.org_id, 100)
    return show(
        request,
        cl,
        "portal/billing.html",
        {
            **describe.portal_context(cl, who, "billing"),
            "purchases": purchases,
            "by_id": {p.id: p for p in purchases},
            "invoices": cl.invoices(who.org_id, 100),
            "history": cl.billing_history(who.org_id, 100),
            "pending": cl.pending_items(who.org_id),
        },
    )


_DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def invoice_html(invoice_id: str, cl: Engine, who: PortalUser) -> Response:
    """The invoice as its own HTML document (printable)."""
    return HTMLResponse(
        cl.invoice_html(who.org_id, invoice_id),
        headers={
            "Content-Security-Policy": _DOCUMENT_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def invoice_pdf(invoice_id: str, cl: Engine, who: PortalUser) -> Response:
    invoice = cl.invoice(who.org_id, invoice_id)
    name = invoice.number or invoice.id
    return Response(
        cl.invoice_pdf(who.org_id, invoice_id),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="invoice-{name}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def add_routes(router: APIRouter) -> None:
    """Add the purchase, receipt, billing and invoice pages to the portal's ``router``."""
    router.add_api_route("/portal/purchases/{purchase_id}", purchase, methods=["GET"])
    router.add_api_route("/portal/purchases/{purchase_id}/status", purchase_status, methods=["GET"])
    router.add_api_route(
        "/portal/purchases/{purchase_id}/refresh", refresh_purchase, methods=["POST"]
    )
    router.add_api_route("/portal/purchases/{purchase_id}/receipt", receipt, methods=["GET"])
    router.add_api_route("/portal/billing", billing, methods=["GET"])
    router.add_api_route("/portal/invoices/{invoice_id}", invoice_html, methods=["GET"])
    router.add_api_route("/portal/invoices/{invoice_id}/pdf", invoice_pdf, methods=["GET"])
