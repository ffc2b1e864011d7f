"""Helpers of the alert tests: a real local HTTP receiver that verifies Standard Webhooks
signatures with the ``standardwebhooks`` library, a sender that records what the engine
asks it to send (for tests about evaluation, not transport), and a real in-process SMTP
server (aiosmtpd).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from creditline.services.deliveries import SendOutcome


@dataclass
class Received:
    """One POST the receiver got: its path, headers, raw body, and whether the
    signature verified (with the parsed payload when it did)."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any = None

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """A webhook receiver on a free local port (``url``); it answers each request with
    the next status of ``answers`` (then 200), after ``block`` is set if one is given."""

    url: str
    secrets: dict[str, str] = field(default_factory=dict)
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    block_first: threading.Event | None = None
    first_arrived: threading.Event = field(default_factory=threading.Event)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify_with(self, path: str, secret: str) -> None:
        """Verify what arrives on ``path`` with ``secret``."""
        self.secrets[path] = secret

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        secret = self.secrets.get(path)
        verified, payload = False, None
        if secret is not None:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with self.lock:
            first = not self.received
            self.received.append(Received(path, headers, body, verified, payload))
            status = self.answers.pop(0) if self.answers else 200
        if first:
            self.first_arrived.set()
            if self.block_first is not None:
                self.block_first.wait(10)
        if self.delay:
            threading.Event().wait(self.delay)  # a slow receiver (real time, not time logic)
        return status


@contextmanager
def receiver(port: int = 0, **options: Any) -> Iterator[Receiver]:
    """A real HTTP server in a thread on ``port`` (default: a free local port)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    port = server.server_address[1]
    state = Receiver(f"http://127.0.0.1:{port}", **options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = state.handle(self.path, headers, body)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class RecordingSender:
    """A webhook sender that records each send and answers 200 (no network)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, url: str, msg_id: str, body: str, secret: str) -> SendOutcome:
        self.sent.append((url, msg_id, json.loads(body)))
        return SendOutcome(200)

    def types(self) -> list[str]:
        return [payload["type"] for _, _, payload in self.sent]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Inbox:
    """What an in-process SMTP server received: (from, to, raw message)."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on a free local port; yields its inbox and port."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
