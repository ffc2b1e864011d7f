"""The alert rules of the domain: validation that lists every problem, conditions in
exact integers, crossings (fire once, re-arm when the condition clears, hysteresis),
event payloads; and the delivery schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditline import credits
from creditline.domain.alerts import (
    AlertRule,
    AlertState,
    PaymentFailure,
    Reading,
    RuleState,
    condition,
    email_message,
    evaluate,
    event_types,
    make_rule,
    rule_problems,
)
from creditline.domain.deliveries import (
    MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    WebhookEndpoint,
    event_type_problems,
    next_attempt_at,
)
from creditline.domain.errors import InvalidAlertRule

T = datetime(2026, 3, 1, tzinfo=UTC)


def rule(kind: str, **params: int) -> AlertRule:
    return make_rule(
        "alr_1", "org_1", kind, params=params, channels=["webhook"], email=None, created_at=T
    )


def reading(available: int, **more: object) -> Reading:
    return Reading("org_1", T, available, **more)  # type: ignore[arg-type]


def test_a_rule_lists_every_problem_at_once() -> None:
    problems = rule_problems(
        "forecast_depletion",
        {"percent": 0, "lookback_days": 400, "rearm_days": 2, "days": 3, "colour": 1},
        ["webhook", "email", "pager"],
        None,
    )
    assert problems == [
        "percent: must be a whole percent from 1 to 100, got 0",
        "lookback_days: must be whole days from 1 to 366, got 400",
        "colour: not a setting of any alert rule",
        "percent: not a setting of a forecast_depletion rule",
        "rearm_days: must be at least days (2 < 3)",
        "channels: 'pager' is not one of ['email', 'webhook']",
        "email: the email channel needs an address",
    ]
    with pytest.raises(InvalidAlertRule) as caught:
        make_rule("alr_1", "org_1", "depleted", params={"threshold": True}, channels=[],
                  email="ops@x.example", created_at=T)  # fmt: skip
    assert caught.value.problems == [
        "threshold: must be micro-credits above zero, got True",
        "threshold: not a setting of a depleted rule",
        "channels: at least one of ['email', 'webhook']",
        "email: given, but the email channel is not chosen",
    ]


def test_thresholds_compare_exact_micro_credits() -> None:
    below = rule("remaining_below", threshold=credits(10))
    assert condition(below, reading(credits(10) - 1)) is True
    assert condition(below, reading(credits(10))) is False
    percent = rule("remaining_below_percent", percent=15)
    assert condition(percent, reading(credits(15) - 1, cycle_grant=credits(100))) is True
    assert condition(percent, reading(credits(15), cycle_grant=credits(100))) is False
    assert condition(percent, reading(0)) is None  # no cycle grant: cannot judge
    assert condition(rule("depleted"), reading(0)) is True
    assert condition(rule("depleted"), reading(1)) is False
    assert condition(rule("read_only"), reading(0)) is False
    assert condition(rule("read_only"), reading(0, read_only_policy=True)) is True
    assert condition(rule("payment_failed"), reading(0)) is None


def test_forecast_compares_without_dividing() -> None:
    forecast = rule("forecast_depletion", days=3, lookback_days=7)
    # 30 credits left, 70 burnt in 7 days (10 a day): exactly 3 days left.
    assert condition(forecast, reading(credits(30), consumed={7: credits(70)})) is True
    assert condition(forecast, reading(credits(30) + 1, consumed={7: credits(70)})) is False
    assert condition(forecast, reading(credits(30), consumed={7: 0})) is False
    hysteresis = rule("forecast_depletion", days=3, rearm_days=5)
    assert condition(hysteresis, reading(credits(40), consumed={7: credits(70)})) is None
    assert condition(hysteresis, reading(credits(51), consumed={7: credits(70)})) is False


def test_a_rule_fires_once_per_crossing_and_rearms_when_it_clears() -> None:
    below = rule("remaining_below", threshold=100, rearm_above=150)
    state = AlertState(below.id)
    assert evaluate(below, state, reading(120)) is None  # armed, condition false
    fired = evaluate(below, state, reading(99))
    assert fired is not None and len(fired.events) == 1
    state = fired.state
    assert (state.state, state.fired_count, state.last_value) == (RuleState.FIRED, 1, 99)
    assert evaluate(below, state, reading(50)) is None  # still true: no second event
    assert evaluate(below, state, reading(120)) is None  # inside the band: stays fired
    rearmed = evaluate(below, state, reading(150))
    assert rearmed is not None and rearmed.events == ()
    assert rearmed.state.state is RuleState.ARMED
    again = evaluate(below, rearmed.state, reading(10))
    assert again is not None and again.state.fired_count == 2


def test_payment_failures_fire_once_each_after_the_cursor() -> None:
    failed = rule("payment_failed")
    failures = tuple(
        PaymentFailure(seq, f"inv_{seq}", 400, "USD", "card declined", T) for seq in (3, 4, 5)
    )
    moved = evaluate(failed, AlertState(failed.id, signal_cursor=3), reading(0,
                     payment_failures=failures))  # fmt: skip
    assert moved is not None
    assert [e.data["invoice_id"] for e in moved.events] == ["inv_4", "inv_5"]
    assert (moved.state.signal_cursor, moved.state.state) == (5, RuleState.ARMED)
    assert evaluate(failed, moved.state, reading(0, payment_failures=failures)) is None


def test_an_event_payload_has_the_standard_webhooks_shape() -> None:
    below = rule("remaining_below", threshold=credits(10))
    fired = evaluate(below, AlertState(below.id), reading(credits("2.5")))
    assert fired is not None
    (event,) = fired.events
    assert event.payload() == {
        "type": "credits.below_threshold",
        "timestamp": "2026-03-01T00:00:00+00:00",
        "data": {
            "org_id": "org_1",
            "rule": {"id": "alr_1", "kind": "remaining_below", "threshold": 10_000_000},
            "available_micros": 2_500_000,
            "available": "2.5",
            "at": "2026-03-01T00:00:00+00:00",
            "threshold_micros": 10_000_000,
            "threshold": "10",
        },
    }
    subject, text = email_message(event.payload(), "Acme")
    assert subject == "Credits are running low: Acme"
    assert "Available: 2.5 credits." in text and "Threshold: 10 credits." in text
    assert event_types() == (
        "credits.below_threshold", "credits.depleted", "credits.forecast_depletion",
        "org.grace", "org.read_only", "payment.failed",
    )  # fmt: skip


def test_the_retry_schedule_backs_off_then_gives_up() -> None:
    assert MAX_ATTEMPTS == 8
    times = [next_attempt_at(n, T) for n in range(1, MAX_ATTEMPTS + 1)]
    assert times[:-1] == [T + delay for delay in RETRY_SCHEDULE]
    assert times[0] == T + timedelta(seconds=5) and times[-1] is None
    assert next_attempt_at(1, T, [timedelta(seconds=1)]) == T + timedelta(seconds=1)
    assert next_attempt_at(2, T, [timedelta(seconds=1)]) is None


def test_an_endpoint_gets_its_organizations_events_of_its_types() -> None:
    own = WebhookEndpoint("whe_1", "https://x.example", "org_1", ("credits.depleted",), None, T)
    operator = WebhookEndpoint("whe_2", "https://x.example", None, (), None, T)
    assert own.wants("org_1", "credits.depleted")
    assert not own.wants("org_1", "credits.below_threshold")
    assert not own.wants("org_2", "credits.depleted")
    assert operator.wants("org_2", "payment.failed")
    assert event_type_problems(["credits.low"]) == [
        "event type: 'credits.low' is not one of ['budget.threshold_reached', "
        "'credits.below_threshold', "
        "'credits.depleted', 'credits.forecast_depletion', 'org.grace', 'org.read_only', "
        "'payment.failed', "
        "'sales.contact_requested']",
    ]


def test_used_at_least_a_percent_fires_at_the_percent_not_one_micro_credit_later() -> None:
    """ "Alert at 50 % used": ``used_percent`` fires the moment half the cycle's grant is
    used; ``remaining_below_percent`` at 50 fires only once strictly less is left."""
    grant = credits(100)
    used = rule("used_percent", percent=50)
    below = rule("remaining_below_percent", percent=50)
    half_used = reading(credits(50), cycle_grant=grant)
    assert condition(used, half_used) is True
    assert condition(below, half_used) is False
    one_more = reading(credits(50) - 1, cycle_grant=grant)
    assert condition(below, one_more) is True and condition(used, one_more) is True
    assert condition(used, reading(credits(50) + 1, cycle_grant=grant)) is False
    assert condition(used, reading(credits(50))) is None  # no cycle grant: no judgement
    # Prepaid credits beyond the grant: less than nothing of the grant is used.
    assert condition(used, reading(credits(150), cycle_grant=grant)) is False
    assert condition(rule("used_percent", percent=100), reading(0, cycle_grant=grant)) is True
    assert condition(rule("used_percent", percent=100), reading(1, cycle_grant=grant)) is False
    assert used.describe() == "used at least 50% of the cycle's grant"
    assert used.event_type == "credits.below_threshold"


def test_used_percent_rearms_below_a_lower_use() -> None:
    used = rule("used_percent", percent=80, rearm_percent=70)
    grant = credits(100)
    assert condition(used, reading(credits(20), cycle_grant=grant)) is True  # 80 % used
    assert condition(used, reading(credits(25), cycle_grant=grant)) is None  # 75 %: between
    assert condition(used, reading(credits(30), cycle_grant=grant)) is None  # 70 %: between
    assert condition(used, reading(credits(30) + 1, cycle_grant=grant)) is False
    assert rule_problems(
        "used_percent", {"percent": 70, "rearm_percent": 80}, ["webhook"], None
    ) == ["rearm_percent: must be at most percent (80 > 70)"]
    assert rule_problems("used_percent", {}, ["webhook"], None) == [
        "percent: required by a used_percent rule"
    ]
    state = AlertState("alr_1")
    fired = evaluate(used, state, reading(credits(20), cycle_grant=grant))
    assert fired is not None
    (event,) = fired.events
    assert (event.data["percent"], event.data["used"], event.data["cycle_grant"]) == (
        80,
        "80",
        "100",
    )
    assert event.data["used_micros"] == credits(80)
    _, text = email_message(event.payload(), "Acme")
    assert "Used: 80 of 100 credits (the alert is at 80% used)." in text
