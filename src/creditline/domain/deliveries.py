"""Outgoing notifications: webhook endpoints, deliveries and their retry schedule.

A **webhook endpoint** is a URL that receives alert events, signed per the Standard
Webhooks spec with the endpoint's secret (``whsec_`` and base64 of 32 random bytes,
shown once when the endpoint is added). An endpoint belongs to one organization or,
without one, to the operator: it receives the events of every organization. It can
subscribe to some event types only (none listed: all of them).

A **delivery** is one event on its way to one endpoint (or to one e-mail address):
its id is the message id (``msg_...``, the ``webhook-id`` header), the same on every
attempt so that a receiver can drop the duplicates that at-least-once delivery
brings. Its payload is stored as the exact JSON text that is signed and sent.

**Status**: ``pending`` (to be tried at ``next_attempt_at``), ``delivered`` (a 2xx
answer; an e-mail accepted by the mail server), ``failed`` (every attempt failed).
An attempt that gets no 2xx answer in time is retried after the next delay of
:data:`RETRY_SCHEDULE`: 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours
and 10 hours (the Standard Webhooks spec's example schedule), so the last of the
:data:`MAX_ATTEMPTS` (8) attempts comes about 27.6 hours after the first; after it
the delivery is ``failed``. A manual re-send puts any delivery back to ``pending``,
due now, for one more attempt (more if it had attempts left).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditline.domain.alerts import Channel, event_types
from creditline.domain.budgets import BUDGET_THRESHOLD
from creditline.domain.errors import InvalidSetting
from creditline.domain.sales import CONTACT_REQUESTED

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_SCHEDULE",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "WebhookEndpoint",
    "check_event_types",
    "event_type_problems",
    "next_attempt_at",
    "subscribable_event_types",
]

RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""The delay after each failed attempt before the next one."""

MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def next_attempt_at(
    attempts: int, failed_at: datetime, schedule: Sequence[timedelta] = RETRY_SCHEDULE
) -> datetime | None:
    """When to try again after the ``attempts``-th attempt failed at ``failed_at``;
    ``None``: that was the last one."""
    if attempts < 1 or attempts > len(schedule):
        return None
    return failed_at + schedule[attempts - 1]


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A URL alert events are POSTed to (see the module docstring).

    Attributes:
        id: ``whe_...``.
        url: where to POST.
        org_id: the organization whose events it gets; ``None``: every organization's.
        event_types: the event types it gets; empty: all.
        description: a note for people.
        secret: the signing secret, only when the endpoint has just been added.
        created_at, disabled_at: when it was added and removed.
    """

    id: str
    url: str
    org_id: str | None
    event_types: tuple[str, ...]
    description: str | None
    created_at: datetime
    disabled_at: datetime | None = None
    secret: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def wants(self, org_id: str, event_type: str) -> bool:
        """Whether an event of ``org_id`` and ``event_type`` goes to this endpoint."""
        return (
            self.active
            and self.org_id in (None, org_id)
            and (not self.event_types or event_type in self.event_types)
        )


def subscribable_event_types() -> tuple[str, ...]:
    """Every event type an endpoint can subscribe to, sorted: the alerts', the budgets'
    (``budget.threshold_reached``, :mod:`creditline.domain.budgets`), and
    ``sales.contact_requested`` (sent to the operator's endpoints only, those of no
    organization; see :mod:`creditline.domain.sales`)."""
    return tuple(sorted({*event_types(), CONTACT_REQUESTED, BUDGET_THRESHOLD}))


def event_type_problems(types: Sequence[str]) -> list[str]:
    """Every problem of an endpoint's event types (its URL is
    :func:`creditline.domain.webhook_urls.check_url`'s)."""
    known = subscribable_event_types()
    return [f"event type: {t!r} is not one of {list(known)}" for t in types if t not in known]


def check_event_types(types: Sequence[str]) -> None:
    """Raises InvalidSetting listing every unknown event type."""
    problems = event_type_problems(types)
    if problems:
        raise InvalidSetting("webhook event types", list(types), "; ".join(problems))


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try of a delivery: when, and the answer (an HTTP status) or the error."""

    number: int
    at: datetime
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one endpoint or address (see the module docstring).

    Attributes:
        id: the message id, ``msg_...`` (the ``webhook-id`` header).
        channel: ``webhook`` or ``email``.
        endpoint_id: the endpoint (``webhook``).
        recipient: the address (``email``).
        org_id: the organization the event is about.
        rule_id: the alert rule that fired it.
        event_type: ``credits.depleted``...
        payload: the exact JSON text sent (and signed).
        status: ``pending``, ``delivered`` or ``failed``.
        attempts: how many attempts were made (started).
        next_attempt_at: when the next attempt is due (``pending`` only).
        last_status_code, last_error: the last attempt's answer.
        created_at, delivered_at: when it was enqueued and delivered.
        attempt_log: every attempt, oldest first (when read with them).
    """

    id: str
    channel: Channel
    endpoint_id: str | None
    recipient: str | None
    org_id: str | None
    rule_id: str | None
    event_type: str
    payload: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    attempt_log: tuple[DeliveryAttempt, ...] = ()
