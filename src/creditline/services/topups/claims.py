"""Watching crossings: the top-up an organization's usage calls for, claimed once.

**Watching crossings.** Every charging group (:func:`creditline.services.charging.
apply_group`: usage, spends, holds and their releases) asks :func:`watch` for the enabled
settings of its organizations (one query) while it holds their locks, and notes their
available credits before the group. After the group is written, :func:`settle_watch`
reads their available credits again and, in the same transaction:

* re-arms a disarmed setting whose credits were at or above the threshold before or after
  the group (a grant, a purchase or a renewal lifted them since the last look);
* for an armed setting whose credits are now below the threshold, **claims the
  crossing**: the setting is disarmed (a compare-and-set on ``armed``) and the pending
  top-up is stored as a purchase (trigger ``automatic``, key ``auto-<n>``), in the commit
  of the usage that crossed. A worker that sees the same crossing waits for the
  organization's lock and then finds the setting disarmed: exactly one top-up per
  crossing, however many events or processes cross at once.

What lowers the credits outside a charging group (expiry, a refund, an adjustment) is
seen by the scheduler's ``topups`` job (:func:`creditline.services.topups.run.
run_topups`), which observes every enabled setting the same way under the organization's
lock (:func:`observe_org`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from creditline.domain.balances import summarize
from creditline.domain.charging import Account
from creditline.domain.errors import CreditlineError, PackNotFound
from creditline.domain.packs import ANY_AMOUNT, Catalogue, Offer
from creditline.domain.purchases import Purchase
from creditline.domain.time import Clock
from creditline.domain.topups import (
    AutoTopup,
    BuyKind,
    Observation,
    Trigger,
    auto_key,
    credits_for_target,
    disarmed,
    month_start,
    observe,
)
from creditline.services.ports.payments import Transactions
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases.records import new_purchase

__all__ = [
    "Watch",
    "available_credits",
    "claim",
    "observe_org",
    "offer_for",
    "settle_watch",
    "watch",
]


def offer_for(catalogue: Catalogue | None, setting: AutoTopup, available: int) -> Offer:
    """What ``setting`` buys when the organization holds ``available``."""
    if catalogue is None:
        raise PackNotFound(setting.pack or ANY_AMOUNT)
    if setting.buy is BuyKind.PACK:
        return catalogue.offer(setting.currency, setting.pack)
    assert setting.credits is not None
    if setting.buy is BuyKind.AMOUNT:
        return catalogue.offer(setting.currency, credits=setting.credits)
    rate = catalogue.any_amount
    if rate is None:
        raise PackNotFound(ANY_AMOUNT)
    wanted = credits_for_target(setting.credits, available, rate.min_credits, rate.step)
    return catalogue.offer(setting.currency, credits=min(wanted, rate.max_credits))


@dataclass(slots=True)
class Watch:
    """The enabled settings of a charging group's organizations and their available
    credits before the group."""

    settings: dict[str, AutoTopup]
    before: dict[str, int]
    provider: str | None


def available_credits(org_id: str, grants: Sequence[object], now: datetime) -> int:
    """The credits a top-up watches: the general ones, which any charge may spend (scoped
    credits pay only for what their scope covers, so they keep no one above the
    threshold)."""
    return summarize(org_id, 0, grants, now).general  # type: ignore[arg-type]


def watch(
    uow: UnitOfWork, accounts: Mapping[str, Account], now: datetime, provider: str | None
) -> Watch | None:
    """What :func:`settle_watch` needs, read under the group's locks before its decision
    (``None``: none of its organizations has an enabled setting). The organizations'
    query flags the ones with one: a group of others reads nothing more."""
    watched = sorted(o for o, a in accounts.items() if a.metering.topping_up)
    if not watched:
        return None
    settings = uow.topups.enabled_for(watched)
    if not settings:
        return None
    before = {o: available_credits(o, accounts[o].grants, now) for o in settings}
    return Watch(settings, before, provider)


def settle_watch(uow: UnitOfWork, seen: Watch, now: datetime) -> list[Purchase]:
    """Re-arm and claim crossings after a group is written, in its transaction (module
    docstring); the top-ups claimed, to charge after the commit."""
    claimed: list[Purchase] = []
    for org_id, found in seen.settings.items():
        setting = found
        if observe(setting, seen.before[org_id], now) is Observation.REARM:
            setting = _rearmed(setting, now)
            uow.topups.put_setting(setting, now)
        after = available_credits(org_id, uow.grants.active(org_id), now)
        made = _look(uow, setting, after, now, seen.provider)
        if made is not None:
            claimed.append(made)
    return claimed


def _rearmed(setting: AutoTopup, now: datetime) -> AutoTopup:
    return replace(setting, armed=True, last_skip=None, updated_at=now)


def _look(
    uow: UnitOfWork, setting: AutoTopup, available: int, now: datetime, provider: str | None
) -> Purchase | None:
    """Apply one observation of ``available`` to ``setting`` (under the lock)."""
    seen = observe(setting, available, now)
    if seen is Observation.REARM:
        uow.topups.put_setting(_rearmed(setting, now), now)
    elif seen is Observation.BUY:
        return claim(uow, setting, available, now, provider)
    return None


def claim(
    uow: UnitOfWork, setting: AutoTopup, available: int, now: datetime, provider: str | None
) -> Purchase | None:
    """Claim a crossing: disarm ``setting`` and store its pending top-up, or note why
    nothing is bought (no provider or payment method, the cap, a catalogue that no longer
    sells it). The caller holds the organization's lock and commits."""
    try:
        purchase = _claimable(uow, setting, available, now, provider)
    except CreditlineError as exc:
        _skip(uow, setting, str(exc), now)
        return None
    if isinstance(purchase, str):
        _skip(uow, setting, purchase, now)
        return None
    if not uow.topups.disarm(disarmed(setting, purchase.id, now), now):
        return None  # disarmed by another under the same lock: cannot happen, harmless
    uow.purchases.add(purchase, auto_key(setting.crossings + 1), now)
    return purchase


def _skip(uow: UnitOfWork, setting: AutoTopup, reason: str, now: datetime) -> None:
    if setting.last_skip != reason:
        uow.topups.put_setting(replace(setting, last_skip=reason, updated_at=now), now)


def _claimable(
    uow: UnitOfWork, setting: AutoTopup, available: int, now: datetime, provider: str | None
) -> Purchase | str:
    """The top-up to store, or why there is none."""
    if provider is None:
        return "no payment provider"
    saved = uow.payments.customer(setting.org_id, provider)
    if saved is None or saved[1] is None:
        return "no saved payment method"
    catalogue = uow.packs.get()
    offer = offer_for(catalogue, setting, available)
    assert catalogue is not None
    if setting.monthly_cap is not None:
        spent = uow.topups.automatic_spend(setting.org_id, setting.currency, month_start(now))
        if spent + offer.price.minor > setting.monthly_cap.minor:
            return (
                f"monthly cap reached: {spent} of {setting.monthly_cap.minor} spent, "
                f"the top-up costs {offer.price.minor} ({setting.currency} minor units)"
            )
    return new_purchase(setting.org_id, offer, catalogue, provider, now, trigger=Trigger.AUTOMATIC)


def observe_org(
    org_id: str, tx: Transactions, clock: Clock, provider: str | None
) -> Purchase | None:
    """Observe one organization's setting now, under its lock (the tick's look, for what
    lowers credits outside a charging group); the top-up claimed, if any."""

    def work(uow: UnitOfWork) -> Purchase | None:
        if uow.balances.lock(org_id) is None:
            return None
        now = clock.now()
        setting = uow.topups.setting(org_id)
        if setting is None or not setting.enabled:
            return None
        available = available_credits(org_id, uow.grants.active(org_id), now)
        made = _look(uow, setting, available, now, provider)
        uow.commit()
        return made

    return tx(work)
