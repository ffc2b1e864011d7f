"""What the portal's ids stand for, in words, read from the engine: a page names a cause
(``pipeline, 1 event``; ``generate_text, 7 events``; ``purchase of the starter pack``)
and a grant (``prepaid credits, purchase of the starter pack``) instead of its id; the
id stays in the page, on hover (a ``title``) and in the link it opens.

Each function reads what one page shows, once per distinct id; :func:`portal_context`
is what every portal page shows around its content (the organization, the member).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from creditline.bootstrap import Creditline
from creditline.domain.errors import NotFound
from creditline.domain.grants import Grant, SourceType
from creditline.domain.ledger import Cause, CauseType, LedgerEntry
from creditline.domain.usage import StoredUsage
from creditline.entrypoints.web import views
from creditline.entrypoints.web.sessions import PortalSession

__all__ = ["entry_details", "grant_words", "names", "portal_context"]

SHOWN_OPERATIONS = 2
"""The most operations a batch's cause names; the rest are counted."""


def portal_context(cl: Creditline, who: PortalSession, active: str) -> dict[str, Any]:
    """What every portal page shows around its content."""
    org = cl.get_org(who.org_id)
    member = None
    if who.member_id is not None:
        member = next((m for m in cl.members(org.id) if m.id == who.member_id), None)
    return {
        "area": "portal",
        "org": org,
        "member": member,
        "session": who,
        "csrf": who.csrf,
        "active": active,
        "can_write": not who.read_only,
        "billing_hold": _hold(cl, org.id),
        "grace_banner": views.grace_banner(cl.grace(org.id, limit=0), cl.payments.enabled),
    }


def _hold(cl: Creditline, org_id: str) -> dict[str, Any] | None:
    """The overdue invoice the organization is suspended for (dunning), or ``None``."""
    metering = cl.metering(org_id)
    if metering.hold is None:
        return None
    return {"number": metering.hold, "read_only": metering.depletion.value == "read_only"}


def names(cl: Creditline, org_id: str) -> dict[str, str]:
    """Projects and members by id."""
    found = {p.id: p.name for p in cl.projects(org_id)}
    found.update({m.id: m.name for m in cl.members(org_id)})
    return found


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


def _operations(names: Iterable[str]) -> str:
    found = sorted(set(names))
    shown = ", ".join(found[:SHOWN_OPERATIONS])
    more = len(found) - SHOWN_OPERATIONS
    return shown + (f" and {more} more" if more > 0 else "")


def _pack(cl: Creditline, org_id: str, purchase_id: str) -> str | None:
    try:
        return cl.purchase(org_id, purchase_id).pack
    except NotFound:
        return None


def _plan_cycle(ref: str) -> str:
    plan, _, start = ref.partition(":")
    return f"plan {plan}, cycle from {start}" if start else f"plan {plan}"


def _batch(events: list[StoredUsage], entry: LedgerEntry) -> str | None:
    """A batch's events netted into ``entry``: those of its project and member."""
    mine = [
        s
        for s in events
        if s.event.project_id == entry.project_id and s.event.member_id == entry.member_id
    ] or events
    if not mine:
        return None
    return f"{_operations(s.event.operation for s in mine)}, {_events(len(mine))}"


def _cause(cl: Creditline, org_id: str, cause: Cause, grants: dict[str, Grant]) -> str | None:
    ref = cause.ref
    if cause.type is CauseType.USAGE_EVENT:
        try:
            stored = cl.usage_event(org_id, ref)
        except NotFound:
            return None
        return f"{stored.event.operation}, 1 event"
    if cause.type in (CauseType.PURCHASE, CauseType.REFUND):
        pack = _pack(cl, org_id, ref)
        what = "purchase" if cause.type is CauseType.PURCHASE else "refund"
        return None if pack is None else f"{what} of the {pack} pack"
    if cause.type is CauseType.PLAN_CYCLE:
        return f"included credits of {_plan_cycle(ref)}"
    if cause.type is CauseType.EXPIRY:
        grant = grants.get(ref)
        return None if grant is None else f"expiry of {grant_words(cl, org_id, grant)}"
    if cause.type is CauseType.OPERATOR:
        return f"by the operator: {ref}"
    return None


def entry_details(cl: Creditline, org_id: str, entries: Iterable[LedgerEntry]) -> dict[int, str]:
    """Each entry's cause in words, by entry id (a cause that cannot be told is left
    out: shown by its id). A batch's entry counts the events of its project and member."""
    shown = list(entries)
    grants: dict[str, Grant] = {}
    if any(e.cause.type is CauseType.EXPIRY for e in shown):
        grants = {g.id: g for g in cl.grants(org_id)}
    causes: dict[Cause, str | None] = {}
    batches: dict[str, list[StoredUsage]] = {}
    found = {}
    for entry in shown:
        cause = entry.cause
        if cause.type is CauseType.USAGE_BATCH:
            if cause.ref not in batches:
                batches[cause.ref] = cl.dashboard.batch_events(org_id, cause.ref)
            words = _batch(batches[cause.ref], entry)
        else:
            if cause not in causes:
                causes[cause] = _cause(cl, org_id, cause, grants)
            words = causes[cause]
        if words is not None:
            found[entry.id] = words
    return found


def grant_words(cl: Creditline, org_id: str, grant: Grant) -> str:
    """``prepaid credits, purchase of the starter pack``; ``included credits, plan team,
    cycle from 2026-12-01``; ``promotional credits, granted by the operator``."""
    kind = f"{grant.kind.value} credits"
    source = grant.source
    if source.type is SourceType.PURCHASE:
        pack = _pack(cl, org_id, source.ref)
        return f"{kind}, purchase of the {pack} pack" if pack else f"{kind}, a purchase"
    if source.type is SourceType.PLAN:
        return f"{kind}, {_plan_cycle(source.ref)}"
    if source.type is SourceType.OPERATOR:
        return f"{kind}, granted by the operator"
    if source.type is SourceType.REFUND:
        return f"{kind}, a refund"
    return kind
