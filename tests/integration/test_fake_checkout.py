"""The demo's local Stripe (:mod:`creditline.adapters.payments.fake_checkout`) over real
HTTP, with the real Stripe provider (the official SDK) pointed at it: a checkout for a
customer only an earlier fake knew opens a local test-payment page; the declined test
card and any other card are refused with nothing sent; the test card pays, the signed
``checkout.session.completed`` webhook reaches the receiver and verifies, the buyer is
sent back to the success URL, and the session is paid and closed to further payment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

from creditline.adapters.payments import FakeStripe, StripeProvider
from creditline.adapters.payments.fake_checkout import CheckoutServer
from creditline.domain.errors import PaymentProviderError
from creditline.domain.money import Money
from creditline.services.ports.payments import CheckoutRequest

SECRET = "whsec_creditline_checkout_test"
SUCCESS = "http://127.0.0.1:9/portal/purchases/return?key=k1"
CANCEL = "http://127.0.0.1:9/portal/buy?cancelled=1"


class Receiver:
    """A webhook endpoint on the loopback that keeps what it is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str]] = []
        received = self.sent

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, self.headers["Stripe-Signature"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/webhooks/stripe"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    thread = threading.Thread(target=made.http.serve_forever, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        made.http.shutdown()
        made.http.server_close()


def test_the_test_card_pays_at_the_local_checkout_and_the_signed_webhook_follows(
    receiver: Receiver,
) -> None:
    fake = FakeStripe(adopt=True, tag="localtest")
    with CheckoutServer(fake, receiver.url, SECRET) as server:
        provider = StripeProvider(
            "sk_test_checkout", SECRET, api_base=server.url, max_network_retries=0
        )
        session = provider.create_checkout(
            CheckoutRequest(
                purchase_id="pur_1", org_id="org_1", customer_id="cus_fake000001",
                description="1000 credits (starter)", price=Money(10000, "USD"),
                success_url=SUCCESS, cancel_url=CANCEL,
            )
        )  # fmt: skip
        assert session.id.startswith("cs_test_localtest")
        assert session.url == f"{server.url}/c/pay/{session.id}"
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            page = browser.get(session.url)
            assert page.status_code == 200
            assert "Test payment: no real card is charged." in page.text
            assert "USD 100.00" in page.text and "1000 credits (starter)" in page.text
            assert CANCEL.replace("&", "&amp;") in page.text

            declined = browser.post(session.url, data={"card": "4000 0000 0000 0002"})
            other = browser.post(session.url, data={"card": "5555 5555 5555 4444"})
            assert (declined.status_code, other.status_code) == (402, 400)
            assert "declined" in declined.text and "4242 4242 4242 4242 only" in other.text
            assert receiver.sent == []
            assert not provider.checkout_state(session.id).paid

            paid = browser.post(
                session.url, data={"card": "4242 4242 4242 4242", "email": "ada@lab.example"}
            )
            assert paid.status_code == 303 and paid.headers["location"] == SUCCESS
            again = browser.post(session.url, data={"card": "4242 4242 4242 4242"})
            assert again.status_code == 409
            assert browser.get(f"{server.url}/c/pay/cs_nothing").status_code == 404

        (body, signature), *more = receiver.sent
        assert more == []
        event = provider.parse_webhook(body, signature)
        assert (event.type, event.object_id) == ("checkout.session.completed", session.id)
        assert event.id.startswith("evt_localtest")
        assert event.metadata["purchase_id"] == "pur_1"
        state = provider.checkout_state(session.id)
        assert state.paid and state.email == "ada@lab.example"


def test_a_customer_an_earlier_fake_made_is_unknown_without_adopt() -> None:
    fake = FakeStripe()
    with CheckoutServer(fake, "http://127.0.0.1:9/webhooks/stripe", SECRET) as server:
        provider = StripeProvider(
            "sk_test_checkout", SECRET, api_base=server.url, max_network_retries=0
        )
        request = CheckoutRequest(
            purchase_id="pur_2", org_id="org_1", customer_id="cus_fake000001",
            description="credits", price=Money(100, "USD"), success_url=SUCCESS,
            cancel_url=CANCEL,
        )  # fmt: skip
        with pytest.raises(PaymentProviderError, match="cus_fake000001"):
            provider.create_checkout(request)
