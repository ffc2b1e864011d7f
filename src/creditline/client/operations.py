"""Every operation of the service, once, as the methods of both clients.

Each method has the name, the parameters and the defaults of the
:class:`~creditline.Creditline` method it mirrors, and returns the same type, built from
the service's answer (see :mod:`creditline.client.decode` for the few fields an answer
does not carry). Each is a generator of :class:`~creditline.client._wire.Call` objects
(see :mod:`creditline.client._wire`): :class:`~creditline.client.Client` runs it
synchronously, :class:`~creditline.client.AsyncClient` as a coroutine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal

from creditline.client import decode
from creditline.client._wire import (
    Call,
    Flow,
    Params,
    Reply,
    get,
    loads,
    op,
    patch,
    post,
    put,
    seg,
)
from creditline.client.decode import OrgPlan
from creditline.client.errors import error_from_problem
from creditline.domain.alerts import AlertRule
from creditline.domain.amounts import CostBasis
from creditline.domain.api_keys import ApiKey, IssuedKey, Role
from creditline.domain.balances import Balance
from creditline.domain.countries import parse_country
from creditline.domain.deliveries import Delivery, DeliveryStatus, WebhookEndpoint
from creditline.domain.errors import (
    CreditlineError,
    InvalidGrant,
    InvalidRateCard,
    InvalidSetting,
    PackNotFound,
    PlanNotFound,
    StorageError,
)
from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType
from creditline.domain.invoices import (
    BillingEvent,
    BillingRecord,
    Invoice,
    InvoiceItem,
    parse_month,
)
from creditline.domain.ledger import Cause, EntryType, LedgerEntry
from creditline.domain.organizations import Member, Organization, Project
from creditline.domain.overview import Overview
from creditline.domain.packs import Catalogue
from creditline.domain.plans import DepletionPolicy, Plan, load_plans
from creditline.domain.portal import DEFAULT_TTL_SECONDS, PortalSession, check_ttl
from creditline.domain.pricing import Quantity, Quote, RateCard, RateCardHistory, Step
from creditline.domain.purchases import Purchase, Receipt
from creditline.domain.reports import UsageReport
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.sales import SalesRequest
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.topups import AutoTopup, RecurringTopup
from creditline.domain.usage import EventResult, Metering, StoredUsage, UsageEvent, UsageStep
from creditline.services.alerts import AlertRun
from creditline.services.deliveries import DeliveryRun
from creditline.services.invoices import FlexRun
from creditline.services.purchases import CANCEL_URL, SUCCESS_URL
from creditline.services.queries import VerifyReport
from creditline.services.ratecards import DEFAULT_RATE_CARD
from creditline.services.reservations import Settlement
from creditline.services.sales import SelfServe
from creditline.services.scheduler import TickReport
from creditline.services.spending import DebitResult

__all__ = ["Operations"]

HISTORY_PAGE = 500
"""The most ledger entries the service answers in one page."""
ORGS_PAGE = 500
"""The most organizations the service answers in one page."""


# -- request bodies -----------------------------------------------------------------------


def _org(org_id: str) -> str:
    return f"/v1/orgs/{seg(org_id)}"


def _scoped(org_id: str | None, tail: str) -> str:
    """``tail`` under the organization's routes, or under the operator's (every
    organization's) when ``org_id`` is ``None``."""
    return f"/v1{tail}" if org_id is None else f"{_org(org_id)}{tail}"


def _compact(**fields: Any) -> dict[str, Any]:
    """A body without its ``None`` fields (the service's defaults apply)."""
    return {k: v for k, v in fields.items() if v is not None}


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _query(**fields: Any) -> Params:
    """A query without its ``None`` fields; a list or tuple repeats its name."""
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _param(item)) for item in items)
    return pairs


def _cause(cause: Cause | None) -> dict[str, str] | None:
    return None if cause is None else {"type": cause.type.value, "ref": cause.ref}


def _quantities(quantities: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if quantities is None else dict(quantities)


def _steps(steps: Sequence[UsageStep | Step]) -> list[dict[str, Any]] | None:
    if not steps:
        return None
    return [
        _compact(
            operation=s.operation,
            quantities=dict(s.quantities) or None,
            dimensions=dict(s.dimensions) or None,
        )
        for s in steps
    ]


def _event(event: UsageEvent) -> dict[str, Any]:
    return _compact(
        event_id=event.event_id,
        operation=event.operation,
        occurred_at=event.occurred_at,
        quantities=dict(event.quantities) or None,
        dimensions=dict(event.dimensions) or None,
        project_id=event.project_id,
        member_id=event.member_id,
        parent_id=event.parent_id,
        steps=_steps(event.steps),
        metadata=dict(event.metadata) or None,
    )


def _country(value: str | None) -> str | None:
    """A country as the service takes it, upper case, checked as the library checks it
    (any case; :class:`InvalidSetting` for a code that is not one)."""
    return None if value is None else parse_country(value)


def _scope(
    value: GrantScope | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
) -> list[dict[str, Any]] | None:
    """A grant's scope in document form, checked here as the library checks it."""
    if value is None:
        return None
    try:
        scope = value if isinstance(value, GrantScope) else parse_scope(value)
    except InvalidSetting as exc:
        raise InvalidGrant(exc.reason.split("; ")) from None
    return scope.to_document()


def _kind(value: GrantKind | str) -> GrantKind:
    try:
        return GrantKind(value)
    except ValueError:
        raise InvalidSetting("grant kind", value, f"one of {GrantKind.names()}") from None


def _seconds(ttl: timedelta) -> int:
    if not isinstance(ttl, timedelta) or ttl.total_seconds() != int(ttl.total_seconds()):
        raise InvalidSetting("time-to-live", ttl, "the service takes a whole number of seconds")
    return int(ttl.total_seconds())


def _problem_error(reply: Reply, org_id: str | None) -> CreditlineError:
    return error_from_problem(reply.json(), reply.status, org_id)


def _card_document(
    source: str | bytes | Mapping[str, Any] | RateCard, syntax: str
) -> dict[str, Any]:
    """The body loading a rate card: its document, or its TOML text (as the library
    reads it: every problem of reading it is an :class:`InvalidRateCard`)."""
    if isinstance(source, RateCard):
        return {"document": source.to_dict()}
    if isinstance(source, Mapping):
        return {"document": dict(source)}
    try:
        text = source.decode("utf-8") if isinstance(source, bytes) else source
    except UnicodeDecodeError as exc:
        raise InvalidRateCard([f"document: not valid {syntax.upper()}: {exc}"]) from None
    if syntax == "toml":
        return {"toml": text}
    if syntax != "json":
        raise InvalidRateCard([f"syntax: must be toml or json, got {syntax!r}"])
    try:
        document = loads(text)
    except ValueError as exc:
        raise InvalidRateCard([f"document: not valid JSON: {exc}"]) from None
    if not isinstance(document, Mapping):
        raise InvalidRateCard(["document: must be a table (a JSON object)"])
    return {"document": document}


# -- flows shared by several operations -----------------------------------------------------


def _get_org(org_id: str) -> Flow[Organization]:
    reply = yield get(_org(org_id), org_id=org_id)
    return decode.organization(reply.json())


def _get_plan(name: str) -> Flow[Plan]:
    """A stored plan; a plan named but not stored has every default (as the engine's)."""
    try:
        reply = yield get(f"/v1/plans/{seg(name)}")
    except PlanNotFound:
        return Plan(name)
    return decode.plan(reply.json())


def _org_plan(reply: Reply) -> Flow[OrgPlan]:
    answer = reply.json()
    org = yield from _get_org(answer["org_id"])
    stored = yield from _get_plan(answer["plan"])
    return decode.org_plan(answer, org, stored)


def _read_org_plan(org_id: str) -> Flow[OrgPlan]:
    reply = yield get(f"{_org(org_id)}/plan", org_id=org_id)
    return (yield from _org_plan(reply))


def _assign(
    org_id: str,
    plan: str | None,
    depletion: DepletionPolicy | str | None,
    flex_enabled: bool | None,
    subscribe: bool,
    *,
    currency: str | None = None,
) -> Flow[OrgPlan]:
    policy = None if depletion is None else DepletionPolicy(depletion)
    body = {"plan": plan, "subscribe": subscribe}
    body |= _compact(depletion=policy, flex_enabled=flex_enabled, currency=currency)
    reply = yield put(f"{_org(org_id)}/plan", body, org_id=org_id)
    return (yield from _org_plan(reply))


def _invoice_month(month: str | datetime | None) -> Flow[FlexRun]:
    body = _compact(month=None if month is None else parse_month(month))
    reply = yield post("/v1/invoices/run", body)
    return decode.flex_run(reply.json())


def _put_plan(plan: Plan | Mapping[str, Any], replace: bool) -> Flow[Plan]:
    document = plan.to_dict() if isinstance(plan, Plan) else dict(plan)
    reply = yield post("/v1/plans", document, params=_query(replace=replace))
    return decode.plan(reply.json())


class Operations:
    """The operations both clients share (see the module docstring)."""

    def _bind(self, operation: Any) -> Any:  # each client runs operations its own way
        raise NotImplementedError

    # -- organizations ------------------------------------------------------------------

    @op
    def create_org(
        self,
        name: str,
        external_ref: str | None = None,
        consumption_order: str | Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        country: str | None = None,
    ) -> Flow[Organization]:
        """Create an organization with a zero balance (operator)."""
        order: list[str] | None = None
        if isinstance(consumption_order, str):
            order = [k.strip() for k in consumption_order.split(",") if k.strip()]
        elif consumption_order is not None:
            order = [str(k) for k in consumption_order]
        body = _compact(
            name=name,
            external_ref=external_ref,
            consumption_order=order,
            metadata=metadata,
            country=_country(country),
        )
        reply = yield post("/v1/orgs", body)
        return decode.organization(reply.json())

    @op
    def update_org(
        self,
        org_id: str,
        *,
        name: str | None = None,
        country: str | None = None,
        clear_country: bool = False,
    ) -> Flow[Organization]:
        """Change an organization's name or country (operator)."""
        if clear_country and country is not None:
            raise InvalidSetting("country", country, "give a country or clear it, not both")
        body: dict[str, Any] = _compact(name=name, country=_country(country))
        if clear_country:
            body["country"] = None
        reply = yield patch(_org(org_id), body, org_id=org_id)
        return decode.organization(reply.json())

    @op
    def get_org(self, org_id: str) -> Flow[Organization]:
        return (yield from _get_org(org_id))

    @op
    def list_orgs(self, limit: int = 100, after_id: str | None = None) -> Flow[list[Organization]]:
        """Organizations by id, ``limit`` at most, after ``after_id`` (an organization's
        key sees only its own)."""
        found: list[Organization] = []
        cursor = after_id
        while len(found) < limit:
            size = min(limit - len(found), ORGS_PAGE)
            reply = yield get("/v1/orgs", _query(limit=size, cursor=cursor))
            page = reply.json()
            found.extend(decode.organization(o) for o in page["items"])
            cursor = page["next_cursor"]
            if cursor is None or len(page["items"]) < size:
                break
        return found

    @op
    def create_project(self, org_id: str, name: str) -> Flow[Project]:
        reply = yield post(f"{_org(org_id)}/projects", {"name": name}, org_id=org_id)
        return decode.project(reply.json())

    @op
    def add_member(self, org_id: str, name: str, email: str | None = None) -> Flow[Member]:
        body = _compact(name=name, email=email)
        reply = yield post(f"{_org(org_id)}/members", body, org_id=org_id)
        return decode.member(reply.json())

    @op
    def projects(self, org_id: str) -> Flow[list[Project]]:
        reply = yield get(f"{_org(org_id)}/projects", org_id=org_id)
        return [decode.project(p) for p in reply.json()]

    @op
    def members(self, org_id: str) -> Flow[list[Member]]:
        reply = yield get(f"{_org(org_id)}/members", org_id=org_id)
        return [decode.member(m) for m in reply.json()]

    # -- money movements ----------------------------------------------------------------

    @op
    def grant(
        self,
        org_id: str,
        amount: int,
        kind: GrantKind | str = GrantKind.PREPAID,
        *,
        expires_at: datetime | None = None,
        effective_at: datetime | None = None,
        source: GrantSource | None = None,
        cost_basis: CostBasis | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        scope: GrantScope | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    ) -> Flow[Grant]:
        """Grant ``amount`` micro-credits as a new lot (operator). The service grants
        operator credits only: ``source`` is ``GrantSource(SourceType.OPERATOR, reason)``
        (default reason ``manual``, as the library's). ``scope``: a scoped grant (B7)."""
        chosen = _kind(kind)
        if source is not None and source.type is not SourceType.OPERATOR:
            raise InvalidSetting(
                "grant source", source.type.value, "the service grants operator credits only"
            )
        basis = None
        if cost_basis is not None:
            basis = {
                "unit_price_minor": cost_basis.unit_price_minor,
                "currency": cost_basis.currency,
            }
        body = _compact(
            amount_micros=amount,
            kind=chosen.value,
            effective_at=effective_at,
            expires_at=expires_at,
            cost_basis=basis,
            reason="manual" if source is None else source.ref,
            metadata=metadata,
            scope=_scope(scope),
        )
        reply = yield post(f"{_org(org_id)}/grants", body, key=idempotency_key, org_id=org_id)
        return decode.grant(reply.json())

    @op
    def spend(
        self,
        org_id: str,
        amount: int,
        *,
        cause: Cause | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
    ) -> Flow[DebitResult]:
        """Spend ``amount`` micro-credits in the consumption order (B2); for
        ``operation``, the scoped grants covering it first (B7).

        Raises:
            InsufficientCredits: the spendable grants cannot cover it; nothing was written.
        """
        body = _compact(
            amount_micros=amount,
            project_id=project_id,
            member_id=member_id,
            cause=_cause(cause),
            metadata=metadata,
            operation=operation,
            dimensions=None if dimensions is None else dict(dimensions),
        )
        reply = yield post(f"{_org(org_id)}/spend", body, key=idempotency_key, org_id=org_id)
        return decode.debit(reply.json(), reply.replayed and idempotency_key is not None)

    @op
    def adjust(
        self, org_id: str, amount: int, reason: str, *, idempotency_key: str | None = None
    ) -> Flow[Grant | DebitResult]:
        """An operator's correction: > 0 grants an ``adjustment`` lot, < 0 takes credits."""
        body = {"amount_micros": amount, "reason": reason}
        reply = yield post(f"{_org(org_id)}/adjustments", body, key=idempotency_key, org_id=org_id)
        answer = reply.json()
        if answer.get("grant") is not None:
            return decode.grant(answer["grant"])
        return decode.debit(answer["debit"], reply.replayed and idempotency_key is not None)

    # -- reservations (C6) --------------------------------------------------------------

    @op
    def reserve(
        self,
        org_id: str,
        amount: int,
        *,
        ttl: timedelta = timedelta(hours=1),
        cause: Cause | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
    ) -> Flow[Reservation]:
        """Hold ``amount`` micro-credits for a running operation (``ttl`` in whole seconds);
        for ``operation``, from the scoped grants covering it first (B7).

        Raises:
            InsufficientCredits: the spendable grants cannot cover the hold.
        """
        body = _compact(
            amount_micros=amount,
            ttl_seconds=_seconds(ttl),
            project_id=project_id,
            member_id=member_id,
            cause=_cause(cause),
            metadata=metadata,
            operation=operation,
            dimensions=None if dimensions is None else dict(dimensions),
        )
        path = f"{_org(org_id)}/reservations"
        reply = yield post(path, body, key=idempotency_key, org_id=org_id)
        return decode.reservation(reply.json())

    @op
    def commit(
        self, org_id: str, reservation_id: str, amount: int, *, final: bool = True
    ) -> Flow[Settlement]:
        """Charge the actual cost of a held operation, from the hold first."""
        path = f"{_org(org_id)}/reservations/{seg(reservation_id)}/commit"
        reply = yield post(path, {"amount_micros": amount, "final": final}, org_id=org_id)
        return decode.settlement(reply.json())

    @op
    def release(self, org_id: str, reservation_id: str) -> Flow[Settlement]:
        """Give the whole hold back (the operation failed through a system error)."""
        path = f"{_org(org_id)}/reservations/{seg(reservation_id)}/release"
        reply = yield post(path, org_id=org_id)
        return decode.settlement(reply.json())

    @op
    def reservation(self, org_id: str, reservation_id: str) -> Flow[Reservation]:
        reply = yield get(f"{_org(org_id)}/reservations/{seg(reservation_id)}", org_id=org_id)
        return decode.reservation(reply.json())

    @op
    def reservations(
        self, org_id: str, status: ReservationStatus | str | None = None, limit: int = 100
    ) -> Flow[list[Reservation]]:
        state = None if status is None else ReservationStatus(status)
        query = _query(status=state, limit=limit)
        reply = yield get(f"{_org(org_id)}/reservations", query, org_id=org_id)
        return [decode.reservation(r) for r in reply.json()]

    # -- usage (C1) -----------------------------------------------------------------------

    @op
    def record_usage(self, events: Sequence[UsageEvent]) -> Flow[list[EventResult]]:
        """Price, gate and charge events; a result per event, in order. The events of
        one organization are one transaction (one batch request each)."""
        results: list[EventResult | None] = [None] * len(events)
        by_org: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            by_org.setdefault(event.org_id, []).append(i)
        for org_id, indexes in by_org.items():
            body = {"events": [_event(events[i]) for i in indexes]}
            reply = yield post(f"{_org(org_id)}/usage/batch", body, org_id=org_id)
            for out in reply.json()["results"]:
                error = None
                if out["problem"] is not None:
                    problem = {"type": out["problem"], "detail": out["reason"] or ""}
                    error = error_from_problem(problem, None, org_id)
                results[indexes[out["index"]]] = decode.event_result(out, error)
        return [r for r in results if r is not None]

    @op
    def record(
        self,
        org_id: str,
        event_id: str,
        operation: str,
        quantities: Mapping[str, Any] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        occurred_at: datetime | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        steps: Sequence[UsageStep] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> Flow[EventResult]:
        """Record one usage event. A refusal (402, 403) or rejection (404, 422) is a
        result with its ``error``, as the library's; it is not raised."""
        body = _compact(
            event_id=event_id,
            operation=operation,
            occurred_at=occurred_at,
            quantities=_quantities(quantities),
            dimensions=None if dimensions is None else dict(dimensions),
            project_id=project_id,
            member_id=member_id,
            steps=_steps(steps),
            metadata=None if metadata is None else dict(metadata),
        )
        reply = yield post(f"{_org(org_id)}/usage", body, org_id=org_id, problems_ok=True)
        answer = reply.json()
        if not reply.is_problem:
            return decode.event_result(answer)
        error = _problem_error(reply, org_id)
        if not isinstance(answer.get("event"), Mapping):
            raise error
        return decode.event_result(answer["event"], error)

    @op
    def void_event(self, org_id: str, event_id: str) -> Flow[StoredUsage]:
        """Cancel an event (operator): its credits go back to the grants that paid."""
        reply = yield post(f"{_org(org_id)}/usage/{seg(event_id)}/void", org_id=org_id)
        return decode.stored_usage(reply.json())

    @op
    def amend_event(
        self,
        org_id: str,
        event_id: str,
        quantities: Mapping[str, Any],
        dimensions: Mapping[str, str] | None = None,
    ) -> Flow[StoredUsage]:
        """Re-price an event with corrected usage at its own time (operator)."""
        body = _compact(
            quantities=dict(quantities), dimensions=None if dimensions is None else dict(dimensions)
        )
        reply = yield post(f"{_org(org_id)}/usage/{seg(event_id)}/amend", body, org_id=org_id)
        return decode.stored_usage(reply.json())

    @op
    def credit_back(
        self, org_id: str, event_id: str, reason: str = "acceptance criteria not met"
    ) -> Flow[Grant]:
        """Credit back an event's fee (operator): a refund grant caused by the event,
        once per event."""
        path = f"{_org(org_id)}/usage/{seg(event_id)}/credit-back"
        reply = yield post(path, {"reason": reason}, org_id=org_id)
        return decode.grant(reply.json())

    @op
    def usage_event(self, org_id: str, event_id: str) -> Flow[StoredUsage]:
        reply = yield get(f"{_org(org_id)}/usage/{seg(event_id)}", org_id=org_id)
        return decode.stored_usage(reply.json())

    @op
    def usage_events(self, org_id: str, limit: int = 100) -> Flow[list[StoredUsage]]:
        reply = yield get(f"{_org(org_id)}/usage", _query(limit=limit), org_id=org_id)
        return [decode.stored_usage(s) for s in reply.json()]

    @op
    def usage_report(
        self,
        org_id: str,
        group_by: Sequence[str] = ("project",),
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        period: str | None = None,
    ) -> Flow[UsageReport]:
        """Accepted usage grouped by ``project``, ``operation``, ``member`` and ``period``."""
        query = _query(group_by=list(group_by), period=period, since=since, until=until)
        reply = yield get(f"{_org(org_id)}/reports/usage", query, org_id=org_id)
        return decode.usage_report(reply.json())

    @op
    def overview(self, org_id: str, *, history_days: int = 0) -> Flow[Overview]:
        """The dashboard's data: credits by kind, state flags, cycle, burn-down, forecast
        (with at least ``history_days`` days of burn-down history)."""
        reply = yield get(
            f"{_org(org_id)}/overview",
            org_id=org_id,
            params=_query(history_days=history_days or None),
        )
        return decode.overview(reply.json())

    # -- plans (C4, A3, A4, D6) and billing cycles -----------------------------------------

    @op
    def put_plan(self, plan: Plan | Mapping[str, Any]) -> Flow[Plan]:
        """Store a plan, replacing one of its name (operator)."""
        return (yield from _put_plan(plan, True))

    @op
    def create_plan(self, plan: Plan | Mapping[str, Any], *, replace: bool = False) -> Flow[Plan]:
        """Store a new plan (operator).

        Raises:
            AlreadyExists: a plan of that name is stored and ``replace`` is false.
        """
        return (yield from _put_plan(plan, replace))

    @op
    def load_plans(self, text: str | bytes) -> Flow[list[Plan]]:
        """Store every plan of a TOML document of ``[[plans]]`` tables. Every problem is
        found before anything is sent; then each plan is one request (not, as in the
        library, one transaction)."""
        plans = load_plans(text)
        stored = []
        for plan in plans:
            stored.append((yield from _put_plan(plan, True)))
        return stored

    @op
    def plan(self, name: str) -> Flow[Plan]:
        reply = yield get(f"/v1/plans/{seg(name)}")
        return decode.plan(reply.json())

    @op
    def plans(self) -> Flow[list[Plan]]:
        reply = yield get("/v1/plans")
        return [decode.plan(p) for p in reply.json()]

    @op
    def assign_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> Flow[Metering]:
        """Put an organization on a plan (operator); see :meth:`Creditline.assign_plan`."""
        assigned = yield from _assign(
            org_id, plan, depletion, flex_enabled, subscribe, currency=currency
        )
        return assigned.metering

    @op
    def change_plan(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        subscribe: bool = False,
        currency: str | None = None,
    ) -> Flow[OrgPlan]:
        """:meth:`assign_plan`, answering with the plan, the subscription and the
        ``change`` it made to the billing (an :class:`OrgPlan`; the library's
        ``PlanAssigned`` also lists the renewals, which the service does not answer)."""
        return (
            yield from _assign(org_id, plan, depletion, flex_enabled, subscribe, currency=currency)
        )

    @op
    def subscribe(
        self,
        org_id: str,
        plan: str | None,
        *,
        depletion: DepletionPolicy | str | None = None,
        flex_enabled: bool | None = None,
        currency: str | None = None,
    ) -> Flow[OrgPlan]:
        """Put an organization on a plan and start its billing (operator); an
        :class:`OrgPlan` (see :meth:`change_plan`)."""
        return (yield from _assign(org_id, plan, depletion, flex_enabled, True, currency=currency))

    @op
    def org_plan(self, org_id: str) -> Flow[OrgPlan]:
        """The organization's plan, policy, read-only state and subscription (the
        service's view; the library has them as :meth:`metering`, :meth:`is_read_only`
        and :meth:`subscription`)."""
        return (yield from _read_org_plan(org_id))

    @op
    def metering(self, org_id: str) -> Flow[Metering]:
        """The organization's rate card, plan, depletion policy and flex switch."""
        found = yield from _read_org_plan(org_id)
        return found.metering

    @op
    def is_read_only(self, org_id: str) -> Flow[bool]:
        """Whether the platform should lock the organization's writes (A3)."""
        reply = yield get(f"{_org(org_id)}/plan", org_id=org_id)
        return bool(reply.json()["read_only"])

    # -- reading --------------------------------------------------------------------------

    @op
    def balance(self, org_id: str) -> Flow[Balance]:
        """The organization's balance now."""
        reply = yield get(f"{_org(org_id)}/balance", org_id=org_id)
        return decode.balance(reply.json())

    @op
    def grants(self, org_id: str, include_spent: bool = True) -> Flow[list[Grant]]:
        query = _query(include_spent=include_spent)
        reply = yield get(f"{_org(org_id)}/grants", query, org_id=org_id)
        return [decode.grant(g) for g in reply.json()]

    @op
    def history(
        self,
        org_id: str,
        limit: int = 50,
        *,
        before_id: int | None = None,
        types: Sequence[EntryType | str] = (),
        grant_id: str | None = None,
        cause: Cause | None = None,
    ) -> Flow[list[LedgerEntry]]:
        """Ledger entries, newest first (read in pages of at most 500)."""
        if not 1 <= limit <= 10_000:
            raise InvalidSetting("limit", limit, "must be between 1 and 10000")
        try:
            kinds = [EntryType(t).value for t in types]
        except ValueError as exc:
            raise InvalidSetting("entry type", types, str(exc)) from None
        found: list[LedgerEntry] = []
        cursor = None if before_id is None else str(before_id)
        while len(found) < limit:
            size = min(limit - len(found), HISTORY_PAGE)
            query = _query(
                limit=size,
                cursor=cursor,
                type=kinds,
                grant_id=grant_id,
                cause_type=None if cause is None else cause.type,
                cause_ref=None if cause is None else cause.ref,
            )
            reply = yield get(f"{_org(org_id)}/ledger", query, org_id=org_id)
            page = reply.json()
            found.extend(decode.entry(e) for e in page["items"])
            cursor = page["next_cursor"]
            if cursor is None or len(page["items"]) < size:
                break
        return found

    @op
    def verify(self) -> Flow[VerifyReport]:
        """Recompute every grant's remaining and every balance from the ledger (operator)."""
        reply = yield get("/v1/verify")
        return decode.verify_report(reply.json())

    # -- rate cards and quotes ----------------------------------------------------------

    @op
    def load_rate_card(
        self,
        source: str | bytes | Mapping[str, Any] | RateCard,
        syntax: Literal["toml", "json"] = "toml",
    ) -> Flow[RateCard]:
        """Load one rate card version (operator) and return it as stored."""
        reply = yield post("/v1/rate-cards", _card_document(source, syntax))
        return decode.rate_card(reply.json())

    @op
    def rate_cards(self) -> Flow[list[RateCardHistory]]:
        reply = yield get("/v1/rate-cards")
        return [decode.rate_card_history(h) for h in reply.json()]

    @op
    def rate_card_history(self, name: str = DEFAULT_RATE_CARD) -> Flow[RateCardHistory]:
        reply = yield get(f"/v1/rate-cards/{seg(name)}")
        return decode.rate_card_history(reply.json())

    @op
    def rate_card(
        self, name: str = DEFAULT_RATE_CARD, at: datetime | None = None
    ) -> Flow[RateCard]:
        """The version of card ``name`` in force at ``at`` (default: now)."""
        reply = yield get(f"/v1/rate-cards/{seg(name)}/current", _query(at=at))
        return decode.rate_card(reply.json())

    @op
    def set_rate_card(self, org_id: str, name: str | None) -> Flow[str]:
        """Price the organization by card ``name`` from now on (operator)."""
        reply = yield put(f"{_org(org_id)}/rate-card", {"rate_card": name}, org_id=org_id)
        return str(reply.json()["rate_card"])

    @op
    def org_rate_card(self, org_id: str) -> Flow[str]:
        reply = yield get(f"{_org(org_id)}/rate-card", org_id=org_id)
        return str(reply.json()["rate_card"])

    @op
    def quote(
        self,
        org_id: str | None,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        steps: Sequence[Step] = (),
        at: datetime | None = None,
        rate_card: str | None = None,
    ) -> Flow[Quote]:
        """What ``operation`` costs, with its breakdown, spending nothing. Without an
        organization the card (``rate_card`` or the default) is fetched and priced here."""
        if org_id is None:
            moment = at or datetime.now(UTC)
            name = rate_card or DEFAULT_RATE_CARD
            reply = yield get(f"/v1/rate-cards/{seg(name)}/current", _query(at=moment))
            card = decode.rate_card(reply.json())
            return card.price(operation, quantities, dimensions, steps=steps, at=moment)
        body = _compact(
            operation=operation,
            quantities=_quantities(quantities),
            dimensions=None if dimensions is None else dict(dimensions),
            steps=_steps(steps),
            at=at,
            rate_card=rate_card,
        )
        reply = yield post(f"{_org(org_id)}/quote", body, org_id=org_id)
        return decode.quote(reply.json())

    # -- billing: packs, purchases, refunds, invoices (D1-D6) ---------------------------

    @op
    def load_packs(self, text: str | bytes) -> Flow[Catalogue]:
        """Store the credit pack catalogue of a TOML document (operator)."""
        source = text.decode("utf-8") if isinstance(text, bytes) else text
        reply = yield put("/v1/packs", {"toml": source})
        return decode.catalogue(reply.json())

    @op
    def packs(self) -> Flow[Catalogue | None]:
        """The pack catalogue, or ``None`` when none is loaded."""
        try:
            reply = yield get("/v1/packs")
        except PackNotFound:
            return None
        return decode.catalogue(reply.json())

    @op
    def create_purchase(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        success_url: str = SUCCESS_URL,
        cancel_url: str = CANCEL_URL,
        email: str | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[Purchase]:
        """Start buying ``pack`` (or ``credits`` micro-credits): a pending purchase and
        its ``checkout_url``."""
        body = _compact(
            pack=pack,
            amount_micros=credits,
            currency=currency,
            success_url=success_url,
            cancel_url=cancel_url,
            email=email,
        )
        path = f"{_org(org_id)}/purchases"
        reply = yield post(path, body, key=idempotency_key, org_id=org_id)
        return decode.purchase(reply.json())

    @op
    def buy_on_account(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        currency: str,
        idempotency_key: str | None = None,
    ) -> Flow[Purchase]:
        """Buy on account (operator): credited now, billed on the next monthly invoice."""
        body = _compact(pack=pack, amount_micros=credits, currency=currency)
        path = f"{_org(org_id)}/purchases/on-account"
        reply = yield post(path, body, key=idempotency_key, org_id=org_id)
        return decode.purchase(reply.json())

    @op
    def refresh_purchase(self, org_id: str, purchase_id: str) -> Flow[Purchase]:
        reply = yield post(f"{_org(org_id)}/purchases/{seg(purchase_id)}/refresh", org_id=org_id)
        return decode.purchase(reply.json())

    @op
    def refund_purchase(self, org_id: str, purchase_id: str) -> Flow[Purchase]:
        reply = yield post(f"{_org(org_id)}/purchases/{seg(purchase_id)}/refund", org_id=org_id)
        return decode.purchase(reply.json())

    @op
    def purchase(self, org_id: str, purchase_id: str) -> Flow[Purchase]:
        reply = yield get(f"{_org(org_id)}/purchases/{seg(purchase_id)}", org_id=org_id)
        return decode.purchase(reply.json())

    @op
    def purchases(self, org_id: str, limit: int = 100) -> Flow[list[Purchase]]:
        reply = yield get(f"{_org(org_id)}/purchases", _query(limit=limit), org_id=org_id)
        return [decode.purchase(p) for p in reply.json()]

    @op
    def receipt(self, org_id: str, purchase_id: str) -> Flow[Receipt]:
        path = f"{_org(org_id)}/purchases/{seg(purchase_id)}/receipt"
        reply = yield get(path, org_id=org_id)
        return decode.receipt(reply.json())

    # -- automatic and recurring top-ups (D9) ---------------------------------------------

    @op
    def set_auto_topup(
        self,
        org_id: str,
        *,
        threshold: int,
        currency: str,
        pack: str | None = None,
        credits: int | None = None,
        target: int | None = None,
        monthly_cap: int | None = None,
        max_failures: int = 3,
    ) -> Flow[AutoTopup]:
        """Buy automatically below ``threshold`` micro-credits (see the library's)."""
        body = _compact(
            threshold_micros=threshold, currency=currency, pack=pack, credits_micros=credits,
            target_micros=target, monthly_cap_minor=monthly_cap, max_failures=max_failures,
        )  # fmt: skip
        reply = yield put(f"{_org(org_id)}/topups/auto", body, org_id=org_id)
        return decode.auto_topup(reply.json())

    @op
    def auto_topup(self, org_id: str) -> Flow[AutoTopup | None]:
        reply = yield get(f"{_org(org_id)}/topups/auto", org_id=org_id)
        found = reply.json()
        return None if found is None else decode.auto_topup(found)

    @op
    def disable_auto_topup(self, org_id: str) -> Flow[AutoTopup]:
        reply = yield post(f"{_org(org_id)}/topups/auto/disable", org_id=org_id)
        return decode.auto_topup(reply.json())

    @op
    def set_recurring_topup(
        self,
        org_id: str,
        pack: str,
        *,
        currency: str,
        day: int,
        starts_at: datetime | None = None,
    ) -> Flow[RecurringTopup]:
        """Buy ``pack`` every month on ``day`` (1-28, UTC)."""
        body = _compact(
            pack=pack, currency=currency, day=day,
            starts_at=None if starts_at is None else starts_at.isoformat(),
        )  # fmt: skip
        reply = yield put(f"{_org(org_id)}/topups/recurring", body, org_id=org_id)
        return decode.recurring_topup(reply.json())

    @op
    def recurring_topup(self, org_id: str) -> Flow[RecurringTopup | None]:
        reply = yield get(f"{_org(org_id)}/topups/recurring", org_id=org_id)
        found = reply.json()
        return None if found is None else decode.recurring_topup(found)

    @op
    def cancel_recurring_topup(self, org_id: str) -> Flow[RecurringTopup]:
        reply = yield post(f"{_org(org_id)}/topups/recurring/cancel", org_id=org_id)
        return decode.recurring_topup(reply.json())

    @op
    def invoice_month(self, month: str | datetime | None = None) -> Flow[FlexRun]:
        """Issue the month's invoices (operator; default: the previous month)."""
        return (yield from _invoice_month(month))

    @op
    def invoice_flex(self, month: str | datetime | None = None) -> Flow[FlexRun]:
        """:meth:`invoice_month`, by its older name."""
        return (yield from _invoice_month(month))

    @op
    def mark_invoice_paid(
        self, org_id: str, invoice_id: str, reference: str | None = None
    ) -> Flow[Invoice]:
        """Mark an open invoice paid outside the provider (operator)."""
        path = f"{_org(org_id)}/invoices/{seg(invoice_id)}/mark-paid"
        reply = yield post(path, _compact(reference=reference), org_id=org_id)
        return decode.invoice(reply.json())

    @op
    def retry_payments(self) -> Flow[list[Invoice]]:
        """Charge again every invoice whose dunning try is due (operator)."""
        reply = yield post("/v1/payments/retry", {})
        return [decode.invoice(i) for i in reply.json()["invoices"]]

    @op
    def billing_events(
        self, org_id: str, limit: int = 100, invoice_id: str | None = None
    ) -> Flow[list[BillingEvent]]:
        """The steps of the invoices' collection, with their causes, newest first."""
        query = _query(limit=limit, invoice_id=invoice_id)
        reply = yield get(f"{_org(org_id)}/billing-events", query, org_id=org_id)
        return [decode.billing_event(e, org_id) for e in reply.json()]

    @op
    def pending_items(self, org_id: str) -> Flow[list[InvoiceItem]]:
        """What waits for the organization's next invoice."""
        reply = yield get(f"{_org(org_id)}/invoice-items", org_id=org_id)
        return [replace(decode.invoice_item(i), org_id=org_id) for i in reply.json()]

    @op
    def billing_hold(self, org_id: str) -> Flow[str | None]:
        """The overdue invoice the organization is suspended for, or ``None``."""
        found = yield from _read_org_plan(org_id)
        return found.metering.hold

    @op
    def invoices(self, org_id: str, limit: int = 100) -> Flow[list[Invoice]]:
        reply = yield get(f"{_org(org_id)}/invoices", _query(limit=limit), org_id=org_id)
        return [decode.invoice(i) for i in reply.json()]

    @op
    def invoice(self, org_id: str, invoice_id: str) -> Flow[Invoice]:
        reply = yield get(f"{_org(org_id)}/invoices/{seg(invoice_id)}", org_id=org_id)
        return decode.invoice(reply.json())

    @op
    def invoice_html(self, org_id: str, invoice_id: str) -> Flow[str]:
        reply = yield get(f"{_org(org_id)}/invoices/{seg(invoice_id)}/html", org_id=org_id)
        return reply.text

    @op
    def invoice_pdf(self, org_id: str, invoice_id: str) -> Flow[bytes]:
        reply = yield get(f"{_org(org_id)}/invoices/{seg(invoice_id)}/pdf", org_id=org_id)
        return reply.content

    @op
    def pay_invoice(self, org_id: str, invoice_id: str) -> Flow[Invoice]:
        reply = yield post(f"{_org(org_id)}/invoices/{seg(invoice_id)}/pay", org_id=org_id)
        return decode.invoice(reply.json())

    @op
    def void_invoice(self, org_id: str, invoice_id: str) -> Flow[Invoice]:
        reply = yield post(f"{_org(org_id)}/invoices/{seg(invoice_id)}/void", org_id=org_id)
        return decode.invoice(reply.json())

    @op
    def billing_history(self, org_id: str, limit: int = 100) -> Flow[list[BillingRecord]]:
        query = _query(limit=limit)
        reply = yield get(f"{_org(org_id)}/billing-history", query, org_id=org_id)
        return [decode.billing_record(r) for r in reply.json()]

    # -- alerts and outgoing webhooks (E2) ------------------------------------------------

    @op
    def add_alert(
        self,
        org_id: str,
        kind: str,
        *,
        threshold: int | None = None,
        rearm_above: int | None = None,
        percent: int | None = None,
        rearm_percent: int | None = None,
        days: int | None = None,
        rearm_days: int | None = None,
        lookback_days: int | None = None,
        channels: Sequence[str] | None = None,
        email: str | None = None,
    ) -> Flow[AlertRule]:
        """Add an alert rule to an organization (``threshold`` and ``rearm_above`` in
        micro-credits); see :meth:`Creditline.add_alert`.

        Raises:
            InvalidAlertRule: listing every problem; OrganizationNotFound.
        """
        body = _compact(
            kind=kind,
            threshold_micros=threshold,
            rearm_above_micros=rearm_above,
            percent=percent,
            rearm_percent=rearm_percent,
            days=days,
            rearm_days=rearm_days,
            lookback_days=lookback_days,
            channels=None if channels is None else list(channels),
            email=email,
        )
        reply = yield post(f"{_org(org_id)}/alerts", body, org_id=org_id)
        return decode.alert_rule(reply.json())

    @op
    def alert_rules(self, org_id: str, include_disabled: bool = False) -> Flow[list[AlertRule]]:
        """The organization's alert rules with their states, oldest first."""
        query = _query(include_disabled=include_disabled)
        reply = yield get(f"{_org(org_id)}/alerts", query, org_id=org_id)
        return [decode.alert_rule(r) for r in reply.json()]

    @op
    def disable_alert(self, rule_id: str, org_id: str | None = None) -> Flow[AlertRule]:
        """Disable an alert rule (``org_id``: only if it is that organization's; without
        it, an operator's call).

        Raises:
            AlertRuleNotFound: no such rule (or not ``org_id``'s).
        """
        path = _scoped(org_id, f"/alerts/{seg(rule_id)}/disable")
        reply = yield post(path, org_id=org_id)
        return decode.alert_rule(reply.json())

    @op
    def evaluate_alerts(self) -> Flow[AlertRun]:
        """Evaluate every alert rule now (operator); the service's scheduler does it too."""
        reply = yield post("/v1/alerts/evaluate")
        return decode.alert_run(reply.json())

    @op
    def add_webhook(
        self,
        url: str,
        *,
        org_id: str | None = None,
        event_types: Sequence[str] = (),
        description: str | None = None,
    ) -> Flow[WebhookEndpoint]:
        """Add a webhook endpoint for an organization's alert events (``org_id=None``:
        every organization's, an operator's call). The result's ``secret`` is not shown
        again."""
        body = _compact(url=url, event_types=list(event_types), description=description)
        reply = yield post(_scoped(org_id, "/webhook-endpoints"), body, org_id=org_id)
        return decode.webhook_endpoint(reply.json())

    @op
    def webhook_endpoints(
        self, org_id: str | None = None, include_disabled: bool = False
    ) -> Flow[list[WebhookEndpoint]]:
        """Webhook endpoints (without their secrets), oldest first: an organization's, or
        every one (an operator's call)."""
        query = _query(include_disabled=include_disabled)
        reply = yield get(_scoped(org_id, "/webhook-endpoints"), query, org_id=org_id)
        return [decode.webhook_endpoint(e) for e in reply.json()]

    @op
    def disable_webhook(self, endpoint_id: str, org_id: str | None = None) -> Flow[WebhookEndpoint]:
        """Disable a webhook endpoint: nothing more is sent to it.

        Raises:
            WebhookEndpointNotFound: no such endpoint (or not ``org_id``'s).
        """
        path = _scoped(org_id, f"/webhook-endpoints/{seg(endpoint_id)}/disable")
        reply = yield post(path, org_id=org_id)
        return decode.webhook_endpoint(reply.json())

    @op
    def webhook_deliveries(
        self,
        org_id: str | None = None,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | str | None = None,
        limit: int = 100,
    ) -> Flow[list[Delivery]]:
        """The delivery log, newest first: of an organization (or every one, an
        operator's call), an endpoint, a status."""
        if not 1 <= limit <= 10_000:
            raise InvalidSetting("limit", limit, "must be between 1 and 10000")
        try:
            chosen = None if status is None else DeliveryStatus(status)
        except ValueError:
            raise InvalidSetting(
                "delivery status", status, f"one of {[s.value for s in DeliveryStatus]}"
            ) from None
        query = _query(endpoint_id=endpoint_id, status=chosen, limit=limit)
        reply = yield get(_scoped(org_id, "/webhook-deliveries"), query, org_id=org_id)
        return [decode.delivery(d) for d in reply.json()]

    @op
    def webhook_delivery(self, delivery_id: str, org_id: str | None = None) -> Flow[Delivery]:
        """One delivery with every attempt (``attempt_log``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        path = _scoped(org_id, f"/webhook-deliveries/{seg(delivery_id)}")
        reply = yield get(path, org_id=org_id)
        return decode.delivery(reply.json())

    @op
    def redeliver_webhook(self, delivery_id: str, org_id: str | None = None) -> Flow[Delivery]:
        """Queue a delivery again, due now, whatever its status (the same ``webhook-id``).

        Raises:
            WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
        """
        path = _scoped(org_id, f"/webhook-deliveries/{seg(delivery_id)}/redeliver")
        reply = yield post(path, org_id=org_id)
        return decode.delivery(reply.json())

    @op
    def queue_test_webhook(self, org_id: str, endpoint_id: str) -> Flow[Delivery]:
        """Queue a signed ``webhook.test`` delivery to one of the organization's endpoints.

        Raises:
            WebhookEndpointNotFound: no such active endpoint of the organization.
        """
        path = f"{_org(org_id)}/webhook-endpoints/{seg(endpoint_id)}/test"
        reply = yield post(path, org_id=org_id)
        return decode.delivery(reply.json())

    # -- country gating and contact sales (D8) -----------------------------------------------

    @op
    def self_serve(self, org_id: str) -> Flow[SelfServe]:
        """Whether the organization can buy credits self-serve now, or contacts sales."""
        reply = yield get(f"{_org(org_id)}/self-serve", org_id=org_id)
        return decode.self_serve(reply.json())

    @op
    def contact_sales(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        message: str | None = None,
        member_id: str | None = None,
        email: str | None = None,
        source: str = "api",
    ) -> Flow[SalesRequest]:
        """Ask sales about buying a pack or an amount (see the library's)."""
        body = _compact(
            pack=pack,
            amount_micros=credits,
            message=message,
            member_id=member_id,
            email=email,
            source=source,
        )
        reply = yield post(f"{_org(org_id)}/sales-requests", body, org_id=org_id)
        return decode.sales_request(reply.json())

    @op
    def sales_requests(
        self, org_id: str | None = None, limit: int = 100
    ) -> Flow[list[SalesRequest]]:
        """Contact-sales requests, newest first: an organization's, or every one."""
        path = _scoped(org_id, "/sales-requests")
        reply = yield get(path, _query(limit=limit), org_id=org_id)
        return [decode.sales_request(d) for d in reply.json()]

    @op
    def sales_request(self, request_id: str, org_id: str | None = None) -> Flow[SalesRequest]:
        """One contact-sales request (``org_id``: only if it is that organization's)."""
        path = _scoped(org_id, f"/sales-requests/{seg(request_id)}")
        reply = yield get(path, org_id=org_id)
        return decode.sales_request(reply.json())

    # -- the web dashboard -----------------------------------------------------------------

    @op
    def create_portal_session(
        self,
        org_id: str,
        *,
        member_id: str | None = None,
        read_only: bool = False,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> Flow[PortalSession]:
        """A short-lived link into the organization's customer portal; its ``url`` is
        absolute, on the service's address (the library's is the path).

        Raises:
            InvalidSetting: a lifetime out of range (30 to 3600 seconds).
            OrganizationNotFound, MemberNotFound: no such organization, or member of it.
        """
        body = _compact(
            member_id=member_id, read_only=read_only, ttl_seconds=check_ttl(ttl_seconds)
        )
        reply = yield post(f"{_org(org_id)}/portal_sessions", body, org_id=org_id)
        return decode.portal_session(reply.json())

    @op
    def deliver_webhooks(self, limit: int = 100) -> Flow[DeliveryRun]:
        """Send every delivery due now (operator); the service's scheduler does it too."""
        reply = yield post("/v1/webhook-deliveries/deliver", params=_query(limit=limit))
        return decode.delivery_run(reply.json())

    # -- API keys and operations ------------------------------------------------------------

    @op
    def create_api_key(
        self,
        role: Role | str,
        org_id: str | None = None,
        *,
        name: str,
        expires_at: datetime | None = None,
    ) -> Flow[IssuedKey]:
        """Make an API key (operator); its text is the result's ``secret``, shown once."""
        body = _compact(
            role=role.value if isinstance(role, Role) else str(role),
            org_id=org_id,
            name=name,
            expires_at=expires_at,
        )
        reply = yield post("/v1/api-keys", body, org_id=org_id)
        return decode.issued_key(reply.json())

    @op
    def api_keys(
        self, org_id: str | None = None, include_revoked: bool = True
    ) -> Flow[list[ApiKey]]:
        """API keys (never their secrets), oldest first: an organization's, or all. An
        organization's key may list its own (``org_id`` given, revoked ones included)."""
        if org_id is not None and include_revoked:
            reply = yield get(f"{_org(org_id)}/api-keys", org_id=org_id)
        else:
            query = _query(org_id=org_id, include_revoked=include_revoked)
            reply = yield get("/v1/api-keys", query, org_id=org_id)
        return [decode.api_key(k) for k in reply.json()]

    @op
    def api_key(self, key_id: str) -> Flow[ApiKey]:
        reply = yield get(f"/v1/api-keys/{seg(key_id)}")
        return decode.api_key(reply.json())

    @op
    def revoke_api_key(self, key_id: str) -> Flow[ApiKey]:
        """Revoke an API key (operator): it stops working at once."""
        reply = yield post(f"/v1/api-keys/{seg(key_id)}/revoke")
        return decode.api_key(reply.json())

    @op
    def tick(self) -> Flow[TickReport]:
        """Run the service's scheduler once (operator): renewals, expiry, invoices, alerts."""
        reply = yield post("/v1/tick")
        return decode.tick_report(reply.json())

    @op
    def ping(self) -> Flow[None]:
        """Reach the service and its database once (``/readyz``).

        Raises:
            StorageError: the database does not answer (ServiceUnavailable, a
                StorageError too, when the service itself does not).
        """
        reply = yield Call("GET", "/readyz", problems_ok=True)
        if reply.status != 200:
            raise StorageError(f"the service's database does not answer ({reply.status})")
