"""A plan: what an organization may run (its gates), what it is granted, and its terms.

**Gates** (C4) refuse usage a plan does not allow, with a reason naming the rule, and
cost nothing:

- ``forbid_operations``: operations the plan cannot run at all.
- ``allow`` per dimension: the only values a dimension may take (``mode`` in
  Basic, Business: Maximum is Enterprise only).
- ``max`` per quantity: a cap (training data up to 100 MB on credit packs).

**Scoped plan grants** (B7, :mod:`creditline.domain.scopes`): any plan grant may carry
a ``scope``, the operations (and dimension values) it pays for; and
``extra_signup_grants`` lists grants made once at sign-up *besides* the sign-up grant
(or cycle 0's cycle grant), each with its own kind and scope: OTAI's onboarding
guarantee ("1 training run + 1 improvement iteration") is a scoped one. Like the
sign-up grant, they are not made again at a plan change; they expire by the plan's
``grant_expiry``. Their operations are checked against the organization's rate card
when it subscribes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from creditline.domain.amounts import CostBasis, format_credits
from creditline.domain.cycles import AnchorKind, BillingInterval, CycleAnchor, ExpiryRule
from creditline.domain.errors import PlanGateRefused
from creditline.domain.grace import GraceTerms
from creditline.domain.grants import GrantKind
from creditline.domain.plans.policy import DepletionPolicy
from creditline.domain.plans.terms import Dunning, PlanFee
from creditline.domain.scopes import GrantScope

__all__ = [
    "DEFAULT_PLAN",
    "PLAN_GRANT_KINDS",
    "Gates",
    "Plan",
    "PlanGrant",
    "check_gates",
    "suspended_policy",
]


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
        max_hold_hours: the longest a hold may live from its creation, extensions
            included, in hours, or ``None``: the engine's longest time-to-live (30 days).
        grace: the grace between depletion and lock (:mod:`creditline.domain.grace`),
            or ``None``: none.
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
    max_hold_hours: int | None = None
    grace: GraceTerms | None = None

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
        if self.max_hold_hours is not None:
            document["max_hold_hours"] = self.max_hold_hours
        if self.grace is not None:
            document.update(self.grace.to_dict())
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
