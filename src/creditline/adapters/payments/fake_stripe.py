"""A Stripe API in memory, behind the Stripe SDK's own HTTP client interface.

:class:`FakeStripe` is a ``stripe.HTTPClient``: given to
``StripeProvider(..., http_client=FakeStripe())`` (and so to ``stripe.StripeClient``),
it answers the SDK's real requests (form-encoded bodies, idempotency keys, expansion)
for the part of the API creditline uses, from dictionaries, with Stripe's JSON shapes
and error bodies. It is a test seam shipped with the product, like httpx's
``MockTransport``: tests, demos and local development run the real provider adapter
and the real SDK without the network.

Answered: ``POST /v1/customers``; ``POST /v1/checkout/sessions`` and ``GET
/v1/checkout/sessions/{id}`` (``expand[]=payment_intent``); ``POST /v1/payment_intents``
(off-session, confirmed) and ``GET /v1/payment_intents/{id}``; ``POST /v1/refunds``.
A repeated idempotency key replays the first answer, as Stripe does.

:class:`FakeStripeServer` serves the same fake over HTTP on a local port, for a live
``creditline serve`` in another process (``CREDITLINE_STRIPE_API_BASE=<its url>``).

What the buyer and Stripe do is driven from the test: :meth:`FakeStripe.pay` completes
a checkout (immediately, or with a delayed payment method), :meth:`FakeStripe.expire`
expires one; :meth:`FakeStripe.event` builds a webhook body and :func:`sign` its
``Stripe-Signature`` header, computed as Stripe does (``t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>" under the endpoint secret>``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

import stripe

__all__ = ["FakeStripe", "FakeStripeServer", "sign"]

_Answer = tuple[int, dict[str, Any]]


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send with ``payload``."""
    body = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def _nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``line_items[0][price_data][currency]=eur``) as data."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    nested: dict[str, Any] = _lists(root)
    return nested


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def _missing(kind: str, ident: object) -> _Answer:
    return _error(404, "invalid_request_error", f"No such {kind}: '{ident}'", "resource_missing")


def _error(status: int, kind: str, message: str, code: str | None = None) -> _Answer:
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    return status, {"error": body}


class FakeStripe(stripe.HTTPClient):
    """Stripe in memory (see the module docstring). Thread-safe."""

    name: ClassVar[str] = "creditline-fake-stripe"

    def __init__(
        self,
        *,
        checkout_url: str = "https://checkout.stripe.com/c/pay",
        adopt: bool = False,
        tag: str = "fake",
    ) -> None:
        """``checkout_url``: where a session's ``url`` sends the buyer (``<it>/<id>``;
        :mod:`.fake_checkout` serves a local checkout there). ``adopt``: a customer this
        fake never made is taken as known (one made by an earlier run of a fake that was
        restarted, as a long-lived demo database holds) instead of ``resource_missing``.
        ``tag``: in every id made (``cs_test_<tag>000001``); a fake serving a database
        that earlier fakes served takes a tag of its own, so its ids are new there."""
        super().__init__()
        self.checkout_url = checkout_url.rstrip("/")
        self.adopt = adopt
        self.tag = tag
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._replays: dict[tuple[str, str], tuple[str, int]] = {}
        self._declines: list[str] = []
        self._declined_methods: dict[str, str] = {}
        self._refund_failures: list[str] = []

    # -- the SDK's interface ------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        raw = post_data.decode() if isinstance(post_data, bytes) else post_data or parts.query
        params = _nested(parse_qsl(raw or "", keep_blank_values=True))
        key = (headers or {}).get("Idempotency-Key")
        with self._lock:
            self.requests.append((method.upper(), parts.path))
            if key and (parts.path, key) in self._replays:
                body, status = self._replays[(parts.path, key)]
            else:
                status, answer = self._route(method.lower(), parts.path, params)
                body = json.dumps(answer)
                if key and method.lower() == "post":
                    self._replays[(parts.path, key)] = (body, status)
        return body, status, {"request-id": f"req_fake_{next(self._ids)}"}

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError("creditline never streams from Stripe")

    def close(self) -> None:
        pass

    # -- routing ------------------------------------------------------------------------

    def _new(self, prefix: str) -> str:
        return f"{prefix}_{self.tag}{next(self._ids):06d}"

    def _route(self, method: str, path: str, params: dict[str, Any]) -> _Answer:
        segments = path.strip("/").split("/")
        routes = {
            ("post", "v1/customers"): self._create_customer,
            ("post", "v1/checkout/sessions"): self._create_session,
            ("post", "v1/payment_intents"): self._create_intent,
            ("post", "v1/refunds"): self._create_refund,
        }
        found = routes.get((method, "/".join(segments)))
        if found is not None:
            return found(params)
        if (
            method == "get"
            and segments[:3] == ["v1", "checkout", "sessions"]
            and len(segments) == 4
        ):
            return self._get_session(segments[3], params)
        if method == "get" and segments[:2] == ["v1", "payment_intents"] and len(segments) == 3:
            intent = self.payment_intents.get(segments[2])
            if intent is None:
                return _missing("payment_intent", segments[2])
            return 200, intent
        message = f"Unrecognized request URL ({method.upper()}: {path})"
        return _error(404, "invalid_request_error", message)

    def _create_customer(self, params: dict[str, Any]) -> _Answer:
        customer = {
            "id": self._new("cus"),
            "object": "customer",
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": params.get("metadata", {}),
        }
        self.customers[customer["id"]] = customer
        return 200, customer

    def _create_session(self, params: dict[str, Any]) -> _Answer:
        items = params.get("line_items") or []
        if params.get("mode") != "payment" or len(items) != 1:
            return _error(400, "invalid_request_error", "one line item in payment mode, please")
        price = items[0]["price_data"]
        customer = params.get("customer")
        if customer is not None and customer not in self.customers:
            if not self.adopt:
                return _missing("customer", customer)
            self.customers[customer] = {"id": customer, "object": "customer", "metadata": {}}
        session_id = self._new("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.checkout_url}/{session_id}",
            "customer": customer,
            "customer_details": None,
            "client_reference_id": params.get("client_reference_id"),
            "currency": price["currency"],
            "amount_total": int(price["unit_amount"]) * int(items[0].get("quantity", 1)),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata", {}),
            "_description": (price.get("product_data") or {}).get("name", ""),
        }
        self.sessions[session_id] = session
        return 200, self._public(session)

    @staticmethod
    def _public(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def _get_session(self, session_id: str, params: dict[str, Any]) -> _Answer:
        session = self.sessions.get(session_id)
        if session is None:
            return _missing("checkout.session", session_id)
        answer = self._public(session)
        if "payment_intent" in (params.get("expand") or []) and answer["payment_intent"]:
            answer["payment_intent"] = self.payment_intents[answer["payment_intent"]]
        return 200, answer

    def _create_intent(self, params: dict[str, Any]) -> _Answer:
        method = str(params.get("payment_method") or "")
        if self._declines or method in self._declined_methods:
            code = self._declines.pop(0) if self._declines else self._declined_methods[method]
            return _error(402, "card_error", "Your card was declined.", code)
        intent = self._intent(
            int(params["amount"]),
            params["currency"],
            customer=params.get("customer"),
            method=params.get("payment_method"),
            metadata=params.get("metadata", {}),
        )
        return 200, intent

    def _intent(
        self,
        amount: int,
        currency: str,
        *,
        customer: str | None,
        method: str | None,
        metadata: dict[str, Any],
        status: str = "succeeded",
    ) -> dict[str, Any]:
        intent: dict[str, Any] = {
            "id": self._new("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "customer": customer,
            "payment_method": method,
            "status": status,
            "metadata": metadata,
        }
        self.payment_intents[intent["id"]] = intent
        return intent

    def _create_refund(self, params: dict[str, Any]) -> _Answer:
        if self._refund_failures:
            return _error(400, "invalid_request_error", self._refund_failures.pop(0))
        intent = self.payment_intents.get(str(params.get("payment_intent", "")))
        if intent is None:
            return _missing("payment_intent", params.get("payment_intent"))
        amount = int(params.get("amount", intent["amount"] - intent["amount_refunded"]))
        if amount <= 0 or amount > intent["amount"] - intent["amount_refunded"]:
            message = f"Refund amount ({amount}) is greater than unrefunded amount on charge"
            return _error(400, "invalid_request_error", message, "amount_too_large")
        intent["amount_refunded"] += amount
        refund = {
            "id": self._new("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    # -- the buyer's and Stripe's side, for tests -----------------------------------------

    def pay(
        self,
        session_id: str,
        *,
        email: str | None = "buyer@example.com",
        payment_method: str = "pm_card_visa",
        delayed: bool = False,
    ) -> dict[str, Any]:
        """The buyer completes the checkout: paid at once, or (``delayed``, a bank debit)
        complete but unpaid until :meth:`settle_delayed`. Returns the session."""
        with self._lock:
            session = self.sessions[session_id]
            status = "processing" if delayed else "succeeded"
            intent = self._intent(
                session["amount_total"],
                session["currency"],
                customer=session["customer"],
                method=payment_method,
                metadata=session["_intent_metadata"],
                status=status,
            )
            session.update(
                status="complete",
                payment_status="unpaid" if delayed else "paid",
                payment_intent=intent["id"],
                customer_details={"email": email},
            )
            return self._public(session)

    def settle_delayed(self, session_id: str, *, succeeded: bool = True) -> dict[str, Any]:
        """A delayed payment of a completed checkout succeeds or fails."""
        with self._lock:
            session = self.sessions[session_id]
            intent = self.payment_intents[session["payment_intent"]]
            intent["status"] = "succeeded" if succeeded else "requires_payment_method"
            session["payment_status"] = "paid" if succeeded else "unpaid"
            return self._public(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        """The checkout expires unpaid."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="expired", url=None)
            return self._public(session)

    def decline_next_charge(self, code: str = "card_declined") -> None:
        """The next PaymentIntent creation is declined with ``code``."""
        with self._lock:
            self._declines.append(code)

    def decline_charges(self, payment_method: str, code: str = "card_declined") -> None:
        """Charges of ``payment_method`` are declined with ``code`` from now on."""
        with self._lock:
            self._declined_methods[payment_method] = code

    def accept_charges(self, payment_method: str) -> None:
        """Charges of ``payment_method`` go through again (the card was updated)."""
        with self._lock:
            self._declined_methods.pop(payment_method, None)

    def fail_next_refund(self, message: str = "This charge cannot be refunded.") -> None:
        with self._lock:
            self._refund_failures.append(message)

    def event(self, event_type: str, obj: Mapping[str, Any], event_id: str | None = None) -> bytes:
        """A webhook body: the event ``event_type`` about ``obj``, as Stripe sends it."""
        with self._lock:
            ident = event_id or self._new("evt")
        return json.dumps(
            {
                "id": ident,
                "object": "event",
                "type": event_type,
                "api_version": "2025-01-27",
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "data": {"object": dict(obj)},
            },
            separators=(",", ":"),
        ).encode()


class FakeStripeServer:
    """``fake`` answering real HTTP on ``127.0.0.1`` (an ephemeral port by default), in a
    background thread: ``with FakeStripeServer(fake) as server: server.url``."""

    def __init__(
        self,
        fake: FakeStripe,
        host: str = "127.0.0.1",
        port: int = 0,
        handler: type[BaseHTTPRequestHandler] | None = None,
    ) -> None:
        """``handler`` answers the requests (default: the fake's API alone)."""
        self.fake = fake
        self._http = ThreadingHTTPServer((host, port), handler or _handler(fake))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            url = f"http://fake{self.path}"
            text, status, headers = fake.request(self.command, url, dict(self.headers), body)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer  # noqa: N815 (the names http.server calls)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test's output is not the place for a request log."""

    return Handler
