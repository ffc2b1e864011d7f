"""The portal's API keys page: the organization's keys (never their secrets), each capped
one with its cap, what it used in its current window (a UTC day or month) and its room,
and the operations a limited key may charge. Added to
:data:`creditline.entrypoints.web.portal.router` by :func:`add_routes`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from creditline.entrypoints.web import describe
from creditline.entrypoints.web.sessions import Engine, PortalUser, show

__all__ = ["add_routes"]


def keys(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    return show(
        request,
        cl,
        "portal/keys.html",
        {
            **describe.portal_context(cl, who, "keys"),
            "keys": cl.api_keys(who.org_id, include_revoked=False),
        },
    )


def add_routes(router: APIRouter) -> None:
    """Add the API keys page to the portal's ``router``."""
    router.add_api_route("/portal/keys", keys, methods=["GET"])
