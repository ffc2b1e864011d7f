"""Alert rules (E2) on SQLite and PostgreSQL: each kind fires once per crossing and
re-arms when its condition clears, evaluated by the scheduler's tick; the clock is
moved, never slept on. Webhooks go to a recording sender here (the transport, signing
and retries are tested in test_webhook_delivery.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.adapters.payments import FakeStripe, sign
from creditline.domain.errors import (
    AlertRuleNotFound,
    InvalidAlertRule,
    InvalidSetting,
    OrganizationNotFound,
    WebhookUrlRefused,
)
from tests.alerting import RecordingSender
from tests.billing import SECRET, provider

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def alerts(db_url: str, clock: ManualClock, sender: RecordingSender) -> Iterator[Creditline]:
    engine = Creditline.open(db_url, clock=clock, webhook_sender=sender)
    yield engine
    engine.close()


def org_with_endpoint(cl: Creditline, granted: int = 100) -> str:
    org = cl.create_org("Acme").id
    if granted:
        cl.grant(org, credits(granted))
    cl.add_webhook("https://hooks.acme.example/credits", org_id=org)
    return org


def fired(cl: Creditline) -> list[str]:
    """Tick once; the event types the tick fired."""
    report = cl.tick()
    assert report.ok, report.errors
    return list(report.job("alerts").summary["fired"])


def test_remaining_below_fires_once_per_crossing_and_rearms(
    alerts: Creditline, sender: RecordingSender
) -> None:
    org = org_with_endpoint(alerts)
    rule = alerts.add_alert(org, "remaining_below", threshold=credits(50))
    assert fired(alerts) == []
    alerts.spend(org, credits(55))  # 45 left: below 50
    assert fired(alerts) == ["credits.below_threshold"]
    assert fired(alerts) == []  # still below: no second alert
    alerts.spend(org, credits(5))
    assert fired(alerts) == []
    (_, msg_id, payload) = sender.sent[0]
    assert msg_id.startswith("msg_")
    assert payload["type"] == "credits.below_threshold"
    data = payload["data"]
    assert (data["org_id"], data["available_micros"], data["available"]) == (org, credits(45), "45")
    assert (data["threshold_micros"], data["threshold"]) == (credits(50), "50")
    assert data["rule"] == {"id": rule.id, "kind": "remaining_below", "threshold": credits(50)}
    assert payload["timestamp"] == data["at"] == "2026-01-01T00:00:00+00:00"
    # Topped up above the threshold: re-armed; below it again: fires again.
    alerts.grant(org, credits(20))  # 60
    assert fired(alerts) == []
    (state,) = [r.state for r in alerts.alert_rules(org)]
    assert state is not None and state.state == "armed" and state.fired_count == 1
    alerts.spend(org, credits(15))  # 45
    assert fired(alerts) == ["credits.below_threshold"]
    assert len(sender.sent) == 2


def test_a_rearm_level_above_the_threshold_keeps_a_hovering_balance_quiet(
    alerts: Creditline,
) -> None:
    org = org_with_endpoint(alerts)
    alerts.add_alert(org, "remaining_below", threshold=credits(50), rearm_above=credits(70))
    alerts.spend(org, credits(51))  # 49
    assert fired(alerts) == ["credits.below_threshold"]
    alerts.grant(org, credits(2))  # 51: above the threshold, below the re-arm level
    assert fired(alerts) == []
    alerts.spend(org, credits(2))  # 49 again: no new alert, it never re-armed
    assert fired(alerts) == []
    alerts.grant(org, credits(21))  # 70: re-armed
    assert fired(alerts) == []
    alerts.spend(org, credits(21))  # 49
    assert fired(alerts) == ["credits.below_threshold"]


def test_depleted_fires_at_zero_and_rearms_when_credits_arrive(alerts: Creditline) -> None:
    org = org_with_endpoint(alerts, granted=10)
    alerts.add_alert(org, "depleted")
    alerts.spend(org, credits(9))
    assert fired(alerts) == []
    alerts.spend(org, credits(1))
    assert fired(alerts) == ["credits.depleted"]
    assert fired(alerts) == []
    alerts.grant(org, credits(5))
    assert fired(alerts) == []
    alerts.spend(org, credits(5))
    assert fired(alerts) == ["credits.depleted"]


def test_read_only_fires_only_under_the_read_only_policy(
    alerts: Creditline, sender: RecordingSender
) -> None:
    alerts.put_plan({"name": "packs", "depletion": "read_only"})
    locked, paused = org_with_endpoint(alerts, 10), org_with_endpoint(alerts, 10)
    alerts.assign_plan(locked, "packs")
    for org in (locked, paused):
        alerts.add_alert(org, "read_only")
        alerts.spend(org, credits(10))
    assert fired(alerts) == ["org.read_only"]
    assert alerts.is_read_only(locked)
    assert sender.sent[0][2]["data"]["org_id"] == locked
    assert sender.sent[0][2]["data"]["depletion"] == "read_only"
    alerts.grant(locked, credits(1))  # credits bought: writable again, re-armed
    assert fired(alerts) == []
    alerts.spend(locked, credits(1))
    assert fired(alerts) == ["org.read_only"]


def test_percent_of_the_cycle_grant_follows_the_subscribed_plan(
    alerts: Creditline, clock: ManualClock, sender: RecordingSender
) -> None:
    alerts.load_plans((EXAMPLES / "otai" / "plans.toml").read_text(encoding="utf-8"))
    org = org_with_endpoint(alerts, granted=0)
    alerts.add_alert(org, "remaining_below_percent", percent=20)
    assert fired(alerts) == []  # no subscription, no cycle grant: nothing to judge
    alerts.subscribe(org, "pro")  # sign-up: 100 credits for the first month
    status = alerts.subscription(org)
    assert status is not None and status.renewals[0].amount == credits(100)
    alerts.spend(org, credits(80))  # 20 left: 20% of 100, not below
    assert fired(alerts) == []
    alerts.spend(org, credits("0.000001"))
    assert fired(alerts) == ["credits.below_threshold"]
    data = sender.sent[0][2]["data"]
    assert (data["percent"], data["cycle_grant"], data["available"]) == (20, "100", "19.999999")
    # The next month grants 50 (credits never expire): 69.999999 left, 20% of 50 is 10.
    clock.advance(timedelta(days=31))
    assert fired(alerts) == []  # the tick renewed the cycle first, then re-armed the rule
    alerts.spend(org, credits(60))
    assert fired(alerts) == ["credits.below_threshold"]
    assert sender.sent[1][2]["data"]["cycle_grant_micros"] == credits(50)


def test_used_at_least_half_fires_when_half_is_used_and_below_half_one_credit_later(
    alerts: Creditline, clock: ManualClock, sender: RecordingSender
) -> None:
    alerts.load_plans((EXAMPLES / "otai" / "plans.toml").read_text(encoding="utf-8"))
    org = org_with_endpoint(alerts, granted=0)
    used = alerts.add_alert(org, "used_percent", percent=50)
    below = alerts.add_alert(org, "remaining_below_percent", percent=50)
    alerts.subscribe(org, "pro")  # sign-up: 100 credits for the first month
    alerts.spend(org, credits(50) - 1)
    assert fired(alerts) == []
    alerts.spend(org, 1)  # exactly half used, exactly half left
    assert fired(alerts) == ["credits.below_threshold"]
    payload = sender.sent[-1][2]
    assert payload["data"]["rule"]["id"] == used.id
    assert (payload["data"]["used"], payload["data"]["percent"]) == ("50", 50)
    alerts.spend(org, 1)  # strictly below half left: the other rule, one micro-credit later
    assert fired(alerts) == ["credits.below_threshold"]
    assert sender.sent[-1][2]["data"]["rule"]["id"] == below.id
    states = {r.id: r.state for r in alerts.alert_rules(org)}
    assert all(s is not None and s.fired_count == 1 for s in states.values())


def test_forecast_depletion_from_the_recent_burn_rate(
    alerts: Creditline, clock: ManualClock, sender: RecordingSender
) -> None:
    org = org_with_endpoint(alerts)
    alerts.add_alert(org, "forecast_depletion", days=5, lookback_days=7)
    assert fired(alerts) == []  # nothing burnt: no forecast
    for day in range(1, 6):  # 10 credits a day
        clock.advance(timedelta(days=1))
        alerts.spend(org, credits(10))
        # day 5: 50 left, 50 burnt in 7 days: 50 / (50/7) = 7 days > 5
        assert fired(alerts) == [], day
    clock.advance(timedelta(days=1))
    alerts.spend(org, credits(10))  # 40 left, 60 in 7 days: 4.67 days <= 5
    assert fired(alerts) == ["credits.forecast_depletion"]
    data = sender.sent[0][2]["data"]
    assert (data["consumed"], data["burn_per_day"], data["days"], data["lookback_days"]) == (
        "60", "8.571428", 5, 7,
    )  # fmt: skip
    # 40 * 7 * 86400 // 60 seconds = 4 days 16 hours from now (day 6).
    assert data["depletes_at"] == "2026-01-11T16:00:00+00:00"
    alerts.grant(org, credits(100))  # 140 left: 16 days
    assert fired(alerts) == []
    alerts.spend(org, credits(110))  # 30 left, 170 burnt: under 2 days
    assert fired(alerts) == ["credits.forecast_depletion"]
    alerts.grant(org, credits(1000))
    clock.advance(timedelta(days=8))  # nothing burnt in the window: re-armed
    assert fired(alerts) == []
    state = alerts.alert_rules(org)[0].state
    assert state is not None and (state.state, state.fired_count) == ("armed", 2)


def test_a_failed_saved_card_charge_of_an_invoice_fires_payment_failed(
    db_url: str, clock: ManualClock, sender: RecordingSender
) -> None:
    fake = FakeStripe()
    clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    with Creditline.open(db_url, clock=clock, payments=provider(fake),
                         webhook_sender=sender) as cl:  # fmt: skip
        roboflow = EXAMPLES / "roboflow"
        cl.load_rate_card((roboflow / "ratecard.toml").read_text(encoding="utf-8"))
        cl.load_plans((roboflow / "plans.toml").read_text(encoding="utf-8"))
        cl.load_packs(
            'name = "roboflow"\nrefund_policy = "final"\n[[packs]]\nname = "ten"\n'
            "credits = 10\nprices_minor = { USD = 4000 }\n"
        )
        org = org_with_endpoint(cl, granted=0)
        cl.set_rate_card(org, "roboflow")
        cl.assign_plan(org, "core")
        cl.add_alert(org, "payment_failed")
        # Buy once at the checkout, so that the card is saved; then use flex credits.
        purchase = cl.create_purchase(org, "ten", currency="USD")
        assert purchase.session_id is not None
        session = fake.pay(purchase.session_id, payment_method="pm_card_expiring")
        body = fake.event("checkout.session.completed", session)
        assert cl.handle_webhook(body, sign(body, SECRET)).outcome == "granted"
        cl.spend(org, credits(10))
        assert cl.record(org, "e1", "labeling", {"images": 300}).accepted  # 3 flex credits
        fake.decline_charges("pm_card_expiring", "expired_card")
        clock.set(datetime(2026, 4, 1, tzinfo=UTC))
        report = cl.tick()  # invoices March (the charge is declined), then the alerts
        assert report.job("alerts").summary["fired"] == ["payment.failed"]
        (invoice,) = cl.invoices(org)
        data = sender.sent[0][2]["data"]
        assert (data["invoice_id"], data["amount_minor"], data["currency"]) == (
            invoice.id, invoice.total.minor, "USD",
        )  # fmt: skip
        assert "expired_card" in data["reason"]
        assert fired(cl) == []  # once per decline
        cl.pay_invoice(org, invoice.id)  # declined again: a new failure, a new alert
        assert fired(cl) == ["payment.failed"]
        fake.accept_charges("pm_card_expiring")
        cl.pay_invoice(org, invoice.id)
        assert fired(cl) == []
        assert len(sender.sent) == 2


def test_a_new_payment_rule_ignores_declines_before_it(
    db_url: str, clock: ManualClock, sender: RecordingSender
) -> None:
    from creditline.domain.money import Money
    from creditline.services.alerts import record_payment_failed

    with Creditline.open(db_url, clock=clock, webhook_sender=sender) as cl:
        org = org_with_endpoint(cl)

        def decline(attempt: int) -> None:
            def work(uow: Any) -> None:
                amount = Money(100, "EUR")
                record_payment_failed(
                    uow, org, "inv_x", attempt=attempt, amount=amount, reason="no", now=clock.now()
                )
                uow.commit()

            cl._tx(work)

        decline(1)
        cl.add_alert(org, "payment_failed")
        assert fired(cl) == []
        decline(2)
        decline(2)  # the same attempt recorded twice: one signal
        assert fired(cl) == ["payment.failed"]


def test_events_go_to_subscribed_endpoints_the_operators_and_by_type(
    alerts: Creditline, sender: RecordingSender
) -> None:
    a, b = org_with_endpoint(alerts, 10), org_with_endpoint(alerts, 10)
    operator = alerts.add_webhook("https://ops.example/all")  # every organization's events
    only_depleted = alerts.add_webhook(
        "https://hooks.acme.example/depleted", org_id=a, event_types=["credits.depleted"]
    )
    for org in (a, b):
        alerts.add_alert(org, "remaining_below", threshold=credits(5))
        alerts.add_alert(org, "depleted")
    alerts.spend(a, credits(10))
    alerts.spend(b, credits(6))
    report = alerts.tick()
    assert sorted(report.job("alerts").summary["fired"]) == [
        "credits.below_threshold", "credits.below_threshold", "credits.depleted",
    ]  # fmt: skip
    sent = sorted((url, p["type"], p["data"]["org_id"] == a) for url, _, p in sender.sent)
    assert sent == [
        ("https://hooks.acme.example/credits", "credits.below_threshold", False),
        ("https://hooks.acme.example/credits", "credits.below_threshold", True),
        ("https://hooks.acme.example/credits", "credits.depleted", True),
        ("https://hooks.acme.example/depleted", "credits.depleted", True),
        ("https://ops.example/all", "credits.below_threshold", False),
        ("https://ops.example/all", "credits.below_threshold", True),
        ("https://ops.example/all", "credits.depleted", True),
    ]
    # An organization's log holds its own endpoints' deliveries; the operator's, all.
    own_a = {d.endpoint_id for d in alerts.webhook_deliveries(a)}
    assert only_depleted.id in own_a and operator.id not in own_a
    assert len(alerts.webhook_deliveries(a)) == 3 and len(alerts.webhook_deliveries(b)) == 1
    assert {d.endpoint_id for d in alerts.webhook_deliveries()} >= {operator.id, *own_a}
    assert len(alerts.webhook_deliveries()) == 7


def test_concurrent_evaluations_fire_each_crossing_once(
    alerts: Creditline, sender: RecordingSender
) -> None:
    orgs = [org_with_endpoint(alerts, 10) for _ in range(4)]
    for org in orgs:
        alerts.add_alert(org, "depleted")
        alerts.add_alert(org, "remaining_below", threshold=credits(5))
        alerts.spend(org, credits(10))
    barrier = threading.Barrier(4)

    def run() -> int:
        barrier.wait()
        return len(alerts.evaluate_alerts().events)

    with ThreadPoolExecutor(4) as pool:
        counts = [f.result() for f in [pool.submit(run) for _ in range(4)]]
    assert sum(counts) == 8
    deliveries = [d for org in orgs for d in alerts.webhook_deliveries(org)]
    assert len(deliveries) == 8
    assert (
        sorted(d.event_type for d in deliveries)
        == ["credits.below_threshold"] * 4 + ["credits.depleted"] * 4
    )


def test_rules_are_validated_whole_listed_and_removed(alerts: Creditline) -> None:
    org = org_with_endpoint(alerts)
    with pytest.raises(InvalidAlertRule) as caught:
        alerts.add_alert(org, "remaining_below", percent=120, days=3, channels=["sms"])
    assert caught.value.problems == [
        "percent: must be a whole percent from 1 to 100, got 120",
        "threshold: required by a remaining_below rule",
        "days: not a setting of a remaining_below rule",
        "percent: not a setting of a remaining_below rule",
        "channels: 'sms' is not one of ['email', 'webhook']",
    ]
    with pytest.raises(InvalidAlertRule, match="rearm_above: must be at least threshold"):
        alerts.add_alert(org, "remaining_below", threshold=credits(10), rearm_above=credits(5))
    with pytest.raises(InvalidAlertRule, match="kind: 'low' is not one of"):
        alerts.add_alert(org, "low")
    with pytest.raises(InvalidAlertRule, match="email: 'nope' is not an e-mail address"):
        alerts.add_alert(org, "depleted", email="nope")
    with pytest.raises(OrganizationNotFound):
        alerts.add_alert("org_missing", "depleted")
    rule = alerts.add_alert(org, "depleted", email="ops@acme.example")
    assert [c.value for c in rule.channels] == ["webhook", "email"]
    assert [r.id for r in alerts.alert_rules(org)] == [rule.id]
    removed = alerts.disable_alert(rule.id)
    assert removed.disabled_at is not None and alerts.alert_rules(org) == []
    assert [r.id for r in alerts.alert_rules(org, include_disabled=True)] == [rule.id]
    with pytest.raises(AlertRuleNotFound):
        alerts.disable_alert("alr_missing")
    with pytest.raises(AlertRuleNotFound):
        alerts.disable_alert(rule.id, org_id=org_with_endpoint(alerts))
    alerts.spend(org, credits(100))
    assert fired(alerts) == []  # a removed rule never fires
    with pytest.raises(WebhookUrlRefused, match="only http and https"):
        alerts.add_webhook("ftp://example.com/x")
    with pytest.raises(InvalidSetting, match=r"'credits\.low' is not one of"):
        alerts.add_webhook("https://example.com/x", event_types=["credits.low"])
