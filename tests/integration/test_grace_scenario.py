"""A grace period told from the platform's side, on SQLite and PostgreSQL.

An image platform sells its "team" plan with a grace: when credits run out, usage goes
on for up to 3 credits or 24 hours (billed as flex at USD 0.50 a credit), then the
organization is read-only for 48 hours, then paused. The platform subscribes a
webhook-free ``grace`` alert rule, so it hears of every step.

Told in order: Acme gets 2 credits, renders until they run out, uses its grace, goes
read-only (its next render refused, naming the state), is paused two days later by the
scheduler; then it buys the starter pack and is active at once. Every transition is in
the history with its cause and time, every credit of grace is a ledger entry pointing
at the render that took it, and the ledger verifies.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from creditline import ManualClock, credits
from creditline.domain.grants import GrantKind
from creditline.domain.ledger import CauseType, EntryType
from creditline.domain.usage import EventStatus
from tests.billing import Shop, verified_shop
from tests.metering import card_doc

PLANS = """
[[plans]]
name = "team"
depletion = "pause"
grace_credits = "3"
grace_hours = 24
grace_billing = "flex"
read_only_hours = 48
flex_price = { currency = "USD", minor_per_credit = 50 }
"""

PACKS = """
name = "image-platform"
[[packs]]
name = "starter"
credits = 10
prices_minor = { USD = 1000 }
expiry = "never"
"""


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    yield from verified_shop(db_url, clock)


def render(shop: Shop, org: str, n: int) -> tuple[EventStatus, str | None]:
    result = shop.cl.record(org, f"evt-{n}", "ping")
    return result.status, result.reason


def steps(shop: Shop) -> list[tuple[str, str, str | None]]:
    """The grace alerts fired since the last look: (to, cause type, cause ref)."""
    run = shop.cl.evaluate_alerts()
    found = []
    for event in run.events:
        assert event.type == "org.grace"
        moved = event.data["transition"]
        found.append((moved["to"], moved["cause_type"], moved["cause_ref"]))
    return found


def test_an_organization_runs_out_uses_its_grace_is_locked_and_a_purchase_ends_it(
    shop: Shop, clock: ManualClock
) -> None:
    cl = shop.cl
    cl.load_rate_card(card_doc(), syntax="json")  # ping: 1 credit
    cl.load_plans(PLANS)
    cl.load_packs(PACKS)
    org = shop.customer("Acme Images", plan="team")
    cl.add_alert(org, "grace")
    cl.grant(org, credits(2))
    start = clock.now()

    # Two renders from its credits; the third finds none: grace begins, paid by flex.
    assert [render(shop, org, n)[0] for n in (1, 2, 3)] == [EventStatus.ACCEPTED] * 3
    assert steps(shop) == [("grace", "usage_event", "evt-3")]
    assert cl.grace(org).left == credits(2)

    # Two more use the last of grace: read-only once the fifth is paid.
    assert [render(shop, org, n)[0] for n in (4, 5)] == [EventStatus.ACCEPTED] * 2
    assert steps(shop) == [("read_only", "usage_event", "evt-5")]
    status, reason = render(shop, org, 6)
    assert status is EventStatus.REFUSED
    assert reason is not None and "the organization is read-only since" in reason

    # Two days later the scheduler pauses it, dated at the deadline; its alert fires in
    # the same tick (the alerts job runs after grace's).
    clock.advance(timedelta(hours=49))
    tick = cl.tick()
    assert tick.ok
    assert tick.job("grace").summary["transitions"][0]["to"] == "paused"
    assert tick.job("alerts").summary["fired"] == ["org.grace"]
    assert cl.grace(org).transitions[-1].at == start + timedelta(hours=48)
    assert render(shop, org, 7)[0] is EventStatus.REFUSED

    # It buys the starter pack: active at once, and renders again.
    purchase = shop.pay(shop.buy(org, "starter"))
    assert steps(shop) == [("active", "purchase", purchase.id)]
    assert render(shop, org, 8)[0] is EventStatus.ACCEPTED
    assert cl.balance(org).available == credits(9)

    history = [(t.from_state.value, t.to_state.value, t.cause_type, t.cause_ref)
               for t in cl.grace(org).transitions]  # fmt: skip
    assert history == [
        ("active", "grace", "usage_event", "evt-3"),
        ("grace", "read_only", "usage_event", "evt-5"),
        ("read_only", "paused", "time", "read_only_hours"),
        ("paused", "active", "purchase", purchase.id),
    ]
    # Grace was three flex credits, each granted and consumed by the render it paid for.
    flex = [g for g in cl.grants(org) if g.kind is GrantKind.FLEX]
    assert sorted((g.amount, g.source.ref) for g in flex) == [(credits(1), "flex:2026-01")] * 3
    consumed = {
        e.cause.ref for e in cl.history(org, 500)
        if e.type is EntryType.CONSUME and e.grant_id in {g.id for g in flex}
    }  # fmt: skip
    assert consumed == {"evt-3", "evt-4", "evt-5"}
    assert all(e.cause.type is not CauseType.USAGE_BATCH for e in cl.history(org, 500))


def test_grace_billed_as_flex_is_invoiced_and_written_off_grace_is_not(
    shop: Shop, clock: ManualClock
) -> None:
    cl = shop.cl
    cl.load_rate_card(card_doc(), syntax="json")
    cl.load_plans(PLANS + PLANS.replace('"team"', '"team-free"').replace(
        'grace_billing = "flex"', 'grace_billing = "write_off"'))  # fmt: skip
    billed = shop.customer("Billed Ltd", plan="team")
    free = shop.customer("Forgiven Ltd", plan="team-free")
    for org in (billed, free):
        for n in (1, 2, 3):  # no credits at all: three credits of grace each
            assert render(shop, org, n)[0] is EventStatus.ACCEPTED
    month = clock.now().strftime("%Y-%m")
    clock.advance(timedelta(days=40))  # the month is over
    run = cl.invoice_flex(month)
    (invoice,) = run.issued
    assert invoice.org_id == billed
    (line,) = invoice.lines
    assert (line.credits, line.unit_price_minor, line.amount_minor) == (credits(3), 50, 150)
    assert free not in run.unpriced
