"""The browser tests' known story, seeded through the library on the live server's
database before the server starts, at real (recent) times so that the server's own
clock sees it as the last three weeks.

- **Acme Labs** (the organization whose portal the tests drive): the demo's rate card,
  plan and packs; the ``team`` plan from 20 days ago and a 2,000-credit prepaid grant;
  every day a batch of chatbot calls and a document pipeline run recorded alone; last,
  the pipeline run :data:`PIPELINE` (known components); a paid ``starter`` purchase; an
  alert rule below :data:`THRESHOLD`; a webhook endpoint and a queued test delivery.
- **Globex** (the other organization, whose things Acme's portal must never reach):
  flex usage last month and its invoice, a recent grant, a pipeline run and a batch, a
  paid purchase, an alert rule, a webhook endpoint and a queued test delivery.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from creditline import Creditline, GrantKind, ManualClock, credits
from creditline.adapters.payments import FakeStripe, StripeProvider, sign
from creditline.domain.ledger import CauseType
from creditline.domain.usage import UsageEvent, UsageStep
from creditline.entrypoints.cli.demo import PACKS, PLANS, RATE_CARD

__all__ = ["PIPELINE", "PIPELINE_STEPS", "SECRET", "THRESHOLD", "OrgWorld", "Story", "seed"]

SECRET = "whsec_browser_tests"
"""The Stripe webhook signing secret the live server verifies with."""

THRESHOLD = credits(500)
"""Acme's alert rule: remaining below 500 credits."""

PIPELINE = "evt-acme-pipeline-final"
"""Acme's newest usage event: a pipeline of :data:`PIPELINE_STEPS`, 2.424 credits."""

PIPELINE_STEPS = (
    UsageStep("transcribe", {"minutes": 30}, {"model": "whisper-large"}),  # 1.8
    UsageStep("translate", {"characters": 24000}, {"model": "azure-translator"}),  # 0.24
    UsageStep("text_to_speech", {"characters": 24000}, {"model": "google-tts"}),  # 0.384
)

FLEX_PLAN = """\
[[plans]]
name = "globex-flex"
depletion = "flex"
flex_price = { currency = "USD", minor_per_credit = 100 }
"""


@dataclass
class OrgWorld:
    """One organization of the story and the ids of its things."""

    id: str
    name: str
    projects: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)
    pipeline_event: str = ""
    batch: str = ""
    purchase: str = ""
    invoice: str | None = None
    rule: str = ""
    endpoint: str = ""
    delivery: str = ""


@dataclass
class Story:
    acme: OrgWorld
    globex: OrgWorld
    now: datetime


def _pay(cl: Creditline, fake: FakeStripe, org_id: str, pack: str, key: str) -> str:
    """A purchase paid at the (fake) checkout and granted by Stripe's signed webhook."""
    bought = cl.create_purchase(org_id, pack, currency="USD", idempotency_key=key)
    assert bought.session_id is not None
    body = fake.event("checkout.session.completed", fake.pay(bought.session_id))
    cl.handle_webhook(body, sign(body, SECRET))
    assert cl.purchase(org_id, bought.id).status.value == "paid"
    return bought.id


def _chat(rnd: random.Random, world: OrgWorld, at: datetime, n: int) -> UsageEvent:
    member = world.members["ada"] if n % 2 else world.members["bob"]
    return UsageEvent(
        f"evt-acme-{at:%Y%m%d}-chat-{n}", world.id, "generate_text", at,
        {"tokens": rnd.randint(20_000, 150_000)}, {"model": rnd.choice(["gpt-4o", "llama-3-70b"])},
        world.projects["chatbot"], member,
    )  # fmt: skip


def _pipeline(rnd: random.Random, world: OrgWorld, at: datetime, event_id: str) -> UsageEvent:
    minutes = rnd.randint(5, 40)
    return UsageEvent(
        event_id, world.id, "pipeline", at, {}, {}, world.projects["docs"],
        world.members["bob"], None,
        (UsageStep("transcribe", {"minutes": minutes}, {"model": "aws-transcribe"}),
         UsageStep("translate", {"characters": minutes * 800}, {"model": "google-translate"})),
    )  # fmt: skip


def _acme(cl: Creditline, clock: ManualClock, fake: FakeStripe, now: datetime) -> OrgWorld:
    start = now - timedelta(days=20)
    clock.set(start)
    org = cl.create_org("Acme Labs", external_ref="acme")
    world = OrgWorld(org.id, org.name)
    for name in ("chatbot", "docs"):
        world.projects[name] = cl.create_project(org.id, name).id
    for key, name in (("ada", "Ada Lovelace"), ("bob", "Bob Noyce")):
        world.members[key] = cl.add_member(org.id, name, f"{key}@acme.example").id
    cl.set_rate_card(org.id, "demo-ai-lab")
    cl.subscribe(org.id, "team")
    cl.grant(org.id, credits(2000), GrantKind.PREPAID, idempotency_key="acme-prepaid")
    rnd = random.Random("browser-story")
    for day in range(20):
        midday = start + timedelta(days=day, hours=3)
        clock.set(midday)
        cl.renew_due()
        cl.expire_due()
        cl.record_usage([_chat(rnd, world, midday, n) for n in range(rnd.randint(4, 9))])
        clock.set(midday + timedelta(hours=2))
        cl.record_usage([_pipeline(rnd, world, clock.now(), f"evt-acme-{day:02d}-pipeline")])
    clock.set(now - timedelta(minutes=50))
    world.purchase = _pay(cl, fake, org.id, "starter", "acme-starter")
    rule = cl.add_alert(org.id, "remaining_below", threshold=THRESHOLD)
    endpoint = cl.add_webhook("http://127.0.0.1:9/acme-hooks", org_id=org.id)
    world.rule, world.endpoint = rule.id, endpoint.id
    world.delivery = cl.queue_test_webhook(org.id, endpoint.id).id
    clock.set(now - timedelta(minutes=30))
    final = UsageEvent(
        PIPELINE, org.id, "pipeline", clock.now(), {}, {}, world.projects["docs"],
        world.members["bob"], None, PIPELINE_STEPS,
    )  # fmt: skip
    (result,) = cl.record_usage([final])
    assert result.status.value == "accepted", result
    world.pipeline_event = PIPELINE
    world.batch = _a_batch(cl, org.id)
    return world


def _a_batch(cl: Creditline, org_id: str) -> str:
    entries = cl.history(org_id, 1000, types=["consume"])
    return next(e.cause.ref for e in entries if e.cause.type is CauseType.USAGE_BATCH)


def _flex_month(now: datetime) -> datetime:
    """The first instant of the month before the one five days ago: over by three days
    ago, when it is invoiced."""
    first = (now - timedelta(days=5)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=1)


def _globex_last_month(cl: Creditline, clock: ManualClock, now: datetime) -> OrgWorld:
    """Globex signs up the month before last week's and uses flex credits."""
    last_month = _flex_month(now)
    clock.set(last_month + timedelta(days=2))
    org = cl.create_org("Globex", external_ref="globex")
    world = OrgWorld(org.id, org.name)
    world.projects["secret"] = cl.create_project(org.id, "secret-project").id
    world.members["eve"] = cl.add_member(org.id, "Eve Globex", "eve@globex.example").id
    cl.set_rate_card(org.id, "demo-ai-lab")
    cl.assign_plan(org.id, "globex-flex")
    clock.set(last_month + timedelta(days=10))
    flexed = UsageEvent(
        "evt-globex-flex", org.id, "generate_text", clock.now(), {"tokens": 100000},
        {"model": "gpt-4o"}, world.projects["secret"], world.members["eve"],
    )  # fmt: skip
    (result,) = cl.record_usage([flexed])
    assert result.status.value == "accepted", result
    return world


def _globex_now(
    cl: Creditline, clock: ManualClock, fake: FakeStripe, world: OrgWorld, now: datetime
) -> None:
    clock.set(now - timedelta(days=3))
    (invoice,) = cl.invoice_flex(_flex_month(now).strftime("%Y-%m")).issued
    world.invoice = invoice.id
    cl.grant(world.id, credits(100), GrantKind.PREPAID, idempotency_key="globex-prepaid")
    secret, eve = world.projects["secret"], world.members["eve"]
    clock.set(now - timedelta(days=2))
    job = UsageEvent(
        "evt-globex-pipeline", world.id, "pipeline", clock.now(), {}, {}, secret, eve, None,
        (UsageStep("transcribe", {"minutes": 12}, {"model": "aws-transcribe"}),),
    )  # fmt: skip
    calls = [
        UsageEvent(f"evt-globex-chat-{n}", world.id, "generate_text", clock.now(),
                   {"tokens": 5000 + n}, {"model": "gpt-4o"}, secret, eve)
        for n in range(3)
    ]  # fmt: skip
    cl.record_usage([job])
    cl.record_usage(calls)
    world.pipeline_event = job.event_id
    world.batch = _a_batch(cl, world.id)
    clock.set(now - timedelta(hours=2))
    world.purchase = _pay(cl, fake, world.id, "starter", "globex-starter")
    world.rule = cl.add_alert(world.id, "remaining_below", threshold=credits(10)).id
    world.endpoint = cl.add_webhook("http://127.0.0.1:9/globex-hooks", org_id=world.id).id
    world.delivery = cl.queue_test_webhook(world.id, world.endpoint).id


def seed(url: str, fake: FakeStripe) -> Story:
    """Seed the story on the database at ``url`` (creating its schema), paying through
    ``fake`` (the Stripe the live server talks to); every time is before the real now."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    clock = ManualClock(now)
    payments = StripeProvider("sk_test_browser", SECRET, http_client=fake, max_network_retries=0)
    with Creditline.open(url, clock=clock, payments=payments) as cl:
        clock.set(now - timedelta(days=70))
        cl.load_rate_card(RATE_CARD)
        cl.load_plans(PLANS + FLEX_PLAN)
        cl.load_packs(PACKS)
        globex = _globex_last_month(cl, clock, now)
        acme = _acme(cl, clock, fake, now)
        _globex_now(cl, clock, fake, globex, now)
        clock.set(now)
        report = cl.verify()
        assert report.ok, report.problems
    return Story(acme, globex, now)
