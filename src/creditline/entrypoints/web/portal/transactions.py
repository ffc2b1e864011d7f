"""Transactions: the ledger, each entry's cause linked to what explains it (a usage event
and its components, a batch's events)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from creditline.bootstrap import Creditline
from creditline.domain.errors import InvalidSetting, UsageEventNotFound
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.entrypoints.web import describe, views
from creditline.entrypoints.web.sessions import Engine, PortalUser, Settings, show

__all__ = ["add_routes"]


def transactions(request: Request, cl: Engine, who: PortalUser, settings: Settings) -> HTMLResponse:
    params = request.query_params
    kind = params.get("type", "")
    cause_type, cause_ref = params.get("cause_type", ""), params.get("cause_ref", "")
    before = params.get("before", "")
    if before and not before.isdigit():
        raise InvalidSetting("before", before, "an entry number")
    try:
        types = [EntryType(kind)] if kind else []
        cause = Cause(CauseType(cause_type), cause_ref) if cause_type and cause_ref else None
    except ValueError:
        raise InvalidSetting("filter", kind or cause_type, "a known type") from None
    size = settings.page_size
    entries = cl.history(
        who.org_id, size + 1, before_id=int(before) if before else None, types=types, cause=cause
    )
    shown = entries[:size]
    names = describe.names(cl, who.org_id)
    details = describe.entry_details(cl, who.org_id, shown)
    rows = [(e, views.cause_view(e.cause, detail=details.get(e.id))) for e in shown]
    filters = {"type": kind, "cause_type": cause_type, "cause_ref": cause_ref}
    return show(
        request,
        cl,
        "portal/transactions.html",
        {
            **describe.portal_context(cl, who, "transactions"),
            "rows": rows,
            "names": names,
            "filters": filters,
            "entry_types": [t.value for t in EntryType],
            "cause_types": [t.value for t in CauseType],
            "older": shown[-1].id if len(entries) > size else None,
            "paged": bool(before),
        },
    )


def _recorded(cl: Creditline, org_id: str, cause: Cause) -> datetime | None:
    """When the engine first recorded an entry of ``cause`` (``None``: it has none)."""
    entries = cl.history(org_id, 50, cause=cause)
    return min((e.recorded_at for e in entries), default=None)


def usage_event(event_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    """One usage event: what it was, what it cost, each component's cost, who paid."""
    stored = cl.usage_event(who.org_id, event_id)
    recorded = _recorded(cl, who.org_id, Cause(CauseType.USAGE_EVENT, event_id))
    if recorded is None and stored.batch_id is not None:
        recorded = _recorded(cl, who.org_id, Cause(CauseType.USAGE_BATCH, stored.batch_id))
    grants = {g.id: g for g in cl.grants(who.org_id)}
    payers = [
        (
            a,
            describe.grant_words(cl, who.org_id, grants[a.grant_id])
            if a.grant_id in grants
            else "",
        )
        for a in stored.allocations
    ]
    return show(
        request,
        cl,
        "portal/event.html",
        {
            **describe.portal_context(cl, who, "transactions"),
            "stored": stored,
            "event": stored.event,
            "payers": payers,
            "recorded": recorded,
            "names": describe.names(cl, who.org_id),
        },
    )


def usage_batch(batch_id: str, request: Request, cl: Engine, who: PortalUser) -> HTMLResponse:
    """The events of one batch, whose consumption was netted into one entry per grant."""
    events = cl.dashboard.batch_events(who.org_id, batch_id)
    if not events:
        raise UsageEventNotFound(batch_id)
    return show(
        request,
        cl,
        "portal/batch.html",
        {
            **describe.portal_context(cl, who, "transactions"),
            "batch_id": batch_id,
            "recorded": _recorded(cl, who.org_id, Cause(CauseType.USAGE_BATCH, batch_id)),
            "events": events,
            "total": sum(s.cost for s in events),
            "names": describe.names(cl, who.org_id),
        },
    )


def add_routes(router: APIRouter) -> None:
    """Add the transactions, usage event and batch pages to the portal's ``router``."""
    router.add_api_route("/portal/transactions", transactions, methods=["GET"])
    router.add_api_route("/portal/events/{event_id:path}", usage_event, methods=["GET"])
    router.add_api_route("/portal/batches/{batch_id}", usage_batch, methods=["GET"])
