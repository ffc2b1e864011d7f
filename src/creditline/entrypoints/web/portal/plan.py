"""The portal's plan page (what the plan includes, gates and costs, when it renews), its
price list (each operation's price, from the organization's rate card) and its binding
quotes (each price held for one use, issued, used or expired), added to
:data:`creditline.entrypoints.web.portal.router` by :func:`add_routes`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from creditline.domain.errors import NotFound
from creditline.domain.grants import GrantKind
from creditline.domain.money import Money
from creditline.entrypoints.web import describe, views
from creditline.entrypoints.web.prices import price_list
from creditline.entrypoints.web.sessions import Engine, PortalUser, show

__all__ = ["add_routes"]


def _cheapest(cl: Engine, org_id: str) -> Money | None:
    """The lowest price of one credit bought from the catalogue, in the currency the
    organization's prices are shown in (``None``: nothing is sold)."""
    catalogue = cl.packs()
    offered = views.catalogue_currencies(catalogue)
    org = cl.get_org(org_id)
    plan = cl.metering(org_id).plan
    currency = views.preferred_currency(org, cl.purchases(org_id, 20), plan, offered)
    prices = [o.unit_price for o in views.pack_offers(catalogue, currency) if o.unit_price]
    any_unit = views.any_amount_price(catalogue, currency)
    prices += [any_unit] if any_unit else []
    return min(prices, key=lambda m: m.minor, default=None)


def plan(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    metering = cl.metering(who.org_id)
    return show(
        request,
        cl,
        "portal/plan.html",
        {
            **describe.portal_context(cl, who, "plan"),
            "metering": metering,
            "plan": metering.plan,
            "depletion_rule": views.depletion_rule(metering),
            "subscription": cl.subscription(who.org_id),
            "kinds": list(GrantKind),
            "credit_from": _cheapest(cl, who.org_id) if cl.payments.enabled else None,
        },
    )


def prices(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    """What each operation costs, in credits, by the organization's rate card."""
    metering = cl.metering(who.org_id)
    try:
        card = cl.rate_card(metering.rate_card) if metering.rate_card else cl.rate_card()
    except NotFound:
        card = None
    return show(
        request,
        cl,
        "portal/prices.html",
        {
            **describe.portal_context(cl, who, "plan"),
            "card": card,
            "lines": price_list(card) if card is not None else [],
        },
    )


def quotes(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    """The organization's binding quotes, newest first, each with its state now."""
    found = cl.binding_quotes(who.org_id)
    return show(
        request,
        cl,
        "portal/quotes.html",
        {
            **describe.portal_context(cl, who, "plan"),
            "quotes": views.quote_rows(found, cl.clock.now()),
        },
    )


def add_routes(router: APIRouter) -> None:
    """Add the plan page, the price list and the quotes to the portal's ``router``."""
    router.add_api_route("/portal/plan", plan, methods=["GET"])
    router.add_api_route("/portal/prices", prices, methods=["GET"])
    router.add_api_route("/portal/quotes", quotes, methods=["GET"])
