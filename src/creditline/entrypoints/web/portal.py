"""The customer portal (``/portal``): an organization's credits as its own users see
them, opened by a portal link (:meth:`creditline.Creditline.create_portal_session`).

Pages: the overview (the credit counter, the cycle, the burn-down and its forecast, the
state banner), usage (by project, operation or member, per day, week or month; CSV),
transactions (the ledger, each entry's cause linked to what explains it: a usage event
and its components, a batch's events, a purchase), buying credits (packs and any
amount, through the payment provider's checkout; the purchase page waits for the
payment's webhook), purchases and invoices (receipts, invoice HTML and PDF), alerts
(rules, webhook endpoints, the delivery log, a test send) and the plan.

**Tenancy.** Every page takes the organization from the session cookie (see
:mod:`.sessions`), never from the URL: an id of another organization's thing in a URL is
not found (404), exactly like one that does not exist. **Read-only** sessions see every
page without its forms; their posts are refused (403).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from creditline.bootstrap import Creditline
from creditline.domain.alerts import AlertKind, Channel, event_types
from creditline.domain.amounts import parse_credits
from creditline.domain.deliveries import DeliveryStatus
from creditline.domain.errors import (
    CreditlineError,
    InvalidSetting,
    NotFound,
    PurchaseNotFound,
    UsageEventNotFound,
)
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.money import Money, minor_digits
from creditline.domain.portal import PortalLinkExpired, PortalLinkInvalid
from creditline.domain.purchases import PurchaseStatus
from creditline.domain.reports import GROUPS, PERIODS
from creditline.entrypoints.web import describe, portal_plan, views
from creditline.entrypoints.web.render import WebRoute, page, problem_page, redirect
from creditline.entrypoints.web.sessions import (
    Engine,
    Form,
    PortalForm,
    PortalSession,
    PortalUser,
    PortalWrite,
    Settings,
    act,
    clear_portal,
    done,
    new_portal_session,
    set_portal,
    show,
)
from creditline.entrypoints.web.usage_query import usage_query

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PURCHASE_KEY_PREFIX = "portal:"
"""Purchases started from the portal carry ``portal:<random>`` as their idempotency key:
a double click buys once, and the checkout's return finds the purchase by it."""


# -- the link and the session -----------------------------------------------------------------


@router.get("/portal/session/{token}", name="portal_link")
def open_link(token: str, request: Request, cl: Engine, settings: Settings) -> Response:
    """A portal link: check it, open a session, go to the overview."""
    try:
        link = cl.open_portal_link(token)
    except PortalLinkExpired:
        return problem_page(
            request, 403, "Link expired", "This link has expired, ask for a new one."
        )
    except PortalLinkInvalid:
        return problem_page(request, 403, "Link not valid", "This link is not valid.")
    cl.get_org(link.org_id)
    session = new_portal_session(
        link.org_id, link.member_id, link.read_only, cl.clock.now(), settings
    )
    response = redirect("/portal/")
    response.headers["Referrer-Policy"] = "no-referrer"
    set_portal(response, request, cl, session)
    return response


@router.post("/portal/logout")
def logout(request: Request, who: PortalUser, form: PortalForm) -> Response:
    response = page(request, "signed_out.html", {"area": "portal", "title": "Signed out"})
    clear_portal(response)
    return response


# -- overview -----------------------------------------------------------------------------------


@router.get("/portal")
@router.get("/portal/")
def overview(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    overview = cl.overview(who.org_id, history_days=views.HISTORY_DAYS)
    can_buy = cl.payments.enabled and cl.packs() is not None and cl.self_serve(who.org_id).available
    return show(
        request,
        cl,
        "portal/overview.html",
        {
            **describe.portal_context(cl, who, "overview"),
            "ov": overview,
            "banner": views.banner(overview, can_buy),
            "can_buy": can_buy,
            "burn": views.burn_down(overview),
        },
    )


# -- usage ----------------------------------------------------------------------------------------


@router.get("/portal/usage")
def usage(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    found = usage_query(request, cl, who.org_id)
    by_operation = cl.usage_report(who.org_id, ("operation",), found["since"], found["until"])
    return show(
        request,
        cl,
        "portal/usage.html",
        {
            **describe.portal_context(cl, who, "usage"),
            **found,
            "usage_chart": views.usage_chart(found["table"]),
            "groups": GROUPS,
            "periods": PERIODS,
            "projects": cl.projects(who.org_id),
            "members": cl.members(who.org_id),
            "operations": sorted(str(r.keys[0]) for r in by_operation.rows),
            "none_key": views.NONE_KEY,
        },
    )


@router.get("/portal/usage.csv")
def usage_csv(request: Request, cl: Engine, who: PortalUser) -> Response:
    found = usage_query(request, cl, who.org_id)
    query = found["query"]
    name = f"usage-{query['group']}-{query['period']}-{query['since']}-{query['until']}.csv"
    return Response(
        views.usage_csv(found["table"]),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# -- transactions ---------------------------------------------------------------------------------


@router.get("/portal/transactions")
def transactions(request: Request, cl: Engine, who: PortalUser, settings: Settings) -> HTMLResponse:
    params = request.query_params
    kind = params.get("type", "")
    cause_type, cause_ref = params.get("cause_type", ""), params.get("cause_ref", "")
    before = params.get("before", "")
    if before and not before.isdigit():
        raise InvalidSetting("before", before, "an entry number")
    try:
        types = [EntryType(kind)] if kind else []
        cause = Cause(CauseType(cause_type), cause_ref) if cause_type and cause_ref else None
    except ValueError:
        raise InvalidSetting("filter", kind or cause_type, "a known type") from None
    size = settings.page_size
    entries = cl.history(
        who.org_id, size + 1, before_id=int(before) if before else None, types=types, cause=cause
    )
    shown = entries[:size]
    names = describe.names(cl, who.org_id)
    details = describe.entry_details(cl, who.org_id, shown)
    rows = [(e, views.cause_view(e.cause, detail=details.get(e.id))) for e in shown]
    filters = {"type": kind, "cause_type": cause_type, "cause_ref": cause_ref}
    return show(
        request,
        cl,
        "portal/transactions.html",
        {
            **describe.portal_context(cl, who, "transactions"),
            "rows": rows,
            "names": names,
            "filters": filters,
            "entry_types": [t.value for t in EntryType],
            "cause_types": [t.value for t in CauseType],
            "older": shown[-1].id if len(entries) > size else None,
            "paged": bool(before),
        },
    )


def _recorded(cl: Creditline, org_id: str, cause: Cause) -> datetime | None:
    """When the engine first recorded an entry of ``cause`` (``None``: it has none)."""
    entries = cl.history(org_id, 50, cause=cause)
    return min((e.recorded_at for e in entries), default=None)


@router.get("/portal/events/{event_id:path}")
def usage_event(event_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    """One usage event: what it was, what it cost, each component's cost, who paid."""
    stored = cl.usage_event(who.org_id, event_id)
    recorded = _recorded(cl, who.org_id, Cause(CauseType.USAGE_EVENT, event_id))
    if recorded is None and stored.batch_id is not None:
        recorded = _recorded(cl, who.org_id, Cause(CauseType.USAGE_BATCH, stored.batch_id))
    grants = {g.id: g for g in cl.grants(who.org_id)}
    payers = [
        (
            a,
            describe.grant_words(cl, who.org_id, grants[a.grant_id])
            if a.grant_id in grants
            else "",
        )
        for a in stored.allocations
    ]
    return show(
        request,
        cl,
        "portal/event.html",
        {
            **describe.portal_context(cl, who, "transactions"),
            "stored": stored,
            "event": stored.event,
            "payers": payers,
            "recorded": recorded,
            "names": describe.names(cl, who.org_id),
        },
    )


@router.get("/portal/batches/{batch_id}")
def usage_batch(batch_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    """The events of one batch, whose consumption was netted into one entry per grant."""
    events = cl.dashboard.batch_events(who.org_id, batch_id)
    if not events:
        raise UsageEventNotFound(batch_id)
    return show(
        request,
        cl,
        "portal/batch.html",
        {
            **describe.portal_context(cl, who, "transactions"),
            "batch_id": batch_id,
            "recorded": _recorded(cl, who.org_id, Cause(CauseType.USAGE_BATCH, batch_id)),
            "events": events,
            "total": sum(s.cost for s in events),
            "names": describe.names(cl, who.org_id),
        },
    )


# -- buying credits ------------------------------------------------------------------------------


@router.get("/portal/buy")
def buy(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    catalogue = cl.packs()
    offered = views.catalogue_currencies(catalogue)
    org = cl.get_org(who.org_id)
    purchases = cl.purchases(who.org_id, 20)
    auto = cl.auto_topup(who.org_id)
    asked = request.query_params.get("currency", "").upper()
    currency = (
        asked
        if asked in offered
        else views.preferred_currency(org, purchases, cl.metering(org.id).plan, offered)
    )
    return show(
        request,
        cl,
        "portal/buy.html",
        {
            **describe.portal_context(cl, who, "buy"),
            "catalogue": catalogue,
            "offers": views.pack_offers(catalogue, currency),
            "any_unit": views.any_amount_price(catalogue, currency),
            "currency": currency,
            "currencies": offered,
            "payments": cl.payments.enabled,
            "purchase_key": secrets.token_urlsafe(18),
            "cancelled": request.query_params.get("cancelled") == "1",
            "auto": auto,
            "cap_text": _major(auto.monthly_cap) if auto and auto.monthly_cap else "",
            "recurring": cl.recurring_topup(who.org_id),
            "self_serve": cl.self_serve(who.org_id),
            "sales_requests": cl.sales_requests(who.org_id, 10),
            "member_email": _member_email(cl, who),
        },
    )


def _major(money: Money) -> str:
    """Minor units as the major-unit text a form takes back (``1234`` EUR -> ``12.34``)."""
    digits = minor_digits(money.currency)
    return str(Decimal(money.minor).scaleb(-digits)) if digits else str(money.minor)


def _money_field(form: Form, name: str, currency: str) -> int | None:
    """A money field in major units (``12.50``) as minor units of ``currency``."""
    text = form.get(name)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    minor = value * 10 ** minor_digits(currency)
    if not value.is_finite() or value < 0 or minor != minor.to_integral_value():
        raise InvalidSetting(name.replace("_", " "), text, f"an amount of {currency}")
    return int(minor)


@router.post("/portal/topups/auto")
def set_auto_topup(request: Request, cl: Engine, who: PortalUser, form: PortalWrite) -> Response:
    """Automatic top-ups: the buy page's settings form."""

    def action() -> str:
        currency = form.get("currency").upper()
        buy = form.get("buy")
        amount = _credits_field(form, "credits")
        pack = buy.removeprefix("pack:") if buy.startswith("pack:") else None
        if pack is None and buy not in ("amount", "target"):
            raise InvalidSetting("buy", buy, "a pack, an amount or a target")
        threshold = _credits_field(form, "threshold")
        if threshold is None:
            raise InvalidSetting("threshold", "", "give the credits to stay above")
        setting = cl.set_auto_topup(
            who.org_id, threshold=threshold, currency=currency, pack=pack,
            credits=amount if buy == "amount" else None,
            target=amount if buy == "target" else None,
            monthly_cap=_money_field(form, "monthly_cap", currency),
            max_failures=_int_field(form, "max_failures") or 3,
        )  # fmt: skip
        return f"Automatic top-up saved: {setting.describe()} below the threshold."

    return act(request, cl, "/portal/buy", action)


@router.post("/portal/topups/auto/disable")
def disable_auto_topup(
    request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    def action() -> str:
        cl.disable_auto_topup(who.org_id)
        return "Automatic top-up off."

    return act(request, cl, "/portal/buy", action)


@router.post("/portal/topups/recurring")
def set_recurring_topup(
    request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    def action() -> str:
        day = _int_field(form, "day")
        if day is None:
            raise InvalidSetting("day", "", "a day of the month from 1 to 28")
        schedule = cl.set_recurring_topup(
            who.org_id, form.get("pack"), currency=form.get("currency").upper(), day=day
        )
        return f"Recurring top-up saved: {schedule.pack} on day {schedule.day} of every month."

    return act(request, cl, "/portal/buy", action)


@router.post("/portal/topups/recurring/cancel")
def cancel_recurring_topup(
    request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    def action() -> str:
        cl.cancel_recurring_topup(who.org_id)
        return "Recurring top-up cancelled."

    return act(request, cl, "/portal/buy", action)


def _member_email(cl: Creditline, who: PortalSession) -> str | None:
    """The signed-in member's address, if the session is a member's and it has one."""
    if who.member_id is None:
        return None
    return next((m.email for m in cl.members(who.org_id) if m.id == who.member_id), None)


@router.post("/portal/contact-sales")
def contact_sales(request: Request, cl: Engine, who: PortalUser, form: PortalWrite) -> Response:
    """Ask sales (the buy page's form when self-serve buying is not available)."""
    amount = form.get("credits")
    try:
        made = cl.contact_sales(
            who.org_id,
            form.get("pack") or None,
            credits=parse_credits(amount) if amount else None,
            message=form.get("message") or None,
            member_id=who.member_id,
            email=form.get("email") or None,
            source="portal",
        )
    except CreditlineError as exc:
        return done(request, cl, "/portal/buy", str(exc), "error")
    return done(request, cl, "/portal/buy", f"Sent to sales ({made.wants()}): we will be in touch.")


@router.post("/portal/buy")
def start_purchase(request: Request, cl: Engine, who: PortalUser, form: PortalWrite) -> Response:
    """Start a purchase and send the buyer to the provider's checkout."""
    key = form.get("purchase_key") or secrets.token_urlsafe(18)
    base = str(request.base_url).rstrip("/")
    amount = form.get("credits")
    email = _member_email(cl, who)
    try:
        purchase = cl.create_purchase(
            who.org_id,
            form.get("pack") or None,
            credits=parse_credits(amount) if amount else None,
            currency=form.get("currency").upper(),
            success_url=f"{base}/portal/purchases/return?key={key}",
            cancel_url=f"{base}/portal/buy?cancelled=1",
            email=email,
            idempotency_key=PURCHASE_KEY_PREFIX + key,
        )
    except NotFound:
        raise
    except CreditlineError as exc:
        return done(request, cl, "/portal/buy", str(exc), "error")
    if purchase.checkout_url is None or purchase.status is not PurchaseStatus.PENDING:
        return redirect(f"/portal/purchases/{purchase.id}")
    return redirect(purchase.checkout_url)


@router.get("/portal/purchases/return")
def purchase_return(request: Request, cl: Engine, who: PortalUser) -> Response:
    """Where the checkout sends the buyer back: the purchase it started."""
    key = request.query_params.get("key", "")
    if not key:
        raise PurchaseNotFound("")
    purchase = cl.dashboard.purchase_by_key(who.org_id, PURCHASE_KEY_PREFIX + key)
    return redirect(f"/portal/purchases/{purchase.id}")


@router.get("/portal/purchases/{purchase_id}")
def purchase(purchase_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    bought = cl.purchase(who.org_id, purchase_id)
    return show(
        request,
        cl,
        "portal/purchase.html",
        {**describe.portal_context(cl, who, "billing"), "purchase": bought},
    )


@router.get("/portal/purchases/{purchase_id}/status")
def purchase_status(
    purchase_id: str, request: Request, cl: Engine, who: PortalUser
) -> HTMLResponse:
    """The purchase's status panel alone (the purchase page polls it while pending)."""
    bought = cl.purchase(who.org_id, purchase_id)
    return page(request, "portal/_purchase_status.html", {"purchase": bought})


@router.post("/portal/purchases/{purchase_id}/refresh")
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


@router.get("/portal/purchases/{purchase_id}/receipt")
def receipt(purchase_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    found = cl.receipt(who.org_id, purchase_id)
    return show(
        request,
        cl,
        "portal/receipt.html",
        {**describe.portal_context(cl, who, "billing"), "receipt": found},
    )


# -- purchases and invoices ----------------------------------------------------------------------


@router.get("/portal/billing")
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


@router.get("/portal/invoices/{invoice_id}")
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


@router.get("/portal/invoices/{invoice_id}/pdf")
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


# -- alerts and webhooks -----------------------------------------------------------------------


def _alerts_context(cl: Creditline, who: PortalSession, request: Request) -> dict[str, Any]:
    status = request.query_params.get("status", "")
    chosen = status if status in {s.value for s in DeliveryStatus} else None
    return {
        **describe.portal_context(cl, who, "alerts"),
        "rules": cl.alert_rules(who.org_id),
        "endpoints": cl.webhook_endpoints(who.org_id),
        "deliveries": cl.webhook_deliveries(who.org_id, status=chosen, limit=100),
        "status": chosen or "",
        "statuses": [s.value for s in DeliveryStatus],
        "kinds": [k.value for k in AlertKind],
        "channels": [c.value for c in Channel],
        "event_types": event_types(),
        "secret": None,
    }


@router.get("/portal/alerts")
def alerts(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    return show(request, cl, "portal/alerts.html", _alerts_context(cl, who, request))


def _credits_field(form: Form, name: str) -> int | None:
    text = form.get(name)
    return parse_credits(text) if text else None


def _int_field(form: Form, name: str) -> int | None:
    text = form.get(name)
    if not text:
        return None
    if not text.isdigit():
        raise InvalidSetting(name, text, "a whole number")
    return int(text)


@router.post("/portal/alerts")
def add_alert(request: Request, cl: Engine, who: PortalUser, form: PortalWrite) -> Response:
    def action() -> str:
        rule = cl.add_alert(
            who.org_id,
            form.get("kind"),
            threshold=_credits_field(form, "threshold"),
            percent=_int_field(form, "percent"),
            days=_int_field(form, "days"),
            channels=form.getlist("channels") or None,
            email=form.get("email") or None,
        )
        return f"Alert added: {rule.describe()}."

    return act(request, cl, "/portal/alerts", action)


@router.post("/portal/alerts/{rule_id}/disable")
def disable_alert(
    rule_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    cl.disable_alert(rule_id, who.org_id)
    return done(request, cl, "/portal/alerts", "Alert removed.")


@router.post("/portal/webhooks")
def add_webhook(request: Request, cl: Engine, who: PortalUser, form: PortalWrite) -> Response:
    """Add an endpoint: the page shows its signing secret, this once."""
    try:
        endpoint = cl.add_webhook(
            form.get("url"),
            org_id=who.org_id,
            event_types=form.getlist("event_types"),
            description=form.get("description") or None,
        )
    except CreditlineError as exc:
        return done(request, cl, "/portal/alerts", str(exc), "error")
    context = _alerts_context(cl, who, request)
    context["secret"] = endpoint
    return show(request, cl, "portal/alerts.html", context, status=201)


@router.post("/portal/webhooks/{endpoint_id}/disable")
def disable_webhook(
    endpoint_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    cl.disable_webhook(endpoint_id, who.org_id)
    return done(request, cl, "/portal/alerts", "Webhook endpoint removed.")


@router.post("/portal/webhooks/{endpoint_id}/test")
def queue_test(
    endpoint_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    delivery = cl.queue_test_webhook(who.org_id, endpoint_id)
    return done(
        request,
        cl,
        "/portal/alerts",
        f"Test event {delivery.id} queued: it is sent within a minute.",
    )


@router.get("/portal/deliveries/{delivery_id}")
def delivery(delivery_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    found = cl.webhook_delivery(delivery_id, who.org_id)
    return show(
        request,
        cl,
        "portal/delivery.html",
        {**describe.portal_context(cl, who, "alerts"), "delivery": found},
    )


@router.post("/portal/deliveries/{delivery_id}/redeliver")
def redeliver(
    delivery_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    cl.redeliver_webhook(delivery_id, who.org_id)
    return done(request, cl, f"/portal/deliveries/{delivery_id}", "Queued to be sent again.")


# the plan and the price list: their own module's routes, under this router
portal_plan.add_routes(router)
