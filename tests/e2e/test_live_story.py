"""The whole story of a customer, through real HTTP on a live ``creditline serve``
process: sign-up, a grant, a quote, a hold and its commit, a refusal at depletion, a
purchase paid through (a local fake of) Stripe's API and granted by its signed webhook,
and the depletion alert delivered by the server's own scheduler to a local receiver,
which verifies it with the Standard Webhooks library. Then SIGTERM: a request in flight
still gets its answer, and the server exits 0."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

from creditline.adapters.payments import FakeStripe, FakeStripeServer, sign
from tests.alerting import Receiver, free_port, receiver
from tests.live import server_env, wait_ready
from tests.metering import card_doc

CLI = [str(Path(sys.executable).parent / "creditline")]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WEBHOOK_SECRET = "whsec_live_story"


@dataclass
class Live:
    process: subprocess.Popen[str]
    url: str
    operator: httpx.Client
    fake: FakeStripe
    hooks: Receiver


def _cli(db: str, *args: str) -> str:
    done = subprocess.run(
        [*CLI, "--db", db, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """The server, its scheduler ticking every half second (``tick`` param: another
    interval; 0 for none)."""
    tick = str(getattr(request, "param", 0.5))
    db = f"sqlite:///{tmp_path / 'story.db'}"
    key = json.loads(_cli(db, "key", "create", "--operator", "--name", "story", "-f", "json"))
    fake = FakeStripe()
    with FakeStripeServer(fake) as stripe_api, receiver() as hooks:
        port = free_port()
        env = server_env(
            CREDITLINE_API_RATE_PER_SECOND="0",
            CREDITLINE_STRIPE_API_KEY="sk_test_live_story",
            CREDITLINE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            CREDITLINE_STRIPE_API_BASE=stripe_api.url,
        )
        process = subprocess.Popen(
            [*CLI, "--db", db, "serve", "--port", str(port), "--tick-every", tick],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(process, url)
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
            ) as operator:
                yield Live(process, url, operator, fake, hooks)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()


def _ok(answer: httpx.Response, status: int = 200) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    body: dict[str, object] = answer.json()
    return body


def _until(what: str, check: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_customer_story_over_http_from_sign_up_to_an_alert(live: Live) -> None:
    op = live.operator
    # The platform sets up its catalogue.
    _ok(op.post("/v1/rate-cards", json={"document": card_doc()}), 201)
    packs = (EXAMPLES / "otai" / "packs.toml").read_text(encoding="utf-8")
    _ok(op.put("/v1/packs", json={"toml": packs}))

    # Sign-up: the organization and its own key.
    org = str(_ok(op.post("/v1/orgs", json={"name": "Story Labs"}), 201)["id"])
    made = _ok(op.post("/v1/api-keys", json={"role": "org", "org_id": org, "name": "app"}), 201)
    _ok(op.post(f"/v1/orgs/{org}/grants", json={"amount": "20"}), 201)

    with httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {made['key']}"}, timeout=30
    ) as app:
        # The customer's backend subscribes to its alerts.
        endpoint = _ok(
            app.post(
                f"/v1/orgs/{org}/webhook-endpoints",
                json={"url": f"{live.hooks.url}/hooks", "event_types": ["credits.depleted"]},
            ),
            201,
        )
        live.hooks.verify_with("/hooks", str(endpoint["secret"]))
        _ok(app.post(f"/v1/orgs/{org}/alerts", json={"kind": "depleted"}), 201)

        # Quote, hold, commit, use.
        quote = _ok(
            app.post(
                f"/v1/orgs/{org}/quote", json={"operation": "render", "dimensions": {"mode": "max"}}
            )
        )
        assert quote["total"] == "12"
        hold = _ok(app.post(f"/v1/orgs/{org}/reservations", json={"amount": "10"}), 201)
        done = _ok(
            app.post(f"/v1/orgs/{org}/reservations/{hold['id']}/commit", json={"amount": "8"})
        )
        assert done["released"] == "2"
        event = {"event_id": "e-1", "operation": "render", "dimensions": {"mode": "max"}}
        assert _ok(app.post(f"/v1/orgs/{org}/usage", json=event), 201)["cost"] == "12"
        assert _ok(app.get(f"/v1/orgs/{org}/balance"))["available"] == "0"

        # Depleted: the next use is refused with what it needed and what was there.
        event = {"event_id": "e-2", "operation": "render", "dimensions": {"mode": "pro"}}
        refused = app.post(f"/v1/orgs/{org}/usage", json=event)
        assert refused.status_code == 402, refused.text
        problem = refused.json()
        assert problem["type"] == "urn:creditline:problem:insufficient-credits"
        assert (problem["needed"], problem["available"]) == ("3", "0")

        # The server's scheduler delivers the depletion alert, signed.
        _until("the depletion alert never arrived", lambda: live.hooks.at("/hooks"))
        alert = live.hooks.at("/hooks")[0]
        assert alert.verified, alert.headers
        assert alert.payload["type"] == "credits.depleted"
        assert alert.payload["data"]["org_id"] == org
        log = _ok(app.get(f"/v1/orgs/{org}/webhook-deliveries"))
        assert isinstance(log, list) or "items" in log

        # The customer buys a pack: Stripe Checkout, paid, then Stripe's signed webhook.
        purchase = _ok(
            app.post(f"/v1/orgs/{org}/purchases", json={"pack": "10-credits", "currency": "EUR"}),
            201,
        )
        assert str(purchase["checkout_url"]).startswith("https://")
        assert purchase["status"] == "pending"
        [session_id] = live.fake.sessions  # the checkout the server opened at Stripe
        assert session_id in str(purchase["checkout_url"])
        session = live.fake.pay(session_id)
        body = live.fake.event("checkout.session.completed", session)
        forged = app.post(
            "/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sign(body, "whsec_wrong")},
        )
        assert forged.status_code == 400, forged.text
        paid = app.post(
            "/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
        )
        assert _ok(paid)["outcome"] == "granted"
        bought = _ok(app.get(f"/v1/orgs/{org}/purchases/{purchase['id']}"))
        assert bought["status"] == "paid"
        assert _ok(app.get(f"/v1/orgs/{org}/balance"))["available"] == "10"
        # e-2 was stored as refused; sent again without a timestamp it is a retry of the
        # first (a missing time is not part of the fingerprint): its stored answer, nothing
        # charged although credits are there now.
        again = _ok(app.post(f"/v1/orgs/{org}/usage", json=event))
        assert (again["status"], again["cost"]) == ("duplicate", "0")
        assert _ok(app.get(f"/v1/orgs/{org}/balance"))["available"] == "10"
        event = {**event, "event_id": "e-3"}
        assert _ok(app.post(f"/v1/orgs/{org}/usage", json=event), 201)["cost"] == "3"

    assert _ok(op.get("/v1/verify"))["ok"] is True
    live.process.send_signal(signal.SIGTERM)
    _, stderr = live.process.communicate(timeout=60)
    assert live.process.returncode == 0, stderr
    assert str(made["key"]) not in stderr


@pytest.mark.parametrize("live", [0], indirect=True)  # no scheduler: the request delivers
def test_sigterm_lets_the_request_in_flight_finish(live: Live) -> None:
    """A webhook receiver that takes 2 s to answer holds a request (an operator's
    delivery run) open while the server is told to stop: the request still gets its
    200, then the server exits 0."""
    op = live.operator
    org = str(_ok(op.post("/v1/orgs", json={"name": "Slow"}), 201)["id"])
    endpoint = _ok(
        op.post(f"/v1/orgs/{org}/webhook-endpoints", json={"url": f"{live.hooks.url}/slow"}), 201
    )
    _ok(op.post(f"/v1/orgs/{org}/alerts", json={"kind": "depleted"}), 201)
    _ok(op.post("/v1/alerts/evaluate"))
    live.hooks.block_first = threading.Event()  # the receiver holds the first POST
    answers: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(op.post("/v1/webhook-deliveries/deliver")), daemon=True
    )
    sender.start()
    assert live.hooks.first_arrived.wait(20), "the delivery never reached the receiver"
    live.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the server is now shutting down with the request in flight
    assert live.process.poll() is None
    live.hooks.block_first.set()
    sender.join(30)
    assert answers and answers[0].status_code == 200, answers
    _, stderr = live.process.communicate(timeout=60)
    assert live.process.returncode == 0, stderr
    assert [r.path for r in live.hooks.received] == ["/slow"]
    assert endpoint["id"]
