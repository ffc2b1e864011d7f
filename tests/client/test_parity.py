"""One script, two engines: the embedded :class:`Creditline` on its own database and the
:class:`Client` of a real service answer with the same types and the same values (ids
and instants aside), errors included. Also: the client has the library's methods, with
the same parameters and defaults."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from creditline import (
    Cause,
    CauseType,
    CostBasis,
    Creditline,
    EntryType,
    credits,
)
from creditline.client import AsyncClient, Client
from creditline.client.operations import Operations
from creditline.domain.pricing import Step
from creditline.domain.usage import UsageEvent
from tests.client.compare import Canon, outcome
from tests.client.conftest import GATED_PLAN, SERVER
from tests.metering import EXAMPLES, card_doc

pytestmark = SERVER

DAY = timedelta(days=1)

# Methods whose answer the service cannot give in the library's type (see the client's
# docstring): they return the client's OrgPlan.
OWN_RESULT = {"subscribe", "change_plan"}
# Methods only the client has: the service's view of an organization's plan.
CLIENT_ONLY = {"org_plan"}


def script(cl: Any) -> list[tuple[str, Any]]:
    """A platform's day, run the same on either engine; every answer, in order."""
    now = datetime.now(UTC).replace(microsecond=0)
    done: list[tuple[str, Any]] = []

    def step(name: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        result = outcome(lambda: method(*args, **kwargs))
        done.append((name, result))
        return result

    order = "promotional,prepaid"
    org = step("org", cl.create_org, "Parity", consumption_order=order, metadata={"tier": "t"})
    project = step("project", cl.create_project, org.id, "bot")
    member = step("member", cl.add_member, org.id, "Ada", "ada@parity.example")
    attributed = {"project_id": project.id, "member_id": member.id}
    seed = {"cost_basis": CostBasis(900, "EUR"), "metadata": {"po": 42}, "idempotency_key": "s"}
    step("grant prepaid", cl.grant, org.id, credits(100), "prepaid", **seed)
    step("grant again", cl.grant, org.id, credits(100), "prepaid", **seed)
    step("grant promo", cl.grant, org.id, credits(3), "promotional", expires_at=now + DAY)
    step("balance", cl.balance, org.id)
    step("quote matrix", cl.quote, org.id, "render", dimensions={"mode": "pro"})
    step("quote per unit", cl.quote, org.id, "translate", {"characters": 1234})
    pipeline = [Step("ping"), Step("translate", {"characters": 10})]
    step("quote pipeline", cl.quote, org.id, "pipeline", steps=pipeline)
    step("quote no org", cl.quote, None, "render", dimensions={"mode": "max"}, at=now)
    basic = {"dimensions": {"mode": "basic"}, "occurred_at": now, "metadata": {"run": "r1"}}
    step("record", cl.record, org.id, "e-1", "render", **basic, **attributed)
    step("record again", cl.record, org.id, "e-1", "render", **basic, **attributed)
    step("record max", cl.record, org.id, "e-2", "render", dimensions={"mode": "max"})
    step("record unknown", cl.record, org.id, "e-3", "nope", occurred_at=now)
    step("record unpriceable", cl.record, org.id, "e-4", "render", occurred_at=now)
    batch = [
        UsageEvent("b-1", org.id, "ping", now),
        UsageEvent("b-2", org.id, "translate", now, {"characters": 500_000}),
        UsageEvent("b-3", org.id, "render", now, {}, {"mode": "max"}),
        UsageEvent("b-4", org.id, "render", now),
        UsageEvent("e-1", org.id, "render", now, {}, {"mode": "basic"}, project.id, member.id),
        UsageEvent("b-5", org.id, "pipeline", now),
    ]
    step("record_usage", cl.record_usage, batch)
    chars = {"characters": 1000}
    quote = step("issue quote", cl.issue_quote, org.id, "translate", chars)
    step("record quoted", cl.record, org.id, "q-1", "translate", chars, quote_id=quote.id)
    step("record quote used", cl.record, org.id, "q-2", "translate", chars, quote_id=quote.id)
    step("binding quote", cl.binding_quote, org.id, quote.id)
    step("binding quotes", cl.binding_quotes, org.id)
    step("no quote", cl.binding_quote, org.id, "qt_missing")
    step("quote too long", cl.issue_quote, org.id, "ping", valid_for=timedelta(days=2))
    debit = {"cause": Cause(CauseType.DEBIT, "x-1"), "project_id": project.id}
    step("spend", cl.spend, org.id, credits("1.5"), **debit, idempotency_key="s-1")
    step("spend again", cl.spend, org.id, credits("1.5"), **debit, idempotency_key="s-1")
    step("spend too much", cl.spend, org.id, credits(1000))
    step("adjust down", cl.adjust, org.id, -credits(1), "double charge")
    step("adjust up", cl.adjust, org.id, credits(2), "goodwill")
    step("adjust zero", cl.adjust, org.id, 0, "nothing")
    job = Cause(CauseType.RESERVATION, "job-1")
    hold = step("reserve", cl.reserve, org.id, credits(4), ttl=timedelta(minutes=10), cause=job)
    step("commit a step", cl.commit, org.id, hold.id, credits(1), final=False)
    step("commit", cl.commit, org.id, hold.id, credits(2))
    step("commit again", cl.commit, org.id, hold.id, credits(2))
    other = step("reserve more", cl.reserve, org.id, credits(1))
    step("release", cl.release, org.id, other.id)
    step("reserve too much", cl.reserve, org.id, credits(1000))
    step("reservation", cl.reservation, org.id, hold.id)
    step("reservations", cl.reservations, org.id, "committed")
    step("void", cl.void_event, org.id, "e-1")
    step("amend", cl.amend_event, org.id, "b-2", {"characters": 1_500_000})
    step("usage_event", cl.usage_event, org.id, "b-2")
    step("usage_events", cl.usage_events, org.id)
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    step("report", cl.usage_report, org.id, ["operation"], *window, period="day")
    step("assign plan", cl.assign_plan, org.id, "starter")
    step("gated", cl.record, org.id, "g-1", "render", dimensions={"mode": "max"}, occurred_at=now)
    step("metering", cl.metering, org.id)
    step("read only", cl.is_read_only, org.id)
    step("plan", cl.plan, "starter")
    step("plan exists", cl.create_plan, GATED_PLAN)
    step("card", cl.rate_card, "default", now)
    step("card history", cl.rate_card_history)
    step("card conflict", cl.load_rate_card, card_doc(ping="2"))
    step("org card", cl.org_rate_card, org.id)
    step("purchase", cl.create_purchase, org.id, "10-credits", currency="EUR")
    step("grants", cl.grants, org.id)
    step("history", cl.history, org.id, 100)
    step("history filtered", cl.history, org.id, 10, types=[EntryType.GRANT])
    step("history bad limit", cl.history, org.id, 0)
    step("balance at the end", cl.balance, org.id)
    step("no org", cl.get_org, "org_aaaaaaaaaaaaaaaaaaaaaaaa")
    step("no reservation", cl.reservation, org.id, "res_aaaaaaaaaaaaaaaaaaaaaaaa")
    step("no event", cl.usage_event, org.id, "missing")
    step("no plan", cl.plan, "platinum")
    step("no card", cl.rate_card, "special")
    step("bad report", cl.usage_report, org.id, ["colour"])
    poor = step("poor", cl.create_org, "Poor")
    step("grant poor", cl.grant, poor.id, credits(1))
    step("refused", cl.record, poor.id, "p-1", "render", dimensions={"mode": "max"})
    two = [
        UsageEvent("p-2", poor.id, "render", now, {}, {"mode": "max"}),
        UsageEvent("m-1", org.id, "ping", now),
        UsageEvent("p-3", poor.id, "ping", now),
        UsageEvent("p-4", poor.id, "ping", now),
    ]
    step("two organizations", cl.record_usage, two)
    step("poor balance", cl.balance, poor.id)
    step("spend poor", cl.spend, poor.id, credits(2))
    # Scoped grants (B7): credits for some operations only, spent first by those.
    scoped = step("scoped org", cl.create_org, "Scoped")
    step("grant general", cl.grant, scoped.id, credits(2))
    render = [{"operation": "render", "dimensions": {"mode": ["basic", "pro"]}}]
    step("grant scoped", cl.grant, scoped.id, credits(3), "promotional", scope=render)
    step("grant bad scope", cl.grant, scoped.id, credits(1), scope=[{"operation": "paint"}])
    step("scoped balance", cl.balance, scoped.id)
    pro = {"dimensions": {"mode": "pro"}, "occurred_at": now}
    step("scoped record", cl.record, scoped.id, "s-1", "render", **pro)
    step("spend another operation", cl.spend, scoped.id, credits(3), operation="ping")
    basic_render = {"operation": "render", "dimensions": {"mode": "basic"}}
    step("spend scoped", cl.spend, scoped.id, credits("0.5"), **basic_render,
         cause=Cause(CauseType.DEBIT, "s-2"))  # fmt: skip
    held = step("reserve scoped", cl.reserve, scoped.id, credits(1), **basic_render)
    step("scoped reservation", cl.reservation, scoped.id, held.id)
    step("release scoped", cl.release, scoped.id, held.id)
    step("credit back", cl.credit_back, scoped.id, "s-1", "acceptance criteria not met")
    step("credit back again", cl.credit_back, scoped.id, "s-1")
    step("credit back refused", cl.credit_back, scoped.id, "missing")
    step("scoped grants", cl.grants, scoped.id)
    step("scoped balance at the end", cl.balance, scoped.id)
    return done


def test_the_client_answers_as_the_library_does(embedded: Creditline, client: Client) -> None:
    here = script(embedded)
    there = script(client)
    assert [name for name, _ in there] == [name for name, _ in here]
    canon_here, canon_there = Canon(), Canon()
    for (name, mine), (_, theirs) in zip(here, there, strict=True):
        assert canon_there(theirs) == canon_here(mine), name
    # The script met every kind of answer it was written for.
    errors = {type(r).__name__ for _, r in here if isinstance(r, Exception)}
    assert errors == {
        "InsufficientCredits", "InvalidAmount", "AlreadyExists", "RateCardVersionConflict",
        "PaymentsUnavailable", "InvalidSetting", "OrganizationNotFound", "ReservationNotFound",
        "UsageEventNotFound", "PlanNotFound", "RateCardNotFound", "InvalidGrant",
        "QuoteNotFound",
    }  # fmt: skip


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def _operations() -> list[str]:
    return sorted(n for n, v in vars(Operations).items() if hasattr(v, "flow"))


@pytest.mark.parametrize("name", _operations())
def test_each_method_has_the_librarys_parameters(name: str) -> None:
    mine = inspect.signature(getattr(Client("http://x", "k"), name))
    assert mine == inspect.signature(getattr(AsyncClient("http://x", "k"), name))
    if name in CLIENT_ONLY:
        return
    library = inspect.signature(getattr(Creditline, name))
    assert _shape(mine) == _shape(library)[1:]  # the library's has self


def test_billing_and_operations_answer_as_the_library_does(
    embedded: Creditline, client: Client
) -> None:
    packs = (EXAMPLES / "otai" / "packs.toml").read_text(encoding="utf-8")

    def run(cl: Any) -> list[Any]:
        org = cl.create_org("Billing")
        return [
            outcome(lambda: cl.load_packs(packs)),
            outcome(cl.packs),
            outcome(lambda: cl.purchases(org.id)),
            outcome(lambda: cl.invoices(org.id)),
            outcome(lambda: cl.billing_history(org.id)),
            outcome(lambda: cl.purchase(org.id, "pur_aaaaaaaaaaaaaaaaaaaaaaaa")),
            outcome(lambda: cl.invoice(org.id, "inv_aaaaaaaaaaaaaaaaaaaaaaaa")),
            outcome(lambda: cl.invoice_flex("2026-13")),
            outcome(lambda: cl.api_key("key_aaaaaaaaaa")),
            # a key's prefix is random: the rest must agree
            outcome(lambda: replace(cl.create_api_key("org", org.id, name="app").key, prefix="")),
        ]

    assert Canon()(run(client)) == Canon()(run(embedded))
    flex = client.invoice_flex("2026-01")
    assert flex.month == "2026-01" and flex.issued == ()
    report = client.tick()
    assert [j.name for j in report.jobs] == [j.name for j in embedded.tick().jobs]
    assert client.verify().problems == ()


def test_alerts_and_webhooks_answer_as_the_library_does(
    embedded: Creditline, client: Client
) -> None:
    # Conditions that stay false, so that the service's own scheduler changes nothing
    # while the script runs; firing and delivering are in test_alerts_client.py.
    def run(cl: Any) -> list[Any]:
        org = cl.create_org("Alerts")
        cl.grant(org.id, credits(10))
        low = cl.add_alert(org.id, "remaining_below", threshold=credits(5), rearm_above=credits(6))
        hook = cl.add_webhook(
            "https://hooks.parity.example/credits",
            org_id=org.id,
            event_types=["credits.depleted"],
            description="ops",
        )
        missing = {"org": "org_aaaaaaaaaaaaaaaaaaaaaaaa", "rule": "alr_aaaaaaaaaaaaaaaaaaaaaaaa"}
        message = "msg_aaaaaaaaaaaaaaaaaaaaaaaa"
        return [
            low,
            outcome(lambda: cl.add_alert(
                org.id, "forecast_depletion", days=3, lookback_days=14,
                channels=["webhook", "email"], email="ops@parity.example",
            )),
            outcome(lambda: cl.add_alert(org.id, "remaining_below_percent", percent=20)),
            outcome(lambda: cl.add_alert(org.id, "remaining_below", percent=500, channels=["x"])),
            outcome(lambda: cl.add_alert(org.id, "sometimes")),
            outcome(lambda: cl.add_alert(missing["org"], "depleted")),
            outcome(lambda: cl.alert_rules(org.id)),
            outcome(lambda: cl.disable_alert(low.id, org.id)),
            outcome(lambda: cl.alert_rules(org.id, include_disabled=True)),
            outcome(lambda: cl.disable_alert(missing["rule"])),
            outcome(lambda: cl.alert_rules(missing["org"])),
            # the secret is random: it is there, and the rest must agree
            (hook.secret.startswith("whsec_"), replace(hook, secret=None)),
            outcome(lambda: cl.add_webhook("ftp://hooks.parity.example", org_id=org.id)),
            outcome(lambda: cl.add_webhook("https://x.example", event_types=["credits.gone"])),
            outcome(lambda: cl.webhook_endpoints(org.id)),
            outcome(lambda: cl.disable_webhook(hook.id, org.id)),
            outcome(lambda: cl.webhook_endpoints(org.id, include_disabled=True)),
            outcome(lambda: cl.disable_webhook("whe_aaaaaaaaaaaaaaaaaaaaaaaa", org.id)),
            outcome(lambda: cl.webhook_deliveries(org.id)),
            outcome(lambda: cl.webhook_deliveries(org.id, status="lost")),
            outcome(lambda: cl.webhook_deliveries(org.id, limit=0)),
            outcome(lambda: cl.webhook_delivery(message, org.id)),
            outcome(lambda: cl.redeliver_webhook(message)),
        ]  # fmt: skip

    here, there = run(embedded), run(client)
    assert Canon()(there) == Canon()(here)
    errors = {type(r).__name__ for r in here if isinstance(r, Exception)}
    assert errors == {
        "InvalidAlertRule", "OrganizationNotFound", "AlertRuleNotFound", "InvalidSetting",
        "WebhookEndpointNotFound", "WebhookDeliveryNotFound", "WebhookUrlRefused",
    }  # fmt: skip
