"""The usage report a portal page's query asks for (the usage page and its CSV)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import Request

from creditline.bootstrap import Creditline
from creditline.domain.errors import InvalidSetting
from creditline.domain.reports import GROUPS, PERIODS
from creditline.entrypoints.web import describe, views

__all__ = ["usage_query"]


def _date(text: str, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidSetting(what, text, "a date, YYYY-MM-DD") from None


def usage_query(request: Request, cl: Creditline, org_id: str) -> dict[str, Any]:
    """The usage report the query asks for: ``group``, ``period``, ``since`` and
    ``until`` (days, both included; the last 30 days by default) and a filter per
    other dimension."""
    params = request.query_params
    group = params.get("group", "project")
    period = params.get("period", "day")
    if group not in GROUPS:
        raise InvalidSetting("group", group, f"one of {', '.join(GROUPS)}")
    if period not in PERIODS:
        raise InvalidSetting("period", period, f"one of {', '.join(PERIODS)}")
    today = cl.clock.now().date()
    last = _date(params.get("until", ""), "until") or today
    first = _date(params.get("since", ""), "since") or last - timedelta(days=29)
    # "" (or none) for every value of a dimension, views.NONE_KEY for "none"
    filters: dict[str, str] = {
        dim: params[dim] for dim in GROUPS if dim != group and params.get(dim)
    }
    since = datetime.combine(first, datetime.min.time(), UTC)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    report = cl.usage_report(org_id, (group, *filters), since, until, period=period)
    names = describe.names(cl, org_id)
    table = views.usage_table(report, group, filters, names)
    query: dict[str, object] = {"group": group, "period": period, "since": first, "until": last}
    query.update(filters)
    return {"table": table, "query": query, "since": since, "until": until}
