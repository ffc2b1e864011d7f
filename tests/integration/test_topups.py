"""Automatic and recurring top-ups (D9), in one process, on SQLite and PostgreSQL.

The real Stripe adapter and SDK talk to the shipped in-memory Stripe; the engine runs
with ``background_topups=False``, so a claimed top-up is charged when the test says
(``run_topups``, the tick's job), at the ManualClock's instants. The race of several
processes is tests/integration/test_topup_concurrency.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from creditline import ManualClock, credits
from creditline.domain.errors import InvalidSetting, PackNotFound
from creditline.domain.purchases import PurchaseStatus
from creditline.domain.topups import BuyKind, Trigger
from tests.billing import Shop, open_shop
from tests.metering import card_doc
from tests.topups import CARD, CATALOGUE, charges, customer_with_card, topups_of

T = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    clock.set(T)
    with open_shop(db_url, clock, background_topups=False) as opened:
        opened.cl.load_packs(CATALOGUE)
        yield opened
        report = opened.cl.verify()
        assert report.ok, report.problems


def _spend(shop: Shop, org: str, whole: int, times: int = 1) -> None:
    for _ in range(times):
        shop.cl.spend(org, credits(whole))


def test_a_crossing_buys_once_charged_off_session_and_rearms_above(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR")
    _spend(shop, org, 40)  # 60 left: above
    assert cl.auto_topup(org).armed and topups_of(cl, org, Trigger.AUTOMATIC) == []
    _spend(shop, org, 15)  # 45: the crossing
    (pending,) = topups_of(cl, org, Trigger.AUTOMATIC)
    assert pending.status is PurchaseStatus.PENDING and pending.pack == "refill"
    setting = cl.auto_topup(org)
    assert (setting.armed, setting.pending_id, setting.crossings) == (False, pending.id, 1)
    _spend(shop, org, 1, times=5)  # still below, in flight: no second top-up
    assert len(topups_of(cl, org, Trigger.AUTOMATIC)) == 1
    assert charges(shop.fake) == []  # nothing is charged inside the usage's transaction

    run = cl.run_topups()

    assert (run.paid, run.failed) == (1, 0)
    (paid,) = topups_of(cl, org, Trigger.AUTOMATIC)
    assert paid.status is PurchaseStatus.PAID and paid.grant_id is not None
    (intent,) = charges(shop.fake)
    assert (intent["amount"], intent["currency"], intent["payment_method"]) == (1000, "eur", CARD)
    assert intent["metadata"] == {"purchase_id": paid.id, "org_id": org, "trigger": "automatic"}
    assert ("POST", "/v1/payment_intents") in shop.fake.requests
    assert cl.balance(org).available == credits(40 + 100)
    setting = cl.auto_topup(org)
    assert (setting.armed, setting.pending_id, setting.failures) == (True, None, 0)
    assert cl.receipt(org, paid.id).amount.minor == 1000
    # a second crossing buys again, under the next key
    _spend(shop, org, 95)
    cl.run_topups()
    autos = topups_of(cl, org, Trigger.AUTOMATIC)
    assert [p.status for p in autos] == [PurchaseStatus.PAID, PurchaseStatus.PAID]
    assert cl.balance(org).available == credits(45 + 100)


def test_scoped_credits_keep_no_one_above_the_threshold(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.load_rate_card(card_doc())
    cl.set_rate_card(org, "default")
    cl.grant(org, credits(500), "promotional", scope=[{"operation": "ping"}])
    cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR")
    assert cl.balance(org).available == credits(600)

    _spend(shop, org, 55)  # general credits 45: below, though 545 are available

    (pending,) = topups_of(cl, org, Trigger.AUTOMATIC)
    assert pending.status is PurchaseStatus.PENDING
    assert cl.balance(org).scoped == credits(500)


def test_a_top_up_that_does_not_lift_the_credits_waits_for_them_to_go_above(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.set_auto_topup(org, threshold=credits(150), credits=credits(20), currency="EUR")
    _spend(shop, org, 1)  # 99 < 150: crossing
    cl.run_topups()
    assert cl.balance(org).available == credits(119)
    setting = cl.auto_topup(org)
    assert (setting.armed, setting.buy) == (False, BuyKind.AMOUNT)  # still below: disarmed
    _spend(shop, org, 1, times=3)
    cl.run_topups()
    assert len(topups_of(cl, org, Trigger.AUTOMATIC)) == 1  # one per crossing
    cl.grant(org, credits(100))  # above again (219 - 3): the next usage re-arms...
    _spend(shop, org, 70)  # ...and crosses: 146
    cl.run_topups()
    assert [p.credits for p in topups_of(cl, org, Trigger.AUTOMATIC)] == [credits(20)] * 2


def test_a_target_buys_enough_to_reach_it_in_the_rates_steps(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.set_auto_topup(org, threshold=credits(30), target=credits(250), currency="EUR")
    cl.spend(org, credits("72.5"))  # 27.5 left: 222.5 short, 225 in steps of 5
    cl.run_topups()
    (paid,) = topups_of(cl, org, Trigger.AUTOMATIC)
    assert (paid.pack, paid.credits, paid.price.minor) == ("any-amount", credits(225), 2250)
    assert cl.balance(org).available == credits("252.5")


def test_the_monthly_cap_holds_and_a_new_month_buys_again(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR", monthly_cap=2000)
    for _ in range(3):  # three crossings in January: down to 45 each time
        cl.spend(org, cl.balance(org).available - credits(45))
        cl.run_topups()
    autos = topups_of(cl, org, Trigger.AUTOMATIC)
    assert [p.status for p in autos] == [PurchaseStatus.PAID] * 2  # EUR 20.00: the cap
    setting = cl.auto_topup(org)
    assert setting.armed and setting.last_skip is not None
    assert setting.last_skip.startswith("monthly cap reached: 2000 of 2000 spent")
    assert len(charges(shop.fake)) == 2
    shop.clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    _spend(shop, org, 1)
    cl.run_topups()
    assert len(topups_of(cl, org, Trigger.AUTOMATIC)) == 3


def test_failed_charges_disable_automatic_top_ups_and_alert(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.add_alert(org, "payment_failed")
    cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR", max_failures=2)
    shop.fake.decline_charges(CARD)
    _spend(shop, org, 60)
    assert cl.run_topups().failed == 1
    (first,) = topups_of(cl, org, Trigger.AUTOMATIC)
    assert first.status is PurchaseStatus.FAILED and "declined" in (first.failure or "")
    setting = cl.auto_topup(org)
    assert (setting.enabled, setting.armed, setting.failures) == (True, True, 1)
    _spend(shop, org, 1)  # within the retry delay: nothing
    assert len(topups_of(cl, org, Trigger.AUTOMATIC)) == 1
    shop.clock.advance(timedelta(hours=1))
    _spend(shop, org, 1)
    assert cl.run_topups().failed == 1
    setting = cl.auto_topup(org)
    assert (setting.enabled, setting.failures) == (False, 2)
    assert (setting.disabled_reason or "").startswith(
        "automatic top-ups disabled after 2 failed charges in a row"
    )
    shop.clock.advance(timedelta(hours=2))
    _spend(shop, org, 1)
    cl.run_topups()
    assert len(topups_of(cl, org, Trigger.AUTOMATIC)) == 2  # disabled: no third
    fired = cl.evaluate_alerts().events
    assert [e.type for e in fired] == ["payment.failed", "payment.failed"]
    assert "disabled after 2 failed charges" in str(fired[-1].payload())
    # a new card and the setting again: armed, failures forgotten
    shop.fake.accept_charges(CARD)
    assert cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR").enabled
    _spend(shop, org, 1)
    assert cl.run_topups().paid == 1


def test_flex_used_stays_on_the_flex_invoice_and_the_top_up_pays_what_comes_after(
    shop: Shop,
) -> None:
    cl = shop.cl
    cl.put_plan({"name": "flexy", "depletion": "flex", "flex_limit_micros": credits(1000),
                 "flex_price": {"currency": "EUR", "minor_per_credit": 12}})  # fmt: skip
    org = customer_with_card(cl, shop.fake)
    cl.assign_plan(org, "flexy")
    cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR")
    cl.spend(org, credits(130))  # 100 from the grant, 30 as flex; the crossing
    cl.run_topups()
    balance = cl.balance(org)
    assert balance.available == credits(100)  # the top-up's credits, whole
    cl.spend(org, credits(10))  # paid by the top-up, not by new flex
    assert cl.balance(org).available == credits(90)
    shop.clock.set(datetime(2026, 2, 1, 0, 5, tzinfo=UTC))
    run = cl.invoice_flex()
    (invoice,) = run.issued
    assert invoice.lines[0].credits == credits(30)  # the flex used before the top-up


def test_settings_are_checked_against_the_catalogue(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    with pytest.raises(PackNotFound):
        cl.set_auto_topup(org, threshold=credits(50), pack="nope", currency="EUR")
    with pytest.raises(InvalidSetting):
        cl.set_auto_topup(org, threshold=credits(50), pack="refill", credits=5, currency="EUR")
    with pytest.raises(InvalidSetting):
        cl.set_auto_topup(org, threshold=credits(50), target=credits(40), currency="EUR")
    with pytest.raises(InvalidSetting):
        cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="USD")
    cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR")
    off = cl.disable_auto_topup(org)
    assert not off.enabled
    _spend(shop, org, 60)
    cl.run_topups()
    assert topups_of(cl, org, Trigger.AUTOMATIC) == []


def test_the_tick_claims_a_crossing_that_expiry_made(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.grant(org, credits(50), expires_at=T + timedelta(days=1))  # 150 available
    cl.set_auto_topup(org, threshold=credits(120), pack="refill", currency="EUR")
    shop.clock.advance(timedelta(days=2))
    report = cl.tick()
    assert report.job("topups").summary["claimed"] == 1
    assert report.job("topups").summary["paid"] == 1
    assert cl.balance(org).available == credits(200)


def test_an_unknown_outcome_is_retried_with_the_same_key_and_charges_once(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    cl.set_auto_topup(org, threshold=credits(50), pack="refill", currency="EUR")
    _spend(shop, org, 60)
    (pending,) = topups_of(cl, org, Trigger.AUTOMATIC)
    # The charge reached Stripe but its answer was lost (a crash, a timeout): replay it.
    customer = next(iter(shop.fake.customers))
    shop.cl.payments.charge(
        customer,
        CARD,
        pending.price,
        f"topup-{pending.id}",
        {"purchase_id": pending.id, "org_id": org, "trigger": "automatic"},
    )
    assert len(charges(shop.fake)) == 1
    cl.run_topups()
    cl.run_topups()
    assert len(charges(shop.fake)) == 1
    assert cl.purchase(org, pending.id).status is PurchaseStatus.PAID
    assert cl.balance(org).available == credits(140)


def test_recurring_top_ups_buy_monthly_and_catch_up_once(shop: Shop) -> None:
    cl, org = shop.cl, customer_with_card(shop.cl, shop.fake)
    schedule = cl.set_recurring_topup(org, "monthly", currency="EUR", day=5)
    assert (schedule.day, schedule.active, schedule.last_period) == (5, True, None)
    assert cl.tick().job("topups").summary["recurring"] == 0  # January 5th is gone
    shop.clock.set(datetime(2026, 2, 5, 0, 0, tzinfo=UTC))
    assert cl.tick().job("topups").summary["recurring"] == 1
    assert cl.tick().job("topups").summary["recurring"] == 0
    shop.clock.set(datetime(2026, 5, 20, tzinfo=UTC))  # down for three months
    assert cl.tick().job("topups").summary["recurring"] == 1
    assert cl.tick().job("topups").summary["recurring"] == 0
    bought = topups_of(cl, org, Trigger.RECURRING)
    assert [p.status for p in bought] == [PurchaseStatus.PAID] * 2
    assert cl.balance(org).available == credits(100 + 500 * 2)
    assert cl.recurring_topup(org).last_period == "2026-05"
    cl.cancel_recurring_topup(org)
    shop.clock.set(datetime(2026, 6, 5, tzinfo=UTC))
    assert cl.tick().job("topups").summary["recurring"] == 0
    history = cl.billing_history(org)
    assert sum("recurring top-up" in r.description for r in history) == 2
