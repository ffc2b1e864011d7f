"""Helpers of the top-up tests: a catalogue with a pack and an any-amount rate, and an
organization with a saved card (from a real checkout through the fake Stripe)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from creditline import Creditline, credits
from creditline.adapters.payments import FakeStripe, StripeProvider
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.topups import Trigger, disarmed, month_start
from creditline.domain.usage import EventResult, EventStatus
from tests.billing import SECRET
from tests.concurrency import Report, Worker

CATALOGUE = """
name = "topups"
refund_policy = "final"

[[packs]]
name = "refill"
description = "Refill"
credits = 100
prices_minor = { EUR = 1000 }
expiry = "never"

[[packs]]
name = "monthly"
description = "Monthly"
credits = 500
prices_minor = { EUR = 4000 }
expiry = "never"

[any_amount]
unit_prices_minor = { EUR = 10 }
min_credits = 5
max_credits = 100000
step_credits = 5
expiry = "never"
"""
"""``refill``: 100 credits for EUR 10.00; ``monthly``: 500 for EUR 40.00; any amount:
EUR 0.10 a credit, from 5 credits, in steps of 5."""

CARD = "pm_card_visa"


def customer_with_card(cl: Creditline, fake: FakeStripe, name: str = "Acme") -> str:
    """A new organization that bought the ``refill`` pack at a checkout (100 credits),
    so its card is saved for off-session charges."""
    org = cl.create_org(name).id
    bought = cl.create_purchase(org, "refill", currency="EUR")
    assert bought.session_id is not None
    fake.pay(bought.session_id, payment_method=CARD)
    assert cl.refresh_purchase(org, bought.id).status is PurchaseStatus.PAID
    assert cl.balance(org).available == credits(100)
    return org


def topups_of(cl: Creditline, org_id: str, trigger: Trigger) -> list[Purchase]:
    return [p for p in cl.purchases(org_id, limit=1000) if p.trigger is trigger]


def charges(fake: FakeStripe) -> list[dict]:
    """The PaymentIntents made off-session (a checkout's payment is not one of them)."""
    return [i for i in fake.payment_intents.values() if "purchase_id" in i["metadata"]
            and i["metadata"].get("trigger") in ("automatic", "recurring")]  # fmt: skip


# -- racing processes (tests/integration/test_topup_concurrency.py) ------------------------

RACE_WINDOW = 0.5
"""Seconds :func:`broken_check_then_buy` sleeps between its check and its purchase: long
enough that on a loaded machine every process checks again before the first one buys
(it is slept once a crossing, so the test stays short)."""


def broken_check_then_buy(cl: Creditline, org_id: str) -> None:
    """DELIBERATELY WRONG: an automatic top-up decided by a check, then bought, without
    the guard. Never copy this.

    It exists so the tests show that the race harness catches a double top-up
    (RELIABILITY.md rule 8). It breaks the rule on purpose:

    1. *check* in read-only transactions, taking no lock: the setting is armed with
       nothing in flight, the available credits are below its threshold and the month's
       automatic spend leaves room under the cap;
    2. sleep :data:`RACE_WINDOW`, as a slow network would;
    3. *buy*: store the pending top-up and write the setting disarmed (an absolute
       write, not a compare-and-set), then charge it like the engine does.

    Every process that checked before the first write buys: several top-ups for one
    crossing, and more than the monthly cap.
    """
    from creditline.services.purchases.records import new_purchase
    from creditline.services.topups.charges import charge_topup
    from creditline.services.topups.claims import offer_for

    setting = cl.auto_topup(org_id)
    if setting is None or not setting.armed or setting.pending_id is not None:
        return
    if cl.balance(org_id).available >= setting.threshold:
        return
    catalogue = cl.packs()
    assert catalogue is not None
    offer = offer_for(catalogue, setting, 0)
    now = cl.clock.now()
    spent = cl._tx(
        lambda uow: uow.topups.automatic_spend(org_id, "EUR", month_start(now)), read_only=True
    )
    if setting.monthly_cap is not None and spent + offer.price.minor > setting.monthly_cap.minor:
        return
    time.sleep(RACE_WINDOW)
    purchase = new_purchase(org_id, offer, catalogue, cl.payments.name, now,
                                trigger=Trigger.AUTOMATIC)  # fmt: skip

    def buy(uow: Any) -> None:
        uow.purchases.add(purchase, f"broken-{purchase.id}", now)
        uow.topups.put_setting(disarmed(setting, purchase.id, now), now)
        uow.commit()

    cl._tx(buy)
    charge_topup(org_id, purchase.id, cl._tx, cl.payments, cl.clock)


def _no_guard(*_: object) -> None:
    """The engine's watch of crossings, switched off in the broken variant's processes."""
    return None


REFUSED_PATIENCE = 30.0
"""Seconds a worker of :class:`UsageJob` keeps resending an event refused for want of
credits."""


@dataclass(frozen=True)
class UsageJob:
    """``events`` ping events recorded one at a time by each worker,
    through an engine that charges off-session at the fake Stripe at ``stripe_url``;
    with ``broken``, the engine's guard is off and :func:`broken_check_then_buy` runs
    after every event."""

    url: str
    org_id: str
    events: int
    stripe_url: str
    broken: bool = False

    def __call__(self, worker: Worker, report: Report) -> None:
        if self.broken:
            from creditline.services import topups as engine

            engine.watch = _no_guard  # type: ignore[assignment]
        provider = StripeProvider("sk_test_creditline", SECRET, api_base=self.stripe_url,
                                  max_network_retries=0)  # fmt: skip
        cl = Creditline.open(self.url, migrate=False, payments=provider)
        try:
            for n in range(self.events):
                try:
                    result = self._record(cl, f"w{worker.index}-{n}")
                except Exception as exc:
                    report.error(exc)
                    continue
                if result.status is EventStatus.ACCEPTED:
                    report.accepted += 1
                    report.add("used", result.cost)
                else:
                    report.refused += 1
        finally:
            cl.close()  # charges what this process claimed

    def _record(self, cl: Creditline, event_id: str) -> EventResult:
        """Record one event; refused for want of credits (the top-up is charged in the
        background, and a loaded machine can spend the rest before it lands), it is sent
        again under a new id, as a client waiting for its top-up would, for up to
        :data:`REFUSED_PATIENCE` seconds."""
        deadline = time.monotonic() + REFUSED_PATIENCE
        attempt = 0
        while True:
            result = cl.record(self.org_id, event_id if not attempt else f"{event_id}-{attempt}",
                               "ping")  # fmt: skip
            if self.broken:
                broken_check_then_buy(cl, self.org_id)
            if result.status is not EventStatus.REFUSED or time.monotonic() > deadline:
                return result
            attempt += 1
            time.sleep(0.05)


def check_topup_promises(
    cl: Creditline, fake: FakeStripe, org_id: str, *, initial: int, used: int
) -> None:
    """Assert the outcome of a :class:`UsageJob` race across the threshold: exactly one
    automatic top-up, paid, charged once; the monthly cap held (the second crossing was
    refused by it); the balance and the ledger account for every credit."""
    problems: list[str] = []
    autos = topups_of(cl, org_id, Trigger.AUTOMATIC)
    if len(autos) != 1:
        problems.append(f"{len(autos)} automatic top-ups, expected exactly 1")
    paid = [p for p in autos if p.status is PurchaseStatus.PAID]
    if len(paid) != len(autos):
        problems.append(f"{len(autos) - len(paid)} automatic top-ups not paid")
    intents = charges(fake)
    if len(intents) != len(autos):
        problems.append(f"{len(intents)} charges at Stripe for {len(autos)} top-ups")
    setting = cl.auto_topup(org_id)
    assert setting is not None and setting.monthly_cap is not None
    spent = sum(int(i["amount"]) for i in intents)
    if spent > setting.monthly_cap.minor:
        problems.append(f"charged {spent}, above the monthly cap of {setting.monthly_cap.minor}")
    if not (setting.last_skip or "").startswith("monthly cap reached"):
        problems.append(f"the second crossing was not refused by the cap: {setting.last_skip}")
    expected = initial - used + sum(p.credits for p in paid)
    if cl.balance(org_id).total != expected:
        problems.append(f"balance {cl.balance(org_id).total}, expected {expected}")
    problems += [f"verify: {p}" for p in cl.verify().problems]
    if problems:
        raise AssertionError("top-up promises broken:\n  - " + "\n  - ".join(problems))
