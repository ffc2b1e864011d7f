"""Alerts (E2): an organization's alert rules, the webhook endpoints that receive their
events, and the delivery log; the operator's endpoints for every organization, and the
runs the scheduler makes (evaluating the rules, sending what is due).

An organization's key sees and changes only its own rules, endpoints and deliveries:
another organization's answer 404, as if they did not exist. An endpoint's signing
secret is answered once, when it is added.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from creditline.domain.deliveries import DeliveryStatus
from creditline.entrypoints.api.problems import problem
from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.alerts import (
    AlertEventOut,
    AlertFailureOut,
    AlertRuleCreate,
    AlertRuleOut,
    AlertRunOut,
    DeliveryOut,
    DeliveryRunOut,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)
from creditline.entrypoints.api.schemas.common import (
    ProblemOut,
)
from creditline.entrypoints.api.security import OperatorKey, OrgReader, OrgWriter

router = make_router("alerts")

__all__ = ["router"]

Limit = Annotated[int, Query(ge=1, le=10_000, description="At most this many, newest first.")]
IncludeDisabled = Annotated[bool, Query(description="Also the disabled ones.")]
EndpointFilter = Annotated[str | None, Query(max_length=200, description="Of one endpoint.")]
StatusFilter = Annotated[DeliveryStatus | None, Query(description="Of one status.")]


# -- an organization's alert rules ------------------------------------------------------


@router.post(
    "/v1/orgs/{org_id}/alerts",
    status_code=201,
    summary="Add an alert rule; it fires once per crossing",
)
def add_alert(*, body: AlertRuleCreate, scope: OrgWriter, cl: Engine) -> AlertRuleOut:
    rule = cl.add_alert(
        scope.org_id,
        body.kind,
        threshold=body.micros("threshold"),
        rearm_above=body.micros("rearm_above"),
        percent=body.percent,
        rearm_percent=body.rearm_percent,
        days=body.days,
        rearm_days=body.rearm_days,
        lookback_days=body.lookback_days,
        channels=body.channels,
        email=body.email,
    )
    return AlertRuleOut.of(rule)


@router.get("/v1/orgs/{org_id}/alerts", summary="Alert rules with their states, oldest first")
def list_alerts(
    *, scope: OrgReader, cl: Engine, include_disabled: IncludeDisabled = False
) -> list[AlertRuleOut]:
    return [AlertRuleOut.of(r) for r in cl.alert_rules(scope.org_id, include_disabled)]


@router.post(
    "/v1/orgs/{org_id}/alerts/{rule_id}/disable",
    summary="Disable an alert rule (it is kept with its deliveries)",
)
def disable_alert(*, scope: OrgWriter, rule_id: str, cl: Engine) -> AlertRuleOut:
    return AlertRuleOut.of(cl.disable_alert(rule_id, scope.org_id))


# -- an organization's webhook endpoints and deliveries -----------------------------------


@router.post(
    "/v1/orgs/{org_id}/webhook-endpoints",
    status_code=201,
    summary="Add a webhook endpoint for the organization's alerts; its `secret` is shown once",
)
def add_webhook(
    *, body: WebhookEndpointCreate, scope: OrgWriter, cl: Engine
) -> WebhookEndpointCreated:
    endpoint = cl.add_webhook(
        body.url, org_id=scope.org_id, event_types=body.event_types, description=body.description
    )
    return WebhookEndpointCreated.created(endpoint)


@router.get(
    "/v1/orgs/{org_id}/webhook-endpoints",
    summary="The organization's webhook endpoints (never their secrets), oldest first",
)
def list_webhooks(
    *, scope: OrgReader, cl: Engine, include_disabled: IncludeDisabled = False
) -> list[WebhookEndpointOut]:
    found = cl.webhook_endpoints(scope.org_id, include_disabled)
    return [WebhookEndpointOut.of(e) for e in found]


@router.post(
    "/v1/orgs/{org_id}/webhook-endpoints/{endpoint_id}/disable",
    summary="Disable a webhook endpoint: nothing more is sent to it",
)
def disable_webhook(*, scope: OrgWriter, endpoint_id: str, cl: Engine) -> WebhookEndpointOut:
    return WebhookEndpointOut.of(cl.disable_webhook(endpoint_id, scope.org_id))


@router.get(
    "/v1/orgs/{org_id}/webhook-deliveries",
    summary="The delivery log of the organization's events, newest first",
)
def list_deliveries(
    *,
    scope: OrgReader,
    cl: Engine,
    endpoint_id: EndpointFilter = None,
    status: StatusFilter = None,
    limit: Limit = 100,
) -> list[DeliveryOut]:
    found = cl.webhook_deliveries(scope.org_id, endpoint_id=endpoint_id, status=status, limit=limit)
    return [DeliveryOut.of(d) for d in found]


@router.get(
    "/v1/orgs/{org_id}/webhook-deliveries/{delivery_id}",
    summary="One delivery with every attempt",
)
def get_delivery(*, scope: OrgReader, delivery_id: str, cl: Engine) -> DeliveryOut:
    return DeliveryOut.of(cl.webhook_delivery(delivery_id, scope.org_id))


@router.post(
    "/v1/orgs/{org_id}/webhook-deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again (due now, the same webhook-id), whatever its status",
)
def redeliver(*, scope: OrgWriter, delivery_id: str, cl: Engine) -> DeliveryOut:
    return DeliveryOut.of(cl.redeliver_webhook(delivery_id, scope.org_id))


# -- the operator's: every organization's, and the runs ---------------------------------


@router.post(
    "/v1/alerts/{rule_id}/disable", summary="Disable any organization's alert rule (operator)"
)
def disable_any_alert(*, rule_id: str, cl: Engine, _: OperatorKey) -> AlertRuleOut:
    return AlertRuleOut.of(cl.disable_alert(rule_id))


@router.post(
    "/v1/alerts/evaluate",
    summary="Evaluate every alert rule now (operator); the scheduler's tick does it too",
)
def evaluate_alerts(*, cl: Engine, _: OperatorKey) -> AlertRunOut:
    run = cl.evaluate_alerts()
    return AlertRunOut(
        organizations=run.organizations,
        events=[
            AlertEventOut(
                type=e.type, org_id=e.org_id, rule_id=e.rule_id, at=e.at, data=dict(e.data)
            )
            for e in run.events
        ],
        rearmed=run.rearmed,
        deliveries=run.deliveries,
        failed=[
            AlertFailureOut(org_id=org, problem=ProblemOut.model_validate(problem(exc)))
            for org, exc in run.failed
        ],
    )


@router.post(
    "/v1/webhook-endpoints",
    status_code=201,
    summary="Add a webhook endpoint for every organization's alerts (operator); its "
    "`secret` is shown once",
)
def add_operator_webhook(
    *, body: WebhookEndpointCreate, cl: Engine, _: OperatorKey
) -> WebhookEndpointCreated:
    endpoint = cl.add_webhook(body.url, event_types=body.event_types, description=body.description)
    return WebhookEndpointCreated.created(endpoint)


@router.get(
    "/v1/webhook-endpoints", summary="Every webhook endpoint, of any organization (operator)"
)
def list_all_webhooks(
    *, cl: Engine, _: OperatorKey, include_disabled: IncludeDisabled = False
) -> list[WebhookEndpointOut]:
    return [WebhookEndpointOut.of(e) for e in cl.webhook_endpoints(None, include_disabled)]


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/disable",
    summary="Disable any webhook endpoint (operator)",
)
def disable_any_webhook(*, endpoint_id: str, cl: Engine, _: OperatorKey) -> WebhookEndpointOut:
    return WebhookEndpointOut.of(cl.disable_webhook(endpoint_id))


@router.get("/v1/webhook-deliveries", summary="The whole delivery log, newest first (operator)")
def list_all_deliveries(
    *,
    cl: Engine,
    _: OperatorKey,
    endpoint_id: EndpointFilter = None,
    status: StatusFilter = None,
    limit: Limit = 100,
) -> list[DeliveryOut]:
    found = cl.webhook_deliveries(endpoint_id=endpoint_id, status=status, limit=limit)
    return [DeliveryOut.of(d) for d in found]


@router.post(
    "/v1/webhook-deliveries/deliver",
    summary="Send every delivery due now (operator); the scheduler's tick does it too",
)
def deliver(
    *,
    cl: Engine,
    _: OperatorKey,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Claimed at a time.")] = 100,
) -> DeliveryRunOut:
    run = cl.deliver_webhooks(limit)
    return DeliveryRunOut(
        attempted=run.attempted, delivered=run.delivered, retrying=run.retrying, failed=run.failed
    )


@router.get("/v1/webhook-deliveries/{delivery_id}", summary="Any one delivery (operator)")
def get_any_delivery(*, delivery_id: str, cl: Engine, _: OperatorKey) -> DeliveryOut:
    return DeliveryOut.of(cl.webhook_delivery(delivery_id))


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/redeliver",
    summary="Send any delivery again (operator)",
)
def redeliver_any(*, delivery_id: str, cl: Engine, _: OperatorKey) -> DeliveryOut:
    return DeliveryOut.of(cl.redeliver_webhook(delivery_id))
