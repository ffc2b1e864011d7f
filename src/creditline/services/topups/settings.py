"""An organization's top-up settings: the automatic one (a threshold and what to buy
below it) and the recurring one (a pack bought every month), stored and turned off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from creditline.domain.errors import InvalidSetting, OrganizationNotFound, PackNotFound
from creditline.domain.money import Money, require_currency
from creditline.domain.time import Clock
from creditline.domain.topups import AutoTopup, BuyKind, RecurringTopup
from creditline.services.ports.payments import Transactions
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.topups.claims import offer_for

__all__ = [
    "SetAutoTopup",
    "SetRecurringTopup",
    "cancel_recurring",
    "disable_auto",
    "set_auto",
    "set_recurring",
]


@dataclass(frozen=True, slots=True)
class SetAutoTopup:
    """Automatic top-ups for ``org_id``: below ``threshold`` micro-credits, buy ``pack``,
    ``credits`` micro-credits, or enough to reach ``target`` micro-credits (exactly one
    of the three), paid in ``currency``; at most ``monthly_cap`` (minor units) a month;
    disabled after ``max_failures`` consecutive declined charges."""

    org_id: str
    threshold: int
    currency: str
    pack: str | None = None
    credits: int | None = None
    target: int | None = None
    monthly_cap: int | None = None
    max_failures: int = 3


def _setting(cmd: SetAutoTopup, old: AutoTopup | None, now: datetime) -> AutoTopup:
    given = [k for k, v in (("pack", cmd.pack), ("credits", cmd.credits),
                            ("target", cmd.target)) if v is not None]  # fmt: skip
    if len(given) != 1:
        raise InvalidSetting("top-up", given, "give exactly one of pack, credits or target")
    buy = {"pack": BuyKind.PACK, "credits": BuyKind.AMOUNT, "target": BuyKind.TARGET}[given[0]]
    currency = require_currency(cmd.currency)
    cap = None
    if cmd.monthly_cap is not None:
        if isinstance(cmd.monthly_cap, bool) or not isinstance(cmd.monthly_cap, int):
            raise InvalidSetting("monthly cap", cmd.monthly_cap, "an integer of minor units")
        cap = Money(cmd.monthly_cap, currency)
    return AutoTopup(
        org_id=cmd.org_id, threshold=cmd.threshold, buy=buy, currency=currency,
        pack=cmd.pack, credits=cmd.credits if cmd.target is None else cmd.target,
        monthly_cap=cap, max_failures=cmd.max_failures, armed=True,
        crossings=old.crossings if old else 0, pending_id=old.pending_id if old else None,
        updated_at=now,
    ).check()  # fmt: skip


def set_auto(cmd: SetAutoTopup, tx: Transactions, clock: Clock) -> AutoTopup:
    """Store an organization's automatic top-up setting (armed; failures forgotten).

    Raises:
        OrganizationNotFound; InvalidSetting, PackNotFound, InvalidAmount: a setting the
        catalogue cannot sell (checked now, against the catalogue of now).
    """

    def change(uow: UnitOfWork, now: datetime) -> AutoTopup:
        setting = _setting(cmd, uow.topups.setting(cmd.org_id), now)
        offer_for(uow.packs.get(), setting, 0)  # sellable now, or refused
        return setting

    return tx(_write(cmd.org_id, clock, change, _put_setting))


def disable_auto(org_id: str, tx: Transactions, clock: Clock) -> AutoTopup:
    """Turn automatic top-ups off (a top-up in flight still completes).

    Raises:
        InvalidSetting: the organization has no automatic top-up setting.
    """

    def change(uow: UnitOfWork, now: datetime) -> AutoTopup:
        found = _existing(uow.topups.setting(org_id), "automatic top-up", org_id)
        return replace(found, enabled=False, disabled_reason="turned off", updated_at=now)

    return tx(_write(org_id, clock, change, _put_setting))


@dataclass(frozen=True, slots=True)
class SetRecurringTopup:
    """Buy ``pack`` in ``currency`` every month on ``day`` (1-28, UTC), from
    ``starts_at`` (default: now; the first purchase is on the first such day)."""

    org_id: str
    pack: str
    currency: str
    day: int
    starts_at: datetime | None = None


def set_recurring(cmd: SetRecurringTopup, tx: Transactions, clock: Clock) -> RecurringTopup:
    """Store an organization's recurring top-up (replacing any).

    Raises:
        OrganizationNotFound; InvalidSetting, PackNotFound: not a pack sold in ``currency``.
    """

    def change(uow: UnitOfWork, now: datetime) -> RecurringTopup:
        old = uow.topups.schedule(cmd.org_id)
        schedule = RecurringTopup(
            cmd.org_id, cmd.pack, require_currency(cmd.currency), cmd.day,
            cmd.starts_at or now, last_period=old.last_period if old else None,
            updated_at=now,
        ).check()  # fmt: skip
        catalogue = uow.packs.get()
        if catalogue is None:
            raise PackNotFound(cmd.pack)
        catalogue.offer(schedule.currency, schedule.pack)
        return schedule

    return tx(_write(cmd.org_id, clock, change, _put_schedule))


def cancel_recurring(org_id: str, tx: Transactions, clock: Clock) -> RecurringTopup:
    """Stop an organization's recurring top-up.

    Raises:
        InvalidSetting: it has none.
    """

    def change(uow: UnitOfWork, now: datetime) -> RecurringTopup:
        found = _existing(uow.topups.schedule(org_id), "recurring top-up", org_id)
        return replace(found, active=False, updated_at=now)

    return tx(_write(org_id, clock, change, _put_schedule))


S = TypeVar("S")
"""A setting or a schedule."""


def _write(
    org_id: str, clock: Clock, change: Callable[[UnitOfWork, datetime], S],
    put: Callable[[UnitOfWork, S, datetime], None],
) -> Callable[[UnitOfWork], S]:  # fmt: skip
    """The transaction that writes one of the organization's settings under its lock:
    ``change`` makes it (from what is stored, at ``now``), ``put`` stores it.

    Raises:
        OrganizationNotFound; what ``change`` raises.
    """

    def work(uow: UnitOfWork) -> S:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        now = clock.now()
        written = change(uow, now)
        put(uow, written, now)
        uow.commit()
        return written

    return work


def _existing(found: S | None, what: str, org_id: str) -> S:
    """The organization's ``what``, found.

    Raises:
        InvalidSetting: the organization has none.
    """
    if found is None:
        raise InvalidSetting(what, org_id, "the organization has none")
    return found


def _put_setting(uow: UnitOfWork, setting: AutoTopup, now: datetime) -> None:
    uow.topups.put_setting(setting, now)


def _put_schedule(uow: UnitOfWork, schedule: RecurringTopup, now: datetime) -> None:
    uow.topups.put_schedule(schedule, now)
