"""Outgoing webhooks cannot reach inside, and one receiver's fault stays its own
(RELIABILITY rules 9 and 10), on SQLite and PostgreSQL:

- every hostile URL of the table is refused at registration, and nothing is stored;
- a public-looking name that resolves to 127.0.0.1 when it is sent to (DNS rebinding)
  is not followed: the receiver there sees nothing and the attempt log says why;
- the sender connects to the address it checked, with the URL's ``Host`` and TLS
  server name (a certificate for the name verifies on a connection to 127.0.0.1);
- 50 deliveries for 3 organizations, one of them poisoned (a URL stored with CR/LF, a
  receiver that resets the connection, a sender that raises): the 49 others are
  delivered in the same run, the poisoned one fails alone, with its reason, and is
  retried on the schedule;
- an organization's delivery log holds only its own endpoints' deliveries;
- a name server that does not answer holds a delivery only for the sender's timeout.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from creditline import Creditline, ManualClock, credits
from creditline.adapters.db import tables as t
from creditline.adapters.db.engine import make_engine
from creditline.adapters.notify.addresses import SystemResolver
from creditline.adapters.notify.webhooks import HttpWebhookSender
from creditline.domain.deliveries import DeliveryStatus
from creditline.domain.errors import WebhookDeliveryNotFound, WebhookUrlRefused
from creditline.services import deliveries
from creditline.services.deliveries import SendOutcome
from tests.alerting import receiver
from tests.webhook_urls import HOSTILE, PUBLIC, FakeResolver, resolver


def _store_url(db_url: str, endpoint_id: str, url: str) -> None:
    """Write an endpoint's URL straight into the database, past every check (an endpoint
    stored before the checks existed)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            w = t.webhook_endpoints
            conn.execute(update(w).where(w.c.id == endpoint_id).values(url=url))
    finally:
        engine.dispose()


# -- registration --------------------------------------------------------------------------------


def test_every_hostile_url_is_refused_at_registration(db_url: str, clock: ManualClock) -> None:
    with Creditline.open(
        db_url, clock=clock, webhook_allow_networks=(), webhook_resolver=resolver()
    ) as cl:
        org = cl.create_org("Acme").id
        for url, words in HOSTILE:
            for owner in (org, None):
                with pytest.raises(WebhookUrlRefused) as caught:
                    cl.add_webhook(url, org_id=owner)
                assert words.lower() in str(caught.value).lower(), (url, str(caught.value))
        assert cl.webhook_endpoints(include_disabled=True) == []
        # Loopback receivers need the setting: without it, 127.0.0.1 is refused too.
        with pytest.raises(WebhookUrlRefused, match="loopback"):
            cl.add_webhook("http://127.0.0.1:8101/hooks", org_id=org)


def test_allowed_networks_come_from_the_argument_or_the_environment(
    db_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITLINE_WEBHOOK_ALLOW_NETWORKS", "10.0.0.0/8")
    with Creditline.open(db_url, clock=clock, webhook_resolver=resolver()) as cl:
        assert cl.add_webhook("http://10.1.2.3/hooks").url == "http://10.1.2.3/hooks"
        with pytest.raises(WebhookUrlRefused):
            cl.add_webhook("http://127.0.0.1/hooks")
    with Creditline.open(db_url, clock=clock, webhook_allow_networks="127.0.0.0/8") as cl:
        cl.add_webhook("http://127.0.0.1/hooks")
        with pytest.raises(WebhookUrlRefused):
            cl.add_webhook("http://10.1.2.3/hooks")


# -- delivery: DNS rebinding, pinning, TLS -------------------------------------------------------


@dataclass
class Rebinding(FakeResolver):
    """Resolves ``hooks.rebind.example`` to a public address at first (registration),
    then to 127.0.0.1: the name an attacker points inside once it has been checked."""

    answers: list[list[str]] = field(default_factory=lambda: [[PUBLIC]])

    def resolve(self, host: str, port: int) -> list[str]:
        with self.lock:
            self.asked.append(host)
            return self.answers.pop(0) if self.answers else ["127.0.0.1"]


def test_a_name_that_resolves_inside_when_it_is_sent_to_is_not_followed(
    db_url: str, clock: ManualClock
) -> None:
    rebinding = Rebinding()
    sender = HttpWebhookSender(timeout=2, allow_networks=(), resolver=rebinding)
    with (
        receiver() as hooks,
        Creditline.open(
            db_url, clock=clock, webhook_sender=sender, webhook_allow_networks=(),
            webhook_resolver=rebinding,
        ) as cl,
    ):  # fmt: skip
        org = cl.create_org("Acme").id
        port = hooks.url.rsplit(":", 1)[1]
        endpoint = cl.add_webhook(f"http://hooks.rebind.example:{port}/hooks", org_id=org)
        queued = cl.queue_test_webhook(org, endpoint.id)
        run = cl.deliver_webhooks()
        assert (run.attempted, run.delivered, run.retrying) == (1, 0, 1)
        pending = cl.webhook_delivery(queued.id, org)
    assert hooks.received == []  # nothing reached the receiver on 127.0.0.1
    (attempt,) = pending.attempt_log
    assert not attempt.ok and attempt.status_code is None
    assert attempt.error == (
        "refused: host: hooks.rebind.example resolves to 127.0.0.1, a loopback address"
    )
    assert pending.status is DeliveryStatus.PENDING
    assert pending.next_attempt_at == clock.now() + timedelta(seconds=5)
    assert rebinding.asked == ["hooks.rebind.example"] * 2  # registration, then the attempt


def test_the_sender_connects_to_the_address_it_checked_with_the_urls_host(
    db_url: str, clock: ManualClock
) -> None:
    """``hooks.pinned.example`` exists only in the sender's resolver: the request reaches
    the receiver because the sender connects to the address it checked, never asking
    the system's resolver again; the receiver sees the URL's ``Host``."""
    names = FakeResolver({"hooks.pinned.example": ["127.0.0.1"]})
    sender = HttpWebhookSender(timeout=2, allow_networks="127.0.0.0/8", resolver=names)
    with (
        receiver() as hooks,
        Creditline.open(
            db_url, clock=clock, webhook_sender=sender, webhook_resolver=names
        ) as cl,
    ):  # fmt: skip
        org = cl.create_org("Acme").id
        port = hooks.url.rsplit(":", 1)[1]
        endpoint = cl.add_webhook(f"http://hooks.pinned.example:{port}/in?x=1", org_id=org)
        hooks.verify_with("/in?x=1", endpoint.secret or "")
        cl.queue_test_webhook(org, endpoint.id)
        assert cl.deliver_webhooks().delivered == 1
    (got,) = hooks.received
    assert got.verified and got.headers["host"] == f"hooks.pinned.example:{port}"
    assert names.asked == ["hooks.pinned.example"] * 2


@contextmanager
def tls_receiver(tmp_path: Path, name: str) -> Iterator[tuple[int, ssl.SSLContext, list[Any]]]:
    """An HTTPS receiver on 127.0.0.1 with a self-signed certificate for ``name`` (made by
    ``openssl``); yields its port, a client context trusting the certificate, and the
    TLS server names (SNI) the receiver was asked for."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    names: list[Any] = []
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.sni_callback = lambda sock, server_name, ctx: names.append(server_name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], ssl.create_default_context(cafile=str(cert)), names
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_tls_verifies_the_urls_name_on_the_checked_address(
    db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    names = FakeResolver({"hooks.tls.example": ["127.0.0.1"], "other.tls.example": ["127.0.0.1"]})
    with tls_receiver(tmp_path, "hooks.tls.example") as (port, trust, sni):
        sender = HttpWebhookSender(
            timeout=5, allow_networks="127.0.0.0/8", resolver=names, verify=trust
        )
        with Creditline.open(
            db_url, clock=clock, webhook_sender=sender, webhook_resolver=names
        ) as cl:
            org = cl.create_org("Acme").id
            right = cl.add_webhook(f"https://hooks.tls.example:{port}/h", org_id=org)
            wrong = cl.add_webhook(f"https://other.tls.example:{port}/h", org_id=org)
            ok, bad = (cl.queue_test_webhook(org, e.id) for e in (right, wrong))
            run = cl.deliver_webhooks()
            assert (run.delivered, run.retrying) == (1, 1)
            assert cl.webhook_delivery(ok.id).last_status_code == 204
            error = cl.webhook_delivery(bad.id).last_error
    assert error is not None and "certificate" in error.lower(), error
    assert sorted(sni) == ["hooks.tls.example", "other.tls.example"]


# -- one receiver's fault stays its own -----------------------------------------------------


@contextmanager
def resetting_receiver() -> Iterator[str]:
    """A server on the loopback that accepts each connection and resets it at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST instead of an answer

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()
        thread.join(10)


class Exploding:
    """A sender that raises for one URL (a bug in a sender, a library's surprise) and
    sends the others with the real HTTP sender."""

    def __init__(self, real: HttpWebhookSender) -> None:
        self.real = real

    def send(self, url: str, msg_id: str, body: str, secret: str) -> SendOutcome:
        if url.endswith("/boom"):
            raise RuntimeError("the sender blew up")
        return self.real.send(url, msg_id, body, secret)


POISONS = {
    "a URL stored with CR/LF": r"^refused: url: contains control or format characters",
    # the reset comes while connecting, writing or reading, as the threads fall
    "a receiver that resets the connection": (
        r"^(ConnectError|ReadError|WriteError|RemoteProtocolError): .*(reset|disconnected)"
    ),
    "a sender that raises": r"^RuntimeError: the sender blew up$",
}


@pytest.mark.parametrize("poison", list(POISONS))
def test_one_poisoned_endpoint_among_fifty_deliveries_fails_alone(
    db_url: str, clock: ManualClock, poison: str
) -> None:
    """50 deliveries for 3 organizations, one of them to a poisoned endpoint: the 49
    others are delivered in the same run; the poisoned one is a failed attempt with its
    reason, retried on the schedule."""
    real = HttpWebhookSender(timeout=5)
    with (
        receiver() as hooks,
        resetting_receiver() as resets,
        Creditline.open(db_url, clock=clock, webhook_sender=Exploding(real)) as cl,
    ):
        orgs = [cl.create_org(name).id for name in ("Alpha", "Beta", "Gamma")]
        endpoints = [
            cl.add_webhook(f"{hooks.url}/{i}", org_id=orgs[i % 3]) for i in range(10)
        ]  # fmt: skip
        bad = cl.add_webhook(f"{hooks.url}/bad", org_id=orgs[1])
        if poison == "a URL stored with CR/LF":
            _store_url(db_url, bad.id, f"{hooks.url}/bad\r\nX-Injected: 1")
        elif poison == "a receiver that resets the connection":
            _store_url(db_url, bad.id, f"{resets}/bad")
        else:
            _store_url(db_url, bad.id, f"{hooks.url}/boom")
        queued = [cl.queue_test_webhook(orgs[1], bad.id)]
        for i in range(49):
            endpoint = endpoints[i % 10]
            assert endpoint.org_id is not None
            queued.append(cl.queue_test_webhook(endpoint.org_id, endpoint.id))
        run = cl.deliver_webhooks(limit=100)
        assert (run.attempted, run.delivered, run.retrying, run.failed) == (50, 49, 1, 0)
        poisoned = cl.webhook_delivery(queued[0].id)
        others = [cl.webhook_delivery(d.id) for d in queued[1:]]
    assert len(hooks.received) == 49
    assert sorted(r.msg_id for r in hooks.received) == sorted(d.id for d in others)
    assert {d.status for d in others} == {DeliveryStatus.DELIVERED}
    assert poisoned.status is DeliveryStatus.PENDING and poisoned.attempts == 1
    assert poisoned.next_attempt_at == clock.now() + timedelta(seconds=5)
    (attempt,) = poisoned.attempt_log
    assert attempt.error is not None and re.search(POISONS[poison], attempt.error), attempt.error
    assert "\r" not in attempt.error and "\n" not in attempt.error


def test_the_broken_variant_without_isolation_stalls_the_rest_of_the_claim(
    db_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test the test: with the per-delivery isolation taken out (one thread, the
    sender's exception let through), the raising sender stops the run and the
    deliveries claimed after it are not sent, which the test above would catch."""
    monkeypatch.setattr(deliveries, "_send_isolated", deliveries._send)
    with receiver() as hooks, Creditline.open(db_url, clock=clock) as cl:
        org = cl.create_org("Acme").id
        good = cl.add_webhook(f"{hooks.url}/good", org_id=org)
        bad = cl.add_webhook(f"{hooks.url}/boom", org_id=org)
        cl.queue_test_webhook(org, bad.id)
        clock.advance(timedelta(seconds=1))  # claimed first: due first
        for _ in range(3):
            cl.queue_test_webhook(org, good.id)
        sender = Exploding(HttpWebhookSender(timeout=5))
        with pytest.raises(RuntimeError, match="blew up"):
            deliveries.deliver_due(cl._tx, sender, None, clock, concurrency=1)
        stuck = [d for d in cl.webhook_deliveries(org) if d.attempts == 1 and d.last_error is None]
    assert hooks.received == [] and len(stuck) == 4  # claimed, never sent nor recorded


@pytest.mark.parametrize(("concurrency", "others_meanwhile"), [(8, 5), (1, 0)])
def test_a_receiver_that_hangs_holds_up_only_its_own_deliveries(
    db_url: str, clock: ManualClock, concurrency: int, others_meanwhile: int
) -> None:
    """One endpoint's receiver holds its first request open; the other endpoints'
    deliveries of the same claim arrive meanwhile. The broken variant (one endpoint at a
    time) gets none of them while the receiver hangs."""
    release = threading.Event()
    with (
        receiver(block_first=release) as slow,
        receiver() as fast,
        Creditline.open(db_url, clock=clock) as cl,
    ):
        orgs = [cl.create_org(name).id for name in ("Alpha", "Beta")]
        hanging = cl.add_webhook(f"{slow.url}/hangs", org_id=orgs[0])
        cl.queue_test_webhook(orgs[0], hanging.id)
        clock.advance(timedelta(seconds=1))  # claimed first: due first
        for i in range(5):
            endpoint = cl.add_webhook(f"{fast.url}/{i}", org_id=orgs[1])
            cl.queue_test_webhook(orgs[1], endpoint.id)
        sender = HttpWebhookSender(timeout=30)
        with ThreadPoolExecutor(1) as pool:
            run = pool.submit(
                deliveries.deliver_due, cl._tx, sender, None, clock, concurrency=concurrency
            )
            assert slow.first_arrived.wait(30)
            deadline = threading.Event()
            for _ in range(300 if others_meanwhile else 10):  # poll, never sleep on logic
                if len(fast.received) >= 5:
                    break
                deadline.wait(0.1)
            meanwhile = len(fast.received)
            release.set()
            assert run.result().delivered == 6
    assert meanwhile == others_meanwhile


def test_a_tick_with_only_receivers_failing_reports_ok(db_url: str, clock: ManualClock) -> None:
    with Creditline.open(db_url, clock=clock, webhook_sender=HttpWebhookSender(timeout=2)) as cl:
        org = cl.create_org("Acme").id
        endpoint = cl.add_webhook("http://127.0.0.1:9/hooks", org_id=org)
        _store_url(db_url, endpoint.id, "http://127.0.0.1:9/\r\nX-Injected: 1")
        cl.queue_test_webhook(org, endpoint.id)
        for _ in range(3):
            report = cl.tick()
            assert report.ok, report.errors
            assert report.job("webhooks").summary["retrying"] in (0, 1)
            clock.advance(timedelta(minutes=5))
        (delivery,) = cl.webhook_deliveries(org)
    assert delivery.attempts == 3 and delivery.status is DeliveryStatus.PENDING


# -- the delivery log -----------------------------------------------------------------------


def test_an_organizations_log_holds_only_its_own_endpoints_deliveries(
    db_url: str, clock: ManualClock
) -> None:
    with (
        receiver() as hooks,
        Creditline.open(db_url, clock=clock, webhook_sender=HttpWebhookSender(timeout=2)) as cl,
    ):
        a, b = cl.create_org("Alpha").id, cl.create_org("Beta").id
        for org in (a, b):
            cl.grant(org, credits(1))
            cl.add_alert(org, "depleted")
        own = cl.add_webhook(f"{hooks.url}/alpha", org_id=a)
        operator = cl.add_webhook(f"{hooks.url}/ops")  # every organization's events
        for org in (a, b):
            cl.spend(org, credits(1))
        assert cl.tick().job("webhooks").summary["delivered"] == 3
        mine = cl.webhook_deliveries(a)
        everything = cl.webhook_deliveries()
        to_operator = [d for d in everything if d.endpoint_id == operator.id]
        assert [d.endpoint_id for d in mine] == [own.id]
        assert cl.webhook_deliveries(b) == []
        assert len(everything) == 3 and {d.org_id for d in to_operator} == {a, b}
        assert cl.webhook_deliveries(a, endpoint_id=operator.id) == []
        for delivery in to_operator:
            with pytest.raises(WebhookDeliveryNotFound):
                cl.webhook_delivery(delivery.id, delivery.org_id)
            with pytest.raises(WebhookDeliveryNotFound):
                cl.redeliver_webhook(delivery.id, delivery.org_id)
            assert cl.webhook_delivery(delivery.id).endpoint_id == operator.id
        assert cl.webhook_delivery(mine[0].id, a).id == mine[0].id


@contextmanager
def silent_name_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The system's resolver asks a name server that drops every query: a look-up hangs
    until the event is set (or 30 s pass), then finds nothing."""
    answer = threading.Event()

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        answer.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        yield answer
    finally:
        answer.set()


def test_a_name_server_that_does_not_answer_holds_a_delivery_only_for_the_timeout(
    db_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender's timeout bounds the look-up of the receiver's name too: past it the
    attempt fails with its reason, and the delivery waits for its retry. At registration
    a name that does not answer is a name that does not resolve yet: accepted."""
    sender = HttpWebhookSender(timeout=0.2)
    with (
        silent_name_server(monkeypatch),
        Creditline.open(
            db_url, clock=clock, webhook_sender=sender, webhook_resolver=SystemResolver(0.2)
        ) as cl,
    ):  # fmt: skip
        org = cl.create_org("Acme").id
        endpoint = cl.add_webhook("https://hooks.silent.example/in", org_id=org)
        cl.queue_test_webhook(org, endpoint.id)
        run = cl.deliver_webhooks()
        (delivery,) = cl.webhook_deliveries(org)
        (attempt,) = cl.webhook_delivery(delivery.id, org).attempt_log
    assert (run.attempted, run.retrying) == (1, 1)
    assert attempt.error == (
        "refused: host: hooks.silent.example cannot be resolved (no answer within 0.2 s)"
    )
