"""The operator console's revenue page (``/console/revenue``): a month's deferred revenue
and breakage at cost basis per currency, credits with no cash and flex apart, with the
month's CSV (:mod:`creditline.domain.revenue`). The month is picked with a GET form
(``?month=2026-11``); by default the month now running (UTC)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from creditline.domain.errors import InvalidSetting
from creditline.entrypoints.revenue_export import FLOWS, revenue_csv
from creditline.entrypoints.web.render import WebRoute
from creditline.entrypoints.web.sessions import Engine, Operator, show

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/console/revenue", response_model=None)
def revenue(request: Request, cl: Engine, who: Operator, month: str = "") -> HTMLResponse:
    picked = month or f"{cl.clock.now():%Y-%m}"
    context = {
        "area": "console", "operator": who, "csrf": who.csrf, "active": "revenue",
        "month": picked, "flows": FLOWS, "report": None, "no_cash": (), "problems": [],
    }  # fmt: skip
    try:
        report = cl.revenue_report(picked)
    except InvalidSetting as exc:
        context["problems"] = [str(exc)]
        return show(request, cl, "console/revenue.html", context, status=422)
    context["report"] = report
    context["no_cash"] = report.free + (() if report.flex is None else (report.flex,))
    return show(request, cl, "console/revenue.html", context)


@router.get("/console/revenue.csv", response_model=None)
def revenue_export(cl: Engine, who: Operator, month: str) -> Response:
    """The month's report as CSV (the API's and the CLI's)."""
    report = cl.revenue_report(month)
    headers = {"Content-Disposition": f'attachment; filename="revenue-{report.month}.csv"'}
    return Response(revenue_csv(report), media_type="text/csv", headers=headers)
