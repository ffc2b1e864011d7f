"""The customer portal (``/portal``): an organization's credits as its own users see
them, opened by a portal link (:meth:`creditline.Creditline.create_portal_session`).

Pages: the overview (the credit counter, the cycle, the burn-down and its forecast, the
state banner), usage (by project, operation or member, per day, week or month; CSV),
transactions (the ledger, each entry's cause linked to what explains it: a usage event
and its components, a batch's events, a purchase), buying credits (packs and any
amount, through the payment provider's checkout; the purchase page waits for the
payment's webhook), purchases and invoices (receipts, invoice HTML and PDF), alerts
(rules, webhook endpoints, the delivery log, a test send), the plan and the API keys
(each capped key's cap, used and room): a module a group
of pages, each with its routes, gathered here in one ``router``.

**Tenancy.** Every page takes the organization from the session cookie (see
:mod:`creditline.entrypoints.web.sessions`), never from the URL: an id of another
organization's thing in a URL is not found (404), exactly like one that does not exist.
**Read-only** sessions see every page without its forms; their posts are refused (403).
"""

from __future__ import annotations

from fastapi import APIRouter

from creditline.entrypoints.web.portal import (
    alerts,
    billing,
    buy,
    keys,
    link,
    overview,
    plan,
    transactions,
)  # fmt: skip
from creditline.entrypoints.web.render import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)
# in this order: /portal/purchases/return (buy) comes before /portal/purchases/{purchase_id}
for _pages in (link, overview, transactions, buy, billing, alerts, plan, keys):
    _pages.add_routes(router)
