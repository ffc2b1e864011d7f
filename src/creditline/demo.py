"""The demo: four months of an AI lab's credits, up to the present moment, told through
the public facade only.

"Demo AI Lab" (external reference ``demo``) signs up 120 days before "now" (the real
time, or ``--now``) with three projects and five members, on the ``team`` plan: 1,000
*included* credits every calendar month, expiring with the month. Its usage is priced
by the demo rate card (:data:`RATE_CARD`, after aiXplain's per-model supplier prices):

- ``support-bot`` answers customers with ``generate_text`` on three models, all day,
  fewer at the weekend;
- ``doc-pipeline`` transcribes and translates, and runs ``pipeline`` jobs
  (transcribe, translate, then summarise or read aloud), each step priced as its own
  operation;
- ``eval-pipeline`` runs ``benchmark`` jobs on weekdays, one ``benchmark_model`` step
  per model compared (three or four of four models).

Volume grows over the months and varies from day to day. Ordinary calls are sent in
batches, one per twelve hours; pipeline and benchmark jobs are recorded one by one when
they finish (so each one's ledger entry names it and opens to its components).

Along the way: on day 9 the lab buys the 1,000-credit ``starter`` pack through the
purchase flow (a Stripe checkout, paid, granted by the signed webhook); on day 41 a
member buys another one by mistake and it is refunded within the hour; on days 23 and
77 a job that failed on the supplier's side is voided (a benchmark when there was
one). Two alert rules watch the balance (below 300 credits; at most 14 days left at
the last week's burn) and post to the lab's webhook endpoint. Every simulated midnight
the engine's own scheduler (:meth:`Creditline.tick`) renews the plan, expires what the
month left, evaluates the alerts and delivers their webhooks; the first midnight the
balance is below 300 credits, the lab tops up with the 5,000-credit ``growth`` pack.
The story ends at "now", in the running month's cycle, which then goes on live.

Everything is deterministic: each day's usage comes from a random generator seeded
with the date, and the clock is a :class:`~creditline.ManualClock`. Payments go to
Stripe in memory (:class:`~creditline.adapters.payments.FakeStripe`) and the alert
webhooks to a receiver in memory (:class:`Outside`): the demo never reaches the
network, and never charges a card.

Re-running: the organization is found by its external reference and its story resumes
after the last ledger entry, up to the new "now": run again at the same moment it adds
nothing and the report is the same, ids included; run later it plays the days in
between. Every project, member, grant, purchase and event has a natural key (a name,
an e-mail address, an idempotency key, an event id).

The demo travels in time and runs the scheduler over the whole database, so it refuses
a database that holds any organization other than its own: give it a database of its
own (``make run`` uses ``sqlite:///var/demo.db``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from creditline import (
    Balance,
    Creditline,
    EntryType,
    Grant,
    LedgerEntry,
    ManualClock,
    Member,
    Organization,
    Project,
    SourceType,
    VerifyReport,
    credits,
)
from creditline.adapters.payments import FakeStripe, StripeProvider, sign
from creditline.domain.errors import ConfigurationError
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.usage import UsageEvent, UsageStep
from creditline.services.deliveries import SendOutcome

__all__ = [
    "DAYS",
    "DEMO_REF",
    "PACKS",
    "PLANS",
    "RATE_CARD",
    "DemoReport",
    "Outside",
    "run",
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
_ADA, _GRACE, _ALAN, _KATHERINE, _EDSGER = (email for _, email in MEMBERS)
_BOT, _DOCS, _EVAL = PROJECTS
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
        session = self.stripe.pay(purchase.session_id, email=_KATHERINE)
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


# -- the set-up ------------------------------------------------------------------------


def _demo_org(cl: Creditline) -> Organization | None:
    """The demo organization, or None; refuses a database holding anything else."""
    orgs = cl.list_orgs(limit=2)
    strangers = [o for o in orgs if o.external_ref != DEMO_REF]
    if strangers:
        raise ConfigurationError(
            "the demo moves a simulated clock and runs the scheduler across the whole "
            f"database, which holds other organizations ({strangers[0].name!r}); "
            "run it on a database of its own, e.g. --db sqlite:///var/demo.db"
        )
    return orgs[0] if orgs else None


def _catalogue(cl: Creditline) -> None:
    """The rate card, the plan and the packs, each stored once."""
    cl.load_rate_card(RATE_CARD)
    stored = {p.name: p for p in cl.plans()}
    # A demo database made before the plan switched flex off gets the plan as it is now.
    if PLAN not in stored or stored[PLAN].flex_enabled:
        cl.load_plans(PLANS)
    if cl.packs() is None:
        cl.load_packs(PACKS)


def _people(cl: Creditline, org: Organization) -> tuple[list[Project], list[Member]]:
    have = {p.name for p in cl.projects(org.id)}
    for name in PROJECTS:
        if name not in have:
            cl.create_project(org.id, name)
    emails = {m.email for m in cl.members(org.id)}
    for name, email in MEMBERS:
        if email not in emails:
            cl.add_member(org.id, name, email)
    return cl.projects(org.id), cl.members(org.id)


def _billing(cl: Creditline, org: Organization) -> None:
    """The card, the plan's subscription, the alert rules and their webhook endpoint."""
    if cl.org_rate_card(org.id) != "demo-ai-lab":
        cl.set_rate_card(org.id, "demo-ai-lab")
    if cl.subscription(org.id) is None:
        cl.subscribe(org.id, PLAN)
    if not cl.webhook_endpoints(org.id, include_disabled=True):
        cl.add_webhook(
            WEBHOOK_URL,
            org_id=org.id,
            description="Demo AI Lab's on-call channel (credit alerts)",
        )
    if not cl.alert_rules(org.id, include_disabled=True):
        cl.add_alert(org.id, "remaining_below", threshold=ALERT_THRESHOLD)
        cl.add_alert(org.id, "forecast_depletion", days=FORECAST_DAYS, lookback_days=7)


# -- the usage, day by day ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Call:
    """One usage event before it has an organization and ids: its time, attribution,
    operation, quantities, dimensions and steps."""

    at: datetime
    project: str
    member: str
    operation: str
    quantities: dict[str, int]
    dimensions: dict[str, str] = field(default_factory=dict)
    steps: tuple[UsageStep, ...] = ()


def _moment(rnd: random.Random, day: date, first: int = 7, last: int = 20) -> datetime:
    """A time of ``day``, mostly in working hours."""
    hour = rnd.randint(first, last) if rnd.random() < 0.9 else rnd.randint(0, 23)
    return datetime.combine(day, time(hour, rnd.randrange(60), rnd.randrange(60)), UTC)


def _pick(rnd: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rnd.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


_CHAT_MODELS = (("gpt-4o", 55), ("llama-3-70b", 35), ("claude-sonnet", 10))
_BENCHMARKED = ("gpt-4o", "claude-sonnet", "llama-3-70b", "mistral-large")
_TRANSLATORS = (("azure-translator", 70), ("google-translate", 30))
_TRANSCRIBERS = (("aws-transcribe", 60), ("whisper-large", 40))


def _chat(rnd: random.Random, day: date) -> _Call:
    return _Call(
        _moment(rnd, day, 6, 22),
        _BOT,
        _ADA if rnd.random() < 0.6 else _EDSGER,
        "generate_text",
        {"tokens": int(rnd.lognormvariate(10.0, 0.7))},
        {"model": _pick(rnd, _CHAT_MODELS)},
    )


def _document(rnd: random.Random, day: date) -> _Call:
    member = _ALAN if rnd.random() < 0.65 else _KATHERINE
    if rnd.random() < 0.6:
        chars = rnd.randint(20, 400) * 1000
        dims = {"model": _pick(rnd, _TRANSLATORS)}
        return _Call(_moment(rnd, day), _DOCS, member, "translate", {"characters": chars}, dims)
    minutes = {"minutes": rnd.randint(3, 90)}
    dims = {"model": _pick(rnd, _TRANSCRIBERS)}
    return _Call(_moment(rnd, day), _DOCS, member, "transcribe", minutes, dims)


def _pipeline(rnd: random.Random, day: date) -> _Call:
    """Transcribe a recording, translate it, then summarise it or read it aloud."""
    minutes = rnd.randint(10, 75)
    chars = minutes * rnd.randint(700, 1000)
    steps = [
        UsageStep("transcribe", {"minutes": minutes}, {"model": _pick(rnd, _TRANSCRIBERS)}),
        UsageStep("translate", {"characters": chars}, {"model": _pick(rnd, _TRANSLATORS)}),
    ]
    if rnd.random() < 0.5:
        steps.append(UsageStep("generate_text", {"tokens": chars // 3}, {"model": "gpt-4o"}))
    else:
        steps.append(UsageStep("text_to_speech", {"characters": chars}, {"model": "google-tts"}))
    member = _ALAN if rnd.random() < 0.7 else _KATHERINE
    return _Call(_moment(rnd, day), _DOCS, member, "pipeline", {}, {}, tuple(steps))


def _benchmark(rnd: random.Random, day: date) -> _Call:
    """Three or four models compared on one dataset."""
    models = rnd.sample(_BENCHMARKED, rnd.choice((3, 3, 4)))
    samples = rnd.choice((2000, 5000, 10000, 20000))
    steps = tuple(UsageStep("benchmark_model", {"samples": samples}, {"model": m}) for m in models)
    member = _GRACE if rnd.random() < 0.75 else _KATHERINE
    return _Call(_moment(rnd, day, 9, 18), _EVAL, member, "benchmark", {}, {}, steps)


def _day_calls(index: int, day: date) -> tuple[list[_Call], list[_Call]]:
    """Day ``index`` of the story: its ordinary calls and its jobs, by time. The same
    date always gives the same usage; the volume grows over the months."""
    rnd = random.Random(f"{SEED}:{day.isoformat()}")
    weekday = day.weekday() < 5
    volume = (0.7 + 0.6 * min(index, DAYS) / DAYS) * (1.0 if weekday else 0.35)
    volume *= rnd.uniform(0.75, 1.25)
    calls = [_chat(rnd, day) for _ in range(round(30 * volume))]
    calls += [_document(rnd, day) for _ in range(round(5 * volume))]
    jobs = [_pipeline(rnd, day) for _ in range(max(1, round(3 * volume)))]
    if weekday and rnd.random() < 0.7:
        jobs.append(_benchmark(rnd, day))
    return sorted(calls, key=lambda c: c.at), sorted(jobs, key=lambda c: c.at)


def _event(org_id: str, ids: dict[str, str], call: _Call, event_id: str) -> UsageEvent:
    return UsageEvent(
        event_id, org_id, call.operation, call.at, call.quantities, call.dimensions,
        ids[call.project], ids[call.member], None, call.steps,
    )  # fmt: skip


# -- the story: a timeline of steps, played in order ---------------------------------------

_Step = tuple[datetime, str, Callable[[], object]]


class _Story:
    """The demo organization's timeline from ``start`` to ``end``, as steps to play."""

    def __init__(
        self,
        cl: Creditline,
        outside: Outside,
        org: Organization,
        *,
        ids: dict[str, str],
        start: datetime,
        end: datetime,
    ) -> None:
        self.cl, self.outside, self.org, self.ids = cl, outside, org, ids
        self.start, self.end = start, end
        self.topped_up: bool | None = None

    def steps(self) -> Iterator[_Step]:
        """Every step of the story before ``end``, in order of time."""
        found: list[_Step] = []
        first = self.start.date()
        for index in range((self.end.date() - first).days + 1):
            found.extend(self._day(index, first + timedelta(days=index)))
        found.append((self.end, "tick", self._midnight))
        found.sort(key=lambda s: s[0])
        yield from (s for s in found if s[0] <= self.end)

    def _day(self, index: int, day: date) -> Iterator[_Step]:
        midnight = max(datetime.combine(day, time(0), UTC), self.start)
        yield midnight, "tick", self._midnight
        calls, jobs = _day_calls(index, day)
        stamp = day.strftime("%Y%m%d")
        ids = (f"evt_demo_{stamp}_{n:03d}" for n in itertools.count(1))
        events = [self._event(c, i) for c, i in zip(calls + jobs, ids, strict=False)]
        batches: dict[int, list[UsageEvent]] = {}
        for event in events[: len(calls)]:
            if self._within(event):
                batches.setdefault(event.at.hour // BATCH_HOURS, []).append(event)
        for batch in batches.values():
            yield batch[-1].at, "usage", self._record(batch)
        done = [e for e in events[len(calls) :] if self._within(e)]
        for event in done:
            yield event.at, "usage", self._record([event])
        yield from self._moments(index, day, done)

    def _midnight(self) -> None:
        """The scheduler's run; then, the first time the balance is below the alert
        threshold, the lab tops up with the ``growth`` pack."""
        self.cl.tick()
        if self.topped_up is None:
            self.topped_up = any(p.pack == "growth" for p in self.cl.purchases(self.org.id))
        if not self.topped_up and self.cl.balance(self.org.id).available < ALERT_THRESHOLD:
            self._buy("growth", "demo-growth")
            self.topped_up = True

    def _within(self, event: UsageEvent) -> bool:
        return self.start <= event.at < self.end

    def _event(self, call: _Call, event_id: str) -> UsageEvent:
        return _event(self.org.id, self.ids, call, event_id)

    def _record(self, events: list[UsageEvent]) -> Callable[[], object]:
        return lambda: self.cl.record_usage(events)

    def _moments(self, index: int, day: date, jobs: list[UsageEvent]) -> Iterator[_Step]:
        """The day's purchases, refund and void, when it has one."""
        at = datetime.combine(day, time(10, 12), UTC)
        stamp = day.strftime("%Y%m%d")
        if index == STARTER_DAY:
            yield at, "purchase", lambda: self._buy("starter", f"demo-starter-{stamp}")
        if index == MISTAKE_DAY:
            key = f"demo-starter-{stamp}"
            yield at, "purchase", lambda: self._buy("starter", key)
            yield at + timedelta(minutes=47), "refund", lambda: self._refund(key)
        if index in VOID_DAYS and jobs:
            # a job that failed on the supplier's side: the lab's platform voids it
            job = next((e for e in jobs if e.operation == "benchmark"), jobs[0])
            void, event_id = self.cl.void_event, job.event_id
            yield job.at + timedelta(hours=2), "void", lambda: void(self.org.id, event_id)

    def _buy(self, pack: str, key: str) -> Purchase:
        purchase = self.cl.create_purchase(
            self.org.id, pack, currency="USD", email=_KATHERINE, idempotency_key=key
        )
        self.outside.pay(self.cl, purchase)
        return self.cl.purchase(self.org.id, purchase.id)

    def _refund(self, key: str) -> None:
        bought = self._buy("starter", key)
        if bought.status is PurchaseStatus.PAID:
            self.cl.refund_purchase(self.org.id, bought.id)


def _resume_after(cl: Creditline, org: Organization) -> datetime | None:
    """The time of the organization's newest ledger entry: a re-run plays only what
    comes after it."""
    newest = cl.history(org.id, limit=1)
    return newest[0].recorded_at if newest else None


def run(
    cl: Creditline, clock: ManualClock, outside: Outside, now: datetime | None = None
) -> DemoReport:
    """Play the story on ``cl`` up to ``now`` (default: the clock's time). ``cl``'s clock
    must be ``clock`` (it is moved), its payments and webhook sender ``outside``'s.

    Raises:
        ConfigurationError: the database holds organizations other than the demo's.
    """
    end = now or clock.now()
    existing = _demo_org(cl)
    start = existing.created_at if existing else story_start(end)
    clock.set(start)
    org = existing or cl.create_org("Demo AI Lab", external_ref=DEMO_REF)
    _catalogue(cl)
    projects, members = _people(cl, org)
    ids = {p.name: p.id for p in projects} | {m.email or m.name: m.id for m in members}
    resume = _resume_after(cl, org)
    _billing(cl, org)
    for at, _, act in _Story(cl, outside, org, ids=ids, start=start, end=end).steps():
        if resume is None or at > resume:
            clock.set(max(at, clock.now()))
            act()
    clock.set(max(end, clock.now()))
    return _report(
        cl, org, reused=existing is not None, start=start, end=end, projects=projects,
        members=members,
    )  # fmt: skip


def _report(
    cl: Creditline,
    org: Organization,
    *,
    reused: bool,
    start: datetime,
    end: datetime,
    projects: list[Project],
    members: list[Member],
) -> DemoReport:
    usage = cl.usage_report(org.id, (), start, end + timedelta(microseconds=1))
    grants = cl.grants(org.id)
    return DemoReport(
        org=org,
        reused=reused,
        projects=projects,
        members=members,
        started_at=start,
        ended_at=end,
        events=usage.events,
        spent=usage.cost,
        renewals=sum(1 for g in grants if g.source.type is SourceType.PLAN),
        purchases=cl.purchases(org.id),
        expired=list(reversed(cl.history(org.id, 10_000, types=[EntryType.EXPIRE]))),
        balance=cl.balance(org.id),
        grants=grants,
        history=cl.history(org.id, limit=HISTORY_SHOWN),
        verify=cl.verify(),
    )
