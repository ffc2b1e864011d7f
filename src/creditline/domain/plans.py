"""Plans: what an organization may run, and what happens when its credits run out.

This module holds the parts of a plan that metering needs (requirements A3, A4, C4,
D6); billing cycles and per-cycle grants build on it.

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
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from creditline.domain.errors import InvalidSetting, PlanGateRefused

__all__ = ["DepletionPolicy", "Gates", "Plan", "check_gates", "load_plans", "parse_plan"]


class DepletionPolicy(enum.StrEnum):
    PAUSE = "pause"
    READ_ONLY = "read_only"
    FLEX = "flex"
    UNLIMITED = "unlimited"


@dataclass(frozen=True, slots=True)
class Gates:
    """What a plan refuses (see the module docstring)."""

    forbid_operations: frozenset[str] = frozenset()
    allow: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan's metering rules.

    Attributes:
        name: ``"pro"``.
        depletion: see :class:`DepletionPolicy`.
        flex_enabled: whether flex credits may be used (per organization, D6).
        flex_limit: the most flex micro-credits one organization may use in a
            calendar month (the billing threshold), or ``None`` for no limit.
        gates: what the plan refuses.
        max_open_reservations: how many holds may be open at once (C9), or ``None``.
    """

    name: str
    depletion: DepletionPolicy = DepletionPolicy.PAUSE
    flex_enabled: bool = True
    flex_limit: int | None = None
    gates: Gates = field(default_factory=Gates)
    max_open_reservations: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
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
        }


DEFAULT_PLAN = Plan("default")


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


_KEYS = {"name", "depletion", "flex_enabled", "flex_limit_micros", "max_open_reservations", "gates"}


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
