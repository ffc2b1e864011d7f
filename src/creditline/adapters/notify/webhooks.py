"""Webhooks POSTed over HTTP with httpx, signed per the Standard Webhooks spec with the
``standardwebhooks`` library.

Each request carries ``webhook-id`` (the delivery's message id, the same on every
attempt), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``), and
the JSON body as stored. The timestamp is the real time of the attempt (the adapter's
own clock, the system's by default), never the engine's clock: receivers check it
against theirs to refuse replays.

**Where it connects** (RELIABILITY rule 9): before every attempt the URL is checked
again (:func:`creditline.domain.webhook_urls.check_url`) and its name resolved once,
with the sender's resolver (the system's by default; tests inject one); every address
must be public or in an allowed network, else nothing is sent and the attempt fails
with the reason (``refused: host: ... resolves to 127.0.0.1, a loopback address``).
The request then goes to the **address that was checked**: the URL's host is replaced
by it for the connection, while the ``Host`` header and the TLS server name (SNI, and
the certificate's check) stay the URL's name. So a name that resolves to a public
address for the check and to a private one a moment later (DNS rebinding) is never
followed. When an address refuses the connection, the next checked one is tried.
Redirects are not followed, environment proxies are not used, and the answer's body
is never read (only its status counts).

A refusal, a timeout, a refused connection or any other failure is an outcome
(:class:`~creditline.services.deliveries.SendOutcome` with the error), never an
exception: the delivery service decides about retries.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable

import httpx
from standardwebhooks.webhooks import Webhook

from creditline.adapters.clock import SystemClock
from creditline.adapters.notify.addresses import SystemResolver
from creditline.adapters.notify.addresses import allow_networks as parse_allowed
from creditline.domain.errors import WebhookUrlRefused
from creditline.domain.time import Clock
from creditline.domain.webhook_urls import CheckedUrl, Resolver, UrlPolicy, check_url
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
    """POSTs signed webhooks with httpx, to checked addresses only (module docstring).

    Args:
        timeout: seconds to wait for the receiver's name to resolve, and again for the
            receiver (connecting and answering).
        clock: where the signature's timestamp comes from (the system clock).
        transport: an httpx transport (tests inject one); default: the network.
        allow_networks: networks accepted beyond public addresses (CIDR text or a
            sequence of them); ``None``: ``CREDITLINE_WEBHOOK_ALLOW_NETWORKS`` (unset:
            none).
        resolver: resolves the URLs' names (default: the system's resolver, waiting
            at most ``timeout``).
        verify: how TLS certificates are verified (httpx's ``verify``: the system's
            trust store by default, an ``ssl.SSLContext`` or a CA bundle's path).

    Raises:
        InvalidSetting, ConfigurationError: networks that are not CIDR networks.
    """

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_networks: str | Iterable[str] | None = None,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | str | bool = True,
    ) -> None:
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._transport = transport
        self._policy = UrlPolicy(parse_allowed(allow_networks))
        self._resolver: Resolver = resolver or SystemResolver(timeout)
        self._verify = verify

    @property
    def policy(self) -> UrlPolicy:
        """The networks this sender accepts beyond public addresses."""
        return self._policy

    def send(self, url: str, msg_id: str, body: str, secret: str) -> SendOutcome:
        began = time.perf_counter()
        try:
            checked = check_url(url, self._policy, self._resolver, must_resolve=True)
        except WebhookUrlRefused as exc:
            return SendOutcome(None, "refused: " + "; ".join(exc.problems), _ms(began))
        try:
            return self._post(checked, signed_headers(msg_id, body, secret, self._clock), body)
        except Exception as exc:  # any failure is this attempt's outcome
            return SendOutcome(None, f"{type(exc).__name__}: {exc}", _ms(began))

    def _post(self, checked: CheckedUrl, headers: dict[str, str], body: str) -> SendOutcome:
        began = time.perf_counter()
        target = httpx.URL(checked.url)
        headers["host"] = checked.host_header
        extensions = {"sni_hostname": checked.host} if checked.name else {}
        failure: httpx.HTTPError | None = None
        with httpx.Client(
            timeout=self._timeout, transport=self._transport, follow_redirects=False,
            trust_env=False, verify=self._verify,
        ) as client:  # fmt: skip
            for address in checked.addresses:
                request = client.build_request(
                    "POST", target.copy_with(host=str(address)), headers=headers,
                    content=body.encode("utf-8"), extensions=extensions,
                )  # fmt: skip
                try:
                    response = client.send(request, stream=True)
                except httpx.ConnectError as exc:
                    failure = exc  # the next checked address, if there is one
                    continue
                except httpx.HTTPError as exc:
                    return SendOutcome(None, f"{type(exc).__name__}: {exc}", _ms(began))
                response.close()  # only the status counts: the body is never read
                return SendOutcome(response.status_code, None, _ms(began))
        return SendOutcome(None, f"{type(failure).__name__}: {failure}", _ms(began))


def _ms(began: float) -> int:
    return int((time.perf_counter() - began) * 1000)
