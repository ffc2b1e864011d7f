"""Buying credits through Stripe (D1, D2, D3), on SQLite and PostgreSQL.

The real Stripe adapter and SDK talk to the shipped in-memory Stripe (FakeStripe, the
SDK's injected HTTP client); webhooks go through the real endpoint (FastAPI's
TestClient, or a real uvicorn server for the concurrent deliveries), signed as Stripe
signs them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]
import pytest

from creditline import Cause, CauseType, Creditline, EntryType, GrantKind, ManualClock, credits
from creditline.adapters.payments import NoPayments, sign
from creditline.domain.cycles import ExpiryRule
from creditline.domain.errors import (
    IdempotencyKeyReused,
    PaymentProviderError,
    PaymentsUnavailable,
    PurchaseNotFound,
    RefundRefused,
)
from creditline.domain.money import Money
from creditline.domain.purchases import PurchaseStatus
from creditline.entrypoints.api import PROBLEM_JSON
from tests.billing import SECRET, WEBHOOK, Shop, open_shop, served, verified_shop


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    yield from verified_shop(db_url, clock)


T = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@pytest.fixture
def otai(shop: Shop) -> Shop:
    shop.clock.set(T)
    shop.load("otai")
    return shop


def test_a_purchase_waits_for_the_payment_and_grants_nothing_before(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "50-credits", currency="EUR")
    assert purchase.status is PurchaseStatus.PENDING
    assert purchase.checkout_url == f"https://checkout.stripe.com/c/pay/{purchase.session_id}"
    session = otai.fake.sessions[purchase.session_id or ""]
    assert (session["amount_total"], session["currency"]) == (45000, "eur")
    assert session["client_reference_id"] == purchase.id
    assert otai.fake.customers[session["customer"]]["metadata"] == {"org_id": org}
    assert otai.cl.balance(org).total == 0
    # Stripe says "completed" but the payment is still processing (a bank debit): nothing yet.
    response = otai.deliver(otai.completed(purchase, delayed=True))
    assert response.json()["outcome"] == "unchanged"
    assert otai.cl.grants(org) == []


def test_the_paid_webhook_grants_the_pack_once_as_prepaid_at_its_cost(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "50-credits", currency="EUR")
    body = otai.completed(purchase, email="ops@acme.example")
    first = otai.deliver(body)
    assert first.status_code == 200
    assert first.json()["outcome"] == "granted"
    for _ in range(3):  # Stripe delivers at least once: the same event again
        again = otai.deliver(body)
        assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    (grant,) = otai.cl.grants(org)
    assert (grant.kind, grant.amount, grant.expires_at) == (GrantKind.PREPAID, credits(50), None)
    assert (grant.cost_basis.unit_price_minor, grant.cost_basis.currency) == (900, "EUR")  # type: ignore[union-attr]
    assert (grant.source.type.value, grant.source.ref) == ("purchase", purchase.id)
    (entry,) = otai.cl.history(org)
    assert (entry.type, entry.amount, entry.cause) == (
        EntryType.GRANT, credits(50), Cause(CauseType.PURCHASE, purchase.id),
    )  # fmt: skip
    paid = otai.cl.purchase(org, purchase.id)
    assert (paid.status, paid.grant_id, paid.paid_at) == (PurchaseStatus.PAID, grant.id, T)
    receipt = otai.cl.receipt(org, purchase.id)
    assert (receipt.amount, receipt.credits, receipt.email) == (
        Money(45000, "EUR"), credits(50), "ops@acme.example",
    )  # fmt: skip


def test_events_out_of_order_and_a_refresh_never_grant_twice(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "10-credits", currency="EUR")
    assert purchase.session_id is not None
    completed = otai.completed(purchase, delayed=True)  # processing: not paid yet
    session = otai.fake.settle_delayed(purchase.session_id)  # the payment arrives
    succeeded = otai.fake.event("checkout.session.async_payment_succeeded", session)
    # Delivered in the wrong order: the later event first, then the older one.
    assert otai.deliver(succeeded).json()["outcome"] == "granted"
    assert otai.deliver(completed).json()["outcome"] == "unchanged"
    assert otai.cl.refresh_purchase(org, purchase.id).status is PurchaseStatus.PAID
    expired = otai.fake.event("checkout.session.expired", session)  # a stale, odd event
    assert otai.deliver(expired).json()["outcome"] == "unchanged"
    assert [g.amount for g in otai.cl.grants(org)] == [credits(10)]


def test_a_refresh_grants_when_the_webhook_never_came(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "10-credits", currency="EUR")
    assert otai.cl.refresh_purchase(org, purchase.id).status is PurchaseStatus.PENDING
    otai.fake.pay(purchase.session_id or "")
    refreshed = otai.cl.refresh_purchase(org, purchase.id)
    assert refreshed.status is PurchaseStatus.PAID
    assert otai.cl.balance(org).total == credits(10)
    # The webhook arrives afterwards: nothing more.
    session = otai.fake.sessions[purchase.session_id or ""]
    body = otai.fake.event(
        "checkout.session.completed", {k: v for k, v in session.items() if not k.startswith("_")}
    )
    assert otai.deliver(body).json()["outcome"] == "unchanged"
    assert otai.cl.balance(org).total == credits(10)


def test_an_expired_checkout_fails_the_purchase_and_grants_nothing(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "10-credits", currency="EUR")
    session = otai.fake.expire(purchase.session_id or "")
    body = otai.fake.event("checkout.session.expired", session)
    assert otai.deliver(body).json()["outcome"] == "failed"
    failed = otai.cl.purchase(org, purchase.id)
    assert (failed.status, failed.failure) == (PurchaseStatus.FAILED, "expired/unpaid")
    assert otai.cl.grants(org) == []


# -- forged, tampered and stale deliveries ---------------------------------------------------


def _refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "urn:creditline:problem:webhook-rejected"
    assert (problem["title"], problem["status"]) == ("Webhook rejected", 400)
    assert reason in problem["detail"]


def test_a_delivery_that_does_not_verify_is_refused_and_grants_nothing(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "100-credits", currency="EUR")
    body = otai.completed(purchase)
    now = int(time.time())
    tampered = body.replace(b'"paid"', b'"PAID"')
    _refused(otai.deliver(tampered, sign(body, SECRET)), "No signatures found matching")
    _refused(otai.deliver(body, sign(body, "whsec_someone_else")), "No signatures found matching")
    _refused(otai.deliver(body, sign(body, SECRET, now - 400)), "Timestamp outside the tolerance")
    _refused(otai.deliver(body, sign(body, SECRET, now + 400)), "in the future")
    _refused(otai.deliver(body, ""), "No Stripe-Signature header")
    _refused(otai.deliver(body, "t=abc,v1=zz"), "Unable to extract timestamp")
    no_header = otai.client.post(WEBHOOK, content=body)
    _refused(no_header, "No Stripe-Signature header")
    assert otai.cl.grants(org) == []
    assert otai.cl.purchase(org, purchase.id).status is PurchaseStatus.PENDING
    # The genuine delivery, inside the window, still works afterwards.
    # (well inside it: a loaded machine may take seconds to get here)
    genuine = sign(body, SECRET, int(time.time()) - 240)
    assert otai.deliver(body, genuine).json()["outcome"] == "granted"


def test_when_stripe_cannot_be_asked_the_delivery_fails_and_its_retry_grants(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "10-credits", currency="EUR")
    body = otai.completed(purchase)
    session = otai.fake.sessions.pop(purchase.session_id or "")  # Stripe cannot answer
    failed = otai.deliver(body)
    assert (failed.status_code, failed.json()["type"]) == (
        502, "urn:creditline:problem:payment-provider-error",
    )  # fmt: skip
    assert otai.cl.grants(org) == []
    otai.fake.sessions[purchase.session_id or ""] = session  # Stripe retries later
    assert otai.deliver(body).json()["outcome"] == "granted"


def test_an_event_about_nothing_we_sold_is_acknowledged_and_ignored(otai: Shop) -> None:
    foreign = otai.fake.event(
        "checkout.session.completed", {"id": "cs_other", "object": "checkout.session"}
    )
    first = otai.deliver(foreign)
    assert (first.status_code, first.json()["outcome"]) == (200, "ignored")
    assert otai.deliver(foreign).json()["outcome"] == "duplicate"
    other = otai.fake.event("customer.created", {"id": "cus_x", "object": "customer"})
    assert otai.deliver(other).json()["outcome"] == "ignored"


# -- concurrency: 50 deliveries of one event at once ----------------------------------------------


def check_exactly_one_grant(cl: Creditline, org: str, purchase_id: str, amount: int) -> None:
    """The promise: one purchase, one grant of its credits, one ledger entry."""
    grants = [g for g in cl.grants(org) if g.source.ref == purchase_id]
    entries = cl.history(org, 1000, types=["grant"])
    problems = []
    if len(grants) != 1:
        problems.append(f"{len(grants)} grants for the purchase")
    if len(entries) != 1:
        problems.append(f"{len(entries)} grant entries")
    if cl.balance(org).total != amount:
        problems.append(f"balance {cl.balance(org).total}, expected {amount}")
    assert not problems, "; ".join(problems)


def _deliver_at_once(url: str, body: bytes, header: str, count: int) -> list[httpx.Response]:
    barrier = threading.Barrier(count)

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as client:
            barrier.wait()
            return client.post(WEBHOOK, content=body, headers={"Stripe-Signature": header})

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.slow
def test_fifty_concurrent_deliveries_of_one_event_grant_exactly_once(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "100-credits", currency="EUR")
    body = otai.completed(purchase)
    with served(otai.cl) as url:
        responses = _deliver_at_once(url, body, sign(body, SECRET), 50)
    assert {r.status_code for r in responses} == {200}
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes.count("granted") == 1
    assert set(outcomes) <= {"granted", "duplicate"}
    check_exactly_one_grant(otai.cl, org, purchase.id, credits(100))


@pytest.mark.slow
def test_deliveries_of_different_events_racing_refreshes_grant_exactly_once(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "50-credits", currency="EUR")
    session = otai.fake.pay(purchase.session_id or "")
    bodies = [otai.fake.event("checkout.session.completed", session) for _ in range(10)]
    barrier = threading.Barrier(20)

    def webhook(body: bytes) -> Callable[[], object]:
        def run() -> object:
            barrier.wait()
            return otai.cl.handle_webhook(body, sign(body, SECRET)).outcome

        return run

    def refresh() -> object:
        barrier.wait()
        return otai.cl.refresh_purchase(org, purchase.id).status

    calls = [webhook(b) for b in bodies] + [refresh] * 10
    with ThreadPoolExecutor(20) as pool:
        results = [f.result() for f in [pool.submit(c) for c in calls]]
    assert results.count(PurchaseStatus.PAID) == 10  # every refresh sees it paid
    check_exactly_one_grant(otai.cl, org, purchase.id, credits(50))


def test_the_checker_catches_a_check_then_grant_in_two_transactions(otai: Shop) -> None:
    """Rule 8, test the tests: a broken confirmation that reads "pending" in one
    transaction and grants in another, run by 10 threads at once, must be caught."""
    org = otai.customer()
    purchase = otai.buy(org, "10-credits", currency="EUR")
    otai.fake.pay(purchase.session_id or "")
    barrier = threading.Barrier(10)

    def broken_confirm() -> None:
        pending = otai.cl.purchase(org, purchase.id).status is PurchaseStatus.PENDING
        barrier.wait()  # every thread has checked before any writes: the race, made certain
        if pending:
            otai.cl.grant(org, purchase.credits, GrantKind.PREPAID)

    with ThreadPoolExecutor(10) as pool:
        for future in [pool.submit(broken_confirm) for _ in range(10)]:
            future.result()
    with pytest.raises(AssertionError, match="10 grant entries"):
        check_exactly_one_grant(otai.cl, org, purchase.id, credits(10))


# -- creating purchases ------------------------------------------------------------------------


def test_a_retried_creation_returns_the_same_purchase_and_checkout(otai: Shop) -> None:
    org = otai.customer()
    first = otai.buy(org, "10-credits", currency="EUR", idempotency_key="buy-1")
    again = otai.buy(org, "10-credits", currency="EUR", idempotency_key="buy-1")
    assert again == first
    assert len(otai.fake.sessions) == 1 and len(otai.fake.customers) == 1
    with pytest.raises(IdempotencyKeyReused):
        otai.buy(org, "50-credits", currency="EUR", idempotency_key="buy-1")
    otai.clock.set(datetime(2026, 1, 16, tzinfo=UTC))
    second = otai.buy(org, "10-credits", currency="EUR")  # another purchase, same customer
    assert second.id != first.id
    assert len(otai.fake.customers) == 1
    assert [p.id for p in otai.cl.purchases(org)] == [second.id, first.id]


def test_without_a_payment_provider_buying_is_refused_and_nothing_is_stored(
    db_url: str, clock: ManualClock
) -> None:
    with Creditline.open(db_url, clock=clock, payments=NoPayments()) as cl:
        cl.load_packs(
            'name = "x"\n[[packs]]\nname = "a"\ncredits = 1\nprices_minor = { EUR = 100 }'
        )
        org = cl.create_org("Acme").id
        with pytest.raises(PaymentsUnavailable, match="contact sales"):
            cl.create_purchase(org, "a", currency="EUR")
        assert cl.purchases(org) == []


def test_a_provider_failure_fails_the_purchase(otai: Shop) -> None:
    org = otai.customer()
    assert otai.buy(org, "10-credits", currency="EUR").status is PurchaseStatus.PENDING
    otai.fake.customers.clear()  # Stripe lost the customer: the next checkout is refused
    otai.clock.set(datetime(2026, 1, 16, tzinfo=UTC))
    with pytest.raises(PaymentProviderError, match="No such customer"):
        otai.buy(org, "10-credits", currency="EUR")
    failed = otai.cl.purchases(org)[0]
    assert failed.status is PurchaseStatus.FAILED
    assert "No such customer" in (failed.failure or "")


def test_another_organizations_purchase_is_not_found(otai: Shop) -> None:
    org, other = otai.customer("A"), otai.customer("B")
    purchase = otai.buy(org, "10-credits", currency="EUR")
    with pytest.raises(PurchaseNotFound):
        otai.cl.purchase(other, purchase.id)
    with pytest.raises(PurchaseNotFound):
        otai.cl.refund_purchase(other, purchase.id)


# -- refunds ---------------------------------------------------------------------------------


def test_a_refundable_purchase_refunds_its_unspent_credits_and_their_money(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.pay(otai.buy(org, "50-credits", currency="EUR"))
    otai.cl.spend(org, credits("12.345"))
    refunded = otai.cl.refund_purchase(org, purchase.id)
    # 37.655 of 50 credits unspent: EUR 450.00 x 37.655 / 50 = EUR 338.895 -> 338.90
    assert (refunded.status, refunded.refunded_credits, refunded.refunded_minor) == (
        PurchaseStatus.REFUNDED, credits("37.655"), 33890,
    )  # fmt: skip
    assert refunded.refund_id is not None
    stripe_refund = otai.fake.refunds[refunded.refund_id]
    assert (stripe_refund["amount"], stripe_refund["payment_intent"]) == (
        33890,
        purchase.payment_id,
    )
    (entry,) = otai.cl.history(org, types=["refund"])
    assert (entry.amount, entry.cause) == (-credits("37.655"), Cause(CauseType.REFUND, purchase.id))
    assert otai.cl.balance(org).total == 0
    with pytest.raises(RefundRefused, match="refunded already"):
        otai.cl.refund_purchase(org, purchase.id)


def test_a_refund_the_provider_refuses_gives_the_credits_back(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.pay(otai.buy(org, "10-credits", currency="EUR"))
    otai.fake.fail_next_refund("This charge is disputed.")
    with pytest.raises(PaymentProviderError, match="disputed"):
        otai.cl.refund_purchase(org, purchase.id)
    after = otai.cl.purchase(org, purchase.id)
    assert (after.status, after.refunded_credits) == (PurchaseStatus.PAID, 0)
    assert otai.cl.balance(org).total == credits(10)
    assert [e.amount for e in otai.cl.history(org, types=["refund"])] == [credits(10), -credits(10)]
    otai.clock.set(datetime(2026, 1, 16, tzinfo=UTC))
    assert otai.cl.refund_purchase(org, purchase.id).refunded_minor == 10000  # tried again: done


def test_a_spent_purchase_has_nothing_to_refund(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.pay(otai.buy(org, "10-credits", currency="EUR"))
    otai.cl.spend(org, credits(10))
    with pytest.raises(RefundRefused, match="nothing is left to refund"):
        otai.cl.refund_purchase(org, purchase.id)
    pending = otai.buy(org, "10-credits", currency="EUR")
    with pytest.raises(RefundRefused, match="it is pending, not paid"):
        otai.cl.refund_purchase(org, pending.id)


def test_a_purchase_keeps_the_terms_it_was_sold_under(otai: Shop) -> None:
    org = otai.customer()
    purchase = otai.buy(org, "10-credits", currency="EUR")
    otai.cl.load_packs(
        'name = "otai"\nrefund_policy = "final"\n[[packs]]\nname = "10-credits"\ncredits = 12\n'
        'prices_minor = { EUR = 9000 }\nexpiry = { after = "1 month" }'
    )
    paid = otai.pay(purchase)
    assert (paid.credits, paid.price, paid.expiry) == (
        credits(10),
        Money(10000, "EUR"),
        ExpiryRule.never(),
    )
    assert otai.cl.refund_purchase(org, purchase.id).status is PurchaseStatus.REFUNDED


# -- receipts by e-mail ----------------------------------------------------------------------


def test_a_receipt_is_emailed_through_smtp_when_a_mailer_is_configured(
    db_url: str, clock: ManualClock
) -> None:
    from aiosmtpd.controller import Controller

    from creditline.adapters.notify import SmtpMailer

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[tuple[str, list[str], bytes]] = []

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.content)  # type: ignore[attr-defined]
            )
            return "250 Message accepted for delivery"

    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd connects to it to start)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = SmtpMailer("127.0.0.1", port, sender="billing@otai.example")
        clock.set(T)
        with open_shop(db_url, clock, mailer=mailer) as otai:
            otai.load("otai")
            org = otai.customer("Acme GmbH")
            purchase = otai.pay(
                otai.buy(org, "100-credits", currency="EUR"), email="cfo@acme.example"
            )
            receipt = otai.cl.receipt(org, purchase.id)
            assert (receipt.emailed_at, receipt.email_error) == (T, None)
    finally:
        controller.stop()
    ((sender, recipients, content),) = inbox.messages
    assert (sender, recipients) == ("billing@otai.example", ["cfo@acme.example"])
    text = content.decode()
    assert "Subject: Your receipt: 100 credits, EUR 800.00" in text
    assert "Thank you for your purchase, Acme GmbH." in text
    assert purchase.id in text


def test_a_receipt_that_cannot_be_mailed_is_recorded_and_the_credits_stand(
    db_url: str, clock: ManualClock
) -> None:
    from creditline.adapters.notify import SmtpMailer

    closed = SmtpMailer("127.0.0.1", 9, sender="billing@otai.example", timeout=2)  # discard port
    clock.set(T)
    with open_shop(db_url, clock, mailer=closed) as otai:
        otai.load("otai")
        org = otai.customer()
        purchase = otai.pay(otai.buy(org, "10-credits", currency="EUR"))
        receipt = otai.cl.receipt(org, purchase.id)
        assert receipt.emailed_at is None and receipt.email_error
        assert otai.cl.balance(org).total == credits(10)
