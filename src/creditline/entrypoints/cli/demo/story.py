"""The demo's story, day by day: the set-up, each day's calls, purchases, refunds,
voids and midnights, then the report (the whole tale: :mod:`creditline.entrypoints.cli.demo`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from creditline import Creditline, EntryType, ManualClock, Member, Organization, Project, SourceType
from creditline.domain.errors import ConfigurationError
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.usage import UsageEvent, UsageStep
from creditline.entrypoints.cli.demo.world import (
    ADA,
    ALAN,
    ALERT_THRESHOLD,
    BATCH_HOURS,
    BOT,
    DAYS,
    DEMO_REF,
    DOCS,
    EDSGER,
    EVAL,
    FORECAST_DAYS,
    GRACE,
    HISTORY_SHOWN,
    KATHERINE,
    MEMBERS,
    MISTAKE_DAY,
    PACKS,
    PLAN,
    PLANS,
    PROJECTS,
    RATE_CARD,
    SEED,
    STARTER_DAY,
    VOID_DAYS,
    WEBHOOK_URL,
    DemoReport,
    Outside,
    story_start,
)

__all__ = ["run"]

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
        BOT,
        ADA if rnd.random() < 0.6 else EDSGER,
        "generate_text",
        {"tokens": int(rnd.lognormvariate(10.0, 0.7))},
        {"model": _pick(rnd, _CHAT_MODELS)},
    )


def _document(rnd: random.Random, day: date) -> _Call:
    member = ALAN if rnd.random() < 0.65 else KATHERINE
    if rnd.random() < 0.6:
        chars = rnd.randint(20, 400) * 1000
        dims = {"model": _pick(rnd, _TRANSLATORS)}
        return _Call(_moment(rnd, day), DOCS, member, "translate", {"characters": chars}, dims)
    minutes = {"minutes": rnd.randint(3, 90)}
    dims = {"model": _pick(rnd, _TRANSCRIBERS)}
    return _Call(_moment(rnd, day), DOCS, member, "transcribe", minutes, dims)


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
    member = ALAN if rnd.random() < 0.7 else KATHERINE
    return _Call(_moment(rnd, day), DOCS, member, "pipeline", {}, {}, tuple(steps))


def _benchmark(rnd: random.Random, day: date) -> _Call:
    """Three or four models compared on one dataset."""
    models = rnd.sample(_BENCHMARKED, rnd.choice((3, 3, 4)))
    samples = rnd.choice((2000, 5000, 10000, 20000))
    steps = tuple(UsageStep("benchmark_model", {"samples": samples}, {"model": m}) for m in models)
    member = GRACE if rnd.random() < 0.75 else KATHERINE
    return _Call(_moment(rnd, day, 9, 18), EVAL, member, "benchmark", {}, {}, steps)


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
            self.org.id, pack, currency="USD", email=KATHERINE, idempotency_key=key
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
