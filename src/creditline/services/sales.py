"""Country gating and contact sales (D8): whether an organization can buy self-serve,
and recording what it asks sales for (see :mod:`creditline.domain.countries` for the
rule and :mod:`creditline.domain.sales` for the request and its event).

:func:`contact_sales` works in **one transaction**: it checks the request, reads the
organization (its country is recorded with the request), the member (who must be the
organization's; the reply address defaults to theirs) and the pack (which must be in the
catalogue), stores the request and enqueues its ``sales.contact_requested`` event in the
outbox of the alerts (:mod:`creditline.services.deliveries` signs and sends it after the
commit, with the usual retries): one delivery per **operator** webhook endpoint (an
endpoint of no organization) subscribed to the type, and one e-mail to the platform's
sales address when one is set and the engine has a mail server. An organization's own
endpoints never get it (it is the platform's business, not the organization's).

:func:`self_serve` answers whether an organization can buy through the checkout now;
the purchase service refuses with :class:`~creditline.domain.errors.SelfServeUnavailable`
before it opens anything at the payment provider (:mod:`creditline.services.purchases`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from creditline.domain.alerts import Channel
from creditline.domain.countries import SelfServeCountries
from creditline.domain.deliveries import Delivery, DeliveryStatus
from creditline.domain.errors import (
    InvalidSetting,
    MemberNotFound,
    OrganizationNotFound,
    PackNotFound,
    SalesRequestNotFound,
    SelfServeUnavailable,
)
from creditline.domain.organizations import Organization
from creditline.domain.sales import (
    CONTACT_REQUESTED,
    SalesRequest,
    SalesRequestSource,
    check_request,
)
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "ContactSales",
    "SelfServe",
    "contact_sales",
    "get_request",
    "list_requests",
    "require_self_serve",
    "self_serve",
]


@dataclass(frozen=True, slots=True)
class SelfServe:
    """Whether an organization can buy credits self-serve now.

    Attributes:
        org_id: the organization.
        country: its country (``None``: not given).
        available: it can buy through the checkout; otherwise it contacts sales.
        countries: the platform's list (``None``: everywhere).
    """

    org_id: str
    country: str | None
    available: bool
    countries: tuple[str, ...] | None


def require_self_serve(org: Organization, policy: SelfServeCountries) -> None:
    """Raises SelfServeUnavailable when ``org`` cannot buy self-serve under ``policy``."""
    if not policy.allows(org.country):
        raise SelfServeUnavailable(org.id, org.country)


def self_serve(org_id: str, uow: UnitOfWork, policy: SelfServeCountries) -> SelfServe:
    """Raises OrganizationNotFound."""
    with uow:
        org = uow.orgs.get(org_id)
    if org is None:
        raise OrganizationNotFound(org_id)
    return SelfServe(org.id, org.country, policy.allows(org.country), policy.countries)


@dataclass(frozen=True, slots=True)
class ContactSales:
    """Ask sales about buying: a pack or an amount (micro-credits), or neither."""

    org_id: str
    pack: str | None = None
    credits: int | None = None
    message: str | None = None
    member_id: str | None = None
    email: str | None = None
    source: SalesRequestSource = SalesRequestSource.API


def _body(request: SalesRequest, org_name: str) -> str:
    """The exact JSON text sent and signed."""
    payload = request.payload(org_name)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _deliveries(
    uow: UnitOfWork, request: SalesRequest, org_name: str, sales_email: str | None
) -> list[Delivery]:
    body = _body(request, org_name)
    now = request.created_at
    targets: list[tuple[Channel, str | None, str | None]] = [
        (Channel.WEBHOOK, e.id, None)
        for e in uow.webhooks.endpoints(None)
        if e.org_id is None and e.wants(request.org_id, CONTACT_REQUESTED)
    ]
    if sales_email:
        targets.append((Channel.EMAIL, None, sales_email))
    return [
        Delivery(new_id("msg"), channel, endpoint, recipient, request.org_id, None,
                 CONTACT_REQUESTED, body, DeliveryStatus.PENDING, 0, now, now)
        for channel, endpoint, recipient in targets
    ]  # fmt: skip


def contact_sales(
    cmd: ContactSales, uow: UnitOfWork, clock: Clock, *, sales_email: str | None = None
) -> SalesRequest:
    """Record a contact-sales request and enqueue its event (see the module docstring);
    ``sales_email``: the address it is e-mailed to (``None``: no e-mail).

    Raises:
        InvalidSetting, InvalidAmount: a bad request; nothing was recorded.
        OrganizationNotFound, MemberNotFound, PackNotFound: nothing was recorded.
    """
    pack, credits, message, email = check_request(cmd.pack, cmd.credits, cmd.message, cmd.email)
    try:
        source = SalesRequestSource(cmd.source)
    except ValueError:
        raise InvalidSetting("source", cmd.source, "portal or api") from None
    with uow:
        org = uow.orgs.get(cmd.org_id)
        if org is None:
            raise OrganizationNotFound(cmd.org_id)
        if cmd.member_id is not None:
            member = uow.orgs.member(cmd.org_id, cmd.member_id)
            if member is None:
                raise MemberNotFound(cmd.member_id)
            email = email or member.email
        if pack is not None:
            catalogue = uow.packs.get()
            if catalogue is None:
                raise PackNotFound(pack)
            pack = catalogue.pack(pack).name
        request = SalesRequest(
            id=new_id("csr"), org_id=org.id, country=org.country, member_id=cmd.member_id,
            email=email, pack=pack, credits=credits, message=message, source=source,
            created_at=clock.now(),
        )  # fmt: skip
        uow.sales.add(request)
        uow.webhooks.add_deliveries(
            _deliveries(uow, request, org.name, sales_email), request.created_at
        )
        uow.commit()
    return request


def list_requests(
    uow: UnitOfWork, org_id: str | None = None, limit: int = 100
) -> list[SalesRequest]:
    """Requests, newest first: an organization's, or (``None``) every organization's.

    Raises:
        InvalidSetting: a limit outside 1 to 10000. OrganizationNotFound.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidSetting("limit", limit, "must be between 1 and 10000")
    with uow:
        if org_id is not None and uow.orgs.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return uow.sales.recent(org_id, limit)


def get_request(request_id: str, org_id: str | None, uow: UnitOfWork) -> SalesRequest:
    """One request (``org_id``: only if it is that organization's).

    Raises:
        SalesRequestNotFound: no such request (or not ``org_id``'s).
    """
    with uow:
        found = uow.sales.get(request_id)
    if found is None or (org_id is not None and found.org_id != org_id):
        raise SalesRequestNotFound(request_id)
    return found
