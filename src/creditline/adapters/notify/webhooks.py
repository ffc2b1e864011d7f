"""Webhooks POSTed over HTTP with httpx, signed per the Standard Webhooks spec with the
``standardwebhooks`` library.

Each request carries ``webhook-id`` (the delivery's message id, the same on every
attempt), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``), and
the JSON body as stored. The timestamp is the real time of the attempt (the adapter's
own clock, the system's by default), never the engine's clock: receivers check it
against theirs to refuse replays.

A timeout, a refused connection or any transport failure is an outcome
(:class:`~creditline.services.deliveries.SendOutcome` with the error), never an
exception: the delivery service decides about retries.
"""

from __future__ import annotations

import time

import httpx
from standardwebhooks.webhooks import Webhook

from creditline.adapters.clock import SystemClock
from creditline.domain.time import Clock
from creditline.services.deliveries import SendOutcome

__all__ = ["HttpWebhookSender", "signed_headers"]

USER_AGENT = "creditline-webhooks/1"


def signed_headers(msg_id: str, body: str, secret: str, clock: Clock) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (and the JSON content type)."""
    now = clock.now()
    signature = Webhook(secret).sign(msg_id, now, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class HttpWebhookSender:
    """POSTs signed webhooks with httpx.

    Args:
        timeout: seconds to wait for a receiver (connecting and answering).
        clock: where the signature's timestamp comes from (the system clock).
        transport: an httpx transport (tests inject one); default: the network.
    """

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._transport = transport

    def send(self, url: str, msg_id: str, body: str, secret: str) -> SendOutcome:
        headers = signed_headers(msg_id, body, secret, self._clock)
        began = time.perf_counter()
        try:
            with httpx.Client(
                timeout=self._timeout, transport=self._transport, follow_redirects=False
            ) as client:
                response = client.post(url, content=body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            return SendOutcome(None, f"{type(exc).__name__}: {exc}", _ms(began))
        return SendOutcome(response.status_code, None, _ms(began))


def _ms(began: float) -> int:
    return int((time.perf_counter() - began) * 1000)
