"""The service's JSON answers back into the library's own result types.

Amounts come from the ``*_micros`` members (exact integers), never from the decimal
text. What an answer does not carry gets the value a fresh object has, and is listed
here (and in the client's docstring):

- ``Grant.seq`` (an ordering detail of grants made at the same instant): 0;
- ``Reservation.holds`` (what each grant holds): empty;
- ``StoredUsage.request_hash``: ``""``; ``StoredUsage.event.steps``: empty;
- ``Metering.entry_count`` (an internal counter): 0;
- ``Purchase.expiry``: never; its provider ids (``session_id``, ``payment_id``,
  ``refund_id``): ``None``; ``Receipt.email_error``: ``None``;
- ``Invoice.payment_id``: ``None``, ``Invoice.payment_attempts``: 0;
- ``VerifyReport.problems`` and a tick's job errors: rebuilt from their text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from creditline.client.errors import error_from_problem
from creditline.domain.alerts import (
    AlertEvent,
    AlertKind,
    AlertParams,
    AlertRule,
    AlertState,
    Channel,
    RuleState,
)
from creditline.domain.amounts import CostBasis, parse_credits
from creditline.domain.api_keys import ApiKey, IssuedKey, Role
from creditline.domain.balances import Balance, ScopedCredits
from creditline.domain.cycles import AnchorKind, BillingInterval, Cycle, ExpiryRule
from creditline.domain.deliveries import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from creditline.domain.errors import CreditlineError
from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType
from creditline.domain.invoices import (
    BillingEvent,
    BillingRecord,
    Collection,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, LedgerEntry
from creditline.domain.money import Money
from creditline.domain.organizations import Member, Organization, Project
from creditline.domain.overview import BurnDay, CycleProgress, ExpiringCredits, Overview
from creditline.domain.packs import Catalogue, RefundPolicy, parse_catalogue
from creditline.domain.plans import DepletionPolicy, Plan, parse_plan
from creditline.domain.portal import PortalSession
from creditline.domain.pricing import (
    AppliedMultiplier,
    Component,
    Quote,
    RateCard,
    RateCardHistory,
    Rounding,
    RoundingMode,
)
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt
from creditline.domain.reports import UsageReport, UsageRow
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.sales import SalesRequest, SalesRequestSource
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.spending import Allocation
from creditline.domain.topups import AutoTopup, BuyKind, RecurringTopup, Trigger
from creditline.domain.usage import EventResult, EventStatus, Metering, StoredUsage, UsageEvent
from creditline.domain.verification import Problem
from creditline.services.alerts import AlertRun
from creditline.services.cycles import BillingChange
from creditline.services.deliveries import DeliveryRun
from creditline.services.invoices import FlexRun
from creditline.services.queries import VerifyReport
from creditline.services.reservations import Settlement
from creditline.services.sales import SelfServe
from creditline.services.scheduler import JobRun, TickReport
from creditline.services.spending import DebitResult, DebitStatus

__all__ = ["OrgPlan", "SubscriptionInfo"]

Doc = Mapping[str, Any]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def maybe_when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def cause(d: Doc | None) -> Cause | None:
    return None if d is None else Cause(CauseType(d["type"]), d["ref"])


def allocations(items: Sequence[Doc]) -> tuple[Allocation, ...]:
    return tuple(Allocation(a["grant_id"], a["amount_micros"]) for a in items)


def components(items: Sequence[Doc]) -> tuple[tuple[str, int], ...]:
    return tuple((c["operation"], c["cost_micros"]) for c in items)


def money(d: Doc) -> Money:
    return Money(d["minor"], d["currency"])


# -- organizations ----------------------------------------------------------------------


def organization(d: Doc) -> Organization:
    return Organization(
        id=d["id"],
        name=d["name"],
        external_ref=d["external_ref"],
        consumption_order=tuple(GrantKind(k) for k in d["consumption_order"]),
        created_at=when(d["created_at"]),
        metadata=dict(d["metadata"]),
        country=d.get("country"),
    )


def project(d: Doc) -> Project:
    return Project(d["id"], d["org_id"], d["name"], when(d["created_at"]))


def member(d: Doc) -> Member:
    return Member(d["id"], d["org_id"], d["name"], d["email"], when(d["created_at"]))


# -- credits ------------------------------------------------------------------------------


def grant(d: Doc) -> Grant:
    basis = d["cost_basis"]
    return Grant(
        id=d["id"],
        org_id=d["org_id"],
        kind=GrantKind(d["kind"]),
        amount=d["amount_micros"],
        remaining=d["remaining_micros"],
        effective_at=when(d["effective_at"]),
        expires_at=maybe_when(d["expires_at"]),
        source=GrantSource(SourceType(d["source"]["type"]), d["source"]["ref"]),
        cost_basis=None
        if basis is None
        else CostBasis(basis["unit_price_minor"], basis["currency"]),
        created_at=when(d["created_at"]),
        metadata=dict(d["metadata"]),
        scope=scope(d.get("scope")),
    )


def scope(d: Any) -> GrantScope | None:
    """A grant's scope (``null``, or absent from an older server: a general grant)."""
    return None if not d else parse_scope(d)


def balance(d: Doc) -> Balance:
    scoped = tuple(
        ScopedCredits(
            s["grant_id"], GrantKind(s["kind"]), s["remaining_micros"], parse_scope(s["scope"]),
            maybe_when(s["expires_at"]),
        )
        for s in d.get("scoped_grants", ())
    )  # fmt: skip
    return Balance(
        org_id=d["org_id"],
        as_of=when(d["as_of"]),
        total=d["total_micros"],
        available=d["available_micros"],
        pending=d["pending_micros"],
        expired_unswept=d["expired_unswept_micros"],
        by_kind={GrantKind(k): v for k, v in d["by_kind_micros"].items()},
        held=d["held_micros"],
        scoped=d.get("scoped_micros", 0),
        scoped_grants=scoped,
    )


def entry(d: Doc) -> LedgerEntry:
    found = cause(d["cause"])
    assert found is not None
    return LedgerEntry(
        id=d["id"],
        org_id=d["org_id"],
        grant_id=d["grant_id"],
        type=EntryType(d["type"]),
        amount=d["amount_micros"],
        cause=found,
        occurred_at=when(d["occurred_at"]),
        recorded_at=when(d["recorded_at"]),
        project_id=d["project_id"],
        member_id=d["member_id"],
        metadata=dict(d["metadata"]),
    )


def debit(d: Doc, replayed: bool = False) -> DebitResult:
    return DebitResult(
        status=DebitStatus(d["status"]),
        amount=d["amount_micros"],
        cause=cause(d["cause"]),
        allocations=allocations(d["allocations"]),
        replayed=bool(d["replayed"]) or replayed,
    )


# -- usage ----------------------------------------------------------------------------------

_INT = re.compile(r"^-?[0-9]+$")


def quantity(text: Any) -> int | Decimal | str:
    """A stored quantity as the service writes it (text): an ``int`` when whole digits,
    else an exact ``Decimal``."""
    if isinstance(text, int | Decimal):
        return text
    value = str(text)
    if _INT.match(value):
        return int(value)
    try:
        return Decimal(value)
    except ArithmeticError:
        return value


def event_result(d: Doc, error: CreditlineError | None = None) -> EventResult:
    return EventResult(
        event_id=d["event_id"],
        status=EventStatus(d["status"]),
        cost=d["cost_micros"],
        reason=d["reason"],
        error=error,
        rate_card=d["rate_card"],
        components=components(d["components"]),
    )


def stored_usage(d: Doc) -> StoredUsage:
    event = UsageEvent(
        event_id=d["event_id"],
        org_id=d["org_id"],
        operation=d["operation"],
        occurred_at=when(d["occurred_at"]),
        quantities={k: quantity(v) for k, v in d["quantities"].items()},
        dimensions=dict(d["dimensions"]),
        project_id=d["project_id"],
        member_id=d["member_id"],
        parent_id=d["parent_id"],
        metadata=dict(d["metadata"]),
    )
    return StoredUsage(
        event=event,
        request_hash="",
        status=d["status"],
        cost=d["cost_micros"],
        reason=d["reason"],
        rate_card=d["rate_card"],
        components=components(d["components"]),
        allocations=allocations(d["allocations"]),
        batch_id=d["batch_id"],
    )


def usage_report(d: Doc) -> UsageReport:
    names = {"project": "project_id", "member": "member_id"}
    columns = tuple(d["group_by"]) + (("period",) if d["period"] else ())
    rows = tuple(
        UsageRow(
            tuple(row.get(names.get(c, c)) for c in columns), row["events"], row["cost_micros"]
        )
        for row in d["rows"]
    )
    names = {
        row[f"{c}_id"]: row[f"{c}_name"]
        for row in d["rows"]
        for c in ("project", "member")
        if row.get(f"{c}_id") and row.get(f"{c}_name") is not None
    }
    return UsageReport(d["org_id"], columns, when(d["since"]), when(d["until"]), rows, names)


def overview(d: Doc) -> Overview:
    c = d["cycle"]
    cycle = None
    if c is not None:
        cycle = CycleProgress(
            c["plan"], c["index"], when(c["start"]), when(c["end"]),
            maybe_when(c["next_renewal_at"]), c["elapsed_seconds"], c["total_seconds"],
        )  # fmt: skip
    depletes_on = d["depletes_on"]
    return Overview(
        org_id=d["org_id"],
        as_of=when(d["as_of"]),
        balance=balance(d["balance"]),
        by_kind=tuple((GrantKind(k), v) for k, v in d["by_kind_micros"].items()),
        expiring=tuple(
            ExpiringCredits(
                e["grant_id"], GrantKind(e["kind"]), e["remaining_micros"], when(e["expires_at"])
            )
            for e in d["expiring"]
        ),
        depletion=DepletionPolicy(d["depletion"]),
        read_only=d["read_only"],
        paused=d["paused"],
        on_flex=d["on_flex"],
        flex_used=d["flex_used_micros"],
        flex_limit=d["flex_limit_micros"],
        cycle=cycle,
        burn_down=tuple(
            BurnDay(date.fromisoformat(p["day"]), p["closing_micros"], p["burnt_micros"])
            for p in d["burn_down"]
        ),
        burn_rate=d["burn_rate_micros"],
        depletes_on=None if depletes_on is None else date.fromisoformat(depletes_on),
    )


# -- reservations ---------------------------------------------------------------------------


def reservation(d: Doc) -> Reservation:
    found = cause(d["cause"])
    assert found is not None
    return Reservation(
        id=d["id"],
        org_id=d["org_id"],
        status=ReservationStatus(d["status"]),
        amount=d["amount_micros"],
        held=d["held_micros"],
        consumed=d["consumed_micros"],
        shortfall=d["shortfall_micros"],
        holds=(),
        cause=found,
        project_id=d["project_id"],
        member_id=d["member_id"],
        expires_at=when(d["expires_at"]),
        created_at=when(d["created_at"]),
        settled_at=maybe_when(d["settled_at"]),
        metadata=dict(d["metadata"]),
        operation=d.get("operation"),
        dimensions=dict(d.get("dimensions") or {}),
    )


def settlement(d: Doc, replayed: bool = False) -> Settlement:
    return Settlement(
        reservation=reservation(d["reservation"]),
        consumed=d["consumed_micros"],
        released=d["released_micros"],
        shortfall=d["shortfall_micros"],
        replayed=bool(d["replayed"]) or replayed,
    )


# -- pricing --------------------------------------------------------------------------------


def _micros(credits_text: str) -> Decimal:
    """Exact credits text (``"1.5"``) as exact micro-credits (``Decimal(1500000)``)."""
    return Decimal(credits_text).scaleb(6)


def quote(d: Doc) -> Quote:
    rounding = d["rounding"]
    return Quote(
        operation=d["operation"],
        card=d["card"],
        version=d["version"],
        total=d["total_micros"],
        base=_micros(d["base"]),
        multipliers=tuple(
            AppliedMultiplier(m["reason"], Decimal(m["factor"])) for m in d["multipliers"]
        ),
        exact=_micros(d["exact"]),
        rounding=None
        if rounding is None
        else Rounding(RoundingMode(rounding["mode"]), parse_credits(rounding["increment"])),
        components=tuple(Component(c["label"], _micros(c["credits"])) for c in d["components"]),
        steps=tuple(quote(s) for s in d["steps"]),
        selection=dict(d["selection"]),
        supplier=d["supplier"],
    )


def rate_card(d: Doc) -> RateCard:
    return parse_ratecard(d["document"])


def rate_card_history(d: Doc) -> RateCardHistory:
    return RateCardHistory(tuple(rate_card(v) for v in d["versions"]))


def plan(d: Doc) -> Plan:
    return parse_plan(d["document"])


def catalogue(d: Doc) -> Catalogue:
    return parse_catalogue(d["document"])


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """An organization's subscription as the service shows it: the stored
    :class:`~creditline.domain.subscriptions.Subscription`'s fields but ``signup`` and
    ``updated_at``, with the cycle running now."""

    plan: str
    interval: BillingInterval
    anchor_kind: AnchorKind
    time_zone: str
    started_at: datetime
    anchored_at: datetime
    anchor_no: int
    last_cycle: int | None
    cycle: Cycle | None
    next_renewal_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrgPlan:
    """An organization's plan as the service answers it (``GET``/``PUT
    /v1/orgs/{org}/plan``): what :meth:`Client.subscribe` and :meth:`Client.change_plan`
    return in place of the library's ``PlanAssigned``, whose renewals, reset and
    expired amounts the answer does not carry (read them in the ledger).

    Attributes:
        metering: the rate card, plan, depletion policy and flex switch in force.
        read_only: whether the organization's writes should be locked now (A3).
        subscription: its subscription, or ``None``.
        change: what the assignment did to the billing (``None`` for a read).
    """

    metering: Metering
    read_only: bool
    subscription: SubscriptionInfo | None
    change: BillingChange | None = None


def subscription(d: Doc | None) -> SubscriptionInfo | None:
    if d is None:
        return None
    cycle = d["cycle"]
    return SubscriptionInfo(
        plan=d["plan"],
        interval=BillingInterval(d["interval"]),
        anchor_kind=AnchorKind(d["anchor"]),
        time_zone=d["time_zone"],
        started_at=when(d["started_at"]),
        anchored_at=when(d["anchored_at"]),
        anchor_no=d["anchor_no"],
        last_cycle=d["last_cycle"],
        cycle=None
        if cycle is None
        else Cycle(cycle["index"], when(cycle["start"]), when(cycle["end"])),
        next_renewal_at=maybe_when(d["next_renewal_at"]),
        ended_at=maybe_when(d["ended_at"]),
    )


def metering(d: Doc, org: Organization, stored: Plan) -> Metering:
    return Metering(
        org_id=d["org_id"],
        order=org.consumption_order,
        rate_card=d["rate_card"],
        plan=stored,
        depletion=DepletionPolicy(d["depletion"]),
        flex_enabled=d["flex_enabled"],
        entry_count=0,
        hold=d.get("billing_hold"),
    )


def org_plan(d: Doc, org: Organization, stored: Plan) -> OrgPlan:
    change = d.get("change")
    return OrgPlan(
        metering=metering(d, org, stored),
        read_only=d["read_only"],
        subscription=subscription(d["subscription"]),
        change=None if change is None else BillingChange(change),
    )


# -- billing --------------------------------------------------------------------------------


def purchase(d: Doc) -> Purchase:
    return Purchase(
        id=d["id"],
        org_id=d["org_id"],
        pack=d["pack"],
        credits=d["credits_micros"],
        price=money(d["price"]),
        status=PurchaseStatus(d["status"]),
        provider=d["provider"],
        refund_policy=RefundPolicy(d["refund_policy"]),
        expiry=ExpiryRule.never(),
        created_at=when(d["created_at"]),
        checkout_url=d["checkout_url"],
        grant_id=d["grant_id"],
        email=d["email"],
        refunded_credits=d["refunded_credits_micros"],
        refunded_minor=d["refunded_minor"],
        failure=d["failure"],
        paid_at=maybe_when(d["paid_at"]),
        refunded_at=maybe_when(d["refunded_at"]),
        trigger=Trigger(d.get("trigger", "manual")),
    )


def auto_topup(d: Doc) -> AutoTopup:
    cap = d["monthly_cap"]
    return AutoTopup(
        org_id=d["org_id"],
        enabled=d["enabled"],
        threshold=d["threshold_micros"],
        buy=BuyKind(d["buy"]),
        pack=d["pack"],
        credits=d["credits_micros"],
        currency=d["currency"],
        monthly_cap=None if cap is None else money(cap),
        max_failures=d["max_failures"],
        armed=d["armed"],
        crossings=d["crossings"],
        pending_id=d["pending_id"],
        failures=d["failures"],
        retry_at=maybe_when(d["retry_at"]),
        last_skip=d["last_skip"],
        disabled_reason=d["disabled_reason"],
        updated_at=maybe_when(d["updated_at"]),
    )


def recurring_topup(d: Doc) -> RecurringTopup:
    return RecurringTopup(
        org_id=d["org_id"],
        pack=d["pack"],
        currency=d["currency"],
        day=d["day"],
        starts_at=when(d["starts_at"]),
        active=d["active"],
        last_period=d["last_period"],
        updated_at=maybe_when(d["updated_at"]),
    )


def receipt(d: Doc) -> Receipt:
    return Receipt(
        id=d["id"],
        purchase_id=d["purchase_id"],
        org_id=d["org_id"],
        pack=d["pack"],
        credits=d["credits_micros"],
        amount=money(d["amount"]),
        email=d["email"],
        issued_at=when(d["issued_at"]),
        emailed_at=maybe_when(d["emailed_at"]),
    )


def _invoice_number(text: str) -> int | None:
    digits = text.rpartition("-")[2]
    return int(digits) if digits.isdigit() else None


def invoice(d: Doc) -> Invoice:
    return Invoice(
        id=d["id"],
        number=_invoice_number(d["number"]),
        org_id=d["org_id"],
        kind=d["kind"],
        period=d["period"],
        currency=d["total"]["currency"],
        lines=tuple(
            InvoiceLine(
                line["description"],
                line["credits_micros"],
                line["unit_price_minor"],
                line["amount_minor"],
                LineKind(line.get("kind", "flex")),
            )
            for line in d["lines"]
        ),
        status=InvoiceStatus(d["status"]),
        issued_at=when(d["issued_at"]),
        paid_at=maybe_when(d["paid_at"]),
        voided_at=maybe_when(d["voided_at"]),
        payment_error=d["payment_error"],
        payment_attempts=d.get("payment_attempts", 0),
        collection=None if d.get("collection") is None else Collection(d["collection"]),
        next_attempt_at=maybe_when(d.get("next_attempt_at")),
    )


def invoice_item(d: Doc) -> InvoiceItem:
    return InvoiceItem(
        id=d["id"], org_id="", kind=LineKind(d["kind"]), ref=d["ref"],
        description=d["description"], currency=d["currency"], amount_minor=d["amount_minor"],
        credits=d["credits_micros"], due_at=when(d["due_at"]),
    )  # fmt: skip


def billing_event(d: Doc, org_id: str) -> BillingEvent:
    return BillingEvent(
        d["id"], org_id, d["invoice_id"], d["type"], d["cause"], dict(d["data"]), when(d["at"])
    )


def billing_record(d: Doc) -> BillingRecord:
    return BillingRecord(
        when(d["at"]), d["kind"], d["ref"], d["description"], money(d["amount"]), d["status"]
    )


def flex_run(d: Doc) -> FlexRun:
    return FlexRun(
        month=d["month"],
        issued=tuple(invoice(i) for i in d["issued"]),
        existing=d["existing"],
        unpriced=tuple(d["unpriced"]),
        failed_charges=tuple(d["failed_charges"]),
    )


# -- alerts and outgoing webhooks --------------------------------------------------------


def alert_params(d: Doc) -> AlertParams:
    return AlertParams(
        threshold=d["threshold_micros"],
        rearm_above=d["rearm_above_micros"],
        percent=d["percent"],
        rearm_percent=d["rearm_percent"],
        days=d["days"],
        rearm_days=d["rearm_days"],
        lookback_days=d["lookback_days"],
    )


def alert_state(rule_id: str, d: Doc | None) -> AlertState | None:
    if d is None:
        return None
    return AlertState(
        rule_id=rule_id,
        state=RuleState(d["state"]),
        last_fired_at=maybe_when(d["last_fired_at"]),
        last_value=d["last_value_micros"],
        signal_cursor=d["signal_cursor"],
        fired_count=d["fired_count"],
        updated_at=maybe_when(d["updated_at"]),
    )


def alert_rule(d: Doc) -> AlertRule:
    return AlertRule(
        id=d["id"],
        org_id=d["org_id"],
        kind=AlertKind(d["kind"]),
        params=alert_params(d["params"]),
        channels=tuple(Channel(c) for c in d["channels"]),
        email=d["email"],
        created_at=when(d["created_at"]),
        disabled_at=maybe_when(d["disabled_at"]),
        state=alert_state(d["id"], d["state"]),
    )


def alert_run(d: Doc) -> AlertRun:
    return AlertRun(
        organizations=d["organizations"],
        events=tuple(
            AlertEvent(e["type"], e["org_id"], e["rule_id"], when(e["at"]), dict(e["data"]))
            for e in d["events"]
        ),
        rearmed=d["rearmed"],
        deliveries=d["deliveries"],
        failed=tuple(
            (f["org_id"], error_from_problem(f["problem"], None, f["org_id"])) for f in d["failed"]
        ),
    )


def webhook_endpoint(d: Doc) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=d["id"],
        url=d["url"],
        org_id=d["org_id"],
        event_types=tuple(d["event_types"]),
        description=d["description"],
        created_at=when(d["created_at"]),
        disabled_at=maybe_when(d["disabled_at"]),
        secret=d.get("secret"),
    )


def delivery_attempt(d: Doc) -> DeliveryAttempt:
    return DeliveryAttempt(
        number=d["number"],
        at=when(d["at"]),
        ok=d["ok"],
        status_code=d["status_code"],
        error=d["error"],
        duration_ms=d["duration_ms"],
    )


def delivery(d: Doc) -> Delivery:
    return Delivery(
        id=d["id"],
        channel=Channel(d["channel"]),
        endpoint_id=d["endpoint_id"],
        recipient=d["recipient"],
        org_id=d["org_id"],
        rule_id=d["rule_id"],
        event_type=d["event_type"],
        payload=d["payload"],
        status=DeliveryStatus(d["status"]),
        attempts=d["attempts"],
        next_attempt_at=maybe_when(d["next_attempt_at"]),
        created_at=when(d["created_at"]),
        last_status_code=d["last_status_code"],
        last_error=d["last_error"],
        delivered_at=maybe_when(d["delivered_at"]),
        attempt_log=tuple(delivery_attempt(a) for a in d["attempt_log"]),
    )


def portal_session(d: Doc) -> PortalSession:
    """A portal link: ``url`` is the service's absolute link (the library's is a path)."""
    return PortalSession(
        url=d["url"],
        token=d["token"],
        expires_at=when(d["expires_at"]),
        org_id=d["org_id"],
        member_id=d["member_id"],
        read_only=d["read_only"],
    )


def delivery_run(d: Doc) -> DeliveryRun:
    return DeliveryRun(d["attempted"], d["delivered"], d["retrying"], d["failed"])


# -- keys and operations ----------------------------------------------------------------


def api_key(d: Doc) -> ApiKey:
    return ApiKey(
        id=d["id"],
        org_id=d["org_id"],
        role=Role(d["role"]),
        name=d["name"],
        prefix=d["prefix"],
        created_at=when(d["created_at"]),
        expires_at=maybe_when(d["expires_at"]),
        revoked_at=maybe_when(d["revoked_at"]),
        last_used_at=maybe_when(d["last_used_at"]),
    )


def issued_key(d: Doc) -> IssuedKey:
    return IssuedKey(api_key(d), d["key"])


def _problem(text: str) -> Problem:
    subject, _, message = text.partition(": ")
    return Problem(subject, message)


def verify_report(d: Doc) -> VerifyReport:
    return VerifyReport(d["organizations"], d["grants"], tuple(_problem(p) for p in d["problems"]))


def _plain(value: Any) -> Any:
    """Numbers of a summary as the library has them (``float`` for non-integers)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def tick_report(d: Doc) -> TickReport:
    return TickReport(
        at=when(d["at"]),
        jobs=tuple(
            JobRun(
                name=j["name"],
                summary=_plain(j["summary"]),
                seconds=float(j["seconds"]),
                errors=tuple(CreditlineError(e) for e in j["errors"]),
            )
            for j in d["jobs"]
        ),
    )


# -- country gating and contact sales (D8) ---------------------------------------------------


def self_serve(d: Doc) -> SelfServe:
    countries = d["countries"]
    return SelfServe(
        d["org_id"], d["country"], d["available"], None if countries is None else tuple(countries)
    )


def sales_request(d: Doc) -> SalesRequest:
    return SalesRequest(
        id=d["id"],
        org_id=d["org_id"],
        country=d["country"],
        member_id=d["member_id"],
        email=d["email"],
        pack=d["pack"],
        credits=d["credits_micros"],
        message=d["message"],
        source=SalesRequestSource(d["source"]),
        created_at=when(d["created_at"]),
    )
