"""What pricing takes and gives: a pipeline's :class:`Step`, the :class:`Quote` with its
breakdown (:class:`Component`, :class:`AppliedMultiplier`), and the ingest path's
:class:`Charge`.

The parts of a quote add up: its components sum to ``base``, ``base`` times its
multipliers is ``exact``, and ``total`` is ``exact`` rounded by its rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, NamedTuple

from creditline.domain.amounts import MICROS_PER_CREDIT, format_credits
from creditline.domain.pricing.rounding import Rounding
from creditline.domain.pricing.values import _EMPTY, _EXACT, Quantity, _credit_text, _plain


@dataclass(frozen=True, slots=True)
class Component:
    """One addend of an operation's base cost.

    Attributes:
        label: what it is (``"40 minutes x 0.024 credits per 1 minutes"``).
        micros: its exact cost in micro-credits.
    """

    label: str
    micros: Decimal


@dataclass(frozen=True, slots=True)
class AppliedMultiplier:
    """A multiplier that applied: ``("attributes 3 in 1..5", Decimal("0.5"))``."""

    reason: str
    factor: Decimal


class Step(NamedTuple):
    """One step of a pipeline run: an operation and its own usage."""

    operation: str
    quantities: Mapping[str, Quantity] = _EMPTY
    dimensions: Mapping[str, str] = _EMPTY


@dataclass(frozen=True, slots=True)
class Quote:
    """What an operation costs, and why. Nothing is spent by quoting.

    The parts add up: ``sum(c.micros for c in components) == base``,
    ``base x multiplier == exact``, and ``total`` is ``exact`` rounded by ``rounding``
    (for a pipeline, the sum of the steps' totals; ``rounding`` is then ``None``).

    Attributes:
        operation: the operation priced.
        card: the rate card's name.
        version: the version that priced it.
        total: the cost, in micro-credits: what would be charged.
        base: the cost before multipliers, in exact micro-credits.
        multipliers: the multipliers that applied, in order.
        exact: the cost before rounding, in exact micro-credits.
        rounding: the rule applied to ``exact``.
        components: the addends of ``base`` (a pipeline: one per step, its exact cost).
        steps: a pipeline's steps, each quoted as its own operation.
        selection: the dimension values that picked the price (``{"mode": "Basic"}``).
        supplier: who set the price, for a price set per model by its supplier.
    """

    operation: str
    card: str
    version: str
    total: int
    base: Decimal
    multipliers: tuple[AppliedMultiplier, ...]
    exact: Decimal
    rounding: Rounding | None
    components: tuple[Component, ...]
    steps: tuple[Quote, ...] = ()
    selection: Mapping[str, str] = field(default_factory=lambda: _EMPTY, hash=False)
    supplier: str | None = None

    @property
    def multiplier(self) -> Decimal:
        """The product of the multipliers that applied (1 when none did)."""
        product = Decimal(1)
        with localcontext(_EXACT):
            for applied in self.multipliers:
                product *= applied.factor
        return product

    @property
    def adjustment(self) -> Decimal:
        """What rounding added (negative: took off), in micro-credits."""
        with localcontext(_EXACT):
            return self.total - self.exact

    def describe(self) -> str:
        """The quote for people, one line each: total, components, multipliers, rounding."""
        unit = "credit" if self.total == MICROS_PER_CREDIT else "credits"
        lines = [
            f"{self.operation}: {format_credits(self.total)} {unit} ({self.card} {self.version})"
        ]
        if self.supplier:
            lines.append(f"  price set by {self.supplier}")
        lines += [f"  {c.label} = {_credit_text(c.micros)}" for c in self.components]
        lines += [f"  x{_plain(m.factor)} {m.reason}" for m in self.multipliers]
        if self.rounding is not None and self.adjustment:
            lines.append(
                f"  exact {_credit_text(self.exact)}, rounded {self.rounding.describe()}: "
                f"{'+' if self.adjustment > 0 else ''}{_credit_text(self.adjustment)}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The quote, JSON-ready: amounts in credits as exact text, plus ``total_micros``."""
        return {
            "operation": self.operation,
            "card": self.card,
            "version": self.version,
            "total": format_credits(self.total),
            "total_micros": self.total,
            "base": _credit_text(self.base),
            "multiplier": _plain(self.multiplier),
            "multipliers": [
                {"reason": m.reason, "factor": _plain(m.factor)} for m in self.multipliers
            ],
            "exact": _credit_text(self.exact),
            "rounding": None if self.rounding is None else self.rounding.to_dict(),
            "adjustment": _credit_text(self.adjustment),
            "components": [
                {"label": c.label, "credits": _credit_text(c.micros)} for c in self.components
            ],
            "steps": [step.to_dict() for step in self.steps],
            "selection": dict(self.selection),
            "supplier": self.supplier,
        }


class Charge(NamedTuple):
    """What one use costs, without the breakdown (:meth:`RateCardHistory.charge`).

    Attributes:
        card: the rate card's name.
        version: the version that priced it.
        total: the cost, in micro-credits (the :class:`Quote`'s total).
        components: a pipeline's steps, in order: each step's operation and its total in
            micro-credits; empty for any other operation.
    """

    card: str
    version: str
    total: int
    components: tuple[tuple[str, int], ...] = ()
