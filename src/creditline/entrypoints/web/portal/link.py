"""The portal link and the session: a link opens a session (a cookie), and signing out
ends it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from creditline.domain.portal import PortalLinkExpired, PortalLinkInvalid
from creditline.entrypoints.web.render import page, problem_page, redirect
from creditline.entrypoints.web.sessions import (
    Engine,
    PortalForm,
    PortalUser,
    Settings,
    clear_portal,
    new_portal_session,
    set_portal,
)

__all__ = ["add_routes"]


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


def logout(request: Request, who: PortalUser, form: PortalForm) -> Response:
    response = page(request, "signed_out.html", {"area": "portal", "title": "Signed out"})
    clear_portal(response)
    return response


def add_routes(router: APIRouter) -> None:
    """Add the link and signing out to the portal's ``router``."""
    router.add_api_route("/portal/session/{token}", open_link, methods=["GET"], name="portal_link")
    router.add_api_route("/portal/logout", logout, methods=["POST"])
