"""The overview (the credit counter, the cycle, the burn-down and its forecast, the state
banner) and usage (by project, operation or member, per day, week or month; CSV; the
budgets of projects and members with their consumption this period)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from creditline.domain.reports import GROUPS, PERIODS
from creditline.entrypoints.web import describe, views
from creditline.entrypoints.web.sessions import Engine, PortalUser, show
from creditline.entrypoints.web.usage_query import usage_query

__all__ = ["add_routes"]


# -- overview -----------------------------------------------------------------------------------


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


def usage(request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    found = usage_query(request, cl, who.org_id)
    by_operation = cl.usage_report(who.org_id, ("operation",), found["since"], found["until"])
    projects, members = cl.projects(who.org_id), cl.members(who.org_id)
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
            "projects": projects,
            "members": members,
            "budgets": cl.budgets(who.org_id),
            "scope_names": {**{p.id: p.name for p in projects}, **{m.id: m.name for m in members}},
            "operations": sorted(str(r.keys[0]) for r in by_operation.rows),
            "none_key": views.NONE_KEY,
        },
    )


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


def add_routes(router: APIRouter) -> None:
    """Add the overview and the usage pages to the portal's ``router``."""
    router.add_api_route("/portal/", overview, methods=["GET"])
    router.add_api_route("/portal", overview, methods=["GET"])
    router.add_api_route("/portal/usage", usage, methods=["GET"])
    router.add_api_route("/portal/usage.csv", usage_csv, methods=["GET"])
