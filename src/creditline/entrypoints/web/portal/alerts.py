"""Alerts: the rules, webhook endpoints, the delivery log and a test send."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from creditline.bootstrap import Creditline
from creditline.domain.alerts import AlertKind, Channel, event_types
from creditline.domain.budgets import BUDGET_THRESHOLD
from creditline.domain.deliveries import DeliveryStatus
from creditline.domain.errors import CreditlineError
from creditline.entrypoints.web import describe
from creditline.entrypoints.web.portal.forms import _credits_field, _int_field
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
        "event_types": sorted({*event_types(), BUDGET_THRESHOLD}),
        "secret": None,
    }


def alerts(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    return show(request, cl, "portal/alerts.html", _alerts_context(cl, who, request))


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


def disable_alert(
    rule_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    cl.disable_alert(rule_id, who.org_id)
    return done(request, cl, "/portal/alerts", "Alert removed.")


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


def disable_webhook(
    endpoint_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    cl.disable_webhook(endpoint_id, who.org_id)
    return done(request, cl, "/portal/alerts", "Webhook endpoint removed.")


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


def delivery(delivery_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    found = cl.webhook_delivery(delivery_id, who.org_id)
    return show(
        request,
        cl,
        "portal/delivery.html",
        {**describe.portal_context(cl, who, "alerts"), "delivery": found},
    )


def redeliver(
    delivery_id: str, request: Request, cl: Engine, who: PortalUser, form: PortalWrite
) -> Response:
    cl.redeliver_webhook(delivery_id, who.org_id)
    return done(request, cl, f"/portal/deliveries/{delivery_id}", "Queued to be sent again.")


def add_routes(router: APIRouter) -> None:
    """Add the alerts page, its forms and the delivery pages to the portal's ``router``."""
    router.add_api_route("/portal/alerts", alerts, methods=["GET"])
    router.add_api_route("/portal/alerts", add_alert, methods=["POST"])
    router.add_api_route("/portal/alerts/{rule_id}/disable", disable_alert, methods=["POST"])
    router.add_api_route("/portal/webhooks", add_webhook, methods=["POST"])
    router.add_api_route(
        "/portal/webhooks/{endpoint_id}/disable", disable_webhook, methods=["POST"]
    )
    router.add_api_route("/portal/webhooks/{endpoint_id}/test", queue_test, methods=["POST"])
    router.add_api_route("/portal/deliveries/{delivery_id}", delivery, methods=["GET"])
    router.add_api_route("/portal/deliveries/{delivery_id}/redeliver", redeliver, methods=["POST"])
