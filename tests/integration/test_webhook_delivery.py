"""Alert deliveries over real HTTP and SMTP, on SQLite and PostgreSQL: webhooks POSTed
by httpx to a local receiver that verifies them with the ``standardwebhooks`` library,
retried on the back-off schedule (the clock travels between ticks, nothing sleeps for
time logic), failed after the last attempt, re-sent by hand, claimed by one worker at a
time; alert e-mails through a real in-process SMTP server.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.adapters.notify import SmtpMailer
from creditline.adapters.notify.webhooks import HttpWebhookSender
from creditline.domain.deliveries import MAX_ATTEMPTS, RETRY_SCHEDULE, DeliveryStatus
from creditline.domain.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from creditline.services import deliveries
from tests.alerting import free_port, receiver, smtp_server


@pytest.fixture
def cl(db_url: str, clock: ManualClock) -> Iterator[Creditline]:
    engine = Creditline.open(db_url, clock=clock, webhook_sender=HttpWebhookSender(timeout=2))
    yield engine
    engine.close()


def depleted_org(cl: Creditline, url: str, path: str = "/hooks") -> tuple[str, str]:
    """An organization with a ``depleted`` rule and an endpoint at ``url + path``, whose
    credits are then spent: the next tick fires. Returns (org id, endpoint secret)."""
    org = cl.create_org("Acme").id
    cl.grant(org, credits(1))
    endpoint = cl.add_webhook(url + path, org_id=org)
    assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
    cl.add_alert(org, "depleted")
    cl.spend(org, credits(1))
    return org, endpoint.secret


def webhooks_job(cl: Creditline) -> dict[str, int]:
    report = cl.tick()
    assert report.ok, report.errors
    return dict(report.job("webhooks").summary)


def test_an_alert_reaches_a_local_receiver_signed_per_standard_webhooks(
    cl: Creditline, clock: ManualClock
) -> None:
    with receiver() as hooks:
        org, secret = depleted_org(cl, hooks.url)
        hooks.verify_with("/hooks", secret)
        assert webhooks_job(cl) == {"attempted": 1, "delivered": 1, "retrying": 0, "failed": 0}
    (got,) = hooks.received
    assert got.verified
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.payload["type"] == "credits.depleted"
    assert got.payload["data"]["org_id"] == org
    assert got.payload["data"]["available_micros"] == 0
    (delivery,) = cl.webhook_deliveries(org)
    assert got.msg_id == delivery.id and delivery.id.startswith("msg_")
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED, 1, 200,
    )  # fmt: skip
    assert delivery.delivered_at == clock.now()
    assert got.body.decode() == delivery.payload  # the stored text is what was signed
    assert webhooks_job(cl)["attempted"] == 0  # delivered once, never again


def test_a_tampered_body_or_another_secret_does_not_verify(cl: Creditline) -> None:
    from standardwebhooks import Webhook, WebhookVerificationError

    with receiver() as hooks:
        _, secret = depleted_org(cl, hooks.url)
        hooks.verify_with("/hooks", secret)
        webhooks_job(cl)
    (got,) = hooks.received
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(got.body.replace(b"depleted", b"deplete"), got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(deliveries.new_secret()).verify(got.body, got.headers)


def test_a_failed_attempt_is_retried_after_the_back_off_with_the_same_id(
    cl: Creditline, clock: ManualClock
) -> None:
    with receiver(answers=[500, 503]) as hooks:
        org, secret = depleted_org(cl, hooks.url)
        hooks.verify_with("/hooks", secret)
        assert webhooks_job(cl) == {"attempted": 1, "delivered": 0, "retrying": 1, "failed": 0}
        (pending,) = cl.webhook_deliveries(org)
        assert pending.status is DeliveryStatus.PENDING
        assert pending.next_attempt_at == clock.now() + timedelta(seconds=5)
        assert (pending.last_status_code, pending.last_error) == (500, "HTTP 500")
        clock.advance(timedelta(seconds=4))
        assert webhooks_job(cl)["attempted"] == 0  # not due yet
        clock.advance(timedelta(seconds=1))
        assert webhooks_job(cl)["retrying"] == 1  # 503: the next try in 5 minutes
        clock.advance(timedelta(minutes=5))
        assert webhooks_job(cl)["delivered"] == 1
    assert [r.msg_id for r in hooks.received] == [pending.id] * 3
    assert all(r.verified for r in hooks.received)  # each attempt signed anew
    log = cl.webhook_delivery(pending.id).attempt_log
    assert [(a.number, a.ok, a.status_code) for a in log] == [
        (1, False, 500), (2, False, 503), (3, True, 200),
    ]  # fmt: skip


def test_a_delivery_fails_after_the_last_attempt_and_can_be_resent(
    cl: Creditline, clock: ManualClock
) -> None:
    port = free_port()  # nothing listens there yet
    org, secret = depleted_org(cl, f"http://127.0.0.1:{port}")
    attempts = 0
    for delay in (timedelta(0), *RETRY_SCHEDULE):
        clock.advance(delay)
        attempts += webhooks_job(cl)["attempted"]
    assert attempts == MAX_ATTEMPTS == 8
    (failed,) = cl.webhook_deliveries(org, status="failed")
    assert (failed.attempts, failed.next_attempt_at) == (8, None)
    assert failed.last_error is not None and "ConnectError" in failed.last_error
    log = cl.webhook_delivery(failed.id).attempt_log
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(log)]
    assert gaps == list(RETRY_SCHEDULE)  # 5s, 5m, 30m, 2h, 5h, 10h, 10h
    clock.advance(timedelta(days=2))
    assert webhooks_job(cl)["attempted"] == 0
    # The receiver is up again: the operator re-sends it, the next tick delivers it.
    with receiver(port) as hooks:
        hooks.verify_with("/hooks", secret)
        queued = cl.redeliver_webhook(failed.id)
        assert (queued.status, queued.next_attempt_at) == (DeliveryStatus.PENDING, clock.now())
        assert webhooks_job(cl)["delivered"] == 1
    (got,) = hooks.received
    assert got.verified and got.msg_id == failed.id
    done = cl.webhook_delivery(failed.id)
    assert (done.status, done.attempts, done.attempt_log[-1].status_code) == (
        DeliveryStatus.DELIVERED, 9, 200,
    )  # fmt: skip


def test_nothing_more_is_sent_to_a_removed_endpoint(cl: Creditline) -> None:
    with receiver() as hooks:
        org, _ = depleted_org(cl, hooks.url)
        cl.evaluate_alerts()
        (endpoint,) = cl.webhook_endpoints(org)
        assert endpoint.secret is None  # never shown again
        removed = cl.disable_webhook(endpoint.id, org_id=org)
        assert removed.disabled_at is not None and cl.webhook_endpoints(org) == []
        assert webhooks_job(cl) == {"attempted": 1, "delivered": 0, "retrying": 0, "failed": 1}
    assert hooks.received == []
    (delivery,) = cl.webhook_deliveries(org)
    assert delivery.last_error == "the endpoint was removed"


def test_a_manual_resend_delivers_again_with_the_same_webhook_id(cl: Creditline) -> None:
    with receiver() as hooks:
        org, secret = depleted_org(cl, hooks.url)
        hooks.verify_with("/hooks", secret)
        webhooks_job(cl)
        (delivery,) = cl.webhook_deliveries(org)
        cl.redeliver_webhook(delivery.id)
        assert webhooks_job(cl)["delivered"] == 1
    assert [r.msg_id for r in hooks.received] == [delivery.id, delivery.id]
    assert all(r.verified for r in hooks.received)
    assert cl.webhook_delivery(delivery.id).attempts == 2
    with pytest.raises(WebhookDeliveryNotFound):
        cl.redeliver_webhook("msg_missing")
    with pytest.raises(WebhookDeliveryNotFound):
        cl.redeliver_webhook(delivery.id, org_id=cl.create_org("Other").id)
    with pytest.raises(WebhookEndpointNotFound):
        cl.disable_webhook("whe_missing")


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    db_url: str, clock: ManualClock
) -> None:
    with (
        Creditline.open(db_url, clock=clock, webhook_sender=HttpWebhookSender(timeout=0.2)) as cl,
        receiver(delay=1.0) as hooks,
    ):
        org, _ = depleted_org(cl, hooks.url)
        assert webhooks_job(cl)["retrying"] == 1
        (delivery,) = cl.webhook_deliveries(org)
        assert delivery.last_error is not None and "Timeout" in delivery.last_error


def test_a_claimed_delivery_is_not_sent_by_another_worker(db_url: str, clock: ManualClock) -> None:
    """Worker A claims the delivery and is stuck sending it; worker B, ticking meanwhile,
    finds nothing due. The broken variant (no lease: a claim that leaves the delivery
    due) sends it twice, which is what the lease prevents."""
    for lease, expected in ((deliveries.LEASE, 1), (timedelta(0), 2)):
        release = threading.Event()
        with (
            Creditline.open(db_url, clock=clock) as a,
            Creditline.open(db_url, clock=clock) as b,
            receiver(block_first=release) as hooks,
        ):
            depleted_org(a, hooks.url, f"/lease-{expected}")
            a.evaluate_alerts()

            def deliver(cl: Creditline, lease: timedelta = lease) -> deliveries.DeliveryRun:
                return deliveries.deliver_due(
                    cl._tx, HttpWebhookSender(timeout=5), None, clock, lease=lease
                )

            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(deliver, a)
                assert hooks.first_arrived.wait(10)  # A is sending, blocked by the receiver
                second = deliver(b)
                release.set()
                assert first.result().attempted == 1
            assert second.attempted == expected - 1
            assert len(hooks.received) == expected


@pytest.mark.postgres
def test_two_workers_racing_post_each_delivery_once(clock: ManualClock) -> None:
    from tests.databases import postgres_schema

    with postgres_schema() as url, receiver(delay=0.01) as hooks:
        with Creditline.open(url, clock=clock) as setup:
            org = setup.create_org("Acme").id
            setup.grant(org, credits(1))
            for i in range(12):
                setup.add_webhook(f"{hooks.url}/hook-{i}", org_id=org)
            setup.add_alert(org, "depleted")
            setup.add_alert(org, "remaining_below", threshold=credits(2))
            setup.spend(org, credits(1))
            assert len(setup.evaluate_alerts().events) == 2
        workers = [
            Creditline.open(url, clock=clock, webhook_sender=HttpWebhookSender(timeout=5))
            for _ in range(2)
        ]
        barrier = threading.Barrier(2)

        def work(cl: Creditline) -> int:
            barrier.wait()
            return cl.deliver_webhooks(limit=3).delivered

        try:
            with ThreadPoolExecutor(2) as pool:
                delivered = [f.result() for f in [pool.submit(work, w) for w in workers]]
            found = workers[0].webhook_deliveries(org)
        finally:
            for w in workers:
                w.close()
    assert sum(delivered) == 24 and all(delivered)  # both workers took part
    ids = [r.msg_id for r in hooks.received]
    assert len(ids) == len(set(ids)) == 24  # each delivery POSTed exactly once
    assert {d.status for d in found} == {DeliveryStatus.DELIVERED}


def _text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_an_alert_is_emailed_through_smtp_when_a_mailer_is_configured(
    db_url: str, clock: ManualClock
) -> None:
    with smtp_server() as (inbox, port):
        mailer = SmtpMailer("127.0.0.1", port, sender="alerts@platform.example")
        with Creditline.open(db_url, clock=clock, mailer=mailer) as cl:
            org = cl.create_org("Acme GmbH").id
            cl.grant(org, credits(100))
            cl.add_alert(
                org, "remaining_below", threshold=credits(20), channels=["email"],
                email="cfo@acme.example",
            )  # fmt: skip
            cl.spend(org, credits("80.5"))
            summary = webhooks_job(cl)
            (delivery,) = cl.webhook_deliveries(org)
    assert summary["delivered"] == 1
    assert (delivery.channel, delivery.recipient, delivery.status) == (
        "email", "cfo@acme.example", DeliveryStatus.DELIVERED,
    )  # fmt: skip
    ((sender, recipients, content),) = inbox.messages
    assert (sender, recipients) == ("alerts@platform.example", ["cfo@acme.example"])
    message = message_from_bytes(content)
    assert message["Subject"] == "Credits are running low: Acme GmbH"
    text = _text(message)
    assert "Available: 19.5 credits." in text and "Threshold: 20 credits." in text
    assert org in text


def test_an_email_alert_is_not_enqueued_without_a_mail_server(cl: Creditline) -> None:
    org = cl.create_org("Acme").id
    cl.grant(org, credits(1))
    cl.add_alert(org, "depleted", email="ops@acme.example")
    cl.spend(org, credits(1))
    report = cl.tick()
    assert report.job("alerts").summary["fired"] == ["credits.depleted"]
    assert cl.webhook_deliveries(org) == []  # no endpoint, no mail server: fired, not sent


def test_an_email_the_server_refuses_is_retried(db_url: str, clock: ManualClock) -> None:
    closed = SmtpMailer("127.0.0.1", free_port(), sender="alerts@platform.example", timeout=2)
    with Creditline.open(db_url, clock=clock, mailer=closed) as cl:
        org = cl.create_org("Acme").id
        cl.grant(org, credits(1))
        cl.add_alert(org, "depleted", channels=["email"], email="ops@acme.example")
        cl.spend(org, credits(1))
        assert webhooks_job(cl)["retrying"] == 1
        (delivery,) = cl.webhook_deliveries(org)
        assert delivery.last_error is not None and "ConnectionRefused" in delivery.last_error
