"""The demo's world: its rate card, plan and packs, its people, the days its events
fall on, and the world outside the engine (Stripe, the lab's webhook receiver) in memory;
and the report a run ends with. The story itself: :mod:`.story`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from creditline import (
    Balance,
    Creditline,
    Grant,
    LedgerEntry,
    Member,
    Organization,
    Project,
    VerifyReport,
    credits,
)
from creditline.adapters.payments import FakeStripe, StripeProvider, sign
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.services.deliveries import SendOutcome

__all__ = [
    "ADA",
    "ALAN",
    "ALERT_THRESHOLD",
    "BATCH_HOURS",
    "BOT",
    "DAYS",
    "DEMO_REF",
    "DOCS",
    "DemoReport",
    "EDSGER",
    "EVAL",
    "FORECAST_DAYS",
    "GRACE",
    "HISTORY_SHOWN",
    "KATHERINE",
    "MEMBERS",
    "MISTAKE_DAY",
    "Outside",
    "PACKS",
    "PLAN",
    "PLANS",
    "PROJECTS",
    "RATE_CARD",
    "SEED",
    "STARTER_DAY",
    "VOID_DAYS",
    "WEBHOOK_URL",
    "story_start",
]

DEMO_REF = "demo"
"""The demo organization's external reference: how a re-run finds it."""

DAYS = 120
"""How many days of history a first run plays before "now"."""

SEED = "creditline-demo"
HISTORY_SHOWN = 15
STARTS_AT = time(9, 0)
BATCH_HOURS = 12

RATE_CARD = """\
format = 1
name = "demo-ai-lab"
version = "demo-1"
effective_from = 2020-01-01T00:00:00Z
description = "The demo's prices (ILLUSTRATIVE): per-model supplier prices, no platform fee"
rounding = { mode = "up", increment = "0.000001" }

[operations.generate_text]
description = "Text generation, per token, at the model supplier's price"
[operations.generate_text.models.gpt-4o]
supplier = "OpenAI"
per_unit = { credits = 30, quantity = "tokens", per = 1_000_000 }
[operations.generate_text.models.claude-sonnet]
supplier = "Anthropic"
per_unit = { credits = 45, quantity = "tokens", per = 1_000_000 }
[operations.generate_text.models.llama-3-70b]
supplier = "Meta (hosted)"
per_unit = { credits = 6, quantity = "tokens", per = 1_000_000 }

[operations.translate]
description = "Translation, per character"
[operations.translate.models.azure-translator]
supplier = "Azure"
per_unit = { credits = 10, quantity = "characters", per = 1_000_000 }
[operations.translate.models.google-translate]
supplier = "Google"
per_unit = { credits = 20, quantity = "characters", per = 1_000_000 }

[operations.transcribe]
description = "Speech to text, per minute of audio"
[operations.transcribe.models.aws-transcribe]
supplier = "AWS"
per_unit = { credits = 0.024, quantity = "minutes" }
[operations.transcribe.models.whisper-large]
supplier = "OpenAI"
per_unit = { credits = 0.06, quantity = "minutes" }

[operations.text_to_speech]
description = "Text to audio, per character"
[operations.text_to_speech.models.google-tts]
supplier = "Google"
per_unit = { credits = 16, quantity = "characters", per = 1_000_000 }

[operations.benchmark_model]
description = "One model benchmarked on a dataset: a set-up fee and a price per 1,000 samples"
[operations.benchmark_model.models.gpt-4o]
supplier = "OpenAI"
formula = [
  { label = "setup", credits = 0.5 },
  { label = "samples", credits = 0.8, quantities = ["samples"], per = 1000 },
]
[operations.benchmark_model.models.claude-sonnet]
supplier = "Anthropic"
formula = [
  { label = "setup", credits = 0.5 },
  { label = "samples", credits = 1.2, quantities = ["samples"], per = 1000 },
]
[operations.benchmark_model.models.llama-3-70b]
supplier = "Meta (hosted)"
formula = [
  { label = "setup", credits = 0.2 },
  { label = "samples", credits = 0.25, quantities = ["samples"], per = 1000 },
]
[operations.benchmark_model.models.mistral-large]
supplier = "Mistral"
formula = [
  { label = "setup", credits = 0.3 },
  { label = "samples", credits = 0.6, quantities = ["samples"], per = 1000 },
]

[operations.benchmark]
description = "A benchmark job: one benchmark_model step per model compared"
pipeline = { allow = ["benchmark_model"] }

[operations.pipeline]
description = "A document pipeline: the sum of its steps, each priced as its own operation"
pipeline = { allow = ["transcribe", "translate", "generate_text", "text_to_speech"] }
"""
"""The demo's rate card (ILLUSTRATIVE prices), in force from 2020 so any story fits."""

PLANS = """\
[[plans]]
name = "team"
depletion = "pause"
flex_enabled = false
interval = "monthly"
anchor = "calendar"
cycle_grant = { credits = 1000, kind = "included" }
grant_expiry = "end_of_cycle"
"""
"""The demo's plan: 1,000 included credits a calendar month, gone with the month. When
credits run out new operations are paused (one rule: no flex billing), until the next
month's credits or a pack."""

PACKS = """\
name = "demo-ai-lab"
refund_policy = "refundable"

[[packs]]
name = "starter"
description = "1,000 credits"
credits = 1000
prices_minor = { USD = 10000, EUR = 9000 }
expiry = { after = "12 months" }

[[packs]]
name = "growth"
description = "5,000 credits (10% off)"
credits = 5000
prices_minor = { USD = 45000, EUR = 40500 }
expiry = { after = "12 months" }

[any_amount]
unit_prices_minor = { USD = 11, EUR = 10 }
min_credits = 100
max_credits = 20000
step_credits = 100
expiry = { after = "12 months" }
"""
"""The demo's pack catalogue (ILLUSTRATIVE prices, in cents)."""

PLAN = "team"
PROJECTS = ("support-bot", "doc-pipeline", "eval-pipeline")
MEMBERS = (
    ("Ada Lovelace", "ada@demo-ai-lab.example"),
    ("Grace Hopper", "grace@demo-ai-lab.example"),
    ("Alan Turing", "alan@demo-ai-lab.example"),
    ("Katherine Johnson", "katherine@demo-ai-lab.example"),
    ("Edsger Dijkstra", "edsger@demo-ai-lab.example"),
)
ADA, GRACE, ALAN, KATHERINE, EDSGER = (email for _, email in MEMBERS)
BOT, DOCS, EVAL = PROJECTS
WEBHOOK_URL = "http://127.0.0.1:9/demo-ai-lab/credit-alerts"
"""Where the lab's alert webhooks go: a receiver in memory during the demo; on the
loopback (nothing listens there) afterwards, so a test send never leaves the machine."""
ALERT_THRESHOLD = credits(300)
FORECAST_DAYS = 14
WEBHOOK_SECRET = "whsec_creditline_demo"
"""The signing secret of the demo's in-memory Stripe webhooks."""

STARTER_DAY, MISTAKE_DAY, VOID_DAYS = 9, 41, (23, 77)


class _Receiver:
    """The lab's alert webhook receiver, in memory: it accepts every delivery."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    def send(self, url: str, msg_id: str, body: str, secret: str) -> SendOutcome:
        self.received.append((url, msg_id))
        return SendOutcome(204, None, 3)


@dataclass
class Outside:
    """The world outside the engine during the demo, in memory: Stripe (the checkout
    the lab pays at, and its signed webhooks) and the lab's alert webhook receiver.
    Open the engine with ``payments=outside.payments, webhook_sender=outside.receiver,
    webhook_allow_networks=outside.networks``.
    """

    stripe: FakeStripe = field(default_factory=FakeStripe)
    receiver: _Receiver = field(default_factory=_Receiver)
    networks: tuple[str, ...] = ("127.0.0.0/8",)
    """Where the lab's webhook endpoint may be (its receiver is in memory; the URL is on
    the loopback): the engine that plays the demo allows it."""

    @property
    def payments(self) -> StripeProvider:
        return StripeProvider(
            "sk_test_creditline_demo", WEBHOOK_SECRET, http_client=self.stripe,
            max_network_retries=0,
        )  # fmt: skip

    def pay(self, cl: Creditline, purchase: Purchase) -> None:
        """The buyer pays at the checkout; Stripe's signed webhook reaches the engine."""
        if purchase.status is not PurchaseStatus.PENDING or purchase.session_id is None:
            return
        if purchase.session_id not in self.stripe.sessions:
            return  # begun by a run that stopped half-way: its checkout is gone
        session = self.stripe.pay(purchase.session_id, email=KATHERINE)
        body = self.stripe.event("checkout.session.completed", session)
        cl.handle_webhook(body, sign(body, WEBHOOK_SECRET))


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What the demo did and where it left the organization (amounts in micro-credits).

    Attributes:
        org: the demo organization.
        reused: it existed before this run (the run resumed instead of starting).
        projects, members: its projects and members.
        started_at, ended_at: the story's first and last moments (ended_at is "now").
        events, spent: the accepted usage events of the whole story and what they cost.
        renewals: the plan's cycle grants so far (one per month).
        purchases: its purchases, newest first.
        expired: its expire entries, oldest first.
        balance, grants: the organization at the end of the story.
        history: its newest ledger entries, newest first.
        verify: the whole database checked against its ledger.
    """

    org: Organization
    reused: bool
    projects: list[Project]
    members: list[Member]
    started_at: datetime
    ended_at: datetime
    events: int
    spent: int
    renewals: int
    purchases: list[Purchase]
    expired: list[LedgerEntry]
    balance: Balance
    grants: list[Grant]
    history: list[LedgerEntry]
    verify: VerifyReport


def story_start(now: datetime) -> datetime:
    """Where a first run's story begins: :data:`DAYS` days before ``now``, at 09:00 UTC."""
    return datetime.combine((now - timedelta(days=DAYS)).date(), STARTS_AT, UTC)
