"""Helpers of the billing tests: an engine that takes payments through the real Stripe
adapter and SDK, answered by the shipped in-memory Stripe (``FakeStripe``, injected as
the SDK's HTTP client), and the real webhook endpoint driven through FastAPI's
TestClient or a real uvicorn server.

Webhook bodies are signed the way Stripe signs them (``t=<unix time>,v1=<HMAC-SHA256
of "<t>.<body>">``, :func:`creditline.adapters.payments.sign`), with a test secret;
the SDK verifies them against the wall clock, so signatures carry the real time while
the engine runs on a ManualClock.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]
import uvicorn
from fastapi.testclient import TestClient

from creditline import Creditline, ManualClock
from creditline.adapters.payments import FakeStripe, StripeProvider, sign
from creditline.domain.purchases import Purchase
from creditline.entrypoints.api import create_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "whsec_creditline_test"
WEBHOOK = "/webhooks/stripe"


@dataclass
class Shop:
    """An engine selling credits through (fake) Stripe, and its webhook endpoint."""

    cl: Creditline
    fake: FakeStripe
    clock: ManualClock
    client: TestClient

    def load(self, platform: str) -> None:
        """Load a platform's example set: rate card, plans and packs."""
        folder = EXAMPLES / platform
        self.cl.load_rate_card((folder / "ratecard.toml").read_text(encoding="utf-8"))
        self.cl.load_plans((folder / "plans.toml").read_text(encoding="utf-8"))
        if (folder / "packs.toml").is_file():
            self.cl.load_packs((folder / "packs.toml").read_text(encoding="utf-8"))

    def customer(
        self, name: str = "Customer", plan: str | None = None, card: str | None = None
    ) -> str:
        org = self.cl.create_org(name).id
        if card:
            self.cl.set_rate_card(org, card)
        if plan:
            self.cl.assign_plan(org, plan)
        return org

    def buy(self, org: str, pack: str | None = None, **options: Any) -> Purchase:
        options.setdefault("currency", "USD")
        return self.cl.create_purchase(org, pack, **options)

    def completed(self, purchase: Purchase, **pay: Any) -> bytes:
        """The buyer pays; the ``checkout.session.completed`` event Stripe sends."""
        assert purchase.session_id is not None
        session = self.fake.pay(purchase.session_id, **pay)
        return self.fake.event("checkout.session.completed", session)

    def deliver(self, body: bytes, signature: str | None = None) -> httpx.Response:
        header = sign(body, SECRET) if signature is None else signature
        return self.client.post(
            WEBHOOK,
            content=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def pay(self, purchase: Purchase, **pay: Any) -> Purchase:
        """Pay a purchase and deliver its webhook; the purchase afterwards."""
        response = self.deliver(self.completed(purchase, **pay))
        assert response.status_code == 200, response.text
        return self.cl.purchase(purchase.org_id, purchase.id)


def provider(fake: FakeStripe) -> StripeProvider:
    return StripeProvider("sk_test_creditline", SECRET, http_client=fake, max_network_retries=0)


@contextmanager
def open_shop(db_url: str, clock: ManualClock, **options: Any) -> Iterator[Shop]:
    fake = FakeStripe()
    cl = Creditline.open(db_url, clock=clock, payments=provider(fake), **options)
    try:
        with TestClient(create_app(cl)) as client:
            yield Shop(cl, fake, clock, client)
    finally:
        cl.close()


def verified_shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    """The body of the ``shop`` fixture of the billing tests: a shop whose ledger must
    verify at the end."""
    with open_shop(db_url, clock) as opened:
        yield opened
        report = opened.cl.verify()
        assert report.ok, report.problems


@contextmanager
def served(cl: Creditline) -> Iterator[str]:
    """The API on a real uvicorn server on a free local port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(cl), log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def at(clock: ManualClock, moment: datetime) -> None:
    clock.set(moment)
