"""Plans: what an organization may run, what it is granted, and what happens when its
credits run out.

This module holds the parts of a plan that metering needs (requirements A3, A4, C4,
D6) and its billing: cycles and the credits granted with them (B3, B4, B5; the cycle
arithmetic is in :mod:`creditline.domain.cycles`).

**Gates** (C4) refuse usage a plan does not allow, with a reason naming the rule, and
cost nothing:

- ``forbid_operations``: operations the plan cannot run at all.
- ``allow`` per dimension: the only values a dimension may take (``mode`` in
  Basic, Business: Maximum is Enterprise only).
- ``max`` per quantity: a cap (training data up to 100 MB on credit packs).

**Depletion policy** (A3, A4): what happens to a debit the spendable grants cannot
cover:

- ``pause``: refused until credits arrive (a top-up or the next cycle).
- ``read_only``: refused, and the organization is reported read-only so that the
  platform can lock writes.
- ``flex``: the uncovered part is taken as flex credits (a ``flex`` grant created
  for it), billed in arrears, while flex is enabled for the organization (it is by
  default, D6) and the month's flex stays within the billing threshold.
- ``unlimited``: never refused; what no grant covers is metered on an ``unlimited``
  flex grant that is reported, not billed.

Holds already made are honoured whatever the policy: a reservation's credits left
the grants when it was made.

**Billing** (B4): a plan's cycles last a month or a year (``interval``) and are
counted from the organization's plan start (``anchor = "signup"``) or run on calendar
months (``anchor = "calendar"``), read in ``time_zone``. The plan grants:

- at the plan start, cycle 0: ``signup_grant`` when the plan has one, otherwise
  ``cycle_grant``. The sign-up grant *replaces* the first cycle's grant: OTAI's
  "6 initial, then 2 monthly" is 6 in the first month and 2 in each one after.
- at the start of every later cycle: ``cycle_grant``. An annual plan's cycle is a
  year, so its ``cycle_grant`` is the year's credits, all granted at the start of
  the year ("annual plans get a year's worth of credits upfront" [002]).

Every plan grant expires by ``grant_expiry`` (an
:class:`~creditline.domain.cycles.ExpiryRule`); "included credits reset" [002] is
``end_of_cycle``. A calendar plan started mid-month gets its cycle 0 grant in full at
the plan start (no proration); under ``end_of_cycle`` it expires with that calendar
month. :func:`due_renewals` lists the grants a scheduler owes.

**Changing plan mid-cycle** (B5) restarts the billing cycle: the new plan is anchored
at the instant of the change (:func:`anchor_on_plan_change`) and its cycle 0 grants
the new plan's ``cycle_grant`` (not its sign-up grant: the organization signed up
already); the included credits of the old plan end at that instant. Calendar plans
keep their boundaries on the 1st, so only the included credits are reset.

**Scoped plan grants** (B7, :mod:`creditline.domain.scopes`): any plan grant may carry
a ``scope``, the operations (and dimension values) it pays for; and
``extra_signup_grants`` lists grants made once at sign-up *besides* the sign-up grant
(or cycle 0's cycle grant), each with its own kind and scope: OTAI's onboarding
guarantee ("1 training run + 1 improvement iteration") is a scoped one. Like the
sign-up grant, they are not made again at a plan change; they expire by the plan's
``grant_expiry``. Their operations are checked against the organization's rate card
when it subscribes.

Document form of the billing fields (all optional; an absent grant is none)::

    interval = "monthly"                       # or "annual"
    anchor = "signup"                          # or "calendar"
    time_zone = "UTC"                          # an IANA name
    signup_grant = { credits = 100 }           # kind = "included" unless said
    cycle_grant = { credits = 50, kind = "included" }
    grant_expiry = "never"                     # "end_of_cycle", { after = "6 months" },
                                               # { rollover_cycles = 3 }
    extra_signup_grants = [
      { credits = 10, kind = "included", scope = [{ operation = "train" }] },
    ]

**Flex price** (D5): what one flex credit costs when the month's flex usage is
invoiced (:mod:`creditline.domain.invoices`), in minor units of a currency::

    flex_price = { currency = "USD", minor_per_credit = 100 }

A plan without one bills no flex (its flex usage is metered, never invoiced).

**Fee** (D5): what the plan itself costs per cycle (a month or a year: ``interval``),
in integer minor units of one or more currencies (an organization is billed in the
currency it subscribed in: one it names, else the fee's ``currency``, which a fee of
several prices must name), billed ``in_advance`` (the fee of a cycle falls due at its
start) or ``in_arrears`` (at its end); ``on_change`` says what becomes of the old
plan's fee when the organization changes plan (or ends it) mid-cycle (B5):
``prorate`` (an in-advance fee gives back its unused part as a credit line; an
in-arrears fee bills only the part used) or ``none`` (the cycle that started is billed
whole: no credit line, the whole in-arrears fee). See :mod:`creditline.domain.invoices`
for when a fee is invoiced::

    fee = { prices_minor = { USD = 4900, EUR = 4500 }, currency = "USD",
            billed = "in_advance", on_change = "prorate" }

A plan without one is free (no subscription line).

**Dunning** (failed payments): when the charge of an invoice is declined, it is tried
again ``retry_after_days`` after each failure (``[1, 3, 7]``: one day after the first
failure, three days after the second, seven after the third); after the last failure
the organization is **suspended** until the invoice is paid: ``suspend`` is the
depletion policy that takes effect, ``pause`` (every debit refused) or ``read_only``
(refused, and reported read-only); ``none`` keeps it running. Unsaid, it is the plan's
own policy when that is ``pause`` or ``read_only``, else ``pause`` (a flex plan does
not run on credit while its invoice is unpaid)::

    dunning = { retry_after_days = [1, 3, 7], suspend = "read_only" }

A plan without one never retries on its own: a declined invoice stays open until it is
paid (an operator's retry, a payment at the provider), and nothing is suspended.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from creditline.domain.amounts import MAX_MICROS, CostBasis, format_credits, parse_credits
from creditline.domain.cycles import (
    AnchorKind,
    BillingInterval,
    Cycle,
    CycleAnchor,
    ExpiryRule,
    cycle_at,
    expires_at,
    nth_cycle,
    parse_expiry,
    time_zone,
)
from creditline.domain.errors import InvalidAmount, InvalidSetting, PlanGateRefused
from creditline.domain.grants import GrantKind
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.time import require_aware

__all__ = [
    "PLAN_GRANT_KINDS",
    "DepletionPolicy",
    "Dunning",
    "FeeChange",
    "FeeTiming",
    "PlanFee",
    "Gates",
    "Plan",
    "PlanGrant",
    "Renewal",
    "anchor_on_plan_change",
    "check_gates",
    "due_renewals",
    "load_plans",
    "parse_plan",
    "suspended_policy",
]


class DepletionPolicy(enum.StrEnum):
    PAUSE = "pause"
    READ_ONLY = "read_only"
    FLEX = "flex"
    UNLIMITED = "unlimited"


class FeeTiming(enum.StrEnum):
    """When a cycle's fee falls due: at its start or at its end."""

    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"


class FeeChange(enum.StrEnum):
    """What becomes of the old plan's fee at a change of plan mid-cycle."""

    PRORATE = "prorate"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PlanFee:
    """A plan's price per cycle (see the module docstring).

    Attributes:
        prices: minor units per cycle by ISO 4217 currency.
        billed: in advance or in arrears.
        on_change: prorate or none.
        currency: the currency billed when the subscriber names none (``None``: the
            only one of ``prices``).
    """

    prices: Mapping[str, int]
    billed: FeeTiming = FeeTiming.IN_ADVANCE
    on_change: FeeChange = FeeChange.NONE
    currency: str | None = None

    @property
    def default_currency(self) -> str:
        return self.currency or sorted(self.prices)[0]

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted(self.prices))

    def to_dict(self) -> dict[str, Any]:
        return {
            "prices_minor": dict(self.prices),
            "currency": self.default_currency,
            "billed": self.billed.value,
            "on_change": self.on_change.value,
        }


@dataclass(frozen=True, slots=True)
class Dunning:
    """What happens when an invoice's charge is declined (see the module docstring).

    Attributes:
        retry_after_days: days to wait after each failure before the next try.
        suspend: the policy in force once the last try failed (``None``: none).
    """

    retry_after_days: tuple[int, ...] = (1, 3, 7)
    suspend: DepletionPolicy | None = DepletionPolicy.PAUSE

    @property
    def attempts(self) -> int:
        """How many charges are tried in all: the first and the retries."""
        return 1 + len(self.retry_after_days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "retry_after_days": list(self.retry_after_days),
            "suspend": "none" if self.suspend is None else self.suspend.value,
        }


@dataclass(frozen=True, slots=True)
class Gates:
    """What a plan refuses (see the module docstring)."""

    forbid_operations: frozenset[str] = frozenset()
    allow: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max: Mapping[str, Decimal] = field(default_factory=dict)


PLAN_GRANT_KINDS = (GrantKind.INCLUDED, GrantKind.PROMOTIONAL)
"""The kinds a plan may grant: its allowance (included) or a bonus (promotional)."""


@dataclass(frozen=True, slots=True)
class PlanGrant:
    """Credits a plan grants: ``amount`` micro-credits of ``kind``, for what ``scope``
    covers (``None``: anything).

    Document form: ``{ credits = "2.5", kind = "included" }`` (credits, not micros),
    with ``scope = [{ operation = "train", dimensions = { mode = "any" } }]`` for a
    scoped grant.
    """

    amount: int
    kind: GrantKind = GrantKind.INCLUDED
    scope: GrantScope | None = None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"credits": format_credits(self.amount), "kind": self.kind.value}
        if self.scope is not None:
            document["scope"] = self.scope.to_document()
        return document


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan's metering and billing rules.

    Attributes:
        name: ``"pro"``.
        depletion: see :class:`DepletionPolicy`.
        flex_enabled: whether flex credits may be used (per organization, D6).
        flex_limit: the most flex micro-credits one organization may use in a
            calendar month (the billing threshold), or ``None`` for no limit.
        gates: what the plan refuses.
        max_open_reservations: how many holds may be open at once (C9), or ``None``.
        interval: how long a billing cycle lasts (monthly unless said).
        anchor: cycles from the plan start (``signup``, the default) or on calendar
            months (``calendar``).
        time_zone: the IANA zone cycle boundaries are read in (``"UTC"``).
        signup_grant: granted at the plan start instead of the first cycle's
            ``cycle_grant``, or ``None``.
        cycle_grant: granted at the start of each cycle (a year's credits for an
            annual plan), or ``None``.
        grant_expiry: when the plan's grants expire (never unless said).
        flex_price: the price of one flex credit (``unit_price_minor`` minor units of
            ``currency``) on the monthly flex invoice, or ``None``: flex not invoiced.
        extra_signup_grants: granted once at sign-up besides cycle 0's grant (typically
            scoped: an onboarding guarantee).
        fee: the plan's price per cycle, or ``None``: free.
        dunning: retries and suspension after a declined charge, or ``None``: none.
    """

    name: str
    depletion: DepletionPolicy = DepletionPolicy.PAUSE
    flex_enabled: bool = True
    flex_limit: int | None = None
    gates: Gates = field(default_factory=Gates)
    max_open_reservations: int | None = None
    interval: BillingInterval = BillingInterval.MONTHLY
    anchor: AnchorKind = AnchorKind.SIGNUP
    time_zone: str = "UTC"
    signup_grant: PlanGrant | None = None
    cycle_grant: PlanGrant | None = None
    grant_expiry: ExpiryRule = field(default_factory=ExpiryRule.never)
    flex_price: CostBasis | None = None
    extra_signup_grants: tuple[PlanGrant, ...] = ()
    fee: PlanFee | None = None
    dunning: Dunning | None = None

    @property
    def scoped_grants(self) -> tuple[PlanGrant, ...]:
        """Its grants with a scope (to check against a rate card)."""
        grants = (self.signup_grant, self.cycle_grant, *self.extra_signup_grants)
        return tuple(g for g in grants if g is not None and g.scope is not None)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "depletion": self.depletion.value,
            "flex_enabled": self.flex_enabled,
            "flex_limit_micros": self.flex_limit,
            "max_open_reservations": self.max_open_reservations,
            "gates": {
                "forbid_operations": sorted(self.gates.forbid_operations),
                "allow": {k: sorted(v) for k, v in sorted(self.gates.allow.items())},
                "max": {k: str(v) for k, v in sorted(self.gates.max.items())},
            },
            "interval": self.interval.value,
            "anchor": self.anchor.value,
            "time_zone": self.time_zone,
            "signup_grant": None if self.signup_grant is None else self.signup_grant.to_dict(),
            "cycle_grant": None if self.cycle_grant is None else self.cycle_grant.to_dict(),
            "grant_expiry": self.grant_expiry.to_document(),
        }
        if self.flex_price is not None:  # only when set: documents without it are unchanged
            document["flex_price"] = {
                "currency": self.flex_price.currency,
                "minor_per_credit": self.flex_price.unit_price_minor,
            }
        if self.extra_signup_grants:  # likewise
            document["extra_signup_grants"] = [g.to_dict() for g in self.extra_signup_grants]
        if self.fee is not None:
            document["fee"] = self.fee.to_dict()
        if self.dunning is not None:
            document["dunning"] = self.dunning.to_dict()
        return document

    def cycle_anchor(self, started_at: datetime) -> CycleAnchor:
        """The anchor of an organization that started this plan at ``started_at``."""
        return CycleAnchor(self.anchor, started_at, self.time_zone)

    def grant_for(self, index: int, *, signup: bool = True) -> PlanGrant | None:
        """What cycle ``index`` grants: cycle 0 of a sign-up the sign-up grant (if any)."""
        if index == 0 and signup and self.signup_grant is not None:
            return self.signup_grant
        return self.cycle_grant

    def extras_for(self, index: int, *, signup: bool = True) -> tuple[PlanGrant, ...]:
        """What cycle ``index`` grants besides :meth:`grant_for`: the extra sign-up
        grants, for cycle 0 of a sign-up."""
        return self.extra_signup_grants if index == 0 and signup else ()


DEFAULT_PLAN = Plan("default")


def suspended_policy(plan: Plan) -> DepletionPolicy:
    """The depletion policy in force while an organization on ``plan`` is suspended for
    an overdue invoice: its dunning's ``suspend`` (``pause`` when it has none)."""
    suspend = None if plan.dunning is None else plan.dunning.suspend
    return suspend or DepletionPolicy.PAUSE


def check_gates(
    plan: Plan, operation: str, quantities: Mapping[str, object], dimensions: Mapping[str, str]
) -> None:
    """Raise :class:`PlanGateRefused` naming the first rule the usage breaks."""
    gates = plan.gates
    if operation in gates.forbid_operations:
        raise PlanGateRefused(plan.name, f"operations.{operation}", "not available on this plan")
    for dimension, allowed in gates.allow.items():
        value = dimensions.get(dimension)
        if value is not None and value not in allowed:
            raise PlanGateRefused(
                plan.name, f"dimensions.{dimension}", f"{value!r} is not available on this plan"
            )
    for quantity, cap in gates.max.items():
        amount = quantities.get(quantity)
        if amount is not None and Decimal(str(amount)) > cap:
            raise PlanGateRefused(
                plan.name, f"quantities.{quantity}", f"{amount} is over this plan's limit of {cap}"
            )


# -- billing: cycle renewals and plan changes (B4, B5) ------------------------------------


@dataclass(frozen=True, slots=True)
class Renewal:
    """One cycle a plan's organization has entered, and what the plan grants for it.

    Attributes:
        cycle: the cycle (index, ``[start, end)``).
        effective_at: when its grant takes effect: the cycle's start, or the plan start
            for cycle 0 (a calendar cycle 0 starts before the plan did). A cycle caught
            up late keeps this date: it is when the credits were due.
        grant: what to grant, or ``None`` when the plan grants nothing this cycle (the
            cycle still counts as processed).
        expires_at: the grant's expiry (exclusive), or ``None``.
        extras: the extra sign-up grants (cycle 0 of a sign-up), expiring alike.
    """

    cycle: Cycle
    effective_at: datetime
    grant: PlanGrant | None
    expires_at: datetime | None
    extras: tuple[PlanGrant, ...] = ()

    @property
    def amount(self) -> int:
        """Micro-credits of the cycle's grant (0 for none): the cycle's allowance, what
        a renewal records and a percent alert compares with. The extra sign-up grants
        are granted besides (:attr:`extra_amount`)."""
        return 0 if self.grant is None else self.grant.amount

    @property
    def extra_amount(self) -> int:
        """Micro-credits of the extra sign-up grants."""
        return sum(g.amount for g in self.extras)


def due_renewals(
    plan: Plan,
    started_at: datetime,
    last_processed: int | None,
    now: datetime,
    *,
    signup: bool = True,
) -> list[Renewal]:
    """Every cycle of ``plan`` due at ``now`` and not yet processed, oldest first.

    A cycle is due once its grant's effective time has come (``effective_at <= now``):
    cycle 0 at the plan start, every later cycle at its start. Each cycle after
    ``last_processed`` appears exactly once, in order, so a scheduler that was down
    for three months gets three renewals, each dated and expiring as if it had run
    on time; one whose expiry has passed should still be granted and expired, so
    that the ledger shows it (B3: expiry is an entry, never a silent change).

    Args:
        plan: the organization's plan.
        started_at: when the organization started the plan (sign-up, or the last
            plan change: :func:`anchor_on_plan_change`).
        last_processed: the index of the last cycle already renewed, or ``None`` when
            none has been (not even cycle 0).
        now: the current instant.
        signup: whether cycle 0 is the organization's sign-up (it gets the sign-up
            grant) or a plan change (it gets the cycle grant).

    Raises:
        InvalidTime: naive times.
        InvalidSetting: ``last_processed`` not a cycle index (a whole number >= 0).
    """
    moment = require_aware(now, "now")
    if last_processed is not None and (
        isinstance(last_processed, bool)
        or not isinstance(last_processed, int)
        or last_processed < 0
    ):
        raise InvalidSetting("last processed cycle", last_processed, "a cycle index >= 0 or None")
    anchor = plan.cycle_anchor(started_at)
    if moment < anchor.at:
        return []
    current = cycle_at(anchor, plan.interval, moment).index
    first = 0 if last_processed is None else last_processed + 1
    renewals = []
    for index in range(first, current + 1):
        cycle = nth_cycle(anchor, plan.interval, index)
        effective = max(cycle.start, anchor.at)
        renewals.append(
            Renewal(
                cycle=cycle,
                effective_at=effective,
                grant=plan.grant_for(index, signup=signup),
                extras=plan.extras_for(index, signup=signup),
                expires_at=expires_at(
                    plan.grant_expiry, effective, anchor=anchor, interval=plan.interval, cycle=cycle
                ),
            )
        )
    return renewals


def anchor_on_plan_change(new_plan: Plan, changed_at: datetime) -> CycleAnchor:
    """The new plan's anchor after a change of plan at ``changed_at`` (B5).

    The change restarts the billing cycle: the change instant is the new anchor, its
    cycle 0 begins then (for a calendar plan, the calendar month holding it), and
    :func:`due_renewals` with ``started_at=changed_at, last_processed=None,
    signup=False`` gives its first grant (the new plan's cycle grant). Resetting the
    included credits means the old plan's unexpired included grants end at
    ``changed_at``; doing so (with expire entries) is the caller's part.
    """
    return new_plan.cycle_anchor(changed_at)


def _strings(value: object, where: str, problems: list[str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}: must be a list of names")
        return frozenset()
    return frozenset(value)


def _table(raw: Mapping[str, Any], key: str, where: str, problems: list[str]) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(f"{where}: must be a table")
        return {}
    return dict(value)


def _cap(value: object, where: str, problems: list[str]) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        problems.append(f"{where}: must be a number")
        return None
    try:
        cap = Decimal(str(value))
    except ArithmeticError:
        problems.append(f"{where}: {value!r} is not a number")
        return None
    if not cap.is_finite() or cap < 0:
        problems.append(f"{where}: must be a finite number >= 0, got {value}")
        return None
    return cap


def _gates(raw: object, problems: list[str]) -> Gates:
    if not isinstance(raw, Mapping):
        problems.append("gates: must be a table")
        return Gates()
    forbid = _strings(raw.get("forbid_operations", []), "gates.forbid_operations", problems)
    allow = {
        str(dim): _strings(values, f"gates.allow.{dim}", problems)
        for dim, values in _table(raw, "allow", "gates.allow", problems).items()
    }
    caps = {}
    for name, value in _table(raw, "max", "gates.max", problems).items():
        cap = _cap(value, f"gates.max.{name}", problems)
        if cap is not None:
            caps[str(name)] = cap
    for key in sorted(set(raw) - {"forbid_operations", "allow", "max"}):
        problems.append(f"gates.{key}: unknown key")
    return Gates(forbid, allow, caps)


def _optional_int(raw: Mapping[str, Any], key: str, problems: list[str]) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{key}: must be a whole number >= 0")
        return None
    return value


_E = TypeVar("_E", bound=enum.StrEnum)


def _choice(
    raw: Mapping[str, Any], key: str, default: _E, problems: list[str], where: str = ""
) -> _E:
    kind = type(default)
    try:
        return kind(raw.get(key, default.value))
    except ValueError:
        problems.append(f"{where}{key}: one of {', '.join(k.value for k in kind)}")
        return default


def _plan_grant(raw: Mapping[str, Any], key: str, problems: list[str]) -> PlanGrant | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.append(f'{key}: must be a table such as {{ credits = 6, kind = "included" }}')
        return None
    problems.extend(f"{key}.{k}: unknown key" for k in sorted(map(str, set(value) - _GRANT_KEYS)))
    amount = None
    if "credits" not in value:
        problems.append(f"{key}.credits: required")
    else:
        amount = _grant_amount(value["credits"], f"{key}.credits", problems)
    kind = value.get("kind", GrantKind.INCLUDED.value)
    if kind not in PLAN_GRANT_KINDS:
        problems.append(f"{key}.kind: one of {', '.join(k.value for k in PLAN_GRANT_KINDS)}")
        return None
    scope = None
    if value.get("scope") is not None:
        try:
            scope = parse_scope(value["scope"], f"{key}.scope")
        except InvalidSetting as exc:
            problems.extend(exc.reason.split("; "))
            return None
    return None if amount is None else PlanGrant(amount, GrantKind(kind), scope)


_GRANT_KEYS = {"credits", "kind", "scope"}


def _extra_grants(raw: Mapping[str, Any], problems: list[str]) -> tuple[PlanGrant, ...]:
    """``extra_signup_grants = [{ credits = 4, scope = [...] }, ...]``."""
    value = raw.get("extra_signup_grants")
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("extra_signup_grants: must be a list of grants such as "
                        '[{ credits = 4, scope = [{ operation = "train" }] }]')  # fmt: skip
        return ()
    found = []
    for i, item in enumerate(value):
        sub: list[str] = []
        grant = _plan_grant({"grant": item}, "grant", sub)
        problems.extend(p.replace("grant", f"extra_signup_grants[{i}]", 1) for p in sub)
        if grant is not None:
            found.append(grant)
    return tuple(found)


def _grant_amount(value: object, where: str, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        problems.append(f'{where}: must be a number of credits (6 or "2.5"), got {value!r}')
        return None
    try:
        amount = parse_credits(value)
    except InvalidAmount as exc:
        problems.append(f"{where}: {exc.reason}, got {value!r}")
        return None
    if not 0 < amount <= MAX_MICROS:
        problems.append(f"{where}: must be greater than zero (leave the grant out for none)")
        return None
    return amount


def _time_zone(raw: Mapping[str, Any], problems: list[str]) -> str:
    name = raw.get("time_zone", "UTC")
    try:
        time_zone(name)
    except InvalidSetting as exc:
        problems.append(f"time_zone: {exc.reason}, got {name!r}")
        return "UTC"
    return str(name)


def _expiry(raw: Mapping[str, Any], problems: list[str]) -> ExpiryRule:
    try:
        return parse_expiry(raw.get("grant_expiry", "never"), "grant_expiry")
    except InvalidSetting as exc:
        problems.extend(exc.reason.split("; "))
        return ExpiryRule.never()


def _billing(raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The billing fields of a plan document, as :class:`Plan` keyword arguments."""
    return {
        "interval": _choice(raw, "interval", BillingInterval.MONTHLY, problems),
        "anchor": _choice(raw, "anchor", AnchorKind.SIGNUP, problems),
        "time_zone": _time_zone(raw, problems),
        "signup_grant": _plan_grant(raw, "signup_grant", problems),
        "cycle_grant": _plan_grant(raw, "cycle_grant", problems),
        "grant_expiry": _expiry(raw, problems),
        "extra_signup_grants": _extra_grants(raw, problems),
    }


def _flex_price(value: object, problems: list[str]) -> CostBasis | None:
    """``flex_price = { currency = "USD", minor_per_credit = 100 }``, or ``None``."""
    if value is None:
        return None
    form = '{ currency = "USD", minor_per_credit = 100 }'
    if not isinstance(value, Mapping):
        problems.append(f"flex_price: must be a table such as {form}")
        return None
    found = [f"flex_price.{k}: unknown key" for k in sorted(map(str, set(value) - _PRICE_KEYS))]
    currency, minor = value.get("currency"), value.get("minor_per_credit")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        found.append(f"flex_price.currency: a three-letter ISO 4217 code, got {currency!r}")
    if isinstance(minor, bool) or not isinstance(minor, int) or not 0 <= minor <= MAX_MICROS:
        found.append(
            f"flex_price.minor_per_credit: a whole number of minor units >= 0, got {minor!r}"
        )
    problems.extend(found)
    if found:
        return None
    return CostBasis(int(minor), str(currency))  # type: ignore[arg-type]


_PRICE_KEYS = {"currency", "minor_per_credit"}


def _currency(value: object) -> bool:
    return isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()


def _fee(value: object, problems: list[str]) -> PlanFee | None:
    """``fee = { prices_minor = { USD = 4900 }, billed = "in_advance", on_change = "none" }``."""
    if value is None:
        return None
    form = '{ prices_minor = { USD = 4900 }, billed = "in_advance" }'
    if not isinstance(value, Mapping):
        problems.append(f"fee: must be a table such as {form}")
        return None
    found = [f"fee.{k}: unknown key" for k in sorted(map(str, set(value) - _FEE_KEYS))]
    prices = value.get("prices_minor")
    if not isinstance(prices, Mapping) or not prices:
        found.append(f"fee.prices_minor: a table of one or more prices, such as {form}")
        prices = {}
    for currency, minor in prices.items():
        if not _currency(currency):
            found.append(f"fee.prices_minor: {currency!r} is not a three-letter ISO 4217 code")
        if isinstance(minor, bool) or not isinstance(minor, int) or not 0 <= minor <= MAX_MICROS:
            found.append(
                f"fee.prices_minor.{currency}: a whole number of minor units >= 0, got {minor!r}"
            )
    billed = _choice(value, "billed", FeeTiming.IN_ADVANCE, found, "fee.")
    change = _choice(value, "on_change", FeeChange.NONE, found, "fee.")
    default = value.get("currency")
    if default is not None and default not in prices:
        found.append(f"fee.currency: one of the prices' currencies, got {default!r}")
    elif default is None and len(prices) > 1:
        found.append(f"fee.currency: name the currency billed by default, one of "
                     f"{', '.join(sorted(map(str, prices)))}")  # fmt: skip
    problems.extend(found)
    if found:
        return None
    chosen = str(default) if default is not None else str(next(iter(prices)))
    return PlanFee({str(c): int(m) for c, m in prices.items()}, billed, change, chosen)


_FEE_KEYS = {"prices_minor", "currency", "billed", "on_change"}
_SUSPEND = {"pause": DepletionPolicy.PAUSE, "read_only": DepletionPolicy.READ_ONLY, "none": None}


def _dunning(value: object, depletion: DepletionPolicy, problems: list[str]) -> Dunning | None:
    """``dunning = { retry_after_days = [1, 3, 7], suspend = "pause" }``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.append("dunning: must be a table such as { retry_after_days = [1, 3, 7] }")
        return None
    found = [f"dunning.{k}: unknown key" for k in sorted(map(str, set(value) - _DUNNING_KEYS))]
    days = value.get("retry_after_days", [1, 3, 7])
    if not isinstance(days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 366 for d in days
    ):
        found.append("dunning.retry_after_days: a list of whole numbers of days from 1 to 366")
        days = []
    default = depletion if depletion in (DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY) else (
        DepletionPolicy.PAUSE
    )  # fmt: skip
    suspend_name = value.get("suspend")
    if suspend_name is not None and suspend_name not in _SUSPEND:
        found.append(f"dunning.suspend: one of {', '.join(_SUSPEND)}")
    problems.extend(found)
    if found:
        return None
    suspend = default if suspend_name is None else _SUSPEND[str(suspend_name)]
    return Dunning(tuple(int(d) for d in days), suspend)


_DUNNING_KEYS = {"retry_after_days", "suspend"}


_KEYS = {
    "name",
    "depletion",
    "flex_enabled",
    "flex_limit_micros",
    "max_open_reservations",
    "gates",
    "interval",
    "anchor",
    "time_zone",
    "signup_grant",
    "cycle_grant",
    "grant_expiry",
    "flex_price",
    "extra_signup_grants",
    "fee",
    "dunning",
}


def parse_plan(raw: Mapping[str, Any]) -> Plan:
    """Build a plan from its document form (:meth:`Plan.to_dict`), listing every problem."""
    problems: list[str] = [f"{k}: unknown key" for k in sorted(set(raw) - _KEYS)]
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: must be a non-empty string")
    try:
        depletion = DepletionPolicy(raw.get("depletion", "pause"))
    except ValueError:
        problems.append(f"depletion: one of {', '.join(p.value for p in DepletionPolicy)}")
        depletion = DepletionPolicy.PAUSE
    flex_enabled = raw.get("flex_enabled", True)
    if not isinstance(flex_enabled, bool):
        problems.append("flex_enabled: must be true or false")
    plan = Plan(
        name=str(name),
        depletion=depletion,
        flex_enabled=bool(flex_enabled),
        flex_limit=_optional_int(raw, "flex_limit_micros", problems),
        gates=_gates(raw.get("gates", {}), problems),
        max_open_reservations=_optional_int(raw, "max_open_reservations", problems),
        **_billing(raw, problems),
        flex_price=_flex_price(raw.get("flex_price"), problems),
        fee=_fee(raw.get("fee"), problems),
        dunning=_dunning(raw.get("dunning"), depletion, problems),
    )
    if problems:
        raise InvalidSetting("plan", raw.get("name"), "; ".join(problems))
    return plan


def load_plans(text: str | bytes) -> list[Plan]:
    """Read plans from TOML: one ``[[plans]]`` table per plan, in the document form.

    Example (``examples/otai/plans.toml``)::

        [[plans]]
        name = "pro"
        depletion = "pause"
        gates = { allow = { mode = ["Basic", "Business"] } }

    Raises:
        InvalidSetting: listing every problem of every plan, each located as
            ``plans[1] (pro): depletion: one of ...``; nothing is returned.
    """
    try:
        source = text.decode("utf-8") if isinstance(text, bytes) else text
        document = tomllib.loads(source, parse_float=Decimal)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidSetting("plans", "[[plans]]", f"not a TOML document: {exc}") from None
    problems = [f"{key}: unknown key" for key in sorted(document) if key != "plans"]
    raw = document.get("plans")
    if not isinstance(raw, list) or not raw:
        problems.append("plans: must be one or more [[plans]] tables")
        raw = []
    plans: list[Plan] = []
    for i, item in enumerate(raw):
        where = f"plans[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be a table")
            continue
        try:
            plans.append(parse_plan(item))
        except InvalidSetting as exc:
            problems.extend(f"{where} ({item.get('name')}): {p}" for p in exc.reason.split("; "))
    names = [plan.name for plan in plans]
    problems.extend(
        f"plans: {name!r} is defined more than once"
        for name in sorted({n for n in names if names.count(n) > 1})
    )
    if problems:
        raise InvalidSetting("plans", "[[plans]]", "; ".join(problems))
    return plans
