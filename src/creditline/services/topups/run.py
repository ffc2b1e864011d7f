"""The scheduler's ``topups`` job: what the charging groups did not do.

:func:`run_topups` charges again the top-ups left pending (their charger died, or the
provider's answer was unknown), buys the recurring top-ups due and observes every
enabled automatic setting (:func:`creditline.services.topups.claims.observe_org`), for
what lowers the credits outside a charging group.

**Recurring** top-ups are bought by :func:`run_topups` for the latest month due, under
the key ``recurring-YYYY-MM`` (``uq_purchases_org_id_idempotency_key``): catching up once
after any downtime, never twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TypeVar

from creditline.domain.errors import CreditlineError, PackNotFound
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.time import Clock
from creditline.domain.topups import RecurringTopup, Trigger, due_period, recurring_key
from creditline.services.ports.payments import PaymentProvider, Transactions
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases.records import new_purchase
from creditline.services.topups.charges import charge_topup
from creditline.services.topups.claims import observe_org

__all__ = ["STALE_AFTER", "TopupRun", "run_topups"]

T = TypeVar("T")

STALE_AFTER = timedelta(seconds=60)
"""A top-up pending this long is taken up by :func:`run_topups` (its charger died, or
the provider's answer was unknown); younger ones are left to the process that made them."""


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
        purchase = new_purchase(
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
