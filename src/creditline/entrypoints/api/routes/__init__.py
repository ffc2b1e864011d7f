"""The API's routes, one module per group of resources; :data:`ROUTERS` lists them in
the order the OpenAPI document shows them."""

from __future__ import annotations

from creditline.entrypoints.api.routes import (
    admin,
    alerts,
    billing,
    budgets,
    catalogue,
    events,
    grace,
    health,
    ledger,
    orgs,
    portal,
    quotes,
    reservations,
    revenue,
    sales,
    topups,
    usage,
)

__all__ = ["ROUTERS"]

ROUTERS = (
    health.router,
    orgs.router,
    ledger.router,
    grace.router,
    usage.router,
    quotes.router,
    events.router,
    reservations.router,
    budgets.router,
    catalogue.router,
    billing.router,
    topups.router,
    sales.router,
    alerts.router,
    revenue.router,
    portal.router,
    admin.router,
)
