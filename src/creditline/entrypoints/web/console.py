"""The operator console (``/console``): the platform's staff sign in with an operator
API key (only an operator's; checked again on every request, so revoking the key ends
the session) and see every organization.

Pages: organizations with their balance and state (searchable); an organization's
detail (its balance by kind, state, plan, recent ledger) with its portal (opened
read-only or as the customer), and the grant and adjustment forms, each requiring a
reason that becomes the ledger entry's cause (``operator:<reason>``); plans, packs and
rate cards (a rate card pasted as TOML or JSON is validated, showing every problem, or
loaded as a new version); what if (a pasted draft card re-prices a past period's usage,
nothing loaded); the webhook delivery log; the payment provider's events and
the purchases; the contact-sales requests of the organizations that cannot buy
self-serve in their country (and an organization's country, on its page). The month's
revenue is :mod:`.console_revenue`'s page.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from creditline.bootstrap import Creditline
from creditline.domain.amounts import parse_credits
from creditline.domain.api_keys import Role
from creditline.domain.deliveries import DeliveryStatus
from creditline.domain.errors import (
    AuthenticationFailed,
    CreditlineError,
    InvalidRateCard,
    InvalidSetting,
)
from creditline.domain.grants import GrantKind, GrantSource, SourceType
from creditline.domain.pricing import RateCard
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.whatif import WhatIf
from creditline.entrypoints.web import views
from creditline.entrypoints.web.render import WebRoute, credits_text, redirect, signed_credits
from creditline.entrypoints.web.sessions import (
    Engine,
    Form,
    Operator,
    OperatorForm,
    OperatorSession,
    Settings,
    act,
    clear_console,
    done,
    new_console_session,
    read_form,
    set_console,
    show,
)

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)

REASON_LENGTH = 200
"""The longest reason a grant or an adjustment may give (it is the entry's cause)."""


def _context(who: OperatorSession, active: str) -> dict[str, Any]:
    return {"area": "console", "operator": who, "csrf": who.csrf, "active": active}


# -- signing in ---------------------------------------------------------------------------------


@router.get("/console/login")
def login_page(request: Request, cl: Engine) -> HTMLResponse:
    return show(request, cl, "console/login.html", {"area": "console", "error": None})


@router.post("/console/login")
async def login(request: Request, cl: Engine, settings: Settings) -> Response:
    """Sign in with an operator API key: a console session, or the form again."""
    text = (await read_form(request)).get("api_key")
    try:
        key = await run_in_threadpool(cl.authenticate, text)
    except AuthenticationFailed:
        key = None
    if key is None or key.role is not Role.OPERATOR:
        error = (
            "That key is not valid."
            if key is None
            else "Only an operator key signs in to the console."
        )
        return show(
            request, cl, "console/login.html", {"area": "console", "error": error}, status=401
        )
    session = new_console_session(key.id, key.name, cl.clock.now(), settings)
    response = redirect("/console/orgs")
    set_console(response, request, cl, session)
    return response


@router.post("/console/logout")
def logout(request: Request, cl: Engine, form: OperatorForm) -> Response:
    response = redirect("/console/login")
    clear_console(response)
    return response


@router.get("/console")
@router.get("/console/")
def home(who: Operator) -> Response:
    return redirect("/console/orgs")


# -- organizations -------------------------------------------------------------------------------


@router.get("/console/orgs")
def orgs(request: Request, cl: Engine, who: Operator, settings: Settings) -> HTMLResponse:
    search = request.query_params.get("q", "").strip()
    after = request.query_params.get("after") or None
    found = cl.dashboard.find_orgs(search or None, settings.page_size + 1, after)
    shown = found[: settings.page_size]
    return show(
        request,
        cl,
        "console/orgs.html",
        {
            **_context(who, "orgs"),
            "summaries": shown,
            "search": search,
            "next_after": shown[-1].org.id if len(found) > settings.page_size else None,
        },
    )


@router.get("/console/orgs/{org_id}")
def org(org_id: str, request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    overview = cl.overview(org_id)
    metering = cl.metering(org_id)
    entries = cl.history(org_id, 25)
    names = {p.id: p.name for p in cl.projects(org_id)} | {m.id: m.name for m in cl.members(org_id)}
    return show(
        request,
        cl,
        "console/org.html",
        {
            **_context(who, "orgs"),
            "org": cl.get_org(org_id),
            "ov": overview,
            "metering": metering,
            "depletion_rule": views.depletion_rule(metering),
            "subscription": cl.subscription(org_id),
            "members": cl.members(org_id),
            "rows": [(e, views.cause_view(e.cause, prefix=None)) for e in entries],
            "names": names,
            "kinds": [k.value for k in GrantKind],
            "reason_length": REASON_LENGTH,
            "self_serve": cl.self_serve(org_id),
            "quotes": views.quote_rows(cl.binding_quotes(org_id, 10), cl.clock.now()),
        },
    )


@router.post("/console/orgs/{org_id}/country")
def set_country(
    org_id: str, request: Request, cl: Engine, who: Operator, form: OperatorForm
) -> Response:
    """Set or remove an organization's country (it decides self-serve buying)."""
    cl.get_org(org_id)

    def work() -> str:
        code = form.get("country").strip()
        changed = cl.update_org(org_id, country=code or None, clear_country=not code)
        state = "buys self-serve" if cl.self_serve(org_id).available else "contacts sales"
        return f"Country: {changed.country or 'none'}; the organization {state}."

    return act(request, cl, f"/console/orgs/{org_id}", work)


def _reason(form: Form) -> str:
    reason = form.get("reason")
    if not reason:
        raise InvalidSetting("reason", reason, "say why: the reason is the ledger entry's cause")
    if len(reason) > REASON_LENGTH:
        raise InvalidSetting("reason", reason[:20] + "...", f"at most {REASON_LENGTH} characters")
    return reason


def _expiry(form: Form) -> datetime | None:
    text = form.get("expires_on")
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise InvalidSetting("expires_on", text, "a date, YYYY-MM-DD") from None


@router.post("/console/orgs/{org_id}/grants")
def grant(org_id: str, request: Request, cl: Engine, who: Operator, form: OperatorForm) -> Response:
    """Grant credits as an operator: the reason is the grant entry's cause."""
    cl.get_org(org_id)

    def work() -> str:
        reason = _reason(form)
        made = cl.grant(
            org_id,
            parse_credits(form.get("amount")),
            form.get("kind") or GrantKind.PROMOTIONAL,
            expires_at=_expiry(form),
            source=GrantSource(SourceType.OPERATOR, reason),
            metadata={"operator_key": who.key_id, "reason": reason},
        )
        return f"Granted {credits_text(made.amount)} {made.kind.value} credits ({made.id})."

    return act(request, cl, f"/console/orgs/{org_id}", work)


@router.post("/console/orgs/{org_id}/adjustments")
def adjust(
    org_id: str, request: Request, cl: Engine, who: Operator, form: OperatorForm
) -> Response:
    """Correct the balance up or down: the reason is the adjustment's cause."""
    cl.get_org(org_id)

    def work() -> str:
        reason = _reason(form)
        amount = parse_credits(form.get("amount"))
        cl.adjust(org_id, amount, reason)
        return f"Adjusted by {signed_credits(amount)} credits."

    return act(request, cl, f"/console/orgs/{org_id}", work)


@router.post("/console/orgs/{org_id}/portal")
def open_portal(
    org_id: str, request: Request, cl: Engine, who: Operator, form: OperatorForm
) -> Response:
    """The organization's portal, as its users see it: a one-minute link, followed now."""
    link = cl.create_portal_session(org_id, read_only=form.get("mode") != "act", ttl_seconds=60)
    return redirect(link.url)


# -- catalogue -----------------------------------------------------------------------------------


@router.get("/console/plans")
def plans(request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    return show(request, cl, "console/plans.html", {**_context(who, "plans"), "plans": cl.plans()})


@router.get("/console/packs")
def packs(request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    catalogue = cl.packs()
    return show(
        request,
        cl,
        "console/packs.html",
        {
            **_context(who, "packs"),
            "catalogue": catalogue,
            "currencies": views.catalogue_currencies(catalogue),
        },
    )


def _ratecards_page(
    request: Request,
    cl: Creditline,
    who: OperatorSession,
    *,
    source: str = "",
    syntax: str = "toml",
    checked: RateCard | None = None,
    problems: list[str] | None = None,
    loaded: RateCard | None = None,
    status: int = 200,
) -> HTMLResponse:
    return show(
        request,
        cl,
        "console/ratecards.html",
        {
            **_context(who, "ratecards"),
            "histories": cl.rate_cards(),
            "source": source,
            "syntax": syntax,
            "checked": checked,
            "problems": problems or [],
            "loaded": loaded,
        },
        status=status,
    )


@router.get("/console/ratecards")
def ratecards(request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    return _ratecards_page(request, cl, who)


@router.get("/console/ratecards/{name}/{version}")
def ratecard(name: str, version: str, request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    history = cl.rate_card_history(name)
    card = next((c for c in history.versions if c.version == version), None)
    if card is None:
        raise InvalidSetting("version", version, f"one of {[c.version for c in history.versions]}")
    document = card.to_dict()
    return show(
        request,
        cl,
        "console/ratecard.html",
        {
            **_context(who, "ratecards"),
            "card": card,
            "operations": [
                (op, json.dumps(price, ensure_ascii=False, default=str))
                for op, price in document.get("operations", {}).items()
            ],
            "document": json.dumps(document, indent=2, ensure_ascii=False, default=str),
        },
    )


def _syntax(form: Form) -> Literal["toml", "json"]:
    return "json" if form.get("syntax") == "json" else "toml"


@router.post("/console/ratecards/validate")
def validate_ratecard(
    request: Request, cl: Engine, who: Operator, form: OperatorForm
) -> HTMLResponse:
    """Check a pasted rate card without loading it: what it reads as, or every problem."""
    source, syntax = form.get("document"), _syntax(form)
    try:
        card = parse_ratecard(source, syntax=syntax)
    except InvalidRateCard as exc:
        return _ratecards_page(
            request, cl, who, source=source, syntax=syntax, problems=exc.problems, status=422
        )
    return _ratecards_page(request, cl, who, source=source, syntax=syntax, checked=card)


@router.post("/console/ratecards/load")
def load_ratecard(request: Request, cl: Engine, who: Operator, form: OperatorForm) -> HTMLResponse:
    """Load a pasted rate card as a new version (every problem shown when it cannot)."""
    source, syntax = form.get("document"), _syntax(form)
    try:
        card = cl.load_rate_card(source, syntax)
    except InvalidRateCard as exc:
        return _ratecards_page(
            request, cl, who, source=source, syntax=syntax, problems=exc.problems, status=422
        )
    except CreditlineError as exc:
        return _ratecards_page(
            request, cl, who, source=source, syntax=syntax, problems=[str(exc)], status=409
        )
    return _ratecards_page(request, cl, who, loaded=card)


# -- what if ------------------------------------------------------------------------------------


def _day(form: Form, name: str) -> datetime | None:
    """A date field as midnight UTC (``None`` when empty)."""
    text = form.get(name)
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise InvalidSetting(name, text, "a date, YYYY-MM-DD") from None


def _whatif_page(
    request: Request, cl: Creditline, who: OperatorSession, form: Form | None = None,
    *, report: WhatIf | None = None, problems: list[str] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    fields = {k: form.get(k) if form else "" for k in ("document", "since", "until", "org")}
    return show(
        request,
        cl,
        "console/whatif.html",
        {
            **_context(who, "ratecards"),
            **fields,
            "syntax": _syntax(form) if form else "toml",
            "report": report,
            "names": {} if report is None else _names(cl, report),
            "problems": problems or [],
        },
        status=status,
    )


NAMED_ORGS = 200
"""Up to this many organizations in a what-if report are shown by name (else by id)."""


def _names(cl: Creditline, report: WhatIf) -> dict[str, str]:
    """The name of each organization in the report, by id."""
    ids = sorted({i.org_id for i in report.impacts})
    return {} if len(ids) > NAMED_ORGS else {org: cl.get_org(org).name for org in ids}


@router.get("/console/whatif")
def whatif(request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    return _whatif_page(request, cl, who)


@router.post("/console/whatif")
def run_whatif(request: Request, cl: Engine, who: Operator, form: OperatorForm) -> HTMLResponse:
    """Re-price past usage by a pasted draft: the table, or every problem. Nothing is
    loaded or written."""
    try:
        since = _day(form, "since")
        if since is None:
            raise InvalidSetting("since", "", "a date, YYYY-MM-DD: where the period starts")
        report = cl.what_if(
            form.get("document"), since=since, until=_day(form, "until"),
            org_id=form.get("org") or None, syntax=_syntax(form),
        )  # fmt: skip
    except InvalidRateCard as exc:
        return _whatif_page(request, cl, who, form, problems=exc.problems, status=422)
    except CreditlineError as exc:
        return _whatif_page(request, cl, who, form, problems=[str(exc)], status=422)
    return _whatif_page(request, cl, who, form, report=report)


# -- webhooks and payments -----------------------------------------------------------------------


@router.get("/console/webhooks")
def webhooks(request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    status = request.query_params.get("status", "")
    chosen = status if status in {s.value for s in DeliveryStatus} else None
    deliveries = cl.webhook_deliveries(None, status=chosen, limit=200)
    endpoints = cl.webhook_endpoints()
    owners = {d.org_id for d in deliveries} | {e.org_id for e in endpoints}
    return show(
        request,
        cl,
        "console/webhooks.html",
        {
            **_context(who, "webhooks"),
            "deliveries": deliveries,
            "endpoints": endpoints,
            "org_names": {o: cl.get_org(o).name for o in owners if o},
            "status": chosen or "",
            "statuses": [s.value for s in DeliveryStatus],
        },
    )


@router.get("/console/deliveries/{delivery_id}")
def delivery(delivery_id: str, request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    return show(
        request,
        cl,
        "console/delivery.html",
        {**_context(who, "webhooks"), "delivery": cl.webhook_delivery(delivery_id)},
    )


@router.post("/console/deliveries/{delivery_id}/redeliver")
def redeliver(
    delivery_id: str, request: Request, cl: Engine, who: Operator, form: OperatorForm
) -> Response:
    cl.redeliver_webhook(delivery_id)
    return done(request, cl, f"/console/deliveries/{delivery_id}", "Queued to be sent again.")


@router.get("/console/payments")
def payments(request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    return show(
        request,
        cl,
        "console/payments.html",
        {
            **_context(who, "payments"),
            "events": cl.dashboard.payment_events(200),
            "purchases": cl.dashboard.recent_purchases(200),
            "provider": cl.payments.name,
            "enabled": cl.payments.enabled,
        },
    )


# -- contact sales (country gating, D8) -----------------------------------------------------


@router.get("/console/sales")
def sales(request: Request, cl: Engine, who: Operator) -> HTMLResponse:
    """Every organization's contact-sales requests, newest first."""
    found = cl.sales_requests(None, 200)
    owners = {r.org_id for r in found}
    members = {m.id: m for o in owners for m in cl.members(o)}
    return show(
        request,
        cl,
        "console/sales.html",
        {
            **_context(who, "sales"),
            "requests": found,
            "org_names": {o: cl.get_org(o).name for o in owners},
            "members": members,
            "countries": cl.self_serve_countries,
        },
    )
