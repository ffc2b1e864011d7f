"""The overview (E1): one organization's credits at a glance, as its dashboard shows them.

- **The counter**: what is available now per grant kind, and the grants that will
  expire (soonest first) with what is left of each.
- **The state**: whether usage is refused or billed differently now that nothing is
  left. ``read_only``: the policy is ``read_only`` and nothing is available (the
  platform locks writes; the way out is buying credits or the next renewal).
  ``on_flex``: the policy is ``flex``, flex is enabled and the month's flex limit is
  not reached, and nothing is available (usage goes on, billed in arrears).
  ``paused``: nothing is available and usage is refused (the ``pause`` policy, or
  ``flex`` with flex disabled or its limit reached). An ``unlimited`` organization is
  never paused. On a plan with grace (:mod:`creditline.domain.grace`) the grace state
  decides: read-only or paused as it says, neither while grace (or its start) is ahead.
- **The cycle**: the running billing cycle, its next renewal and its progress as two
  integers (``elapsed_seconds`` of ``total_seconds``), when the organization is
  subscribed.
- **The burn-down**: one point per UTC day of the running cycle (without a cycle, of
  the last 30 days), today included: the balance at the day's end (today: now) and
  what usage burnt that day. The balance is the ledger's (``Balance.total``: a grant
  not yet effective counts from when it was granted, an expired one until its expire
  entry is written); burnt is consumption and holds net of voids and releases, as the
  ``forecast_depletion`` alert counts it.
- **The forecast**: the burn rate is what the last 7 days (today and the 6 before it)
  burnt, divided by 7 (micro-credits a day, rounded down); the depletion date is when
  the available credits run out at that rate (``now + available * 7 days / burnt``, in
  integers), today when nothing is available, ``None`` when nothing burns or the
  credits last beyond :data:`FORECAST_DAYS`.

Everything is integers of micro-credits and whole seconds; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from creditline.domain.balances import Balance
from creditline.domain.grace import GraceState
from creditline.domain.grants import Grant, GrantKind
from creditline.domain.plans import DepletionPolicy
from creditline.domain.reports import BalanceDay
from creditline.domain.subscriptions import Subscription
from creditline.domain.usage import Metering

__all__ = [
    "BURN_DAYS",
    "FORECAST_DAYS",
    "WINDOW_DAYS",
    "BurnDay",
    "CycleProgress",
    "ExpiringCredits",
    "Overview",
    "build_overview",
    "chart_days",
    "cycle_progress",
    "flex_ref",
]

BURN_DAYS = 7
"""The days the burn rate is measured over, today included."""
WINDOW_DAYS = 30
"""The burn-down's days when there is no billing cycle, today included."""
MAX_CHART_DAYS = 400
"""The most days a burn-down shows (the last ones of a longer cycle)."""
FORECAST_DAYS = 3660
"""How far ahead a depletion date is forecast (about ten years)."""

_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class ExpiringCredits:
    """A grant that will expire, and what is left of it (micro-credits)."""

    grant_id: str
    kind: GrantKind
    remaining: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CycleProgress:
    """The running billing cycle ``[start, end)``; ``elapsed_seconds`` of
    ``total_seconds`` have passed."""

    plan: str
    index: int
    start: datetime
    end: datetime
    next_renewal_at: datetime | None
    elapsed_seconds: int
    total_seconds: int


@dataclass(frozen=True, slots=True)
class BurnDay:
    """One day of the burn-down: the balance at its end (today: now) and what usage
    burnt that day (micro-credits)."""

    day: date
    closing: int
    burnt: int


@dataclass(frozen=True, slots=True)
class Overview:
    """An organization's dashboard data (see the module docstring).

    Attributes:
        org_id: the organization.
        as_of: the instant it was read at.
        balance: the balance now.
        by_kind: available micro-credits per grant kind, every kind, in declaration
            order.
        expiring: the grants with credits left that will expire, soonest first.
        depletion: the depletion policy in force.
        read_only, paused, on_flex: the state flags.
        flex_used: flex micro-credits used this (UTC) month.
        flex_limit: the plan's monthly flex limit, ``None`` for none.
        cycle: the running billing cycle, or ``None`` without a subscription.
        burn_down: the chart's days, oldest first.
        burn_rate: micro-credits burnt a day over the last :data:`BURN_DAYS` days.
        depletes_on: the forecast depletion date (UTC), or ``None``.
    """

    org_id: str
    as_of: datetime
    balance: Balance
    by_kind: tuple[tuple[GrantKind, int], ...]
    expiring: tuple[ExpiringCredits, ...]
    depletion: DepletionPolicy
    read_only: bool
    paused: bool
    on_flex: bool
    flex_used: int
    flex_limit: int | None
    cycle: CycleProgress | None
    burn_down: tuple[BurnDay, ...]
    burn_rate: int
    depletes_on: date | None


def _utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def flex_ref(now: datetime) -> str:
    """The reference the flex grants of ``now``'s month are made under."""
    return f"flex:{now:%Y-%m}"


def cycle_progress(sub: Subscription | None, now: datetime) -> CycleProgress | None:
    """The subscription's cycle running at ``now``, or ``None`` (none, ended, or not
    started yet)."""
    if sub is None or not sub.active or now < sub.anchored_at:
        return None
    cycle = sub.cycle_at(now)
    return CycleProgress(
        plan=sub.plan,
        index=cycle.index,
        start=cycle.start,
        end=cycle.end,
        next_renewal_at=sub.next_renewal_at,
        elapsed_seconds=(now - cycle.start) // _SECOND,
        total_seconds=(cycle.end - cycle.start) // _SECOND,
    )


def chart_days(
    now: datetime, cycle: CycleProgress | None, history_days: int = 0
) -> tuple[date, date]:
    """The first and last UTC day of the burn-down (the last is today): the cycle's days
    (without one, the last :data:`WINDOW_DAYS`), and at least the last ``history_days``."""
    today = _utc_date(now)
    first = _utc_date(cycle.start) if cycle is not None else today - (WINDOW_DAYS - 1) * _DAY
    if history_days > 0:  # never more than the chart holds (a huge number would overflow)
        first = min(first, today - (min(history_days, MAX_CHART_DAYS) - 1) * _DAY)
    return max(first, today - (MAX_CHART_DAYS - 1) * _DAY), today


def build_overview(
    balance: Balance,
    *,
    grants: Iterable[Grant],
    metering: Metering,
    flex_used: int,
    cycle: CycleProgress | None,
    days: Sequence[BalanceDay],
    history_days: int = 0,
) -> Overview:
    """The overview at ``balance.as_of`` from the balance, the grants with credits left,
    the metering in force, the month's flex, the cycle and the balance's daily
    movements (at least from :func:`chart_days`'s first day, or the burn rate's, to
    today); ``history_days``: the burn-down's fewest days."""
    now = balance.as_of
    first, today = chart_days(now, cycle, history_days)
    by_day = {d.day: d for d in days}
    burnt = sum(d.burnt for d in days if today - (BURN_DAYS - 1) * _DAY <= d.day <= today)
    rate = max(0, burnt) // BURN_DAYS
    flags = _flags(balance.available, metering, flex_used)
    expiring = sorted(
        (
            ExpiringCredits(g.id, g.kind, g.remaining, g.expires_at)
            for g in grants
            if g.remaining > 0 and g.expires_at is not None and not g.is_expired(now)
        ),
        key=lambda e: (e.expires_at, e.grant_id),
    )
    return Overview(
        org_id=balance.org_id,
        as_of=now,
        balance=balance,
        by_kind=tuple((k, balance.by_kind.get(k, 0)) for k in GrantKind),
        expiring=tuple(expiring),
        depletion=metering.depletion,
        read_only=flags[0],
        paused=flags[1],
        on_flex=flags[2],
        flex_used=flex_used,
        flex_limit=metering.plan.flex_limit,
        cycle=cycle,
        burn_down=_burn_down(balance.total, by_day, first, today),
        burn_rate=rate,
        depletes_on=_depletes_on(now, balance.available, burnt),
    )


_GRACE_POLICIES = (DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY)


def _flags(available: int, metering: Metering, flex_used: int) -> tuple[bool, bool, bool]:
    """(read_only, paused, on_flex)."""
    if available > 0:
        return False, False, False
    policy, limit = metering.depletion, metering.plan.flex_limit
    if metering.plan.grace is not None and metering.hold is None and policy in _GRACE_POLICIES:
        state = GraceState.ACTIVE if metering.grace is None else metering.grace.state
        return state is GraceState.READ_ONLY, state is GraceState.PAUSED, False
    flex_open = (
        policy is DepletionPolicy.FLEX
        and metering.flex_enabled
        and (limit is None or flex_used < limit)
    )
    read_only = policy is DepletionPolicy.READ_ONLY
    paused = not (read_only or flex_open or policy is DepletionPolicy.UNLIMITED)
    return read_only, paused, flex_open


def _burn_down(
    total: int, by_day: dict[date, BalanceDay], first: date, today: date
) -> tuple[BurnDay, ...]:
    """Walk back from today's balance: a day's closing is the next day's minus what
    the next day moved."""
    points: list[BurnDay] = []
    closing = total
    day = today
    while day >= first:
        moved = by_day.get(day)
        points.append(BurnDay(day, closing, 0 if moved is None else moved.burnt))
        if moved is not None:
            closing -= moved.net
        day -= _DAY
    points.reverse()
    return tuple(points)


def _depletes_on(now: datetime, available: int, burnt: int) -> date | None:
    if burnt <= 0:
        return None
    if available <= 0:
        return _utc_date(now)
    seconds = available * BURN_DAYS * 86_400 // burnt
    if seconds >= FORECAST_DAYS * 86_400:
        return None
    return _utc_date(now + seconds * _SECOND)
