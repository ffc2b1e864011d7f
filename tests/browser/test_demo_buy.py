"""Buying credits in the demo, as ``make run`` serves it, in Debian's Chromium:
``scripts/run-demo-server`` itself (on a database and ports of the test's own) plays the
demo, starts the local fake Stripe and the server; its portal link opens the demo
organization's portal, Buy credits leads to the fake's checkout page (it says it is a
test payment), the declined test card is refused, the test card 4242 4242 4242 4242
pays, the fake's signed webhook grants the credits, and the buyer is back in the portal
with the balance up and the receipt listed. Every request the browser makes stays on
the machine. Ctrl-C ends the script, and the fake Stripe with it.

Photographed into ``var/screenshots/``: ``demo-checkout-1280``, ``demo-checkout-375``,
``demo-receipt-1280``, ``demo-receipt-375``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from creditline import Creditline, credits
from tests.alerting import free_port
from tests.browser.conftest import BROWSER, Errors, shoot
from tests.live import wait_ready

pytestmark = BROWSER

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "run-demo-server"
WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 375, "height": 812}


@dataclass
class Demo:
    """The running demo: its server's and fake Stripe's addresses, its database, the
    portal link it printed."""

    url: str
    stripe: str
    db: str
    portal: str
    process: subprocess.Popen[str]
    log: Path


def _listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    db = f"sqlite:///{folder / 'demo.db'}"
    port, stripe_port = free_port(), free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CREDITLINE_DEMO_DB": db,
        "CREDITLINE_PORT": str(port),
        "CREDITLINE_DEMO_STRIPE_PORT": str(stripe_port),
    }
    env.pop("CREDITLINE_STRIPE_API_KEY", None)
    log = folder / "run.log"
    url, stripe = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{stripe_port}"
    with log.open("w") as out:
        # its own process group, as a terminal's: Ctrl-C reaches the script and its children
        process = subprocess.Popen(
            [str(SCRIPT)], stdout=out, stderr=subprocess.STDOUT, text=True, env=env,
            cwd=ROOT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_ready(process, url, log, seconds=300)
        found = re.search(rf"{re.escape(url)}/portal/session/\S+", log.read_text())
        assert found is not None, log.read_text()
        assert _listening(stripe), log.read_text()
        yield Demo(url, stripe, db, found.group(0), process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    deadline = time.monotonic() + 10
    while _listening(stripe) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _listening(stripe), "the fake Stripe outlived make run"
    assert not _listening(url)


@pytest.fixture
def demo_page(chromium: Any) -> Iterator[tuple[Any, list[str], Errors]]:
    """A fresh browser profile's page, the URLs it requests, its JavaScript errors."""
    errors = Errors()
    context = chromium.new_context(viewport=WIDE)
    context.on("page", errors.watch)
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    try:
        yield context.new_page(), urls, errors
    finally:
        context.close()
    assert list(errors) == [], errors


def _available(page: Any) -> int:
    return int(page.get_by_test_id("available").get_attribute("data-micros"))


def _both_widths(page: Any, name: str) -> None:
    shoot(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    shoot(page, f"{name}-375")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: {width} px wide on a phone"
    page.set_viewport_size(WIDE)


def test_the_demo_buys_credits_at_the_local_test_checkout(
    demo: Demo, demo_page: tuple[Any, list[str], Errors]
) -> None:
    page, urls, _ = demo_page
    answer = page.goto(demo.portal)
    assert answer is not None and answer.status == 200
    before = _available(page)

    page.get_by_test_id("nav-buy").click()
    assert page.get_by_test_id("contact-sales").count() == 0
    page.get_by_test_id("buy-starter").click()

    page.wait_for_url(f"{demo.stripe}/c/pay/**")
    notice = page.get_by_test_id("checkout-notice").inner_text()
    assert "Test payment: no real card is charged." in notice
    assert page.get_by_test_id("checkout-amount").inner_text() == "USD 100.00"
    assert page.get_by_test_id("checkout-description").inner_text() == "1000 credits (starter)"
    _both_widths(page, "demo-checkout")

    page.get_by_test_id("card-number").fill("4000 0000 0000 0002")
    page.get_by_test_id("checkout-pay").click()
    assert "declined" in page.get_by_test_id("checkout-error").inner_text()
    page.get_by_test_id("card-number").fill("4242 4242 4242 4242")
    page.get_by_test_id("checkout-pay").click()

    page.wait_for_url(f"{demo.url}/portal/**")
    page.wait_for_selector("[data-testid=purchase-status][data-status=paid]", timeout=15_000)
    page.get_by_test_id("receipt-link").click()
    assert page.get_by_test_id("receipt-amount").inner_text() == "$100.00"
    _both_widths(page, "demo-receipt")
    page.get_by_test_id("nav-billing").click()
    paid = page.get_by_test_id("purchase-row").first
    assert "paid" in paid.inner_text() and paid.get_by_text("Receipt").count() == 1
    page.get_by_test_id("nav-overview").click()
    assert _available(page) == before + credits(1000)

    with Creditline.open(demo.db, migrate=False) as cl:
        (org,) = cl.list_orgs()
        newest = cl.purchases(org.id, 1)[0]
        assert (newest.pack, newest.status.value) == ("starter", "paid")
    foreign = [u for u in urls if not u.startswith((demo.url + "/", demo.stripe + "/"))]
    assert foreign == [], foreign
