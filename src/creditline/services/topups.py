"""Automatic and recurring top-ups (D9): settings, the crossing guard, charging, the tick.

The rules are :mod:`creditline.domain.topups`'s; this module runs them.

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
seen by the scheduler's ``topups`` job (:func:`run_topups`), which observes every
enabled setting the same way under the organization's lock.

**Charging** (:func:`charge_topup`) happens after that commit, never inside a balance
transaction: the pending top-up is already recorded, so the provider call (off-session,
idempotency key ``topup-<purchase id>``) can be retried after a crash or a timeout and
the provider answers with the first charge, never a second. Then one transaction under
the organization's lock grants the credits (a ``prepaid`` grant, like any purchase's),
marks the purchase ``paid`` with a compare-and-set (so two chargers of one top-up grant
once) and issues its receipt; the setting is re-armed when the grant lifted the credits
back to the threshold. A decline marks it ``failed``, counts the failure and records the
``payment_failed`` signal the alerts fire for; at ``max_failures`` consecutive failures
automatic top-ups are disabled. A provider error without a decline (the outcome unknown)
leaves the top-up pending: :func:`run_topups` retries it with the same key.

**Recurring** top-ups are bought by :func:`run_topups` for the latest month due, under
the key ``recurring-YYYY-MM`` (``uq_purchases_org_id_idempotency_key``): catching up once
after any downtime, never twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from creditline.domain.balances import summarize
from creditline.domain.charging import Account
from creditline.domain.errors import (
    CreditlineError,
    InvalidSetting,
    OrganizationNotFound,
    PackNotFound,
    PaymentProviderError,
    PurchaseNotFound,
)
from creditline.domain.money import Money, require_currency
from creditline.domain.packs import ANY_AMOUNT, Catalogue, Offer
from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt
from creditline.domain.time import Clock
from creditline.domain.topups import (
    RETRY_AFTER,
    AutoTopup,
    BuyKind,
    Observation,
    RecurringTopup,
    Trigger,
    auto_key,
    credits_for_target,
    disarmed,
    due_period,
    month_start,
    observe,
    recurring_key,
)
from creditline.services.alerts import record_payment_failed
from creditline.services.ids import new_id
from creditline.services.payments import Charge, PaymentProvider, Transactions
from creditline.services.purchases import grant_purchase
from creditline.services.unit_of_work import UnitOfWork

__all__ = [
    "STALE_AFTER",
    "SetAutoTopup",
    "SetRecurringTopup",
    "TopupRun",
    "TopupRunner",
    "Watch",
    "charge_topup",
    "disable_auto",
    "cancel_recurring",
    "run_topups",
    "set_auto",
    "set_recurring",
    "settle_watch",
    "watch",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

STALE_AFTER = timedelta(seconds=60)
"""A top-up pending this long is taken up by :func:`run_topups` (its charger died, or
the provider's answer was unknown); younger ones are left to the process that made them."""


# -- settings ---------------------------------------------------------------------------


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


def _offer(catalogue: Catalogue | None, setting: AutoTopup, available: int) -> Offer:
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


def set_auto(cmd: SetAutoTopup, tx: Transactions, clock: Clock) -> AutoTopup:
    """Store an organization's automatic top-up setting (armed; failures forgotten).

    Raises:
        OrganizationNotFound; InvalidSetting, PackNotFound, InvalidAmount: a setting the
        catalogue cannot sell (checked now, against the catalogue of now).
    """

    def work(uow: UnitOfWork) -> AutoTopup:
        if uow.balances.lock(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
        setting = _setting(cmd, uow.topups.setting(cmd.org_id), now)
        _offer(uow.packs.get(), setting, 0)  # sellable now, or refused
        uow.topups.put_setting(setting, now)
        uow.commit()
        return setting

    return tx(work)


def disable_auto(org_id: str, tx: Transactions, clock: Clock) -> AutoTopup:
    """Turn automatic top-ups off (a top-up in flight still completes).

    Raises:
        InvalidSetting: the organization has no automatic top-up setting.
    """

    def work(uow: UnitOfWork) -> AutoTopup:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        found = uow.topups.setting(org_id)
        if found is None:
            raise InvalidSetting("automatic top-up", org_id, "the organization has none")
        now = clock.now()
        off = replace(found, enabled=False, disabled_reason="turned off", updated_at=now)
        uow.topups.put_setting(off, now)
        uow.commit()
        return off

    return tx(work)


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

    def work(uow: UnitOfWork) -> RecurringTopup:
        if uow.balances.lock(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
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
        uow.topups.put_schedule(schedule, now)
        uow.commit()
        return schedule

    return tx(work)


def cancel_recurring(org_id: str, tx: Transactions, clock: Clock) -> RecurringTopup:
    """Stop an organization's recurring top-up.

    Raises:
        InvalidSetting: it has none.
    """

    def work(uow: UnitOfWork) -> RecurringTopup:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        found = uow.topups.schedule(org_id)
        if found is None:
            raise InvalidSetting("recurring top-up", org_id, "the organization has none")
        now = clock.now()
        off = replace(found, active=False, updated_at=now)
        uow.topups.put_schedule(off, now)
        uow.commit()
        return off

    return tx(work)


# -- watching crossings -----------------------------------------------------------------


@dataclass(slots=True)
class Watch:
    """The enabled settings of a charging group's organizations and their available
    credits before the group."""

    settings: dict[str, AutoTopup]
    before: dict[str, int]
    provider: str | None


def _available(org_id: str, grants: Sequence[object], now: datetime) -> int:
    """The credits a top-up watches: the general ones, which any charge may spend (scoped
    credits pay only for what their scope covers, so they keep no one above the
    threshold)."""
    return summarize(org_id, 0, grants, now).general  # type: ignore[arg-type]


def watch(
    uow: UnitOfWork, accounts: Mapping[str, Account], now: datetime, provider: str | None
) -> Watch | None:
    """What :func:`settle_watch` needs, read under the group's locks before its decision
    (``None``: none of its organizations has an enabled setting)."""
    if not accounts:
        return None
    settings = uow.topups.enabled_for(sorted(accounts))
    if not settings:
        return None
    before = {o: _available(o, accounts[o].grants, now) for o in settings}
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
        after = _available(org_id, uow.grants.active(org_id), now)
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
    offer = _offer(catalogue, setting, available)
    assert catalogue is not None
    if setting.monthly_cap is not None:
        spent = uow.topups.automatic_spend(setting.org_id, setting.currency, month_start(now))
        if spent + offer.price.minor > setting.monthly_cap.minor:
            return (
                f"monthly cap reached: {spent} of {setting.monthly_cap.minor} spent, "
                f"the top-up costs {offer.price.minor} ({setting.currency} minor units)"
            )
    return _purchase(setting.org_id, offer, catalogue, provider, now, trigger=Trigger.AUTOMATIC)


def _purchase(
    org_id: str, offer: Offer, catalogue: Catalogue, provider: str, now: datetime, *,
    trigger: Trigger,
) -> Purchase:  # fmt: skip
    return Purchase(
        id=new_id("pur"), org_id=org_id, pack=offer.pack, credits=offer.credits,
        price=offer.price, status=PurchaseStatus.PENDING, provider=provider,
        refund_policy=catalogue.refund_policy, expiry=offer.expiry, created_at=now,
        trigger=trigger,
    )  # fmt: skip


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
        available = _available(org_id, uow.grants.active(org_id), now)
        made = _look(uow, setting, available, now, provider)
        uow.commit()
        return made

    return tx(work)


# -- charging ---------------------------------------------------------------------------


def topup_key(purchase: Purchase) -> str:
    """The provider's idempotency key of a top-up's charge: one charge per top-up."""
    return f"topup-{purchase.id}"


@dataclass(frozen=True, slots=True)
class Charged:
    """What charging a top-up did: its purchase afterwards and the receipt made now."""

    purchase: Purchase
    receipt: Receipt | None = None


def charge_topup(
    org_id: str, purchase_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Charged:
    """Charge a pending top-up to the saved payment method and settle it (module
    docstring). Safe to call twice, from two processes at once: one charge, one grant."""
    purchase = tx(lambda uow: _get(uow, org_id, purchase_id), read_only=True)
    if purchase.status is not PurchaseStatus.PENDING or purchase.trigger is Trigger.MANUAL:
        return Charged(purchase)
    saved = tx(lambda uow: uow.payments.customer(org_id, purchase.provider), read_only=True)
    if not payments.enabled or payments.name != purchase.provider:
        return tx(_failed(purchase, "its payment provider is not configured", clock))
    if saved is None or saved[1] is None:
        return tx(_failed(purchase, "no saved payment method", clock))
    if purchase.payment_id is not None:  # charged before; the outcome was pending
        if payments.payment_succeeded(purchase.payment_id):
            return tx(_paid(purchase, Charge(purchase.payment_id, True, "succeeded"), clock))
        return Charged(purchase)
    try:
        charge = payments.charge(
            saved[0], saved[1], purchase.price, idempotency_key=topup_key(purchase),
            metadata={"purchase_id": purchase.id, "org_id": org_id,
                      "trigger": purchase.trigger.value},
        )  # fmt: skip
    except PaymentProviderError as exc:
        if exc.code is None:  # unknown outcome: retried later with the same key
            log.warning("top-up %s: %s; retried by the next tick", purchase.id, exc)
            return Charged(purchase)
        return tx(_failed(purchase, str(exc), clock))
    if charge.succeeded:
        return tx(_paid(purchase, charge, clock))
    if charge.status == "processing":
        return tx(_waiting(purchase, charge, clock))
    return tx(_failed(purchase, f"payment {charge.status}", clock))


def _get(uow: UnitOfWork, org_id: str, purchase_id: str) -> Purchase:
    found = uow.purchases.get(org_id, purchase_id)
    if found is None:
        raise PurchaseNotFound(purchase_id)
    return found


def _locked(uow: UnitOfWork, purchase: Purchase) -> tuple[tuple[int, int], Purchase]:
    held = uow.balances.lock(purchase.org_id)
    if held is None:
        raise OrganizationNotFound(purchase.org_id)
    stored = uow.purchases.get(purchase.org_id, purchase.id, lock=True)
    if stored is None:
        raise PurchaseNotFound(purchase.id)
    return held, stored


def _paid(purchase: Purchase, charge: Charge, clock: Clock) -> Callable[[UnitOfWork], Charged]:
    def work(uow: UnitOfWork) -> Charged:
        held, stored = _locked(uow, purchase)
        if stored.status is not PurchaseStatus.PENDING:
            return Charged(stored)  # settled by another charger
        now = clock.now()
        grant = grant_purchase(uow, stored, held, now)
        paid = replace(stored, status=PurchaseStatus.PAID, grant_id=grant.id,
                       payment_id=charge.id, failure=None, paid_at=now)  # fmt: skip
        uow.purchases.transition(paid, (PurchaseStatus.PENDING,), now)
        receipt = Receipt(new_id("rcp"), paid.id, paid.org_id, paid.pack, paid.credits,
                          paid.price, paid.email, now)  # fmt: skip
        uow.purchases.add_receipt(receipt)
        setting = uow.topups.setting(purchase.org_id)
        if setting is not None and setting.pending_id == purchase.id:
            available = _available(purchase.org_id, uow.grants.active(purchase.org_id), now)
            done = replace(setting, pending_id=None, failures=0, retry_at=None,
                           armed=available >= setting.threshold, updated_at=now)  # fmt: skip
            uow.topups.put_setting(done, now)
        uow.commit()
        return Charged(paid, receipt)

    return work


def _waiting(purchase: Purchase, charge: Charge, clock: Clock) -> Callable[[UnitOfWork], Charged]:
    def work(uow: UnitOfWork) -> Charged:
        _, stored = _locked(uow, purchase)
        if stored.status is not PurchaseStatus.PENDING:
            return Charged(stored)
        waiting = replace(stored, payment_id=charge.id, failure=f"payment {charge.status}")
        uow.purchases.transition(waiting, (PurchaseStatus.PENDING,), clock.now())
        uow.commit()
        return Charged(waiting)

    return work


def _failed(purchase: Purchase, reason: str, clock: Clock) -> Callable[[UnitOfWork], Charged]:
    def work(uow: UnitOfWork) -> Charged:
        _, stored = _locked(uow, purchase)
        if stored.status is not PurchaseStatus.PENDING:
            return Charged(stored)
        now = clock.now()
        failed = replace(stored, status=PurchaseStatus.FAILED, failure=reason)
        uow.purchases.transition(failed, (PurchaseStatus.PENDING,), now)
        note = reason
        setting = uow.topups.setting(purchase.org_id)
        if setting is not None and setting.pending_id == purchase.id:
            count = setting.failures + 1
            after = replace(setting, pending_id=None, failures=count, armed=True,
                            retry_at=now + RETRY_AFTER, updated_at=now)  # fmt: skip
            if count >= setting.max_failures:
                note = (f"automatic top-ups disabled after {count} failed charges "
                        f"in a row: {reason}")  # fmt: skip
                after = replace(after, enabled=False, disabled_reason=note)
            uow.topups.put_setting(after, now)
        record_payment_failed(
            uow, purchase.org_id, purchase.id, attempt=1, amount=purchase.price,
            reason=f"{purchase.trigger.value} top-up: {note}", now=now,
        )  # fmt: skip
        uow.commit()
        return Charged(failed)

    return work


# -- the scheduler's job ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopupRun:
    """What one :func:`run_topups` did.

    Attributes:
        observed: organizations with an enabled automatic setting looked at.
        claimed: automatic top-ups claimed now (crossings nobody had claimed).
        recurring: recurring top-ups bought now.
        retried: stale pending top-ups charged again.
        paid, failed: of the top-ups charged now, how many were paid and failed.
        errors: organizations whose top-up failed with an engine error, and the error.
    """

    observed: int = 0
    claimed: int = 0
    recurring: int = 0
    retried: int = 0
    paid: int = 0
    failed: int = 0
    errors: tuple[tuple[str, CreditlineError], ...] = field(default=())

    def summary(self) -> dict[str, int]:
        return {"observed": self.observed, "claimed": self.claimed,
                "recurring": self.recurring, "retried": self.retried, "paid": self.paid,
                "failed": self.failed}  # fmt: skip


def _buy_recurring(
    schedule: RecurringTopup, period: str, clock: Clock, provider: str
) -> Callable[[UnitOfWork], Purchase | None]:
    def work(uow: UnitOfWork) -> Purchase | None:
        if uow.balances.lock(schedule.org_id) is None:
            return None
        now = clock.now()
        current = uow.topups.schedule(schedule.org_id)
        if current is None or not current.active or current.last_period == period:
            return None
        key = recurring_key(period)
        if uow.purchases.by_key(schedule.org_id, key) is not None:  # bought: note it
            uow.topups.put_schedule(replace(current, last_period=period), now)
            uow.commit()
            return None
        catalogue = uow.packs.get()
        if catalogue is None:
            raise PackNotFound(current.pack)
        offer = catalogue.offer(current.currency, current.pack)
        purchase = _purchase(
            schedule.org_id, offer, catalogue, provider, now, trigger=Trigger.RECURRING
        )
        uow.purchases.add(purchase, key, now)
        uow.topups.put_schedule(replace(current, last_period=period), now)
        uow.commit()
        return purchase

    return work


def _pages(
    tx: Transactions, read: Callable[[UnitOfWork, str | None], list[T]], key: Callable[[T], str],
    page: int,
) -> Iterator[T]:  # fmt: skip
    """Every row ``read`` pages through, ``page`` at a time, each page one read."""
    after: str | None = None
    while True:
        rows = tx(lambda uow, a=after: read(uow, a), read_only=True)  # type: ignore[misc]
        yield from rows
        if len(rows) < page:
            return
        after = key(rows[-1])


@dataclass(slots=True)
class _Tally:
    errors: list[tuple[str, CreditlineError]] = field(default_factory=list)
    to_charge: list[Purchase] = field(default_factory=list)

    def attempt(self, org_id: str, make: Callable[[], Purchase | None]) -> bool:
        try:
            made = make()
        except CreditlineError as exc:
            self.errors.append((org_id, exc))
            return False
        if made is not None:
            self.to_charge.append(made)
        return made is not None


def run_topups(
    tx: Transactions,
    payments: PaymentProvider,
    clock: Clock,
    *,
    stale: timedelta = STALE_AFTER,
    page: int = 500,
) -> TopupRun:
    """The scheduler's ``topups`` job: charge the top-ups pending for ``stale`` or longer
    again, buy the due recurring ones, and observe every enabled automatic setting
    (module docstring)."""
    now = clock.now()
    provider = payments.name if payments.enabled else None
    tally = _Tally()
    tally.to_charge += tx(lambda uow: uow.topups.pending(now - stale, page), read_only=True)
    retried = len(tally.to_charge)
    recurring = observed = claimed = 0
    schedules = _pages(
        tx, lambda uow, a: uow.topups.active_schedules(page, a), lambda r: r.org_id, page
    )
    for schedule in schedules:
        period = due_period(schedule, now)
        if provider is not None and period is not None and period != schedule.last_period:
            buy = _buy_recurring(schedule, period, clock, provider)
            recurring += tally.attempt(schedule.org_id, lambda b=buy: tx(b))  # type: ignore[misc]
    for org_id in _pages(tx, lambda uow, a: uow.topups.enabled_orgs(page, a), str, page):
        observed += 1
        claimed += tally.attempt(
            org_id,
            lambda o=org_id: observe_org(o, tx, clock, provider),  # type: ignore[misc]
        )
    paid = failed = 0
    for purchase in tally.to_charge:
        try:
            done = charge_topup(purchase.org_id, purchase.id, tx, payments, clock).purchase
        except CreditlineError as exc:
            tally.errors.append((purchase.org_id, exc))
            continue
        paid += done.status is PurchaseStatus.PAID
        failed += done.status is PurchaseStatus.FAILED
    return TopupRun(observed, claimed, recurring, retried, paid, failed, tuple(tally.errors))


# -- charging in the background ------------------------------------------------------------


class TopupRunner:
    """Charges the top-ups claimed by charging groups, one at a time, on a thread of its
    own (started when first needed), so that neither the group's writer nor the caller
    whose usage crossed waits for the provider. :meth:`drain` waits for what is queued;
    a top-up lost with the process is charged by the next tick (:data:`STALE_AFTER`)."""

    def __init__(self, charge: Callable[[Purchase], object], name: str) -> None:
        self._charge = charge
        self._name = name
        self._queue: queue.Queue[Purchase | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, purchases: Sequence[Purchase]) -> None:
        if not purchases:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
        for purchase in purchases:
            self._queue.put(purchase)

    def _loop(self) -> None:
        while True:
            purchase = self._queue.get()
            try:
                if purchase is None:
                    return
                self._charge(purchase)
            except Exception:  # a failed charge is the tick's to retry; the runner goes on
                log.exception("top-up %s was not charged", purchase and purchase.id)
            finally:
                self._queue.task_done()

    def drain(self) -> None:
        """Wait until every top-up queued so far is charged (or failed)."""
        self._queue.join()

    def close(self) -> None:
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join()
