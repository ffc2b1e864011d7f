"""A local stand-in for Stripe, checkout page included, for the demo (``make run``) and
local development: nothing leaves the machine and no card is ever charged.

:class:`CheckoutServer` serves a :class:`~.fake_stripe.FakeStripe` over HTTP on the
loopback: the Stripe API the SDK calls (a server runs with ``CREDITLINE_STRIPE_API_BASE``
set to :attr:`CheckoutServer.url`), and at ``/c/pay/<session id>`` (where the fake's
checkout sessions send the buyer) a checkout page that says plainly it is a test
payment. Paying there with the test card 4242 4242 4242 4242 completes the session,
sends the signed ``checkout.session.completed`` webhook to the server (as Stripe does,
signed with the endpoint's secret) and sends the buyer back to the purchase's success
URL; the test card 4000 0000 0000 0002 is declined, as at Stripe.

Run it as ``python -m creditline.adapters.payments.fake_checkout --port 8001
--webhook-url http://127.0.0.1:8000/webhooks/stripe`` with the webhook secret in
``CREDITLINE_STRIPE_WEBHOOK_SECRET`` (the server's). It stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import html
import os
import secrets
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from creditline.adapters.payments.fake_stripe import FakeStripe, FakeStripeServer, _handler, sign
from creditline.domain.money import format_money

__all__ = ["DECLINED_CARD", "PAY_PATH", "TEST_CARD", "CheckoutServer", "main"]

PAY_PATH = "/c/pay/"
"""Where a checkout session's page is: ``/c/pay/<session id>``."""
TEST_CARD = "4242424242424242"
"""The card that pays (Stripe's test Visa)."""
DECLINED_CARD = "4000000000000002"
"""The card that is declined (Stripe's test card for ``card_declined``)."""
WEBHOOK_SECRET_ENV = "CREDITLINE_STRIPE_WEBHOOK_SECRET"


class CheckoutServer(FakeStripeServer):
    """``fake`` and its checkout pages over HTTP on ``host`` (an ephemeral port by
    default), in a background thread: ``with CheckoutServer(fake, url, secret) as s:``.
    The fake's checkout sessions send buyers to this server's pages."""

    def __init__(
        self,
        fake: FakeStripe,
        webhook_url: str,
        webhook_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(fake, host, port, _checkout_handler(fake, webhook_url, webhook_secret))
        fake.checkout_url = self.url + PAY_PATH.rstrip("/")


def deliver(webhook_url: str, secret: str, body: bytes) -> str | None:
    """Post a webhook ``body`` signed with ``secret``, as Stripe does; ``None`` when the
    server took it, else what went wrong."""
    request = urllib.request.Request(
        webhook_url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body, secret)},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        return f"the server answered {exc.code}: {exc.read()[:300]!r}"
    except OSError as exc:
        return f"the server could not be reached: {exc}"
    return None


def _checkout_handler(
    fake: FakeStripe, webhook_url: str, secret: str
) -> type[BaseHTTPRequestHandler]:
    """The fake's API handler, with the checkout pages under :data:`PAY_PATH`."""
    api = _handler(fake)

    class Handler(api):  # type: ignore[valid-type, misc]
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            if self.path.startswith(PAY_PATH):
                _show(self, fake)
            else:
                self._answer()

        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            if self.path.startswith(PAY_PATH):
                _submit(self, fake, webhook_url, secret)
            else:
                self._answer()

    return Handler


def _show(handler: BaseHTTPRequestHandler, fake: FakeStripe) -> None:
    """``GET /c/pay/<id>``: the checkout page."""
    session = _session(handler, fake)
    if session is not None:
        _send(handler, 200, _page(session))


def _submit(
    handler: BaseHTTPRequestHandler, fake: FakeStripe, webhook_url: str, secret: str
) -> None:
    """``POST /c/pay/<id>``: the buyer pays, or is shown what went wrong."""
    length = int(handler.headers.get("Content-Length") or 0)
    form = dict(parse_qsl(handler.rfile.read(length).decode()))
    session = _session(handler, fake)
    if session is None:
        return
    answer = _pay(fake, session, form, webhook_url, secret)
    if isinstance(answer, str):
        _send(handler, 303, "", location=answer)
    else:
        _send(handler, *answer)


def _session(handler: BaseHTTPRequestHandler, fake: FakeStripe) -> dict[str, Any] | None:
    """The page's session, or ``None`` once a 404 page is sent."""
    ident = urlsplit(handler.path).path.removeprefix(PAY_PATH).strip("/")
    session = fake.sessions.get(ident)
    if session is None:
        _send(handler, 404, _shell("No such checkout", "<p>No such checkout.</p>"))
    return session


def _send(
    handler: BaseHTTPRequestHandler, status: int, text: str, location: str | None = None
) -> None:
    data = text.encode()
    handler.send_response(status)
    if location is not None:
        handler.send_header("Location", location)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    handler.wfile.write(data)


def _pay(
    fake: FakeStripe, session: dict[str, Any], form: dict[str, str], webhook_url: str, secret: str
) -> str | tuple[int, str]:
    """The buyer submits the checkout form: the test card pays (the session completes,
    its webhook is delivered) and the answer is where to send the buyer; anything else
    is the page again, with what went wrong, and its status."""
    if session["status"] != "open":
        return 409, _page(session, "This checkout is already closed.")
    card = "".join(c for c in form.get("card", "") if c.isdigit())
    if card == DECLINED_CARD:
        return 402, _page(session, "Your card was declined (the declined test card).")
    if card != TEST_CARD:
        return 400, _page(
            session, "This test checkout takes the test card 4242 4242 4242 4242 only."
        )
    paid = fake.pay(session["id"], email=form.get("email") or None)
    failed = deliver(webhook_url, secret, fake.event("checkout.session.completed", paid))
    if failed is not None:
        print(f"fake Stripe: the webhook was not delivered: {failed}", file=sys.stderr)
    return str(session["success_url"])


_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1a1f36; }
main { max-width: 28rem; margin: 0 auto; padding: 1rem; }
.notice { background: #fff4d6; border: 2px solid #c98a00; border-radius: .5rem;
  padding: .75rem 1rem; margin: 1rem 0; }
.notice strong { display: block; font-size: 1.1rem; }
.card { background: #fff; border-radius: .5rem; padding: 1rem 1.25rem;
  box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.amount { font-size: 2rem; font-weight: 700; margin: .25rem 0 1rem; }
label { display: block; margin-top: .75rem; font-weight: 600; }
input { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem;
  border: 1px solid #8792a2; border-radius: .375rem; }
.row { display: flex; gap: .75rem; } .row > div { flex: 1; }
button { margin-top: 1.25rem; width: 100%; font: inherit; font-weight: 700; padding: .75rem;
  background: #0a2540; color: #fff; border: 0; border-radius: .375rem; cursor: pointer; }
button:focus, input:focus, a:focus { outline: 3px solid #c98a00; outline-offset: 2px; }
.error { color: #a4161a; font-weight: 600; }
.hint { color: #4f566b; font-size: .9rem; }
"""


def _shell(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _page(session: dict[str, Any], error: str | None = None) -> str:
    """The checkout page of ``session``, with ``error`` from the last try."""
    amount = format_money(int(session["amount_total"]), str(session["currency"]).upper())
    what = html.escape(str(session.get("_description") or "Credits"))
    shown = html.escape(amount)
    wrong = (
        ""
        if error is None
        else f'<p class="error" role="alert" data-testid="checkout-error">{html.escape(error)}</p>'
    )
    closed = session["status"] != "open"
    form = (
        f'<p data-testid="checkout-closed">This checkout is {html.escape(session["status"])}.</p>'
        if closed
        else f"""<form method="post" action="{PAY_PATH}{html.escape(session["id"])}">
  <label for="email">E-mail</label>
  <input id="email" name="email" type="email" autocomplete="off" data-testid="checkout-email">
  <label for="card">Card number</label>
  <input id="card" name="card" inputmode="numeric" autocomplete="off" required
    placeholder="4242 4242 4242 4242" data-testid="card-number">
  <div class="row">
    <div><label for="expiry">Expiry</label>
      <input id="expiry" name="expiry" placeholder="12 / 34" autocomplete="off"></div>
    <div><label for="cvc">CVC</label>
      <input id="cvc" name="cvc" placeholder="123" autocomplete="off"></div>
  </div>
  <p class="hint">Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined.
    Any expiry and CVC.</p>
  <button type="submit" data-testid="checkout-pay">Pay {shown} (test)</button>
</form>"""
    )
    cancel = html.escape(str(session.get("cancel_url") or ""))
    back = (
        f'<p><a href="{cancel}" data-testid="checkout-cancel">Cancel and go back</a></p>'
        if cancel and not closed
        else ""
    )
    body = f"""
<div class="notice" role="note" data-testid="checkout-notice">
  <strong>Test payment: no real card is charged.</strong>
  This is creditline's local stand-in for Stripe's checkout. No money moves and nothing
  leaves this machine.
</div>
<section class="card" aria-labelledby="what">
  <h1 id="what" data-testid="checkout-description">{what}</h1>
  <p class="amount" data-testid="checkout-amount">{shown}</p>
  {wrong}
  {form}
  {back}
</section>"""
    return _shell(f"Test checkout: {amount}", body)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the fake Stripe and its checkout until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m creditline.adapters.payments.fake_checkout",
        description="A local fake Stripe with a test checkout page (no card is charged).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--webhook-url", required=True, help="The server's /webhooks/stripe.")
    args = parser.parse_args(argv)
    secret = os.environ.get(WEBHOOK_SECRET_ENV, "").strip()
    if not secret:
        parser.error(f"{WEBHOOK_SECRET_ENV} must hold the server's webhook secret")
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # ids of this run's own: the database holds the ids of the fakes that served it before
    fake = FakeStripe(adopt=True, tag=f"local{secrets.token_hex(4)}")
    with CheckoutServer(fake, args.webhook_url, secret, args.host, args.port) as server:
        print(f"fake Stripe (test payments only) on {server.url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
