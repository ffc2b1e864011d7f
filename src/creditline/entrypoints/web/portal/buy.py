"""Buying credits: packs and any amount, through the payment provider's checkout, the
automatic and recurring top-ups' settings, and asking sales where self-serve buying is
not available."""

from __future__ import annotations

import secrets
from decimal import Decimal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from creditline.bootstrap import Creditline
from creditline.domain.amounts import parse_credits
from creditline.domain.errors import CreditlineError, InvalidSetting, NotFound, PurchaseNotFound
from creditline.domain.money import Money, minor_digits
from creditline.domain.purchases import PurchaseStatus
from creditline.entrypoints.web import describe, views
from creditline.entrypoints.web.portal.forms import _credits_field, _int_field, _money_field
from creditline.entrypoints.web.render import redirect
from creditline.entrypoints.web.sessions import (
    Engine,
    PortalSession,
    PortalUser,
    PortalWrite,
    act,
    done,
    show,
)

__all__ = ["add_routes"]


PURCHASE_KEY_PREFIX = "portal:"
"""Purchases started from the portal carry ``portal:<random>`` as their idempotency key:
a double click buys once, and the checkout's return finds the purchase by it."""


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


def disable_auto_topup(
    request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    def action() -> str:
        cl.disable_auto_topup(who.org_id)
        return "Automatic top-up off."

    return act(request, cl, "/portal/buy", action)


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


def purchase_return(request: Request, cl: Engine, who: PortalUser) -> Response:
    """Where the checkout sends the buyer back: the purchase it started."""
    key = request.query_params.get("key", "")
    if not key:
        raise PurchaseNotFound("")
    purchase = cl.dashboard.purchase_by_key(who.org_id, PURCHASE_KEY_PREFIX + key)
    return redirect(f"/portal/purchases/{purchase.id}")


def add_routes(router: APIRouter) -> None:
    """Add the buy page and its forms to the portal's ``router``."""
    router.add_api_route("/portal/buy", buy, methods=["GET"])
    router.add_api_route("/portal/topups/auto", set_auto_topup, methods=["POST"])
    router.add_api_route("/portal/topups/auto/disable", disable_auto_topup, methods=["POST"])
    router.add_api_route("/portal/topups/recurring", set_recurring_topup, methods=["POST"])
    router.add_api_route(
        "/portal/topups/recurring/cancel", cancel_recurring_topup, methods=["POST"]
    )
    router.add_api_route("/portal/contact-sales", contact_sales, methods=["POST"])
    router.add_api_route("/portal/buy", start_purchase, methods=["POST"])
    router.add_api_route("/portal/purchases/return", purchase_return, methods=["GET"])
