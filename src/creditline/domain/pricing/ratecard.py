"""The rate card: one version of a platform's price list, and pricing by it.

A :class:`RateCard` holds an :class:`~creditline.domain.pricing.operation.OperationPrice`
per operation, with the rounding and off-peak rate of every price that sets none; it is
validated when constructed, and :func:`ratecard_problems` lists every problem of its
parts at once. :func:`price` prices one use of an operation by a card: the quantities
and dimensions the price needs are read (every bad one named), the price the dimensions
pick is computed exactly, multiplied and rounded once; a pipeline is the sum of its
steps' rounded totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from creditline.domain.errors import InvalidRateCard, InvalidUsage, UnknownOperation
from creditline.domain.pricing.evaluate import (
    _band_multipliers,
    _checked_total,
    _exactly,
    _read_quantities,
    _Usage,
)
from creditline.domain.pricing.forms import Flat, Formula, Matrix, PerUnit, Pipeline, SupplierPrices
from creditline.domain.pricing.multipliers import OffPeak
from creditline.domain.pricing.operation import OperationPrice
from creditline.domain.pricing.quote import AppliedMultiplier, Component, Quote, Step
from creditline.domain.pricing.rounding import DEFAULT_ROUNDING, Rounding, round_to_increment
from creditline.domain.pricing.validation import (
    _OPERATION,
    _label_problems,
    _must_be,
    _problems_of,
    brief_repr,
    path,
)
from creditline.domain.pricing.values import _EMPTY, Quantity
from creditline.domain.time import require_aware


def ratecard_problems(
    *,
    name: object,
    version: object,
    effective_from: object,
    operations: Mapping[str, OperationPrice | None],
    rounding: object = DEFAULT_ROUNDING,
    off_peak: object = None,
    description: object = "",
) -> list[str]:
    """Every problem of a rate card's parts, each located by its document path.

    :class:`RateCard` calls this when constructed. A parser that could not build some
    operations passes ``None`` for them: their names still count (a pipeline may allow
    them) but nothing else about them is checked here.
    """
    found = _label_problems(name, "name") + _label_problems(version, "version")
    if not isinstance(effective_from, datetime) or effective_from.utcoffset() is None:
        what = "a date and time with a time zone (2026-01-01T00:00:00Z)"
        found.append(_must_be("effective_from", what, effective_from))
    if not isinstance(description, str):
        found.append("description: must be a string")
    found += _problems_of(rounding, Rounding, "rounding")
    if off_peak is not None:
        found += _problems_of(off_peak, OffPeak, "off_peak")
    return found + _operations_problems(operations)


def _operations_problems(operations: Mapping[str, OperationPrice | None]) -> list[str]:
    if not isinstance(operations, Mapping) or not operations:
        return ["operations: a rate card prices at least one operation"]
    found = []
    for name, offer in operations.items():
        where = path("operations", str(name))
        if not isinstance(name, str) or not _OPERATION.match(name):
            found.append(
                f"{where}: an operation name is letters, digits and _ . : / - "
                "(at most 100, starting with a letter or digit)"
            )
        if offer is None:
            continue
        found += _problems_of(offer, OperationPrice, where, "an OperationPrice")
        if not isinstance(offer, OperationPrice):
            continue
        if isinstance(offer.form, Pipeline) and isinstance(offer.form.allow, tuple):
            found += _allow_problems(where, offer.form.allow, operations)
    return found


def _allow_problems(
    where: str, allow: tuple[str, ...], operations: Mapping[str, OperationPrice | None]
) -> list[str]:
    found = []
    for index, step in enumerate(allow):
        target = operations.get(step, None) if isinstance(step, str) else None
        at = path(where, "pipeline", "allow", index)
        if isinstance(step, str) and step not in operations:
            found.append(f"{at}: no operation {step!r} in this rate card")
        elif isinstance(target, OperationPrice) and isinstance(target.form, Pipeline):
            found.append(f"{at}: {step!r} is a pipeline; a pipeline cannot be a step")
    return found


@dataclass(frozen=True, slots=True)
class RateCard:
    """One version of a price list, validated when constructed.

    Attributes:
        name: the card's name, shared by all its versions (``"otai"``).
        version: this version's label (``"2026-01"``).
        effective_from: when this version takes effect (aware; kept in UTC).
        operations: each operation's price, by operation name.
        rounding: the rule of every price that sets none.
        off_peak: the time-of-day rate of every operation that sets none.
        description: free text for people.

    Raises:
        InvalidRateCard: listing every problem found.
    """

    name: str
    version: str
    effective_from: datetime
    operations: Mapping[str, OperationPrice] = field(hash=False)
    rounding: Rounding = DEFAULT_ROUNDING
    off_peak: OffPeak | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.operations, Mapping):
            object.__setattr__(self, "operations", MappingProxyType(dict(self.operations)))
        moment = self.effective_from
        if isinstance(moment, datetime) and moment.utcoffset() is not None:
            object.__setattr__(self, "effective_from", moment.astimezone(UTC))
        problems = ratecard_problems(
            name=self.name,
            version=self.version,
            effective_from=self.effective_from,
            operations=self.operations,
            rounding=self.rounding,
            off_peak=self.off_peak,
            description=self.description,
        )
        if problems:
            raise InvalidRateCard(problems)

    @property
    def label(self) -> str:
        """``"otai 2026-01"``."""
        return f"{self.name} {self.version}"

    def operation(self, name: str) -> OperationPrice:
        """The price of operation ``name``.

        Raises:
            UnknownOperation: the card does not price it.
        """
        try:
            return self.operations[name]
        except (KeyError, TypeError):
            raise UnknownOperation(str(name), self.label, sorted(self.operations)) from None

    def price(
        self,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        steps: Sequence[Step] = (),
        at: datetime | None = None,
    ) -> Quote:
        """Shorthand for :func:`price` with this card."""
        return price(self, operation, quantities, dimensions, steps=steps, at=at)

    def to_dict(self) -> dict[str, Any]:
        """The card in document form, JSON-ready (numbers as exact text).

        :func:`creditline.domain.pricing.ratecard_format.parse_ratecard` reads it back into an
        equal card.
        """
        out: dict[str, Any] = {
            "format": 1,
            "name": self.name,
            "version": self.version,
            "effective_from": self.effective_from.isoformat().replace("+00:00", "Z"),
        }
        if self.description:
            out["description"] = self.description
        out["rounding"] = self.rounding.to_dict()
        if self.off_peak is not None:
            out["off_peak"] = self.off_peak.to_dict()
        out["operations"] = {name: offer.to_dict() for name, offer in self.operations.items()}
        return out


def price(
    card: RateCard,
    operation: str,
    quantities: Mapping[str, Quantity] | None = None,
    dimensions: Mapping[str, str] | None = None,
    *,
    steps: Sequence[Step] = (),
    at: datetime | None = None,
) -> Quote:
    """Price one use of ``operation`` by ``card``, without spending anything.

    Args:
        card: the rate card (for usage at a time, the version in force then:
            :meth:`RateCardHistory.price` picks it).
        operation: the operation's name in the card.
        quantities: usage quantities by name (``{"attributes": 3}``,
            ``{"minutes": "12.5"}``): ints, Decimals or decimal text, never floats.
            Quantities the price does not use are ignored.
        dimensions: dimension values by name (``{"mode": "Business"}``); unused ones
            are ignored.
        steps: a pipeline's steps; only for a pipeline.
        at: the event's time (aware); needed when an off-peak rate may apply.

    Returns:
        The :class:`Quote`: total in micro-credits and the breakdown.

    Raises:
        UnknownOperation: the card has no such operation.
        InvalidUsage: listing every missing, malformed or out-of-range input.
        InvalidTime: ``at`` is naive.
    """
    offer = card.operation(operation)
    moment = None if at is None else require_aware(at, "at")
    form = offer.form
    if isinstance(form, Pipeline):
        return _price_pipeline(card, operation, form, steps, moment)
    if steps:
        raise InvalidUsage(operation, ["steps: only a pipeline operation has steps"])
    usage = _Usage(quantities or _EMPTY, dimensions or _EMPTY, moment)
    return _price_one(card, operation, offer, form, usage)


def _price_one(
    card: RateCard,
    operation: str,
    offer: OperationPrice,
    form: Flat | PerUnit | Matrix | Formula | SupplierPrices,
    usage: _Usage,
) -> Quote:
    problems: list[str] = []
    chosen = form.select(usage.dimensions, problems)
    names = chosen.price.quantity_names() if chosen else ()
    names += tuple(bands.quantity for bands in offer.multipliers)
    values = _read_quantities(usage.quantities, names, problems)
    applied = _band_multipliers(offer.multipliers, values, problems)
    off_peak = offer.off_peak if offer.off_peak is not None else card.off_peak
    if off_peak is not None and usage.at is None:
        problems.append("at: this operation has an off-peak rate, so pricing needs the time")
    if problems or chosen is None:
        raise InvalidUsage(operation, problems)
    if off_peak is not None and usage.at is not None and off_peak.applies(usage.at):
        applied.append(AppliedMultiplier(off_peak.describe(), off_peak.multiplier))
    with _exactly(operation):
        components = tuple(
            Component(f"{chosen.label}: {c.label}" if chosen.label else c.label, c.micros)
            for c in chosen.price.components(values)
        )
        base = sum((c.micros for c in components), Decimal(0))
        exact = base
        for multiplier in applied:
            exact *= multiplier.factor
    rounding = offer.rounding if offer.rounding is not None else card.rounding
    total = _checked_total(operation, round_to_increment(exact, rounding.increment, rounding.mode))
    return Quote(
        operation=operation,
        card=card.name,
        version=card.version,
        total=total,
        base=base,
        multipliers=tuple(applied),
        exact=exact,
        rounding=rounding,
        components=components,
        selection=MappingProxyType(dict(chosen.selection)),
        supplier=chosen.supplier,
    )


def _price_pipeline(
    card: RateCard,
    operation: str,
    pipeline: Pipeline,
    steps: Sequence[Step],
    at: datetime | None,
) -> Quote:
    problems = [] if steps else ["steps: a pipeline needs at least one step"]
    quotes: list[Quote] = []
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        refusal = _step_refusal(card, pipeline, step)
        if refusal:
            problems.append(f"{where}.operation: {refusal}")
            continue
        try:
            quotes.append(price(card, step.operation, step.quantities, step.dimensions, at=at))
        except InvalidUsage as exc:
            problems += [f"{where}.{problem}" for problem in exc.problems]
    if problems:
        raise InvalidUsage(operation, problems)
    with _exactly(operation):
        exact = sum((quote.exact for quote in quotes), Decimal(0))
    components = tuple(
        Component(f"step {index + 1}: {quote.operation}", quote.exact)
        for index, quote in enumerate(quotes)
    )
    return Quote(
        operation=operation,
        card=card.name,
        version=card.version,
        total=_checked_total(operation, sum(quote.total for quote in quotes)),
        base=exact,
        multipliers=(),
        exact=exact,
        rounding=None,
        components=components,
        steps=tuple(quotes),
    )


def _step_refusal(card: RateCard, pipeline: Pipeline, step: object) -> str | None:
    if not isinstance(step, Step):
        return f"must be a Step, got {brief_repr(step)}"
    target = card.operations.get(step.operation) if isinstance(step.operation, str) else None
    if target is None:
        return f"no operation {step.operation!r} in rate card {card.label}"
    if isinstance(target.form, Pipeline):
        return f"{step.operation!r} is a pipeline; a pipeline cannot be a step"
    if pipeline.allow and step.operation not in pipeline.allow:
        return f"{step.operation!r} is not allowed here (allowed: {', '.join(pipeline.allow)})"
    return None
