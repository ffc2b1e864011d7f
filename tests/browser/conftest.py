"""The browser tests' world: Debian's Chromium driven by Playwright (never a browser
Playwright downloads), and one live ``creditline serve`` process on a SQLite file seeded
with the known story (:mod:`tests.browser.story`), its payments going to a fake Stripe
API served from this process (:class:`~creditline.adapters.payments.FakeStripeServer`).

Every browser test is in the ``browser`` xdist group, so one worker runs them all on one
server and one browser. Without Chromium they fail (in CI, and by default); they are
skipped only when ``CREDITLINE_SKIP_BROWSER=1`` is set outside CI.

Pages are photographed into ``var/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

from creditline import Creditline
from creditline.adapters.payments import FakeStripe, FakeStripeServer, sign
from tests.alerting import free_port
from tests.browser.story import SECRET, Story, seed
from tests.live import server_env, wait_ready

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLI = [str(Path(sys.executable).parent / "creditline")]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHECKOUT = "https://checkout.stripe.com/"
"""Where the fake Stripe sends buyers; the browser tests answer it themselves."""

BROWSER = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
"""The marks of every browser test module (``pytestmark = BROWSER``)."""


def _missing(reason: str) -> None:
    """Fail (in CI, and by default), or skip when CREDITLINE_SKIP_BROWSER=1 outside CI."""
    if os.environ.get("CREDITLINE_SKIP_BROWSER") == "1" and not os.environ.get("CI"):
        pytest.skip(reason)
    pytest.fail(reason + " (run `make chromium`; CREDITLINE_SKIP_BROWSER=1 skips outside CI)")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, launched by Playwright from /usr/bin/chromium.

    One per test module, never longer: while Playwright's sync API is open it holds
    the thread's event loop, and ``asyncio.run`` in any other test on this worker (the
    async client's) would fail."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: the browser tests drive Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Site:
    """The live server, its database, the story seeded on it and the fake Stripe."""

    url: str
    db: str
    story: Story
    stripe: FakeStripe
    operator_key: str
    process: subprocess.Popen[str]
    log: Path
    paid: dict[str, dict[str, Any]] = field(default_factory=dict)

    def engine(self) -> Creditline:
        """The engine on the server's database, on the real clock (as the server is)."""
        return Creditline.open(self.db, migrate=False)

    def portal_link(
        self, org_id: str, *, read_only: bool = False, member_id: str | None = None
    ) -> str:
        with self.engine() as cl:
            made = cl.create_portal_session(
                org_id, member_id=member_id, read_only=read_only, ttl_seconds=600
            )
        return self.url + made.url

    def post_webhook(self, body: bytes) -> httpx.Response:
        """Stripe's delivery of ``body``, signed with the endpoint's secret."""
        return httpx.post(
            f"{self.url}/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sign(body, SECRET), "Content-Type": "application/json"},
            timeout=30,
        )


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    db = f"sqlite:///{folder / 'site.db'}"
    fake = FakeStripe()
    story = seed(db, fake)
    made = subprocess.run(
        [*CLI, "--db", db, "key", "create", "--operator", "--name", "browser", "-f", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    log = folder / "server.log"
    with FakeStripeServer(fake) as stripe_api, log.open("w") as out:
        port = free_port()
        env = server_env(
            CREDITLINE_API_RATE_PER_SECOND="0",
            CREDITLINE_STRIPE_API_KEY="sk_test_browser",
            CREDITLINE_STRIPE_WEBHOOK_SECRET=SECRET,
            CREDITLINE_STRIPE_API_BASE=stripe_api.url,
        )
        process = subprocess.Popen(
            [*CLI, "--db", db, "serve", "--port", str(port), "--tick-every", "0"],
            stdout=out, stderr=out, text=True, env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(process, url, log)
            yield Site(url, db, story, fake, key, process, log)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


class Errors(list[str]):
    """The JavaScript errors a page had: uncaught exceptions and console errors (CSP
    violations included), except the browser's note of a response with an error status,
    which some tests ask for."""

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.append(f"console: {message.text}")


@pytest.fixture
def errors() -> Errors:
    return Errors()


@pytest.fixture
def context(chromium: Any, site: Site, errors: Errors) -> Iterator[Any]:
    """A fresh browser profile (no cookies) whose trips to Stripe's checkout land on
    the fake checkout (:func:`fake_checkout`); fails the test on a JavaScript error."""
    made = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    made.route(re.compile(r"^https://checkout\.stripe\.com/.*"), fake_checkout(site))
    made.on("page", errors.watch)
    try:
        yield made
    finally:
        made.close()
    assert list(errors) == [], errors


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def fake_checkout(site: Site) -> Any:
    """Stripe's hosted checkout, played by the test: ``/c/pay/<session>`` shows what is
    bought and a Pay button; paying (``/c/pay/<session>/pay``) completes the session in
    the fake Stripe and sends the buyer back to the purchase's success URL. The
    webhook is the test's to post."""

    def handle(route: Any) -> None:
        path = route.request.url.removeprefix(CHECKOUT).split("?")[0]
        parts = path.split("/")  # c, pay, <session>[, pay]
        session = site.stripe.sessions.get(parts[2]) if len(parts) >= 3 else None
        if session is None:
            route.fulfill(status=404, content_type="text/plain", body="no such checkout")
            return
        if parts[3:] == ["pay"]:
            site.paid[session["id"]] = site.stripe.pay(session["id"], email="ada@acme.example")
            route.fulfill(status=303, headers={"Location": session["success_url"]})
            return
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body=(
                "<!doctype html><title>Checkout</title><h1>Fake checkout</h1>"
                f"<p data-testid=checkout-amount>{amount}</p>"
                f'<form method=post action="{CHECKOUT}c/pay/{session["id"]}/pay">'
                "<button data-testid=checkout-pay>Pay</button></form>"
            ),
        )

    return handle


def shoot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """A screenshot of the page as ``var/screenshots/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page: Any, site: Site, org_id: str, **options: Any) -> None:
    """Open a portal link for ``org_id`` in ``page``: it lands on the overview."""
    answer = page.goto(site.portal_link(org_id, **options))
    assert answer is not None and answer.status == 200, answer and answer.status
    assert page.url == f"{site.url}/portal/"


def csrf(page: Any) -> str:
    """The session's CSRF token, from a form of the page."""
    token: str = page.locator("input[name=csrf]").first.get_attribute("value")
    return token
