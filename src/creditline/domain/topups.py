"""Automatic and recurring top-ups (D9; seed 004's "recurring transactions").

A **top-up** is a purchase (:class:`~creditline.domain.purchases.Purchase`) that the
engine makes itself, charged off-session to the organization's saved payment method.
Every purchase records its :class:`Trigger`: ``manual`` (a buyer at the checkout),
``automatic`` or ``recurring``.

**Automatic** (:class:`AutoTopup`, one per organization): when the available credits
fall *below* ``threshold``, buy one of (the credits watched are the *general* ones, which
any charge may spend: :attr:`~creditline.domain.balances.Balance.general`; scoped grants
pay only for what they cover and keep no one above the threshold)

* ``pack``: a pack of the catalogue,
* ``amount``: ``credits`` micro-credits at the catalogue's any-amount rate,
* ``target``: enough at the any-amount rate to bring the available credits back to
  ``target`` (rounded up to the rate's step, at least its minimum).

**Exactly one top-up per crossing.** The setting is *armed* or not, and the state is
in the database: the transaction that sees the available credits below the threshold
while the setting is armed disarms it and stores the pending top-up, under the
organization's lock, in one commit (a second worker waits for the lock and finds it
disarmed). It is re-armed when the available credits are seen at or above the
threshold again (:func:`observe`) with no top-up in flight, so the next crossing buys
again. Each automatic top-up also carries a unique key, ``auto-<n>`` for the n-th
crossing, behind the armed state.

**Monthly cap** (``monthly_cap``, money in the setting's currency): automatic top-ups
whose price would take the calendar month's (UTC) automatic top-up spend (paid and
pending ones) above the cap are not bought; the setting stays armed and
``last_skip`` says why. Recurring top-ups are a fixed schedule the organization chose
and do not count against it.

**Failures**: a declined charge fails the top-up; after ``max_failures`` consecutive
failed charges automatic top-ups are disabled (``enabled`` false, ``disabled_reason``
set) and the ``payment_failed`` alerts fire for it. Before that, the setting is armed
again but tries no earlier than ``RETRY_AFTER`` after the failure. A paid top-up
resets the count.

**What a top-up pays first when flex usage is outstanding**: nothing but the future.
A top-up buys prepaid credits; the flex credits already used this month stay on the
month's flex invoice (billed in arrears as before), and the top-up's grant pays for the
usage that comes after it, before any new flex is taken. A top-up never reduces a flex
invoice, so what an organization pays is the same whether its top-up landed before or
after the month's flex.

**Recurring** (:class:`RecurringTopup`, one per organization): buy ``pack`` every month
on ``day`` (1-28, at 00:00 UTC), from ``starts_at`` on. The scheduler's tick buys the
latest period due (``YYYY-MM``) under the unique key ``recurring-YYYY-MM``: a tick after
a downtime of several months buys once (the latest month), never once per missed month
and never twice for a month.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from creditline.domain.amounts import format_credits
from creditline.domain.errors import InvalidSetting
from creditline.domain.money import Money

__all__ = [
    "RETRY_AFTER",
    "AutoTopup",
    "BuyKind",
    "Observation",
    "RecurringTopup",
    "Trigger",
    "auto_key",
    "credits_for_target",
    "due_period",
    "month_start",
    "observe",
    "recurring_key",
]

RETRY_AFTER = timedelta(hours=1)
"""After a declined automatic top-up, the earliest next attempt (while not disabled)."""

MAX_DAY = 28
"""A recurring top-up's latest day of the month (every month has it)."""


class Trigger(enum.StrEnum):
    """What made a purchase."""

    MANUAL = "manual"
    AUTOMATIC = "automatic"
    RECURRING = "recurring"


class BuyKind(enum.StrEnum):
    PACK = "pack"
    AMOUNT = "amount"
    TARGET = "target"


@dataclass(frozen=True, slots=True)
class AutoTopup:
    """An organization's automatic top-up setting and its state (module docstring).

    Attributes:
        org_id: the organization.
        enabled: whether it buys at all (off when disabled after failures, or by hand).
        threshold: micro-credits; buys when the available credits fall below it.
        buy: what to buy: ``pack``, ``amount`` or ``target``.
        pack: the pack's name (``buy = pack``).
        credits: micro-credits to buy (``amount``) or to reach (``target``).
        currency: what it pays in.
        monthly_cap: the most automatic top-ups may spend in a calendar month (UTC);
            ``None``: no cap.
        max_failures: consecutive failed charges after which it is disabled.
        armed: whether the next crossing buys (see the module docstring).
        crossings: how many top-ups it has started (the last one's key is ``auto-<n>``).
        pending_id: the top-up in flight (bought, not yet paid or failed).
        failures: consecutive failed charges.
        retry_at: no attempt before this instant (after a failure).
        last_skip: why the last crossing bought nothing (the cap, no payment method).
        disabled_reason: why it was disabled, when it was by failures.
        updated_at: when it last changed.
    """

    org_id: str
    threshold: int
    buy: BuyKind
    currency: str
    enabled: bool = True
    pack: str | None = None
    credits: int | None = None
    monthly_cap: Money | None = None
    max_failures: int = 3
    armed: bool = True
    crossings: int = 0
    pending_id: str | None = None
    failures: int = 0
    retry_at: datetime | None = None
    last_skip: str | None = None
    disabled_reason: str | None = None
    updated_at: datetime | None = None

    def check(self) -> AutoTopup:
        """The setting, validated.

        Raises:
            InvalidSetting: a negative threshold, a ``pack`` setting without a pack (or
                an amount), an ``amount``/``target`` one without credits, a target not
                above the threshold, a cap in another currency or negative, fewer than
                one failure allowed.
        """
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise InvalidSetting("threshold", self.threshold, "an integer of micro-credits")
        if self.threshold <= 0:
            raise InvalidSetting("threshold", self.threshold, "must be above zero")
        if self.buy is BuyKind.PACK:
            if not self.pack or self.credits is not None:
                raise InvalidSetting("top-up", self.pack, "buy = pack names a pack and no credits")
        else:
            if self.pack is not None or not isinstance(self.credits, int) or self.credits <= 0:
                raise InvalidSetting(
                    "top-up", self.credits, f"buy = {self.buy.value} needs credits above zero"
                )
            if self.buy is BuyKind.TARGET and self.credits <= self.threshold:
                raise InvalidSetting(
                    "target", format_credits(self.credits), "must be above the threshold"
                )
        cap = self.monthly_cap
        if cap is not None and (cap.currency != self.currency or cap.minor < 0):
            raise InvalidSetting("monthly cap", cap, f"a non-negative amount in {self.currency}")
        if (
            isinstance(self.max_failures, bool)
            or not isinstance(self.max_failures, int)
            or (self.max_failures < 1)
        ):
            raise InvalidSetting("max failures", self.max_failures, "at least 1")
        return self

    def describe(self) -> str:
        """What it buys, in words: ``pack "starter"``, ``100 credits``, ``up to 500 credits``."""
        if self.buy is BuyKind.PACK:
            return f"pack {self.pack!r}"
        assert self.credits is not None
        if self.buy is BuyKind.AMOUNT:
            return f"{format_credits(self.credits)} credits"
        return f"enough to reach {format_credits(self.credits)} credits"


class Observation(enum.StrEnum):
    """What :func:`observe` says to do with a setting, given the available credits."""

    NOTHING = "nothing"
    REARM = "rearm"
    BUY = "buy"


def observe(setting: AutoTopup, available: int, now: datetime) -> Observation:
    """What seeing ``available`` micro-credits at ``now`` does to ``setting``.

    ``REARM`` when it is disarmed, nothing is in flight and the credits are at or above
    the threshold; ``BUY`` when it is enabled, armed, nothing is in flight, no retry
    delay runs and the credits are below the threshold; otherwise ``NOTHING``.
    """
    if setting.pending_id is not None:
        return Observation.NOTHING
    if available >= setting.threshold:
        return Observation.NOTHING if setting.armed else Observation.REARM
    if not (setting.enabled and setting.armed):
        return Observation.NOTHING
    if setting.retry_at is not None and now < setting.retry_at:
        return Observation.NOTHING
    return Observation.BUY


def credits_for_target(target: int, available: int, minimum: int, step: int) -> int:
    """Micro-credits that bring ``available`` to ``target``, rounded up to ``step`` and
    at least ``minimum`` (the any-amount rate's bounds)."""
    short = max(target - available, 1)
    rounded = -(-short // step) * step
    return max(rounded, -(-minimum // step) * step)


def auto_key(crossing: int) -> str:
    """The purchase key of the ``crossing``-th automatic top-up."""
    return f"auto-{crossing}"


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s calendar month, in UTC."""
    moment = now.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def disarmed(setting: AutoTopup, pending_id: str, now: datetime) -> AutoTopup:
    """``setting`` once its crossing has started the top-up ``pending_id``."""
    return replace(
        setting, armed=False, crossings=setting.crossings + 1, pending_id=pending_id,
        last_skip=None, updated_at=now,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecurringTopup:
    """Buy ``pack`` in ``currency`` every month on ``day`` (00:00 UTC), from
    ``starts_at``; ``active`` false once cancelled. ``last_period`` is the last month
    bought (``YYYY-MM``)."""

    org_id: str
    pack: str
    currency: str
    day: int
    starts_at: datetime
    active: bool = True
    last_period: str | None = None
    updated_at: datetime | None = None

    def check(self) -> RecurringTopup:
        if (
            isinstance(self.day, bool)
            or not isinstance(self.day, int)
            or not (1 <= self.day <= MAX_DAY)
        ):
            raise InvalidSetting("day", self.day, f"a day of the month from 1 to {MAX_DAY}")
        if not self.pack:
            raise InvalidSetting("pack", self.pack, "name a pack of the catalogue")
        return self


def _occurrence(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def due_period(schedule: RecurringTopup, now: datetime) -> str | None:
    """The latest month (``YYYY-MM``) whose purchase is due at ``now``: its day has come,
    on or after ``starts_at``; ``None`` when none is (or the schedule is cancelled).
    Only the latest: the months a downtime skipped are not bought one by one."""
    if not schedule.active:
        return None
    moment = now.astimezone(UTC)
    year, month = moment.year, moment.month
    if moment < _occurrence(year, month, schedule.day):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    if _occurrence(year, month, schedule.day) < schedule.starts_at:
        return None
    return f"{year:04d}-{month:02d}"


def recurring_key(period: str) -> str:
    """The purchase key of a recurring top-up's month."""
    return f"recurring-{period}"
