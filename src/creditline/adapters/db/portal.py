"""The web dashboard's storage: the signing key every process shares, and the reads of
the operator console and the customer portal that no other repository answers.

- :class:`SigningKeyRepository` (table ``web_signing_keys``): the key that signs portal
  links and the dashboard's session cookies, made at random on first use with
  ``INSERT ... ON CONFLICT DO NOTHING``, so that two processes starting at once agree
  on one key (the loser of the race reads the winner's).
- :class:`DashboardRepository`: organizations found by name, reference or id; the
  payment provider's webhook events; purchases across organizations; a purchase by its
  idempotency key; the events of one usage batch.
- :class:`KeySigner`: signs and verifies with the stored key (itsdangerous).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, func, or_, select

from creditline.domain.organizations import Organization
from creditline.domain.purchases import Purchase
from creditline.domain.usage import StoredUsage

from . import tables as t
from .billing.purchases import PurchaseRepository
from .inserts import insert_once
from .repositories import OrganizationRepository, UsageRepository

__all__ = [
    "DashboardRepository",
    "KeySigner",
    "PaymentEventRow",
    "SigningKeyRepository",
]

_K = t.web_signing_keys.c
_O = t.organizations.c
_W = t.webhook_events.c
_P = t.purchases.c
_U = t.usage_events.c


class SigningKeyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, name: str) -> bytes | None:
        secret = self._conn.execute(select(_K.secret).where(_K.name == name)).scalar()
        return None if secret is None else bytes.fromhex(secret)

    def add(self, name: str, key: bytes, now: datetime) -> None:
        """Store ``key`` as ``name`` unless a key of that name is stored already (which
        then stays: read it back with :meth:`get`)."""
        insert_once(self._conn, t.web_signing_keys, name=name, secret=key.hex(), created_at=now)


PaymentEventRow = tuple[str, str, str, str, str | None, datetime]
"""A payment provider's webhook event: provider, event id, type, outcome, the purchase
or invoice it concerned, when it was received."""


class DashboardRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def find_orgs(
        self, search: str | None, limit: int = 50, after_id: str | None = None
    ) -> list[Organization]:
        """Organizations by id whose name contains ``search`` (any case), or whose id or
        external reference is ``search``; all of them without one."""
        query = select(_O.id).order_by(_O.id).limit(limit)
        if after_id is not None:
            query = query.where(_O.id > after_id)
        if search:
            query = query.where(
                or_(
                    func.lower(_O.name).contains(search.lower(), autoescape=True),
                    _O.external_ref == search,
                    _O.id == search,
                )
            )
        ids = list(self._conn.execute(query).scalars())
        orgs = OrganizationRepository(self._conn)
        found = [orgs.get(org_id) for org_id in ids]
        return [o for o in found if o is not None]

    def payment_events(self, limit: int = 100) -> list[PaymentEventRow]:
        """The payment provider's webhook events, newest first."""
        rows = self._conn.execute(
            select(_W.provider, _W.event_id, _W.event_type, _W.outcome, _W.ref, _W.received_at)
            .order_by(_W.received_at.desc(), _W.event_id)
            .limit(limit)
        )
        return [
            (r.provider, r.event_id, r.event_type, r.outcome, r.ref, r.received_at) for r in rows
        ]

    def recent_purchases(self, limit: int = 100) -> list[Purchase]:
        """Every organization's purchases, newest first."""
        ids = self._conn.execute(
            select(_P.id).order_by(_P.created_at.desc(), _P.id.desc()).limit(limit)
        ).scalars()
        store = PurchaseRepository(self._conn)
        found = [store.by_id(purchase_id) for purchase_id in ids]
        return [p for p in found if p is not None]

    def purchase_by_key(self, org_id: str, key: str) -> Purchase | None:
        return PurchaseRepository(self._conn).by_key(org_id, key)

    def batch_events(self, org_id: str, batch_id: str, limit: int = 500) -> list[StoredUsage]:
        """The organization's events of one usage batch, in the order they were stored."""
        ids = self._conn.execute(
            select(_U.event_id)
            .where(_U.org_id == org_id, _U.batch_id == batch_id)
            .order_by(_U.id)
            .limit(limit)
        ).scalars()
        keys = [(org_id, event_id) for event_id in ids]
        found = UsageRepository(self._conn).existing_many(keys)
        return [found[k] for k in keys if k in found]


class KeySigner:
    """Signs JSON-able mappings into URL-safe text with one secret key, a salt per
    purpose (a portal link never verifies as a cookie), and verifies them back."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self._key, salt=f"creditline.web.{purpose}")

    def sign(self, purpose: str, data: Mapping[str, Any]) -> str:
        text: str = self._serializer(purpose).dumps(dict(data))
        return text

    def unsign(self, purpose: str, token: str) -> dict[str, Any] | None:
        """The signed mapping, or ``None`` when ``token`` does not verify."""
        try:
            value = self._serializer(purpose).loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, dict) else None
