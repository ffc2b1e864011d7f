"""The web dashboard's use cases: portal sessions, the signing key behind them, a test
webhook, and the reads of the operator console (see :mod:`creditline.domain.portal`).

- :func:`signing_key`: the one key that signs portal links and the dashboard's cookies,
  read from storage, or made at random and stored on first use (a race between two
  processes stores one key: the other reads it back).
- :func:`create_portal_session`: a signed link into one organization's portal, for the
  platform's backend to redirect its user to; :func:`open_portal_link` checks one.
- :func:`queue_test_webhook`: enqueue a signed ``webhook.test`` delivery to one of the
  organization's endpoints (the next tick sends it, as any delivery).
- :class:`Dashboard`: the reads the console needs (organizations with their balance and
  state, the payment provider's events, purchases across organizations) and the
  portal's (a purchase by the key its checkout was started with, a batch's events).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from creditline.domain.alerts import Channel
from creditline.domain.balances import Balance, summarize
from creditline.domain.deliveries import Delivery, DeliveryStatus
from creditline.domain.errors import (
    MemberNotFound,
    OrganizationNotFound,
    PurchaseNotFound,
    WebhookEndpointNotFound,
)
from creditline.domain.organizations import Organization
from creditline.domain.portal import (
    AccountState,
    PortalClaims,
    PortalLinkInvalid,
    PortalSession,
    account_state,
    check_ttl,
)
from creditline.domain.purchases import Purchase
from creditline.domain.time import Clock
from creditline.domain.usage import Metering, StoredUsage
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "KEY_NAME",
    "LINK",
    "TEST_EVENT",
    "CreatePortalSession",
    "Dashboard",
    "OrgSummary",
    "PaymentEvent",
    "PortalUnitOfWork",
    "Signer",
    "create_portal_session",
    "open_portal_link",
    "queue_test_webhook",
    "signing_key",
]

T = TypeVar("T")

KEY_NAME = "web"
"""The name of the stored key that signs links and cookies."""
LINK = "portal-link"
"""What a portal link's signature is for (its salt: a link never verifies as a cookie)."""
TEST_EVENT = "webhook.test"
"""The event type of a test delivery."""


class SigningKeyStore(Protocol):
    def get(self, name: str) -> bytes | None: ...
    def add(self, name: str, key: bytes, now: datetime) -> None: ...


class DashboardStore(Protocol):
    def find_orgs(
        self, search: str | None, limit: int = 50, after_id: str | None = None
    ) -> list[Organization]: ...
    def payment_events(
        self, limit: int = 100
    ) -> list[tuple[str, str, str, str, str | None, datetime]]: ...
    def recent_purchases(self, limit: int = 100) -> list[Purchase]: ...
    def purchase_by_key(self, org_id: str, key: str) -> Purchase | None: ...
    def batch_events(self, org_id: str, batch_id: str, limit: int = 500) -> list[StoredUsage]: ...


class PortalUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds the dashboard's stores."""

    @property
    def signing_keys(self) -> SigningKeyStore: ...
    @property
    def dashboard(self) -> DashboardStore: ...


class Signer(Protocol):
    """Signs a JSON-able mapping for one purpose; verifies it back (``None``: it does not
    verify). The adapter: :class:`creditline.adapters.db.portal.KeySigner`."""

    def sign(self, purpose: str, data: Mapping[str, Any]) -> str: ...
    def unsign(self, purpose: str, token: str) -> dict[str, Any] | None: ...


class PortalTransactions(Protocol):
    """Runs ``work`` in one portal unit of work, retried whole on transient conflicts."""

    def __call__(self, work: Callable[[PortalUnitOfWork], T], *, read_only: bool = False) -> T: ...


# -- the signing key -----------------------------------------------------------------------


def signing_key(uow: PortalUnitOfWork, clock: Clock) -> bytes:
    """The stored key; on first use a new random one (32 bytes), stored in the same
    transaction. Whoever stores first wins; everyone reads the winner's key. Runs in
    the caller's open unit of work (:class:`PortalTransactions`)."""
    found = uow.signing_keys.get(KEY_NAME)
    if found is not None:
        return found
    uow.signing_keys.add(KEY_NAME, secrets.token_bytes(32), clock.now())
    stored = uow.signing_keys.get(KEY_NAME)
    uow.commit()
    assert stored is not None
    return stored


# -- portal sessions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreatePortalSession:
    """Make a link into ``org_id``'s portal, lasting ``ttl_seconds`` (30 to 3600)."""

    org_id: str
    member_id: str | None = None
    read_only: bool = False
    ttl_seconds: int = 300


def create_portal_session(
    cmd: CreatePortalSession, uow: UnitOfWork, clock: Clock, signer: Signer
) -> PortalSession:
    """A signed portal link for the organization (and member).

    Raises:
        InvalidSetting: a lifetime out of range.
        OrganizationNotFound, MemberNotFound: no such organization, or no such member of it.
    """
    ttl = check_ttl(cmd.ttl_seconds)
    with uow:
        if uow.orgs.get(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        if cmd.member_id is not None and uow.orgs.member(cmd.org_id, cmd.member_id) is None:
            raise MemberNotFound(cmd.member_id)
    claims = PortalClaims(
        cmd.org_id,
        cmd.member_id,
        bool(cmd.read_only),
        PortalClaims.expiry(clock.now(), ttl),
        nonce=secrets.token_urlsafe(9),
    )
    return PortalSession.of(signer.sign(LINK, claims.to_dict()), claims)


def open_portal_link(token: str, signer: Signer, clock: Clock) -> PortalSession:
    """The portal link ``token`` is, checked.

    Raises:
        PortalLinkInvalid: it does not verify (tampered with, another key, another shape).
        PortalLinkExpired: it has expired.
    """
    data = signer.unsign(LINK, token)
    if data is None:
        raise PortalLinkInvalid()
    claims = PortalClaims.from_dict(data).check(clock.now())
    return PortalSession.of(token, claims)


# -- a test delivery ----------------------------------------------------------------------------


def queue_test_webhook(org_id: str, endpoint_id: str, uow: UnitOfWork, clock: Clock) -> Delivery:
    """Enqueue a ``webhook.test`` delivery to one of the organization's active endpoints,
    due now; it is signed and sent like any other (retries and log included).

    Raises:
        WebhookEndpointNotFound: no such endpoint, not the organization's, or disabled.
    """
    with uow:
        endpoint = uow.webhooks.endpoint(endpoint_id)
        if endpoint is None or endpoint.org_id != org_id or not endpoint.active:
            raise WebhookEndpointNotFound(endpoint_id)
        now = clock.now()
        payload = {
            "type": TEST_EVENT,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"org_id": org_id, "endpoint_id": endpoint_id, "test": True},
        }
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        delivery = Delivery(
            new_id("msg"), Channel.WEBHOOK, endpoint_id, None, org_id, None, TEST_EVENT, body,
            DeliveryStatus.PENDING, 0, now, now,
        )  # fmt: skip
        uow.webhooks.add_deliveries([delivery], now)
        uow.commit()
    return delivery


# -- the dashboard's reads ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrgSummary:
    """An organization in the console's list: its balance now and where it stands."""

    org: Organization
    balance: Balance
    metering: Metering
    state: AccountState


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """One webhook event of the payment provider, as processed.

    Attributes:
        provider: ``stripe``.
        event_id: the provider's event id.
        type: ``checkout.session.completed``...
        outcome: what it did (``granted``, ``duplicate``, ``ignored``...).
        ref: the purchase or invoice it concerned, if any.
        received_at: when it was processed.
    """

    provider: str
    event_id: str
    type: str
    outcome: str
    ref: str | None
    received_at: datetime


class Dashboard:
    """The web dashboard's reads and the signer of its links and cookies (one per
    engine: ``Creditline.dashboard``). Thread-safe."""

    def __init__(
        self,
        tx: PortalTransactions,
        clock: Clock,
        make_signer: Callable[[bytes], Signer],
    ) -> None:
        self._tx = tx
        self._clock = clock
        self._make_signer = make_signer
        self._signer: Signer | None = None
        self._lock = threading.Lock()

    def signer(self) -> Signer:
        """The signer on the stored key (read, or made, once per engine)."""
        with self._lock:
            if self._signer is None:
                key = self._tx(lambda uow: signing_key(uow, self._clock))
                self._signer = self._make_signer(key)
            return self._signer

    def find_orgs(
        self, search: str | None = None, limit: int = 50, after_id: str | None = None
    ) -> list[OrgSummary]:
        """Organizations by id (a name containing ``search``, or that id or external
        reference), each with its balance and state, in one read."""
        now = self._clock.now()

        def work(uow: PortalUnitOfWork) -> list[OrgSummary]:
            orgs = uow.dashboard.find_orgs((search or "").strip() or None, limit, after_id)
            ids = [o.id for o in orgs]
            active = uow.grants.active_many(ids)
            meterings = uow.usage.metering(ids)
            found = []
            for org in orgs:
                cached = uow.balances.get(org.id)
                total, held = (cached[0], cached[2]) if cached else (0, 0)
                balance = summarize(org.id, total, active.get(org.id, []), now, held)
                metering = meterings[org.id]
                state = account_state(metering.depletion, metering.flex_enabled, balance.available)
                found.append(OrgSummary(org, balance, metering, state))
            return found

        return self._tx(work, read_only=True)

    def payment_events(self, limit: int = 100) -> list[PaymentEvent]:
        """The payment provider's webhook events, newest first."""
        rows = self._tx(lambda uow: uow.dashboard.payment_events(limit), read_only=True)
        return [PaymentEvent(*row) for row in rows]

    def recent_purchases(self, limit: int = 100) -> list[Purchase]:
        """Every organization's purchases, newest first."""
        return self._tx(lambda uow: uow.dashboard.recent_purchases(limit), read_only=True)

    def purchase_by_key(self, org_id: str, key: str) -> Purchase:
        """The organization's purchase started with idempotency key ``key``.

        Raises:
            PurchaseNotFound: none (or another organization's).
        """
        found = self._tx(lambda uow: uow.dashboard.purchase_by_key(org_id, key), read_only=True)
        if found is None:
            raise PurchaseNotFound(key)
        return found

    def batch_events(self, org_id: str, batch_id: str, limit: int = 500) -> list[StoredUsage]:
        """The organization's events of one usage batch (none: another organization's
        batch, or no such batch)."""
        return self._tx(
            lambda uow: uow.dashboard.batch_events(org_id, batch_id, limit), read_only=True
        )
