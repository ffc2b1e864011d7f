"""Repositories of alerts and outgoing webhooks: alert rules, their states and signals
(:class:`AlertRepository`), webhook endpoints, deliveries and attempts
(:class:`WebhookRepository`). SQLAlchemy Core, in the unit of work's transaction;
every query of these tables lives here.

Locks: :meth:`WebhookRepository.claim_due` selects due deliveries ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so two workers claim disjoint sets without waiting on each
other; on SQLite the write transaction holds the database's write lock
(``BEGIN IMMEDIATE``), which serializes claims. The state of an alert rule is only
written under the organization's lock (``uow.balances.lock``), taken by the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update

from creditline.domain.alerts import (
    AlertRule,
    AlertState,
    GraceChange,
    PaymentFailure,
    parse_params,
)
from creditline.domain.deliveries import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookEndpoint,
)
from creditline.domain.ledger import EntryType

from . import tables as t
from .records import Codec

__all__ = ["AlertRepository", "WebhookRepository"]

PAYMENT_FAILED = "payment_failed"
GRACE = "grace"
# Burn: what left the grants for use, net of what came back (holds count until released).
_BURN_TYPES = [e.value for e in (EntryType.CONSUME, EntryType.RESERVE, EntryType.RELEASE,
                                 EntryType.VOID)]  # fmt: skip


_STATE = Codec(AlertState, columns={"last_value": "last_value_micros"})
_RULE = Codec(AlertRule, skip={"params", "state"})


class AlertRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- rules and states ----------------------------------------------------------------

    def add_rule(self, rule: AlertRule, state: AlertState) -> None:
        self._conn.execute(
            insert(t.alert_rules).values(params=rule.params.to_document(), **_RULE.encode(rule))
        )
        self._conn.execute(
            insert(t.alert_states).values(org_id=rule.org_id, **_STATE.encode(state))
        )

    def _rules(self, *where: Any) -> list[AlertRule]:
        r, s = t.alert_rules, t.alert_states
        rows = self._conn.execute(
            select(r, s.c.rule_id, s.c.state, s.c.last_fired_at, s.c.last_value_micros,
                   s.c.signal_cursor, s.c.fired_count, s.c.updated_at)
            .join(s, s.c.rule_id == r.c.id).where(*where).order_by(r.c.created_at, r.c.id)
        )  # fmt: skip
        return [
            _RULE.decode(row, params=parse_params(row.params), state=_STATE.decode(row))
            for row in rows
        ]

    def rule(self, rule_id: str) -> AlertRule | None:
        found = self._rules(t.alert_rules.c.id == rule_id)
        return found[0] if found else None

    def rules(self, org_id: str, include_disabled: bool = False) -> list[AlertRule]:
        r = t.alert_rules.c
        where = [r.org_id == org_id]
        if not include_disabled:
            where.append(r.disabled_at.is_(None))
        return self._rules(*where)

    def disable_rule(self, rule_id: str, now: datetime) -> bool:
        r = t.alert_rules
        changed = self._conn.execute(
            update(r).where(r.c.id == rule_id, r.c.disabled_at.is_(None)).values(disabled_at=now)
        ).rowcount
        return bool(changed)

    def orgs_with_rules(self, limit: int = 1000, after: str | None = None) -> list[str]:
        r = t.alert_rules.c
        query = select(r.org_id).where(r.disabled_at.is_(None))
        if after is not None:
            query = query.where(r.org_id > after)
        rows = self._conn.execute(query.distinct().order_by(r.org_id).limit(limit))
        return [row.org_id for row in rows]

    def save_state(self, state: AlertState) -> None:
        s = t.alert_states
        values = _STATE.encode(state, without={"rule_id"})
        self._conn.execute(update(s).where(s.c.rule_id == state.rule_id).values(**values))

    # -- what the rules look at ------------------------------------------------------------

    def consumed(self, org_id: str, since: datetime, until: datetime) -> int:
        """Micro-credits the organization burnt from ``since`` up to and including
        ``until`` (what happened at the instant of the evaluation counts): the net of its
        consume, reserve, release and void entries dated then, never below zero."""
        e = t.ledger_entries.c
        total = self._conn.execute(
            select(func.coalesce(func.sum(e.amount_micros), 0)).where(
                e.org_id == org_id,
                e.entry_type.in_(_BURN_TYPES),
                e.occurred_at >= since,
                e.occurred_at <= until,
            )
        ).scalar()
        return max(0, -int(total or 0))

    def add_signal(
        self, org_id: str, kind: str, ref: str, data: dict[str, Any], now: datetime
    ) -> bool:
        """Record a signal once per (org, kind, ref); whether it is new."""
        g = t.alert_signals
        exists = self._conn.execute(
            select(g.c.id).where(g.c.org_id == org_id, g.c.kind == kind, g.c.ref == ref)
        ).first()
        if exists is not None:
            return False
        self._conn.execute(
            insert(g).values(org_id=org_id, kind=kind, ref=ref, data=data, created_at=now)
        )
        return True

    def last_signal(self, org_id: str) -> int:
        g = t.alert_signals.c
        found = self._conn.execute(select(func.max(g.id)).where(g.org_id == org_id)).scalar()
        return int(found or 0)

    def payment_failures(self, org_id: str, after: int, limit: int = 100) -> list[PaymentFailure]:
        g = t.alert_signals.c
        rows = self._conn.execute(
            select(g.id, g.ref, g.data, g.created_at)
            .where(g.org_id == org_id, g.kind == PAYMENT_FAILED, g.id > after)
            .order_by(g.id).limit(limit)
        )  # fmt: skip
        return [
            PaymentFailure(
                seq=int(row.id),
                invoice_id=str(row.data.get("invoice_id", row.ref)),
                amount_minor=int(row.data.get("amount_minor", 0)),
                currency=str(row.data.get("currency", "")),
                reason=str(row.data.get("reason", "")),
                at=row.created_at,
            )
            for row in rows
        ]

    def grace_changes(self, org_id: str, after: int, limit: int = 100) -> list[GraceChange]:
        g = t.alert_signals.c
        rows = self._conn.execute(
            select(g.id, g.data)
            .where(g.org_id == org_id, g.kind == GRACE, g.id > after)
            .order_by(g.id).limit(limit)
        )  # fmt: skip
        return [GraceChange(int(row.id), dict(row.data)) for row in rows]


# -- webhook endpoints, deliveries, attempts -------------------------------------------------


_ENDPOINT = Codec(WebhookEndpoint, skip={"secret"})
_DELIVERY = Codec(Delivery, skip={"attempt_log"})
_NEW_DELIVERY = (
    "id", "channel", "endpoint_id", "recipient", "org_id", "rule_id", "event_type",
    "payload", "status", "attempts", "next_attempt_at", "created_at",
)  # fmt: skip
"""The fields stored with a new delivery (the others come with its attempts)."""
_ATTEMPT = Codec(DeliveryAttempt, columns={"number": "attempt_no"})


def _endpoint(row: Row[Any], with_secret: bool = False) -> WebhookEndpoint:
    return _ENDPOINT.decode(row, secret=row.secret if with_secret else None)


def _delivery(row: Row[Any], attempts: Sequence[DeliveryAttempt] = ()) -> Delivery:
    return _DELIVERY.decode(row, attempt_log=tuple(attempts))


class WebhookRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- endpoints -------------------------------------------------------------------------

    def add_endpoint(self, endpoint: WebhookEndpoint, secret: str) -> None:
        self._conn.execute(
            insert(t.webhook_endpoints).values(
                secret=secret, **_ENDPOINT.encode(endpoint, without={"disabled_at"})
            )
        )

    def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        w = t.webhook_endpoints
        row = self._conn.execute(select(w).where(w.c.id == endpoint_id)).first()
        return None if row is None else _endpoint(row)

    def endpoints(
        self, org_id: str | None = None, include_disabled: bool = False
    ) -> list[WebhookEndpoint]:
        """An organization's endpoints (``None``: every endpoint), oldest first."""
        w = t.webhook_endpoints.c
        query = select(t.webhook_endpoints).order_by(w.created_at, w.id)
        if org_id is not None:
            query = query.where(w.org_id == org_id)
        if not include_disabled:
            query = query.where(w.disabled_at.is_(None))
        return [_endpoint(row) for row in self._conn.execute(query)]

    def disable_endpoint(self, endpoint_id: str, now: datetime) -> bool:
        w = t.webhook_endpoints
        changed = self._conn.execute(
            update(w).where(w.c.id == endpoint_id, w.c.disabled_at.is_(None))
            .values(disabled_at=now)
        ).rowcount  # fmt: skip
        return bool(changed)

    def subscribers(self, org_id: str) -> list[WebhookEndpoint]:
        """The active endpoints that get the organization's events: its own and the
        operator's (the event type filter is the caller's, :meth:`WebhookEndpoint.wants`)."""
        w = t.webhook_endpoints.c
        rows = self._conn.execute(
            select(t.webhook_endpoints)
            .where(w.disabled_at.is_(None), or_(w.org_id == org_id, w.org_id.is_(None)))
            .order_by(w.created_at, w.id)
        )  # fmt: skip
        return [_endpoint(row) for row in rows]

    # -- deliveries ------------------------------------------------------------------------

    def add_deliveries(self, deliveries: Sequence[Delivery], now: datetime) -> None:
        if not deliveries:
            return
        self._conn.execute(
            insert(t.webhook_deliveries),
            [{**_DELIVERY.encode(d, *_NEW_DELIVERY), "updated_at": now} for d in deliveries],
        )

    def claim_due(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[tuple[Delivery, WebhookEndpoint | None, str | None]]:
        """Claim up to ``limit`` due deliveries: each one's attempt count goes up by one
        and its next attempt moves to ``lease_until``, so that no other worker takes it
        while this one sends it. Returns each delivery (with the attempt number it now
        carries), its endpoint and the endpoint's secret."""
        d = t.webhook_deliveries
        due = self._conn.execute(
            select(d)
            .where(d.c.status == DeliveryStatus.PENDING.value, d.c.next_attempt_at <= now)
            .order_by(d.c.next_attempt_at, d.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=d)
        ).all()
        if not due:
            return []
        ids = [row.id for row in due]
        self._conn.execute(
            update(d).where(d.c.id.in_(ids))
            .values(attempts=d.c.attempts + 1, next_attempt_at=lease_until, updated_at=now)
        )  # fmt: skip
        endpoints = self._endpoints_with_secrets({row.endpoint_id for row in due} - {None})
        claimed = []
        for row in due:
            delivery = replace(_delivery(row), attempts=int(row.attempts) + 1)
            endpoint, secret = endpoints.get(row.endpoint_id, (None, None))
            claimed.append((delivery, endpoint, secret))
        return claimed

    def _endpoints_with_secrets(self, ids: set[str]) -> dict[str, tuple[WebhookEndpoint, str]]:
        if not ids:
            return {}
        w = t.webhook_endpoints
        rows = self._conn.execute(select(w).where(w.c.id.in_(sorted(ids))))
        return {row.id: (_endpoint(row), row.secret) for row in rows}

    def finish(
        self,
        delivery_id: str,
        attempt: int,
        status: DeliveryStatus,
        next_attempt_at: datetime | None,
        log: DeliveryAttempt,
    ) -> bool:
        """Record an attempt's outcome, if the delivery still carries that attempt (a
        worker whose lease ran out and was overtaken changes nothing but the log)."""
        d = t.webhook_deliveries
        self._conn.execute(
            insert(t.webhook_attempts).values(delivery_id=delivery_id, **_ATTEMPT.encode(log))
        )
        changed = self._conn.execute(
            update(d)
            .where(d.c.id == delivery_id, d.c.attempts == attempt,
                   d.c.status == DeliveryStatus.PENDING.value)
            .values(
                status=status.value, next_attempt_at=next_attempt_at, updated_at=log.at,
                last_status_code=log.status_code, last_error=log.error,
                delivered_at=log.at if status is DeliveryStatus.DELIVERED else None,
            )
        ).rowcount  # fmt: skip
        return bool(changed)

    def delivery(self, delivery_id: str) -> Delivery | None:
        d, a = t.webhook_deliveries, t.webhook_attempts
        row = self._conn.execute(select(d).where(d.c.id == delivery_id)).first()
        if row is None:
            return None
        attempts = self._conn.execute(
            select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.attempt_no)
        )
        log = [_ATTEMPT.decode(r) for r in attempts]
        return _delivery(row, log)

    def deliveries(
        self,
        org_id: str | None = None,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first, of an organization (to its own endpoints, and its
        alert e-mails; not what the operator's endpoints got of its events), an
        endpoint, a status."""
        d = t.webhook_deliveries.c
        query = select(t.webhook_deliveries)
        if org_id is not None:
            own = select(t.webhook_endpoints.c.id).where(t.webhook_endpoints.c.org_id == org_id)
            alert_email = and_(d.endpoint_id.is_(None), d.rule_id.is_not(None))
            query = query.where(d.org_id == org_id, or_(alert_email, d.endpoint_id.in_(own)))
        if endpoint_id is not None:
            query = query.where(d.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(d.status == status.value)
        rows = self._conn.execute(query.order_by(d.created_at.desc(), d.id.desc()).limit(limit))
        return [_delivery(row) for row in rows]

    def resend(self, delivery_id: str, now: datetime) -> bool:
        """Make a delivery due now, whatever its status; whether it exists."""
        d = t.webhook_deliveries
        changed = self._conn.execute(
            update(d).where(d.c.id == delivery_id).values(
                status=DeliveryStatus.PENDING.value, next_attempt_at=now, updated_at=now,
                delivered_at=None,
            )
        ).rowcount  # fmt: skip
        return bool(changed)
