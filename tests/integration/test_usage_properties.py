"""Properties of metering (C6, C7, A3, D6), on SQLite, a fresh database per example.

- A voided event gives every grant back exactly what it took: each grant's remaining
  is what it was before the event was recorded (after any amendments too).
- Random sequences of grants, usage, holds, commits, releases, voids, amendments and
  expiry sweeps under a flex plan with a billing threshold: a small reference model
  predicts which usage is accepted; consumption plus holds never exceed what was
  granted plus the flex granted; the flex granted in a month never exceeds the
  threshold; the ledger verifies after every step.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from creditline import Creditline, EntryType, GrantKind, InsufficientCredits, ManualClock, credits
from creditline.domain.usage import EventStatus
from tests.metering import card_doc, remaining

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TENTH = credits("0.1")  # translate: 10,000 characters cost a tenth of a credit
THRESHOLD = credits(3)  # small, so that sequences reach it


@contextmanager
def engine(plan: dict[str, Any]) -> Iterator[tuple[Creditline, ManualClock, str]]:
    """A fresh SQLite database with the small card and one organization on ``plan``."""
    clock = ManualClock(T0)
    with (
        tempfile.TemporaryDirectory(prefix="creditline-usage-") as folder,
        Creditline.open(f"sqlite:///{Path(folder) / 'usage.db'}", clock=clock) as cl,
    ):
        cl.load_rate_card(card_doc())
        cl.put_plan(plan)
        org = cl.create_org("Property").id
        cl.assign_plan(org, plan["name"])
        yield cl, clock, org


def translate(cl: Creditline, org: str, event_id: str, tenths: int):
    return cl.record(org, event_id, "translate", {"characters": tenths * 10_000})


# -- a voided event restores the exact grants ----------------------------------------------

grant_specs = st.lists(
    st.tuples(
        st.sampled_from(["included", "prepaid", "promotional", "adjustment"]),
        st.integers(1, 300),  # tenths of a credit
        st.one_of(st.none(), st.integers(1, 90)),  # expires in days
    ),
    min_size=0,
    max_size=5,
)


voids = st.fixed_dictionaries(
    {
        "grants": grant_specs,
        "policy": st.sampled_from(["pause", "flex", "unlimited"]),
        "earlier": st.lists(st.integers(0, 120), max_size=4),  # events before, in tenths
        "hold": st.integers(0, 60),  # a hold made before, in tenths
        "target": st.integers(0, 400),  # the event voided, in tenths
        "amend_to": st.one_of(st.none(), st.integers(0, 400)),  # amended first
        "wait_hours": st.integers(0, 24 * 40),  # between recording and voiding
    }
)


@settings(max_examples=30)
@given(case=voids)
def test_a_voided_event_gives_each_grant_back_exactly_what_it_took(case: dict[str, Any]) -> None:
    with engine({"name": "p", "depletion": case["policy"]}) as (cl, clock, org):
        for kind, tenths, days in case["grants"]:
            expires = None if days is None else T0 + timedelta(days=days)
            cl.grant(org, tenths * TENTH, kind, expires_at=expires)
        for i, tenths in enumerate(case["earlier"]):
            translate(cl, org, f"earlier-{i}", tenths)
        if case["hold"]:
            with suppress(InsufficientCredits):
                cl.reserve(org, case["hold"] * TENTH)
        before = remaining(cl, org)
        total_before = cl.balance(org).total

        result = translate(cl, org, "target", case["target"])
        if result.status is EventStatus.ACCEPTED and case["amend_to"] is not None:
            with suppress(InsufficientCredits):
                cl.amend_event(org, "target", {"characters": case["amend_to"] * 10_000})
        clock.advance(timedelta(hours=case["wait_hours"]))  # expiry may pass; nothing swept
        cl.void_event(org, "target")

        after = remaining(cl, org)
        assert {g: after[g] for g in before} == before
        made = {g.id: g for g in cl.grants(org) if g.id not in before}
        assert all(g.kind is GrantKind.FLEX and g.remaining == g.amount for g in made.values())
        assert cl.balance(org).total == total_before + sum(g.amount for g in made.values())
        if result.status is EventStatus.ACCEPTED:
            assert cl.usage_event(org, "target").status == "voided"
        assert cl.verify().ok


# -- holds, spends and flex never exceed what was spendable plus the threshold -------------

records = st.tuples(st.just("record"), st.integers(0, 30))
operations = st.lists(
    st.one_of(
        records,
        records,
        records,  # usage is the common step: sequences run out of credits and into flex
        st.tuples(st.just("grant"), st.integers(1, 30), st.one_of(st.none(), st.integers(1, 40))),
        st.tuples(st.just("reserve"), st.integers(1, 40)),
        st.tuples(st.just("commit"), st.integers(0, 50)),
        st.tuples(st.just("release")),
        st.tuples(st.just("void")),
        st.tuples(st.just("amend"), st.integers(0, 40)),
        st.tuples(st.just("wait"), st.integers(1, 24 * 20)),
    ),
    min_size=5,
    max_size=30,
)


@dataclass
class Model:
    """What the test tracks of the organization, to predict and check the engine."""

    granted: int = 0
    events: dict[str, int] = field(default_factory=dict)  # accepted event -> its cost
    holds: list[str] = field(default_factory=list)
    sequence: int = 0

    def flex_room(self, cl: Creditline, org: str, now: datetime) -> int:
        return THRESHOLD - flex_granted(cl, org).get(f"flex:{now:%Y-%m}", 0)


def flex_granted(cl: Creditline, org: str) -> dict[str, int]:
    """Flex micro-credits granted, by month (the grants' source reference)."""
    by_month: dict[str, int] = {}
    for g in cl.grants(org):
        if g.kind is GrantKind.FLEX:
            by_month[g.source.ref] = by_month.get(g.source.ref, 0) + g.amount
    return by_month


def _record(cl: Creditline, clock: ManualClock, org: str, model: Model, tenths: int) -> None:
    cost = tenths * TENTH
    affordable = cost <= cl.balance(org).available + model.flex_room(cl, org, clock.now())
    model.sequence += 1
    event_id = f"e{model.sequence}"
    result = translate(cl, org, event_id, tenths)
    assert result.status is (EventStatus.ACCEPTED if affordable else EventStatus.REFUSED)
    if affordable:
        model.events[event_id] = cost


def _amend(cl: Creditline, clock: ManualClock, org: str, model: Model, tenths: int) -> None:
    if not model.events:
        return
    event_id = next(reversed(model.events))  # the latest
    diff = tenths * TENTH - model.events[event_id]
    affordable = diff <= cl.balance(org).available + model.flex_room(cl, org, clock.now())
    try:
        cl.amend_event(org, event_id, {"characters": tenths * 10_000})
    except InsufficientCredits:
        assert not affordable
        return
    assert affordable
    model.events[event_id] = tenths * TENTH


def _reserve(cl: Creditline, org: str, model: Model, tenths: int) -> None:
    affordable = tenths * TENTH <= cl.balance(org).available  # holds never use flex
    try:
        model.holds.append(cl.reserve(org, tenths * TENTH, ttl=timedelta(days=2)).id)
    except InsufficientCredits:
        assert not affordable
        return
    assert affordable


def _settle(cl: Creditline, org: str, model: Model, op: str, tenths: int) -> None:
    if not model.holds:
        return
    held = model.holds.pop()
    if op == "release":
        cl.release(org, held)
    else:
        cl.commit(org, held, tenths * TENTH)


def _step(cl: Creditline, clock: ManualClock, org: str, model: Model, op: tuple) -> None:
    name, *args = op
    if name == "grant":
        expires = None if args[1] is None else clock.now() + timedelta(days=args[1])
        cl.grant(org, args[0] * TENTH, "prepaid", expires_at=expires)
        model.granted += args[0] * TENTH
    elif name == "record":
        _record(cl, clock, org, model, args[0])
    elif name == "amend":
        _amend(cl, clock, org, model, args[0])
    elif name == "reserve":
        _reserve(cl, org, model, args[0])
    elif name in ("commit", "release"):
        _settle(cl, org, model, name, args[0] if args else 0)
    elif name == "void" and model.events:
        cl.void_event(org, model.events.popitem()[0])
    elif name == "wait":
        clock.advance(timedelta(hours=args[0]))
        cl.expire_due()


def _sums(cl: Creditline, org: str) -> dict[EntryType, int]:
    sums: dict[EntryType, int] = {}
    for e in cl.history(org, limit=10_000):
        sums[e.type] = sums.get(e.type, 0) + e.amount
    return sums


@settings(max_examples=30)
@given(ops=operations, initial=st.integers(0, 20))
def test_usage_holds_and_flex_never_exceed_what_was_granted_plus_the_threshold(
    ops: list[tuple], initial: int
) -> None:
    plan = {"name": "flexy", "depletion": "flex", "flex_limit_micros": THRESHOLD}
    with engine(plan) as (cl, clock, org):
        model = Model()
        if initial:
            cl.grant(org, initial * TENTH, "included", expires_at=T0 + timedelta(days=31))
            model.granted += initial * TENTH
        for op in ops:
            _step(cl, clock, org, model, op)
            flex = flex_granted(cl, org)
            assert all(amount <= THRESHOLD for amount in flex.values()), flex
            sums = _sums(cl, org)
            consumed = -sums.get(EntryType.CONSUME, 0) - sums.get(EntryType.VOID, 0)
            expired = -sums.get(EntryType.EXPIRE, 0)
            balance = cl.balance(org)
            assert balance.total >= 0 and balance.held >= 0
            granted = model.granted + sum(flex.values())
            assert sums.get(EntryType.GRANT, 0) == granted
            assert consumed + balance.held + expired + balance.total == granted
            assert consumed + balance.held <= granted
            assert consumed >= sum(model.events.values())  # commits consume too
            report = cl.verify()
            assert report.ok, report.problems
