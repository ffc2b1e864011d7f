"""Portal links and the key that signs them, on SQLite and PostgreSQL: one key per
database, made on first use, shared by every engine (every server process) and kept
across restarts; links that expire on time and verify nowhere else; test webhooks."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from creditline import Creditline, ManualClock, credits
from creditline.adapters.db.engine import make_engine
from creditline.adapters.db.tables import web_signing_keys
from creditline.domain.deliveries import DeliveryStatus
from creditline.domain.errors import (
    InvalidSetting,
    MemberNotFound,
    OrganizationNotFound,
    WebhookEndpointNotFound,
)
from creditline.domain.portal import PortalLinkExpired, PortalLinkInvalid
from creditline.services.deliveries import SendOutcome


def _stored_keys(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(web_signing_keys)).scalar_one()
            )
    finally:
        engine.dispose()


def test_every_engine_on_a_database_signs_with_its_one_key_kept_across_restarts(
    db_url: str, clock: ManualClock
) -> None:
    first = Creditline.open(db_url, clock=clock)
    org = first.create_org("Acme").id
    link = first.create_portal_session(org, read_only=True)
    second = Creditline.open(db_url, clock=clock)
    try:
        assert second.open_portal_link(link.token) == link
        first.close()
        restarted = Creditline.open(db_url, clock=clock)
        try:
            assert restarted.open_portal_link(link.token) == link
            assert first.dashboard.signer() is first.dashboard.signer()  # read once
        finally:
            restarted.close()
    finally:
        second.close()
    assert _stored_keys(db_url) == 1


def test_engines_racing_to_make_the_first_key_all_sign_with_the_same_one(
    db_url: str, clock: ManualClock
) -> None:
    engines = [Creditline.open(db_url, clock=clock) for _ in range(4)]
    try:
        assert _stored_keys(db_url) == 0
        start = threading.Barrier(len(engines))
        signed: list[str] = []

        def sign(cl: Creditline) -> None:
            start.wait()
            signed.append(cl.dashboard.signer().sign("test", {"n": 1}))

        threads = [threading.Thread(target=sign, args=(cl,)) for cl in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(signed) == len(engines)
        assert len(set(signed)) == 1
    finally:
        for cl in engines:
            cl.close()
    assert _stored_keys(db_url) == 1


def test_a_link_opens_until_its_lifetime_is_over_and_not_a_second_more(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Acme").id
    member = cl.add_member(org, "Ada").id
    link = cl.create_portal_session(org, member_id=member, ttl_seconds=30)
    assert link.url == f"/portal/session/{link.token}"
    assert (link.org_id, link.member_id, link.read_only) == (org, member, False)
    assert link.expires_at == clock.now() + timedelta(seconds=30)
    clock.advance(timedelta(seconds=29))
    assert cl.open_portal_link(link.token) == link
    clock.advance(timedelta(seconds=1))
    with pytest.raises(PortalLinkExpired) as expired:
        cl.open_portal_link(link.token)
    assert expired.value.expired_at == link.expires_at
    assert str(expired.value) == "this link has expired, ask for a new one"


def test_a_tampered_link_or_one_signed_elsewhere_is_not_valid(
    cl: Creditline, clock: ManualClock, tmp_path: Path
) -> None:
    org = cl.create_org("Acme").id
    other = cl.create_org("Other").id
    link = cl.create_portal_session(org)
    payload, _, signature = link.token.partition(".")
    forged = cl.create_portal_session(other).token.partition(".")[0] + "." + signature
    elsewhere = Creditline.open(f"sqlite:///{tmp_path / 'elsewhere.db'}", clock=clock)
    try:
        foreign = elsewhere.create_portal_session(elsewhere.create_org("Acme").id).token
    finally:
        elsewhere.close()
    for token in (forged, payload + ".x" + signature, payload, "", foreign):
        with pytest.raises(PortalLinkInvalid) as invalid:
            cl.open_portal_link(token)
        assert not isinstance(invalid.value, PortalLinkExpired)
        assert str(invalid.value) == "this link is not valid"


def test_a_link_is_only_for_an_organization_and_one_of_its_members_for_a_while(
    cl: Creditline,
) -> None:
    org = cl.create_org("Acme").id
    stranger = cl.add_member(cl.create_org("Other").id, "Eve").id
    for ttl in (29, 3601, 0, True):
        with pytest.raises(InvalidSetting):
            cl.create_portal_session(org, ttl_seconds=ttl)
    with pytest.raises(OrganizationNotFound):
        cl.create_portal_session("org_missing")
    with pytest.raises(MemberNotFound):
        cl.create_portal_session(org, member_id=stranger)
    assert cl.create_portal_session(org, ttl_seconds=3600).read_only is False


class _Recorder:
    """A webhook sender that answers 204 and remembers what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []

    def send(self, url: str, msg_id: str, body: str, secret: str) -> SendOutcome:
        self.sent.append((url, msg_id, body, secret))
        return SendOutcome(204)


def test_a_test_webhook_is_queued_and_sent_like_any_delivery_to_that_endpoint_only(
    db_url: str, clock: ManualClock
) -> None:
    sender = _Recorder()
    cl = Creditline.open(db_url, clock=clock, webhook_sender=sender)
    try:
        org = cl.create_org("Acme").id
        cl.grant(org, credits(1))
        hook = cl.add_webhook("https://hooks.acme.example/credits", org_id=org)
        other = cl.add_webhook("https://hooks.other.example", org_id=cl.create_org("Other").id)
        queued = cl.queue_test_webhook(org, hook.id)
        assert (queued.status, queued.event_type, queued.org_id) == (
            DeliveryStatus.PENDING, "webhook.test", org,
        )  # fmt: skip
        assert '"type":"webhook.test"' in queued.payload
        assert cl.deliver_webhooks().delivered == 1
        assert sender.sent == [(hook.url, queued.id, queued.payload, hook.secret)]
        assert cl.webhook_delivery(queued.id, org).status is DeliveryStatus.DELIVERED
        with pytest.raises(WebhookEndpointNotFound):
            cl.queue_test_webhook(org, other.id)
        cl.disable_webhook(hook.id, org)
        with pytest.raises(WebhookEndpointNotFound):
            cl.queue_test_webhook(org, hook.id)
        assert [d.id for d in cl.webhook_deliveries(org)] == [queued.id]
    finally:
        cl.close()
