"""Outgoing webhooks: endpoints, and sending the deliveries that alerts enqueue (see
:mod:`creditline.domain.deliveries` for the statuses and the retry schedule).

:func:`deliver_due` is the scheduler's ``webhooks`` job. It works in three steps, so
that no transaction is open while a receiver answers:

1. **Claim** (one transaction): up to ``limit`` due deliveries are selected (``FOR
   UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serializes the claim), their
   attempt count goes up by one and their next attempt is pushed a *lease* ahead.
   Another worker sees them as not due, so one delivery is never sent twice at once;
   a worker that dies mid-send leaves the delivery due again once the lease is over
   (at-least-once).
2. **Send**: a webhook is POSTed, signed per Standard Webhooks (``webhook-id``,
   ``webhook-timestamp``, ``webhook-signature``; the :class:`WebhookSender`
   adapter signs with the real time, which receivers check against theirs); an
   e-mail goes to the mail server. A 2xx answer (an accepted e-mail) delivers it.
3. **Record** (one transaction per delivery): the attempt is logged, and the delivery
   becomes ``delivered``, ``pending`` again at the next retry time, or ``failed``
   after the last attempt, if it still carries the attempt it was claimed with.

:func:`resend` makes a delivery due now (the next tick sends it), whatever its status.

**One receiver's fault stays its own** (RELIABILITY rule 10): whatever goes wrong with
one delivery (a URL refused at delivery time, DNS, TLS, a timeout, a reset, an
exception of any kind from the sender) is recorded as a failed attempt of that delivery
alone, with its reason, and retried on the usual schedule; the rest of the claim is
sent in the same run. The claim's deliveries are sent by up to ``concurrency`` threads,
one endpoint (or e-mail address) per thread at a time, in claim order: a slow receiver
holds up only its own deliveries.

**Endpoint URLs** are checked when added (:func:`add_endpoint`, with
:func:`creditline.domain.webhook_urls.check_url`): a URL the server must not call is
:class:`~creditline.domain.errors.WebhookUrlRefused`. The sender checks again before
every attempt and connects to the address it checked.

**The delivery log of an organization** holds the deliveries to its own endpoints and
its alert e-mails; what the operator's all-organization endpoints received of its
events, and the e-mails to the platform's sales address about its contact-sales
requests (:mod:`creditline.services.sales`), are the operator's (``org_id=None``).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from creditline.domain import sales
from creditline.domain.alerts import Channel, email_message
from creditline.domain.deliveries import (
    RETRY_SCHEDULE,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookEndpoint,
    check_event_types,
    event_type_problems,
    next_attempt_at,
)
from creditline.domain.errors import (
    NotificationFailed,
    OrganizationNotFound,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
    WebhookUrlRefused,
)
from creditline.domain.time import Clock
from creditline.domain.webhook_urls import Resolver, UrlPolicy, check_url
from creditline.services.ids import new_id
from creditline.services.ports.payments import Transactions
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "AddWebhookEndpoint",
    "AlertMailer",
    "DeliveryRun",
    "SendOutcome",
    "WebhookSender",
    "add_endpoint",
    "deliver_due",
    "get_delivery",
    "list_deliveries",
    "new_secret",
    "remove_endpoint",
    "resend",
]

LEASE = timedelta(minutes=2)
"""How long a claimed delivery stays out of other workers' reach while it is sent."""

CONCURRENCY = 8
"""How many endpoints one run sends to at once (each one's deliveries in order)."""

MAX_ERROR_LENGTH = 1000
"""The longest error text an attempt keeps (an exception's message can be anything)."""


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """The answer to one POST: its HTTP status, or the error (a timeout, a refused
    connection) when there was none."""

    status_code: int | None
    error: str | None = None
    duration_ms: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    """POSTs a signed webhook (an adapter: :class:`creditline.adapters.notify.
    HttpWebhookSender`). Never raises for the receiver's or the network's failures."""

    def send(self, url: str, msg_id: str, body: str, secret: str) -> SendOutcome: ...


@runtime_checkable
class AlertMailer(Protocol):
    """Sends an alert's e-mail (the SMTP mailer).

    Raises :class:`~creditline.domain.errors.NotificationFailed` when the mail server
    does not accept it.
    """

    def send_alert(self, to: str, subject: str, text: str) -> None: ...


def new_secret() -> str:
    """A signing secret per the Standard Webhooks spec: ``whsec_`` and base64 of 32
    random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# -- endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddWebhookEndpoint:
    url: str
    org_id: str | None = None
    event_types: Sequence[str] = ()
    description: str | None = None


def add_endpoint(
    cmd: AddWebhookEndpoint,
    uow: UnitOfWork,
    clock: Clock,
    *,
    policy: UrlPolicy,
    resolver: Resolver,
) -> WebhookEndpoint:
    """Add an endpoint; the answer carries its secret, the only time it is shown.

    The URL is checked with ``policy`` (the networks allowed beyond public addresses)
    and its name resolved with ``resolver``; a name that does not resolve yet is
    accepted (the check before each attempt refuses it then).

    Raises:
        WebhookUrlRefused: every problem of the URL (and of the event types, if any).
        InvalidSetting: unknown event types. OrganizationNotFound.
    """
    try:
        check_url(cmd.url, policy, resolver, must_resolve=False)
    except WebhookUrlRefused as exc:
        raise WebhookUrlRefused(
            cmd.url, exc.problems + event_type_problems(cmd.event_types)
        ) from None
    check_event_types(cmd.event_types)
    secret = new_secret()
    with uow:
        if cmd.org_id is not None and uow.orgs.get(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        types = tuple(dict.fromkeys(cmd.event_types))
        endpoint = WebhookEndpoint(
            new_id("whe"), cmd.url, cmd.org_id, types, cmd.description, clock.now(),
            secret=secret,
        )  # fmt: skip
        uow.webhooks.add_endpoint(endpoint, secret)
        uow.commit()
    return endpoint


def remove_endpoint(
    endpoint_id: str, org_id: str | None, uow: UnitOfWork, clock: Clock
) -> WebhookEndpoint:
    """Disable an endpoint: nothing more is sent to it (its pending deliveries fail).

    Raises:
        WebhookEndpointNotFound: no such endpoint (or not ``org_id``'s).
    """
    with uow:
        found = uow.webhooks.endpoint(endpoint_id)
        if found is None or (org_id is not None and found.org_id != org_id):
            raise WebhookEndpointNotFound(endpoint_id)
        uow.webhooks.disable_endpoint(endpoint_id, clock.now())
        removed = uow.webhooks.endpoint(endpoint_id)
        uow.commit()
    assert removed is not None
    return removed


# -- the delivery log ------------------------------------------------------------------------


def list_deliveries(
    uow: UnitOfWork,
    org_id: str | None = None,
    endpoint_id: str | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """The delivery log, newest first: an organization's (deliveries to its own
    endpoints, and its alert e-mails) or, with ``org_id=None``, the operator's (all)."""
    with uow:
        if org_id is not None and uow.orgs.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return uow.webhooks.deliveries(org_id, endpoint_id, status, limit)


def _visible(uow: UnitOfWork, delivery: Delivery | None, org_id: str | None) -> bool:
    """Whether the delivery is in ``org_id``'s log (``None``: the operator sees all)."""
    if delivery is None or org_id is None:
        return delivery is not None
    if delivery.org_id != org_id:
        return False
    if delivery.endpoint_id is None:
        # an alert e-mail of the organization's rule (not the operator's sales e-mail)
        return delivery.rule_id is not None
    endpoint = uow.webhooks.endpoint(delivery.endpoint_id)
    return endpoint is not None and endpoint.org_id == org_id


def get_delivery(delivery_id: str, org_id: str | None, uow: UnitOfWork) -> Delivery:
    with uow:
        found = uow.webhooks.delivery(delivery_id)
        if not _visible(uow, found, org_id):
            raise WebhookDeliveryNotFound(delivery_id)
    assert found is not None
    return found


def resend(delivery_id: str, org_id: str | None, uow: UnitOfWork, clock: Clock) -> Delivery:
    """Make a delivery due now, for one more attempt (the next tick sends it).

    Raises:
        WebhookDeliveryNotFound: no such delivery (or not ``org_id``'s).
    """
    with uow:
        found = uow.webhooks.delivery(delivery_id)
        if not _visible(uow, found, org_id):
            raise WebhookDeliveryNotFound(delivery_id)
        uow.webhooks.resend(delivery_id, clock.now())
        queued = uow.webhooks.delivery(delivery_id)
        uow.commit()
    assert queued is not None
    return queued


# -- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryRun:
    """What one :func:`deliver_due` run did: attempts made, and how they ended."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


_Claim = tuple[Delivery, WebhookEndpoint | None, str | None]


def _send_email(delivery: Delivery, mailer: AlertMailer | None, tx: Transactions) -> SendOutcome:
    if mailer is None:
        return SendOutcome(None, "no mail server is configured")
    org_id = delivery.org_id
    org = None if org_id is None else tx(lambda uow: uow.orgs.get(org_id), read_only=True)
    compose = (
        sales.email_message if delivery.event_type == sales.CONTACT_REQUESTED else email_message
    )
    subject, text = compose(json.loads(delivery.payload), org.name if org else "")
    assert delivery.recipient is not None
    try:
        mailer.send_alert(delivery.recipient, subject, text)
    except NotificationFailed as exc:
        return SendOutcome(None, exc.reason)
    return SendOutcome(250)


def _send(
    claim: _Claim, sender: WebhookSender, mailer: AlertMailer | None, tx: Transactions
) -> tuple[SendOutcome, bool]:
    """The attempt's outcome, and whether it is final whatever the schedule says."""
    delivery, endpoint, secret = claim
    if delivery.channel is Channel.EMAIL:
        return _send_email(delivery, mailer, tx), False
    if endpoint is None or secret is None or not endpoint.active:
        return SendOutcome(None, "the endpoint was removed"), True
    return sender.send(endpoint.url, delivery.id, delivery.payload, secret), False


def _send_isolated(
    claim: _Claim, sender: WebhookSender, mailer: AlertMailer | None, tx: Transactions
) -> tuple[SendOutcome, bool]:
    """:func:`_send`, with anything it raises turned into this attempt's failure."""
    try:
        return _send(claim, sender, mailer, tx)
    except Exception as exc:  # rule 10: one receiver's fault stays its own
        return SendOutcome(None, f"{type(exc).__name__}: {exc}"), False


def _target(claim: _Claim) -> str:
    delivery, endpoint, _ = claim
    return endpoint.id if endpoint is not None else f"{delivery.channel}:{delivery.recipient}"


def _by_target(claimed: Sequence[_Claim]) -> list[list[_Claim]]:
    """The claim's deliveries grouped by endpoint (or e-mail address), in claim order."""
    groups: dict[str, list[_Claim]] = defaultdict(list)
    for item in claimed:
        groups[_target(item)].append(item)
    return list(groups.values())


def deliver_due(
    tx: Transactions,
    sender: WebhookSender,
    mailer: AlertMailer | None,
    clock: Clock,
    *,
    limit: int = 100,
    schedule: Sequence[timedelta] = RETRY_SCHEDULE,
    lease: timedelta = LEASE,
    concurrency: int = CONCURRENCY,
) -> DeliveryRun:
    """Send every delivery due now, ``limit`` claimed at a time, to up to
    ``concurrency`` endpoints at once (see the module docstring)."""
    counts = {s: 0 for s in DeliveryStatus}
    attempted = 0

    def attempt_all(group: list[_Claim]) -> list[DeliveryStatus]:
        statuses = []
        for item in group:
            outcome, final = _send_isolated(item, sender, mailer, tx)
            statuses.append(
                _record(tx, item, outcome=outcome, final=final, clock=clock, schedule=schedule)
            )
        return statuses

    while True:
        now = clock.now()

        def claim(uow: UnitOfWork, now: datetime = now) -> list[_Claim]:
            claimed = uow.webhooks.claim_due(now, limit, now + lease)
            uow.commit()
            return claimed

        claimed = tx(claim)
        for status in _run_groups(_by_target(claimed), attempt_all, concurrency):
            counts[status] += 1
            attempted += 1
        if len(claimed) < limit:
            break
    return DeliveryRun(
        attempted,
        counts[DeliveryStatus.DELIVERED],
        counts[DeliveryStatus.PENDING],
        counts[DeliveryStatus.FAILED],
    )


def _printable(error: str) -> str:
    """An error's text as it is stored: control characters escaped (PostgreSQL refuses a
    NUL in text), at most :data:`MAX_ERROR_LENGTH` characters."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in error)
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 3] + "..."


def _run_groups(
    groups: list[list[_Claim]],
    work: Callable[[list[_Claim]], list[DeliveryStatus]],
    concurrency: int,
) -> list[DeliveryStatus]:
    if concurrency <= 1 or len(groups) <= 1:
        return [status for group in groups for status in work(group)]
    with ThreadPoolExecutor(min(concurrency, len(groups)), "creditline-webhooks") as pool:
        return [status for statuses in pool.map(work, groups) for status in statuses]


def _record(
    tx: Transactions,
    claim: _Claim,
    *,
    outcome: SendOutcome,
    final: bool,
    clock: Clock,
    schedule: Sequence[timedelta],
) -> DeliveryStatus:
    delivery = claim[0]
    now = clock.now()
    retry = None if final or outcome.ok else next_attempt_at(delivery.attempts, now, schedule)
    if outcome.ok:
        status = DeliveryStatus.DELIVERED
    else:
        status = DeliveryStatus.FAILED if retry is None else DeliveryStatus.PENDING
    error = outcome.error or (None if outcome.ok else f"HTTP {outcome.status_code}")
    if error is not None:
        error = _printable(error)
    log = DeliveryAttempt(
        delivery.attempts, now, outcome.ok, outcome.status_code, error, outcome.duration_ms
    )

    def work(uow: UnitOfWork) -> bool:
        done = uow.webhooks.finish(delivery.id, delivery.attempts, status, retry, log)
        uow.commit()
        return done

    return status if tx(work) else DeliveryStatus.PENDING
