"""Versions: a rate card's history, and which version prices usage at a given time.

Version *i* of a :class:`RateCardHistory` is in force from its ``effective_from`` until
the next version's. Usage is priced by the version in force at the event's own time,
and a new version may only take effect from now on, so a new price never changes what
past usage cost, late events included.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from creditline.domain.amounts import MAX_MICROS
from creditline.domain.errors import InvalidRateCard, NoRateCardInForce
from creditline.domain.pricing.compiled import (
    _compile_operation,
    _Compiled,
    _FastOperation,
    _FastPipeline,
    _plain_steps,
)
from creditline.domain.pricing.quote import Charge, Quote, Step
from creditline.domain.pricing.ratecard import RateCard, price
from creditline.domain.pricing.values import Quantity
from creditline.domain.time import require_aware


@dataclass(frozen=True, slots=True)
class RateCardHistory:
    """The versions of one rate card, in order of ``effective_from``.

    Version *i* is in force on ``[versions[i].effective_from,
    versions[i + 1].effective_from)``; the last one from its start on.

    Raises:
        InvalidRateCard: no versions, versions of different cards, or two versions with
            the same label or the same effective time.
    """

    versions: tuple[RateCard, ...]
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False)
    _compiled: tuple[dict[str, _Compiled], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.versions, key=lambda card: card.effective_from))
        object.__setattr__(self, "versions", ordered)
        problems = _history_problems(ordered)
        if problems:
            raise InvalidRateCard(problems)
        # Looked up on every event: the starts, and each version's operations compiled
        # for charge() (filled as operations are first charged).
        object.__setattr__(self, "_starts", tuple(card.effective_from for card in ordered))
        object.__setattr__(self, "_compiled", tuple({} for _ in ordered))

    @property
    def name(self) -> str:
        return self.versions[0].name

    def in_force(self, at: datetime) -> RateCard:
        """The version in force at ``at``.

        Raises:
            NoRateCardInForce: ``at`` is before the first version.
            InvalidTime: ``at`` is naive.
        """
        return self.versions[self._index(at)]

    def _index(self, at: datetime) -> int:
        # An instant already in UTC is what require_aware would return: skip its work.
        moment = at if type(at) is datetime and at.tzinfo is UTC else require_aware(at, "at")
        index = bisect.bisect_right(self._starts, moment) - 1
        if index < 0:
            raise NoRateCardInForce(self.name, moment)
        return index

    def add(self, card: RateCard, *, now: datetime) -> RateCardHistory:
        """A history with ``card`` as a new version, which may not take effect before now.

        A version that took effect in the past would re-price usage that has already
        happened (late events are priced by the version in force at their time), so
        it is refused.

        Raises:
            InvalidRateCard: the version starts before ``now``, or clashes with another.
        """
        moment = require_aware(now, "now")
        if card.effective_from < moment:
            raise InvalidRateCard(
                [
                    f"effective_from: {card.effective_from.isoformat()} is before now "
                    f"({moment.isoformat()}); a new version takes effect now or later, "
                    "so past usage keeps its price"
                ]
            )
        return RateCardHistory((*self.versions, card))

    def price(
        self,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        at: datetime,
        steps: Sequence[Step] = (),
    ) -> Quote:
        """Price usage at ``at`` by the version in force then (see :func:`price`)."""
        card = self.in_force(at)
        return price(card, operation, quantities, dimensions, steps=steps, at=at)

    def charge(
        self,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        at: datetime,
        steps: Sequence[Step] = (),
    ) -> Charge:
        """What usage at ``at`` costs, without the breakdown: the ingest path's price.

        The result always equals :meth:`price`'s: ``total``, ``card`` and ``version``
        are the quote's, ``components`` its steps' operations and totals; and usage
        that :meth:`price` refuses raises the same error. Common usage (int
        quantities, no off-peak rate) is priced by integer arithmetic compiled once
        per version and operation, several times faster than a :class:`Quote`;
        anything else is priced by :meth:`price`.

        Raises:
            UnknownOperation, InvalidUsage, InvalidTime, NoRateCardInForce: as
                :meth:`price`.
        """
        index = self._index(at)
        charged = self._fast_charge(index, operation, quantities, dimensions, steps)
        if charged is not None:
            return charged
        quote = self.price(operation, quantities, dimensions, at=at, steps=steps)
        components = tuple((step.operation, step.total) for step in quote.steps)
        return Charge(quote.card, quote.version, quote.total, components)

    def _fast_charge(
        self,
        index: int,
        operation: object,
        quantities: object,
        dimensions: object,
        steps: object,
    ) -> Charge | None:
        """The charge by the compiled prices of version ``index``; ``None`` when they
        cannot tell (the full pricing then decides, and names any problem)."""
        compiled = self._compiled_operation(index, operation)
        given = _plain_steps(steps)
        if compiled is None or given is None:
            return None
        components: tuple[tuple[str, int], ...] | None = ()
        if isinstance(compiled, _FastPipeline):
            components = self._fast_steps(index, compiled, given)
            total = None if components is None else sum(micros for _, micros in components)
        elif given:
            return None  # steps for an operation that is not a pipeline: refused in full
        else:
            total = compiled.total(quantities, dimensions)
        if total is None or components is None or total > MAX_MICROS:
            return None
        card = self.versions[index]
        return Charge(card.name, card.version, total, components)

    def _fast_steps(
        self, index: int, pipeline: _FastPipeline, steps: tuple[object, ...]
    ) -> tuple[tuple[str, int], ...] | None:
        """Each step's operation and total, by the compiled prices; ``None`` when they
        cannot tell for one of them."""
        if not steps:
            return None
        components = []
        for step in steps:
            if type(step) is not Step:
                return None
            compiled = self._compiled_operation(index, step.operation)  # None unless a str
            if not isinstance(compiled, _FastOperation) or (
                pipeline.allow and step.operation not in pipeline.allow
            ):
                return None
            total = compiled.total(step.quantities, step.dimensions)
            if total is None:
                return None
            components.append((step.operation, total))
        return tuple(components)

    def _compiled_operation(self, index: int, operation: object) -> _Compiled:
        """Operation ``operation`` of version ``index``, compiled on first use; ``None``
        for an unknown operation (not remembered) or one the compiler leaves alone."""
        if type(operation) is not str:
            return None
        compiled = self._compiled[index]
        try:
            return compiled[operation]
        except KeyError:
            card = self.versions[index]
            offer = card.operations.get(operation)
            if offer is None:
                return None
            compiled[operation] = found = _compile_operation(card, offer)
            return found


def _history_problems(versions: tuple[RateCard, ...]) -> list[str]:
    if not versions:
        return ["versions: a rate card history has at least one version"]
    found = []
    names = sorted({card.name for card in versions})
    if len(names) > 1:
        found.append(f"name: the versions belong to different cards ({', '.join(names)})")
    for earlier, later in itertools.combinations(versions, 2):
        if earlier.version == later.version:
            found.append(f"version: {later.version!r} is used twice")
        if earlier.effective_from == later.effective_from:
            found.append(
                f"effective_from: versions {earlier.version!r} and {later.version!r} both "
                f"take effect at {later.effective_from.isoformat()}"
            )
    return found
