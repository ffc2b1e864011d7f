"""Country gating and contact sales (D8, seed 000), on SQLite and PostgreSQL.

Payments go through the real Stripe adapter and SDK, answered by the shipped in-memory
Stripe (FakeStripe): an organization in a gated country never reaches it (no request at
all). Its contact-sales request is recorded, signed to a real local webhook receiver
(verified with the ``standardwebhooks`` library) and e-mailed through a real SMTP server.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.adapters.notify import SmtpMailer
from creditline.domain.deliveries import DeliveryStatus
from creditline.domain.errors import (
    InvalidSetting,
    MemberNotFound,
    OrganizationNotFound,
    PackNotFound,
    PaymentsUnavailable,
    SalesRequestNotFound,
    SelfServeUnavailable,
)
from creditline.domain.purchases import PurchaseStatus
from creditline.domain.sales import CONTACT_REQUESTED, SalesRequestSource
from tests.alerting import receiver, smtp_server
from tests.billing import Shop, open_shop
from tests.databases import migrated


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    """A DataRobot-like platform (seed 000) selling self-serve in the US and Canada."""
    with open_shop(migrated(db_url), clock, self_serve_countries="US,CA") as opened:
        opened.load("datarobot")
        yield opened
        assert opened.cl.verify().ok


def test_an_organization_in_a_gated_country_never_reaches_stripe(shop: Shop) -> None:
    org = shop.cl.create_org("Acme GmbH", country="de").id
    assert shop.cl.get_org(org).country == "DE"
    with pytest.raises(SelfServeUnavailable) as caught:
        shop.buy(org, "explorer")
    assert (caught.value.org_id, caught.value.country) == (org, "DE")
    assert "contact sales" in str(caught.value)
    assert isinstance(caught.value, PaymentsUnavailable)
    with pytest.raises(SelfServeUnavailable):
        shop.buy(org, credits=credits(1000), idempotency_key="again")
    assert shop.fake.requests == []  # no customer, no checkout session: nothing at all
    assert shop.fake.customers == {} and shop.fake.sessions == {}
    assert shop.cl.purchases(org) == []
    # The same platform's US customer buys through the same Stripe, as usual.
    us = shop.cl.create_org("Acme Inc", country="US").id
    bought = shop.buy(us, "explorer")
    assert bought.status is PurchaseStatus.PENDING and bought.checkout_url
    assert ("POST", "/v1/checkout/sessions") in shop.fake.requests


def test_an_organization_without_a_country_contacts_sales_while_a_list_is_set(
    shop: Shop,
) -> None:
    org = shop.cl.create_org("Nowhere Ltd").id
    assert shop.cl.self_serve(org).available is False
    with pytest.raises(SelfServeUnavailable) as caught:
        shop.buy(org, "explorer")
    assert caught.value.country is None
    assert shop.fake.requests == []


def test_setting_a_listed_country_opens_the_checkout(shop: Shop) -> None:
    org = shop.cl.create_org("Maple", country="FR").id
    state = shop.cl.self_serve(org)
    assert (state.country, state.available, state.countries) == ("FR", False, ("CA", "US"))
    moved = shop.cl.update_org(org, country="ca")
    assert moved.country == "CA" and shop.cl.get_org(org).country == "CA"
    assert shop.cl.self_serve(org).available
    assert shop.buy(org, "accelerator").checkout_url
    cleared = shop.cl.update_org(org, clear_country=True, name="Maple Inc")
    assert (cleared.country, cleared.name) == (None, "Maple Inc")
    with pytest.raises(SelfServeUnavailable):
        shop.buy(org, "explorer")


def test_a_country_is_checked_at_create_and_update(shop: Shop) -> None:
    with pytest.raises(InvalidSetting):
        shop.cl.create_org("Bad", country="UK")
    assert shop.cl.list_orgs() == []
    org = shop.cl.create_org("Good", country="GB").id
    with pytest.raises(InvalidSetting):
        shop.cl.update_org(org, country="Germany")
    with pytest.raises(InvalidSetting):
        shop.cl.update_org(org, country="DE", clear_country=True)
    with pytest.raises(OrganizationNotFound):
        shop.cl.update_org("org_missing", country="DE")
    assert shop.cl.get_org(org).country == "GB"


def test_without_a_list_every_organization_buys_self_serve(db_url: str, clock: ManualClock) -> None:
    with open_shop(migrated(db_url), clock, self_serve_countries="*") as everywhere:
        everywhere.load("datarobot")
        assert everywhere.cl.self_serve_countries.everywhere
        for country in ("DE", None):
            org = everywhere.cl.create_org(f"Org {country}", country=country).id
            assert everywhere.cl.self_serve(org).available
            assert everywhere.buy(org, "explorer").checkout_url


def test_a_contact_sales_request_is_recorded_with_who_what_and_why(shop: Shop) -> None:
    org = shop.cl.create_org("Acme GmbH", country="DE").id
    ada = shop.cl.add_member(org, "Ada", "ada@acme.example").id
    asked = shop.cl.contact_sales(
        org, "explorer", message="We would like the Explorer pack, invoiced.", member_id=ada
    )
    assert asked.id.startswith("csr_")
    assert (asked.org_id, asked.country, asked.member_id, asked.email) == (
        org, "DE", ada, "ada@acme.example",
    )  # fmt: skip
    assert (asked.pack, asked.credits, asked.source) == ("explorer", None, SalesRequestSource.API)
    assert asked.created_at == shop.clock.now()
    amount = shop.cl.contact_sales(org, credits=credits(750), email="cfo@acme.example")
    assert (amount.pack, amount.credits, amount.message) == (None, credits(750), "")
    other = shop.cl.create_org("Other", country="FR").id
    shop.cl.contact_sales(other, message="Enterprise plan?")
    assert {r.id for r in shop.cl.sales_requests(org)} == {amount.id, asked.id}
    assert {r.org_id for r in shop.cl.sales_requests()} == {org, other}
    assert shop.cl.sales_request(asked.id) == asked
    assert shop.cl.sales_request(asked.id, org) == asked
    with pytest.raises(SalesRequestNotFound):
        shop.cl.sales_request(asked.id, other)
    assert shop.fake.requests == []  # asking sales buys nothing


def test_a_bad_contact_sales_request_records_nothing(shop: Shop) -> None:
    org = shop.cl.create_org("Acme GmbH", country="DE").id
    stranger = shop.cl.add_member(shop.cl.create_org("Other").id, "Eve").id
    with pytest.raises(PackNotFound):
        shop.cl.contact_sales(org, "platinum")
    with pytest.raises(MemberNotFound):
        shop.cl.contact_sales(org, member_id=stranger)
    with pytest.raises(InvalidSetting):
        shop.cl.contact_sales(org, "explorer", credits=credits(5))
    with pytest.raises(InvalidSetting):
        shop.cl.contact_sales(org, source="phone")
    with pytest.raises(OrganizationNotFound):
        shop.cl.contact_sales("org_missing")
    assert shop.cl.sales_requests() == []
    assert shop.cl.webhook_deliveries() == []


def test_the_request_is_signed_to_the_operators_webhook_and_emailed_to_sales(
    db_url: str, clock: ManualClock
) -> None:
    with smtp_server() as (inbox, port), receiver() as hooks:
        mailer = SmtpMailer("127.0.0.1", port, sender="credits@platform.example")
        options = {"self_serve_countries": "US", "sales_email": "sales@platform.example"}
        with open_shop(migrated(db_url), clock, mailer=mailer, **options) as shop:
            shop.load("datarobot")
            cl = shop.cl
            operator = cl.add_webhook(f"{hooks.url}/ops", event_types=[CONTACT_REQUESTED])
            everything = cl.add_webhook(f"{hooks.url}/all")
            alerts_only = cl.add_webhook(f"{hooks.url}/alerts", event_types=["credits.depleted"])
            org = cl.create_org("Acme GmbH", country="DE").id
            own = cl.add_webhook(f"{hooks.url}/org", org_id=org)  # the org's: gets none
            for endpoint in (operator, everything, alerts_only, own):
                assert endpoint.secret is not None
                hooks.verify_with(endpoint.url.removeprefix(hooks.url), endpoint.secret)
            with pytest.raises(SelfServeUnavailable):
                shop.buy(org, "explorer")
            asked = cl.contact_sales(org, "explorer", message="Please call us.")
            report = cl.tick()
            assert report.ok, report.errors
            assert report.job("webhooks").summary["delivered"] == 3
            operator_log = cl.webhook_deliveries()
            org_log = cl.webhook_deliveries(org)
            assert shop.fake.requests == []
    assert sorted(r.path for r in hooks.received) == ["/all", "/ops"]
    for got in hooks.received:
        assert got.verified  # signed per Standard Webhooks with the endpoint's secret
        assert got.payload["type"] == CONTACT_REQUESTED
        data = got.payload["data"]
        assert (data["request_id"], data["org_id"], data["org_name"]) == (
            asked.id, org, "Acme GmbH",
        )  # fmt: skip
        assert (data["country"], data["pack"], data["message"]) == (
            "DE",
            "explorer",
            "Please call us.",
        )
        assert data["source"] == "api"
    assert {(d.channel, d.status) for d in operator_log} == {
        ("webhook", DeliveryStatus.DELIVERED), ("email", DeliveryStatus.DELIVERED),
    }  # fmt: skip
    assert org_log == []  # the operator's business: not in the organization's log
    ((sender, recipients, content),) = inbox.messages
    assert (sender, recipients) == ("credits@platform.example", ["sales@platform.example"])
    message = message_from_bytes(content)
    assert message["Subject"] == "Contact sales: Acme GmbH"
    text = str(message.get_payload(decode=True), "utf-8")
    assert "Country: DE" in text and "Wants: the explorer pack" in text
    assert "Please call us." in text and asked.id in text


def test_no_email_is_enqueued_without_a_mail_server(db_url: str, clock: ManualClock) -> None:
    options = {"self_serve_countries": "US", "sales_email": "sales@platform.example"}
    with open_shop(migrated(db_url), clock, **options) as shop:
        org = shop.cl.create_org("Acme GmbH", country="DE").id
        shop.cl.contact_sales(org, message="hello")
        assert shop.cl.webhook_deliveries() == []


def test_the_settings_come_from_the_environment(
    db_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITLINE_SELF_SERVE_COUNTRIES", "us, ca")
    with Creditline.open(migrated(db_url), clock=clock) as cl:
        assert cl.self_serve_countries.countries == ("CA", "US")
    with Creditline.open(migrated(db_url), clock=clock, self_serve_countries="*") as cl:
        assert cl.self_serve_countries.everywhere  # the option wins over the environment
    monkeypatch.setenv("CREDITLINE_SELF_SERVE_COUNTRIES", "US,UK")
    with pytest.raises(InvalidSetting):
        Creditline.open(migrated(db_url), clock=clock)
