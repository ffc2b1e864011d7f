"""What-if pricing: a past period's usage re-priced by a draft rate card, nothing written.

A platform about to change its prices asks what the change would have done. Given a
draft version of a rate card (parsed, validated, never loaded) and the accepted usage
events of a period, :class:`Repricer` prices each event by the draft, at the event's own
time (off-peak windows included), exactly as ingest would have, and reports per
organization and operation:

- ``events``: the accepted events;
- ``charged``: the micro-credits they were charged;
- ``repriced``: what the draft would have charged them;
- ``unpriced``: the events the draft cannot price (an operation it drops, a dimension
  value it no longer lists): ingest would have rejected them, so they add nothing to
  ``repriced``, and the first reason is kept;
- ``difference``: ``repriced - charged``.

**Running out earlier.** An organization's balance over the period is its ledger: the
balance at the start, every entry that is not a usage charge (grants, purchases,
expiry, holds, refunds, adjustments; not the flex grants, which only covered what the
usage overdrew), and the usage charges. Under the draft, the usage charges are the
repriced ones; the first moment the balance would have gone below zero (and the real one
did not, then) is when the organization would have run out (for an organization with
flex: gone onto flex; ``ran_out_at`` says when it really did). The
events after that moment are still repriced as if they had been accepted: the report
says what the draft would have charged, not what a refusal would have left unsold.

Everything is in integers (micro-credits); the pricing is
:meth:`~creditline.domain.pricing.RateCardHistory.charge`, the ingest path's own. A draft
without off-peak rates prices alike whatever the time, so events of the same operation,
quantities and dimensions (per-call prices, fixed sizes, a model's common lengths) are
priced once (:data:`MEMO_SIZE` prices kept at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from creditline.domain.errors import CreditlineError
from creditline.domain.pricing import RateCard, RateCardHistory, Step

__all__ = [
    "BalanceMove",
    "OperationImpact",
    "PastEvent",
    "Repricer",
    "RunOut",
    "WhatIf",
]

MEMO_SIZE = 200_000
"""How many prices :class:`Repricer` keeps for reuse before it starts again."""

_SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)
"""The draft prices every event, whatever its time: it is taken as in force from here."""


class PastEvent(NamedTuple):
    """An accepted usage event as stored: what it was, when, and what it was charged.

    ``steps`` are a pipeline run's ``(operation, quantities, dimensions)``; ``at`` is
    the event's own time (it picks the off-peak rate); ``recorded_at`` orders it among
    the organization's ledger entries.
    """

    org_id: str
    operation: str
    quantities: Mapping[str, Any]
    dimensions: Mapping[str, str]
    steps: tuple[tuple[str, Mapping[str, Any], Mapping[str, str]], ...]
    at: datetime
    recorded_at: datetime
    charged: int


class BalanceMove(NamedTuple):
    """A ledger entry of an organization that is not a usage charge, as the balance
    sees it: when it was recorded and what it added (negative: took)."""

    org_id: str
    recorded_at: datetime
    amount: int


@dataclass(frozen=True, slots=True)
class OperationImpact:
    """One organization's use of one operation over the period (module docstring)."""

    org_id: str
    operation: str
    events: int
    charged: int
    repriced: int
    unpriced: int = 0
    unpriced_reason: str | None = None

    @property
    def difference(self) -> int:
        """``repriced - charged``, in micro-credits: positive means the draft earns more."""
        return self.repriced - self.charged


@dataclass(frozen=True, slots=True)
class RunOut:
    """An organization that would have run out of credits earlier under the draft.

    Attributes:
        at: when its balance would first have gone below zero.
        short: by how much, then, in micro-credits (positive).
        ran_out_at: when it really ran out in the period (``None``: it did not).
    """

    org_id: str
    at: datetime
    short: int
    ran_out_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The whole report: the draft, the period, each organization's operations, and who
    would have run out earlier."""

    card: str
    version: str
    start: datetime
    end: datetime
    impacts: tuple[OperationImpact, ...]
    run_outs: tuple[RunOut, ...] = ()

    @property
    def events(self) -> int:
        return sum(i.events for i in self.impacts)

    @property
    def charged(self) -> int:
        return sum(i.charged for i in self.impacts)

    @property
    def repriced(self) -> int:
        return sum(i.repriced for i in self.impacts)

    @property
    def difference(self) -> int:
        return self.repriced - self.charged

    @property
    def unpriced(self) -> int:
        return sum(i.unpriced for i in self.impacts)

    def by_org(self) -> dict[str, tuple[int, int]]:
        """Each organization's ``(charged, repriced)``."""
        totals: dict[str, tuple[int, int]] = {}
        for i in self.impacts:
            charged, repriced = totals.get(i.org_id, (0, 0))
            totals[i.org_id] = (charged + i.charged, repriced + i.repriced)
        return totals


@dataclass(slots=True)
class _Tally:
    events: int = 0
    charged: int = 0
    repriced: int = 0
    unpriced: int = 0
    reason: str | None = None


@dataclass(slots=True)
class _Timeline:
    """One organization's usage charges in order: ``(recorded_at, charged, repriced)``."""

    charges: list[tuple[datetime, int, int]] = field(default_factory=list)


class Repricer:
    """Re-prices events one at a time (:meth:`add`), then reports (:meth:`report`).

    Events may come in any order; an organization's run-out needs its balance at the
    start of the period and its other ledger moves (:meth:`report`'s arguments).
    """

    def __init__(self, draft: RateCard) -> None:
        self._draft = draft
        self._history = RateCardHistory((replace(draft, effective_from=_SINCE_EVER),))
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._timelines: dict[str, _Timeline] = {}
        timeless = draft.off_peak is None and all(
            o.off_peak is None for o in draft.operations.values()
        )
        self._memo: dict[Any, int | str] | None = {} if timeless else None

    def add(self, event: PastEvent) -> None:
        """Price one event by the draft and count it."""
        key = (event.org_id, event.operation)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        tally.events += 1
        tally.charged += event.charged
        cost = self._price(event, tally)
        tally.repriced += cost
        timeline = self._timelines.get(event.org_id)
        if timeline is None:
            timeline = self._timelines[event.org_id] = _Timeline()
        timeline.charges.append((event.recorded_at, event.charged, cost))

    def add_all(self, events: Iterable[PastEvent]) -> None:
        for event in events:
            self.add(event)

    def _price(self, event: PastEvent, tally: _Tally) -> int:
        """The draft's price of ``event``; 0 and counted as unpriced when it has none."""
        memo = self._memo
        found: int | str | None = None
        key: Any = None
        if memo is not None and not event.steps:
            key = (event.operation, *event.quantities.items(), None, *event.dimensions.items())
            try:
                found = memo.get(key)
            except TypeError:  # a value that cannot be a key: priced as it is
                key = None
        if found is None:
            found = self._charge(event)
            if key is not None and memo is not None:
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[key] = found
        if isinstance(found, str):
            tally.unpriced += 1
            if tally.reason is None:
                tally.reason = found
            return 0
        return found

    def _charge(self, event: PastEvent) -> int | str:
        """The draft's price of ``event``, or why it has none."""
        try:
            if event.steps:
                steps = tuple(Step(op, q, d) for op, q, d in event.steps)
                charge = self._history.charge(
                    event.operation, event.quantities, event.dimensions, at=event.at,
                    steps=steps,
                )  # fmt: skip
            else:
                charge = self._history.charge(
                    event.operation, event.quantities, event.dimensions, at=event.at
                )
        except CreditlineError as exc:
            return str(exc)
        return charge.total

    @property
    def organizations(self) -> list[str]:
        """The organizations whose events were added, in order."""
        return sorted(self._timelines)

    def report(
        self,
        start: datetime,
        end: datetime,
        opening: Mapping[str, int],
        moves: Iterable[BalanceMove] = (),
    ) -> WhatIf:
        """The report of every event added.

        Args:
            opening: each organization's balance at ``start`` (micro-credits; missing: 0).
            moves: the organizations' other ledger entries in the period.
        """
        impacts = tuple(
            OperationImpact(org, op, t.events, t.charged, t.repriced, t.unpriced, t.reason)
            for (org, op), t in sorted(self._tallies.items())
        )
        others: dict[str, list[BalanceMove]] = {}
        for move in moves:
            others.setdefault(move.org_id, []).append(move)
        run_outs = []
        for org_id in self.organizations:
            found = _run_out(
                org_id, opening.get(org_id, 0), self._timelines[org_id].charges,
                others.get(org_id, []),
            )  # fmt: skip
            if found is not None:
                run_outs.append(found)
        run_outs.sort(key=lambda r: (r.at, r.org_id))
        return WhatIf(self._draft.name, self._draft.version, start, end, impacts, tuple(run_outs))


def _run_out(
    org_id: str,
    opening: int,
    charges: list[tuple[datetime, int, int]],
    moves: list[BalanceMove],
) -> RunOut | None:
    """When the balance under the draft first goes below zero, if the real one was not
    below zero by then (module docstring)."""
    # At one instant, credits that came in count before usage that went out.
    steps: list[tuple[datetime, int, int, int]] = [
        (m.recorded_at, 0, m.amount, m.amount) for m in moves
    ]
    steps.extend((at, 1, -charged, -repriced) for at, charged, repriced in charges)
    steps.sort(key=lambda s: (s[0], s[1]))
    real = draft = opening
    ran_out_at: datetime | None = None
    would: tuple[datetime, int] | None = None
    for at, _, real_move, draft_move in steps:
        real += real_move
        draft += draft_move
        if ran_out_at is None and real < 0:
            ran_out_at = at
        if would is None and draft < 0:
            would = (at, -draft)
    if would is None:
        return None
    at, short = would
    if ran_out_at is not None and ran_out_at <= at:
        return None
    return RunOut(org_id, at, short, ran_out_at)
