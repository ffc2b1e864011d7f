"""Failed payments (dunning), on SQLite and PostgreSQL: the AI Engine's Standard plan
(USD 99.00 a month in arrears; retried 1, 3 and 7 days after each failure, then paused;
ILLUSTRATIVE) charged to a saved card that the fake Stripe declines.

Two stories, told tick by tick: a card that fails twice and then goes through, and one
that always fails, until the organization is suspended and a payment restores it (an
operator marking the invoice paid, or a new card saved at a checkout). At each moment
the invoice's state, the ``payment_failed`` alerts fired, the billing events and the
ledger entries are checked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.errors import InsufficientCredits
from creditline.domain.invoices import Collection, Invoice, InvoiceStatus
from creditline.domain.ledger import EntryType
from tests.billing import Shop, verified_shop

CARD = "pm_card_flaky"


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    yield from verified_shop(db_url, clock)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def org(shop: Shop) -> str:
    """An AI Engine organization on Standard since Jan 1st, its card saved by a purchase of
    the Standard package (1,000 prepaid credits), with a ``payment_failed`` alert."""
    shop.load("ai-engine")
    org = shop.customer("Flaky Card Inc", card="ai-engine")
    shop.cl.subscribe(org, "standard")
    shop.pay(shop.buy(org, "standard"), payment_method=CARD)
    shop.cl.add_alert(org, "payment_failed")
    return org


def at(shop: Shop, moment: datetime) -> None:
    shop.clock.set(moment)
    report = shop.cl.tick()
    assert report.ok, report.errors


def invoice_of(shop: Shop, org: str) -> Invoice:
    (invoice,) = shop.cl.invoices(org)
    return invoice


def alerts_fired(shop: Shop, org: str) -> int:
    (rule,) = shop.cl.alert_rules(org)
    return 0 if rule.state is None else rule.state.fired_count


def events(shop: Shop, org: str) -> list[tuple[str, str, datetime]]:
    """The billing events, oldest first: (type, cause, when)."""
    return [(e.type, e.cause, e.at) for e in reversed(shop.cl.billing_events(org))]


def spends(shop: Shop, org: str, key: str) -> bool:
    try:
        shop.cl.spend(org, credits(1), idempotency_key=key)
    except InsufficientCredits as exc:
        assert exc.overdue_invoice == "INV-000001"
        assert "suspended until invoice INV-000001 is paid" in str(exc)
        return False
    return True


def test_a_card_that_fails_twice_then_succeeds_is_retried_on_schedule(shop: Shop, org: str) -> None:
    shop.fake.decline_charges(CARD, "card_declined")
    at(shop, utc(2026, 2, 1, 6))  # January is invoiced and charged: declined
    invoice = invoice_of(shop, org)
    assert (invoice.status, invoice.collection, invoice.payment_attempts) == (
        InvoiceStatus.OPEN, Collection.RETRYING, 1,
    )  # fmt: skip
    assert invoice.next_attempt_at == utc(2026, 2, 2, 6)  # 1 day after the failure
    assert "card_declined" in (invoice.payment_error or "")
    assert alerts_fired(shop, org) == 1
    at(shop, utc(2026, 2, 1, 18))  # not due yet: nothing is tried
    assert invoice_of(shop, org).payment_attempts == 1
    at(shop, utc(2026, 2, 2, 6))  # the first retry: declined again
    invoice = invoice_of(shop, org)
    assert (invoice.payment_attempts, invoice.next_attempt_at) == (2, utc(2026, 2, 5, 6))
    assert alerts_fired(shop, org) == 2
    assert spends(shop, org, "during-retries")  # never suspended while retrying
    shop.fake.accept_charges(CARD)  # the bank lets it through
    at(shop, utc(2026, 2, 5, 6))  # the second retry (3 days later): paid
    invoice = invoice_of(shop, org)
    assert (invoice.status, invoice.collection, invoice.next_attempt_at, invoice.paid_at) == (
        InvoiceStatus.PAID, None, None, utc(2026, 2, 5, 6),
    )  # fmt: skip
    assert alerts_fired(shop, org) == 2
    intent = shop.fake.payment_intents[invoice.payment_id or ""]
    assert (intent["amount"], intent["payment_method"]) == (9900, CARD)
    assert events(shop, org) == [
        ("issued", "invoicing", utc(2026, 2, 1, 6)),
        ("payment_failed", "invoicing", utc(2026, 2, 1, 6)),
        ("retry_scheduled", "dunning", utc(2026, 2, 1, 6)),
        ("payment_failed", "retry", utc(2026, 2, 2, 6)),
        ("retry_scheduled", "dunning", utc(2026, 2, 2, 6)),
        ("paid", "retry", utc(2026, 2, 5, 6)),
    ]
    assert shop.cl.billing_hold(org) is None
    # The declines made no payment at Stripe; the third attempt (its own key) is the one.
    charges = [p for p in shop.fake.payment_intents.values()
               if p["metadata"].get("invoice_id") == invoice.id]  # fmt: skip
    assert [p["status"] for p in charges] == ["succeeded"]


def test_a_card_that_always_fails_suspends_the_organization_until_an_operator_marks_it_paid(
    shop: Shop, org: str
) -> None:
    shop.fake.decline_charges(CARD, "insufficient_funds")
    assert spends(shop, org, "january")
    schedule = [utc(2026, 2, 1, 6), utc(2026, 2, 2, 6), utc(2026, 2, 5, 6), utc(2026, 2, 12, 6)]
    for attempt, moment in enumerate(schedule, start=1):
        assert shop.cl.billing_hold(org) is None
        at(shop, moment)
        invoice = invoice_of(shop, org)
        assert (invoice.payment_attempts, alerts_fired(shop, org)) == (attempt, attempt)
    assert (invoice.status, invoice.collection, invoice.next_attempt_at) == (
        InvoiceStatus.OPEN, Collection.OVERDUE, None,
    )  # fmt: skip
    assert shop.cl.billing_hold(org) == "INV-000001"
    # Suspended: the plan's policy (pause) refuses every debit, credits left or not.
    assert shop.cl.balance(org).available > 0
    assert not spends(shop, org, "suspended")
    at(shop, utc(2026, 2, 20, 6))  # no more tries: the schedule is over
    assert invoice_of(shop, org).payment_attempts == 4
    # The customer pays by bank transfer; the operator marks the invoice paid.
    shop.clock.set(utc(2026, 2, 21, 9))
    paid = shop.cl.mark_invoice_paid(org, invoice.id, reference="transfer 2026-0042")
    assert (paid.status, paid.paid_at, paid.collection) == (
        InvoiceStatus.PAID, utc(2026, 2, 21, 9), None,
    )  # fmt: skip
    assert shop.cl.billing_hold(org) is None
    assert spends(shop, org, "restored")
    assert events(shop, org) == [
        ("issued", "invoicing", schedule[0]),
        ("payment_failed", "invoicing", schedule[0]),
        ("retry_scheduled", "dunning", schedule[0]),
        ("payment_failed", "retry", schedule[1]),
        ("retry_scheduled", "dunning", schedule[1]),
        ("payment_failed", "retry", schedule[2]),
        ("retry_scheduled", "dunning", schedule[2]),
        ("payment_failed", "retry", schedule[3]),
        ("suspended", "dunning", schedule[3]),
        ("paid", "operator", utc(2026, 2, 21, 9)),
        ("restored", "operator", utc(2026, 2, 21, 9)),
        ("payment_reference", "operator", utc(2026, 2, 21, 9)),
    ]
    # The ledger: the plan's grants and expiries on time, the debits accepted; the one
    # refused while suspended wrote nothing.
    history = [(e.type, e.amount, str(e.cause), e.recorded_at)
               for e in reversed(shop.cl.history(org, limit=100))]  # fmt: skip
    assert history == [
        (EntryType.GRANT, credits(1000), "plan_cycle:standard:2026-01-01", utc(2026, 1, 1)),
        (EntryType.GRANT, credits(1000), history[1][2], utc(2026, 1, 1)),  # the package
        (EntryType.CONSUME, -credits(1), "debit:january", utc(2026, 1, 1)),
        (EntryType.GRANT, credits(1000), "plan_cycle:standard:2026-02-01", schedule[0]),
        (EntryType.EXPIRE, -credits(999), history[4][2], schedule[0]),  # January's left
        (EntryType.CONSUME, -credits(1), "debit:restored", utc(2026, 2, 21, 9)),
    ]  # nothing between the 12th and the 21st: the debit refused wrote no entry
    assert history[1][2].startswith("purchase:") and history[4][2].startswith("expiry:")
    # The billing history shows the steps beside the invoice.
    kinds = [r.kind for r in shop.cl.billing_history(org)]
    assert kinds.count("payment_failed") == 4
    assert {"suspended", "restored", "invoice", "purchase"} <= set(kinds)


def test_a_new_card_saved_at_a_checkout_pays_the_overdue_invoice(shop: Shop, org: str) -> None:
    shop.fake.decline_charges(CARD, "expired_card")
    for moment in (utc(2026, 2, 1, 6), utc(2026, 2, 2, 6), utc(2026, 2, 5, 6),
                   utc(2026, 2, 12, 6)):  # fmt: skip
        at(shop, moment)
    assert shop.cl.billing_hold(org) == "INV-000001"
    # The customer buys credits with a new card: it is saved, and pays what is overdue.
    shop.clock.set(utc(2026, 2, 13, 10))
    shop.pay(shop.buy(org, "standard"), payment_method="pm_card_visa")
    invoice = invoice_of(shop, org)
    assert (invoice.status, invoice.paid_at) == (InvoiceStatus.PAID, utc(2026, 2, 13, 10))
    assert shop.fake.payment_intents[invoice.payment_id or ""]["payment_method"] == "pm_card_visa"
    assert events(shop, org)[-2:] == [
        ("paid", "new_card", utc(2026, 2, 13, 10)),
        ("restored", "new_card", utc(2026, 2, 13, 10)),
    ]
    assert shop.cl.billing_hold(org) is None
    assert spends(shop, org, "after-new-card")


def test_a_read_only_dunning_policy_reports_the_organization_read_only(
    shop: Shop, org: str
) -> None:
    document = shop.cl.plan("standard").to_dict()
    document["dunning"] = {"retry_after_days": [2], "suspend": "read_only"}
    shop.cl.put_plan(document)
    shop.fake.decline_charges(CARD)
    at(shop, utc(2026, 2, 1, 6))
    assert not shop.cl.is_read_only(org)
    at(shop, utc(2026, 2, 3, 6))  # the only retry fails
    assert shop.cl.is_read_only(org)
    result = shop.cl.spend  # the refusal says why and until when
    with pytest.raises(InsufficientCredits, match="suspended until invoice INV-000001"):
        result(org, credits(1))
    shop.cl.void_invoice(org, invoice_of(shop, org).id)  # an operator cancels it
    assert not shop.cl.is_read_only(org)
    assert events(shop, org)[-2:] == [
        ("voided", "operator", utc(2026, 2, 3, 6)),
        ("restored", "operator", utc(2026, 2, 3, 6)),
    ]


def test_a_plan_without_dunning_leaves_a_declined_invoice_open_and_never_suspends(
    shop: Shop, org: str
) -> None:
    document = shop.cl.plan("standard").to_dict()
    del document["dunning"]
    shop.cl.put_plan(document)
    shop.fake.decline_charges(CARD)
    at(shop, utc(2026, 2, 1, 6))
    at(shop, utc(2026, 3, 1, 6))
    january = shop.cl.invoices(org)[-1]
    assert (january.status, january.collection, january.payment_attempts) == (
        InvoiceStatus.OPEN, None, 1,
    )  # fmt: skip
    assert shop.cl.billing_hold(org) is None


def test_two_schedulers_retrying_at_once_make_one_attempt(
    shop: Shop, org: str, db_url: str
) -> None:
    shop.fake.decline_charges(CARD)
    at(shop, utc(2026, 2, 1, 6))
    shop.clock.set(utc(2026, 2, 2, 6))
    other = Creditline.open(db_url, clock=shop.clock)
    barrier = threading.Barrier(4)

    def retry(engine: Creditline) -> int:
        barrier.wait()
        return len(engine.retry_payments())

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(retry, [shop.cl, other, shop.cl, other]))
    finally:
        other.close()
    invoice = invoice_of(shop, org)
    assert (invoice.payment_attempts, invoice.next_attempt_at) == (2, utc(2026, 2, 5, 6))
    assert [e[0] for e in events(shop, org)].count("payment_failed") == 2


def test_stripe_reporting_the_payment_restores_the_organization(shop: Shop, org: str) -> None:
    shop.fake.decline_charges(CARD)
    for moment in (utc(2026, 2, 1, 6), utc(2026, 2, 2, 6), utc(2026, 2, 5, 6),
                   utc(2026, 2, 12, 6)):  # fmt: skip
        at(shop, moment)
    invoice = invoice_of(shop, org)
    assert shop.cl.billing_hold(org) == invoice.display_number
    # The customer pays the invoice another way (a payment link); Stripe says so.
    shop.clock.set(utc(2026, 2, 14, 8))
    charge = shop.cl.payments.charge(
        "cus_other", "pm_other", invoice.total, f"link-{invoice.id}", {"invoice_id": invoice.id}
    )
    body = shop.fake.event("payment_intent.succeeded", shop.fake.payment_intents[charge.id])
    assert shop.deliver(body).json()["outcome"] == "paid"
    assert invoice_of(shop, org).status is InvoiceStatus.PAID
    assert shop.cl.billing_hold(org) is None
    assert events(shop, org)[-2:] == [
        ("paid", "provider", utc(2026, 2, 14, 8)),
        ("restored", "provider", utc(2026, 2, 14, 8)),
    ]
    assert spends(shop, org, "after-stripe")
