"""The operator's revenue report: a month's deferred revenue and breakage at cost basis
(:mod:`creditline.domain.revenue`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.revenue import RevenueOut
from creditline.entrypoints.api.security import OperatorKey
from creditline.entrypoints.revenue_export import revenue_csv

router = make_router("billing")

__all__ = ["router"]

_MONTH = r"^(19[7-9]\d|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-(0[1-9]|1[0-2])$"
"""``YYYY-MM`` from 1970-01 to 9998-12 (the months the engine reports)."""


@router.get(
    "/v1/reports/revenue",
    summary="A month's deferred revenue and breakage at cost basis, per currency (operator)",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV (format=csv)."}},
    response_model=RevenueOut,
)
def revenue_report(
    *,
    cl: Engine,
    _: OperatorKey,
    month: Annotated[
        str,
        Query(
            pattern=_MONTH,
            description="A calendar month in UTC, from 1970-01 to 9998-12.",
            examples=["2026-11"],
        ),
    ],
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Per currency: credits sold and their cash; consumed (revenue recognised) and
    expired unused (breakage), each valued at the cost basis of the grants that paid;
    refunded; and the liability at the month's start and end (credits still spendable,
    held ones included). Each line reconciles to the minor unit: opening + sold -
    consumed - expired - refunded - adjusted = closing. Credits with no cash are apart,
    per kind, and flex (billed in arrears) apart again."""
    report = cl.revenue_report(month)
    if format == "csv":
        return Response(revenue_csv(report), media_type="text/csv")
    return RevenueOut.of(report)
