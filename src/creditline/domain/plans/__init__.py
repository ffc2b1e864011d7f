"""Plans: what an organization may run, what it is granted, and what happens when its
credits run out.

This package holds the parts of a plan that metering needs (requirements A3, A4, C4,
D6) and its billing: cycles and the credits granted with them (B3, B4, B5; the cycle
arithmetic is in :mod:`creditline.domain.cycles`).

Where each part lives:

- :mod:`~creditline.domain.plans.plan`: the plan, its gates (C4) and its grants.
- :mod:`~creditline.domain.plans.policy`: the depletion policy (A3, A4).
- :mod:`~creditline.domain.plans.terms`: billing terms: the flex price, the plan's fee
  and dunning.
- :mod:`~creditline.domain.plans.renewals`: billing cycles: the renewals due, and a
  change of plan mid-cycle (B4, B5).
- :mod:`~creditline.domain.plans.parsing`: the document form (TOML), read with every
  problem listed.
"""

from __future__ import annotations

from creditline.domain.plans.parsing import load_plans, parse_plan
from creditline.domain.plans.plan import (
    DEFAULT_PLAN,
    PLAN_GRANT_KINDS,
    Gates,
    Plan,
    PlanGrant,
    check_gates,
    suspended_policy,
)
from creditline.domain.plans.policy import DepletionPolicy
from creditline.domain.plans.renewals import Renewal, anchor_on_plan_change, due_renewals
from creditline.domain.plans.terms import Dunning, FeeChange, FeeTiming, PlanFee

__all__ = [
    "DEFAULT_PLAN",
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
