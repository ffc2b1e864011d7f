"""The web dashboard over the API: links into an organization's customer portal (the
convention of Stripe's billing portal), and a test send to a webhook endpoint.

A platform's backend, whose user is already signed in, asks for a portal session and
redirects the user to its ``url``: the link opens a browser session scoped to that
organization (and member), read-only if asked, and stops opening after ``ttl_seconds``.
"""

from __future__ import annotations

from fastapi import Request

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.alerts import (
    DeliveryOut,
)
from creditline.entrypoints.api.schemas.portal import (
    PortalSessionCreate,
    PortalSessionOut,
)
from creditline.entrypoints.api.security import OrgWriter

router = make_router("organizations")

__all__ = ["router"]


@router.post(
    "/v1/orgs/{org_id}/portal_sessions",
    status_code=201,
    summary="A short-lived link into the organization's customer portal",
    description="Redirect the (already signed-in) user to `url`. The link opens a browser "
    "session of the organization (and `member_id`), read-only if asked; it stops opening "
    "after `ttl_seconds`. An organization's key or an operator's.",
)
def create_portal_session(
    *, body: PortalSessionCreate, scope: OrgWriter, cl: Engine, request: Request
) -> PortalSessionOut:
    session = cl.create_portal_session(
        scope.org_id,
        member_id=body.member_id,
        read_only=body.read_only,
        ttl_seconds=body.ttl_seconds,
    )
    return PortalSessionOut.of(session, str(request.base_url))


@router.post(
    "/v1/orgs/{org_id}/webhook-endpoints/{endpoint_id}/test",
    status_code=201,
    tags=["alerts"],
    summary="Queue a signed webhook.test delivery to one of the organization's endpoints",
)
def queue_test_webhook(*, scope: OrgWriter, endpoint_id: str, cl: Engine) -> DeliveryOut:
    return DeliveryOut.of(cl.queue_test_webhook(scope.org_id, endpoint_id))
