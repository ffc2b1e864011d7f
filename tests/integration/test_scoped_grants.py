"""Scoped grants (B7) through the engine, on SQLite and PostgreSQL.

The property: random sequences of grants (general and scoped), usage of several
operations and modes, debits and holds for an operation or none, commits, releases,
voids, amendments that change the mode, credit-backs, expiry and time passing. After
every step:

- no ledger entry ever takes credits from a scoped grant for an operation (and
  dimension values) its scope does not cover: each entry is traced to what it paid for
  (the usage event's stored operation and dimensions, the debit's or the hold's own);
- a charge is accepted exactly when it fits in what the balance says is available for
  its operation (``Balance.available_for``: general credits and the covering scoped
  ones), under the ``pause`` policy; under ``flex`` a hold still is;
- a release gives each grant back exactly what the hold took from it;
- ``verify`` is clean (its own check of scoped grants included).

Then examples of each rule, and the OTAI onboarding guarantee and credit-back.
"""

from __future__ import annotations

import itertools
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditline import (
    Cause,
    CauseType,
    Creditline,
    DebitStatus,
    EntryType,
    GrantKind,
    InsufficientCredits,
    ManualClock,
    SourceType,
    credits,
    parse_scope,
)
from creditline.domain.errors import InvalidGrant, InvalidSetting, InvalidUsage
from creditline.domain.usage import EventStatus
from tests.metering import load_example

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ONE = credits(1)

CARD = {
    "name": "default",
    "version": "v1",
    "effective_from": "2025-12-01T00:00:00+00:00",
    "operations": {
        "train": {
            "dimensions": ["mode"],
            "matrix": {"Basic": "1", "Business": "3", "Maximum": "12"},
        },
        "improve": {"flat": "2"},
        "predict": {"flat": "1"},
    },
}
SCOPES = {
    "train": [{"operation": "train", "dimensions": {"mode": "any"}}],
    "basic": [{"operation": "train", "dimensions": {"mode": ["Basic"]}}],
    "onboarding": [{"operation": "train"}, {"operation": "improve"}],
    "improve": [{"operation": "improve"}],
}
MODES = ["Basic", "Business", "Maximum"]
COST = {"Basic": ONE, "Business": 3 * ONE, "Maximum": 12 * ONE}

# What a charge is for: (operation, dimensions), or None for no operation.
Target = tuple[str, dict[str, str]] | None
targets = st.one_of(
    st.none(),
    st.builds(lambda m: ("train", {"mode": m}), st.sampled_from(MODES)),
    st.just(("improve", {})),
    st.just(("predict", {})),
)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(1, 8),
                  st.sampled_from([None, None, *SCOPES]), st.one_of(st.none(), st.integers(1, 30))),
        st.tuples(st.just("train"), st.sampled_from(MODES)),
        st.tuples(st.just("train"), st.sampled_from(MODES)),
        st.tuples(st.just("use"), st.sampled_from(["improve", "predict"])),
        st.tuples(st.just("spend"), st.integers(1, 6), targets),
        st.tuples(st.just("reserve"), st.integers(1, 6), targets),
        st.tuples(st.just("commit"), st.integers(0, 8)),
        st.tuples(st.just("release")),
        st.tuples(st.just("void")),
        st.tuples(st.just("amend"), st.sampled_from(MODES)),
        st.tuples(st.just("credit_back")),
        st.tuples(st.just("wait"), st.integers(1, 24 * 12)),
    ),
    min_size=4,
    max_size=25,
)  # fmt: skip


@dataclass
class Run:
    """One example: its organization, and what each cause was for."""

    cl: Creditline
    clock: ManualClock
    org: str
    policy: str
    for_cause: dict[tuple[CauseType, str], Target] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)
    n: itertools.count[int] = field(default_factory=itertools.count)

    def check_charge(self, target: Target, cost: int, accepted: bool, *, flex: bool) -> None:
        """Accepted exactly when it fits in what is available for it (or flex takes it)."""
        if flex and self.policy == "flex":
            assert accepted
        else:
            assert accepted == (cost <= self.room), (target, cost, self.room)

    room: int = 0


def available_for(cl: Creditline, org: str, target: Target) -> int:
    b = cl.balance(org)
    return b.general if target is None else b.available_for(*target)


def step(run: Run, action: tuple[Any, ...]) -> None:  # noqa: C901, PLR0912
    cl, org, name = run.cl, run.org, action[0]
    i = next(run.n)
    if name == "grant":
        _, amount, scope, days = action
        expires = None if days is None else run.clock.now() + timedelta(days=days)
        cl.grant(org, amount * ONE, "promotional" if scope else "prepaid", expires_at=expires,
                 scope=None if scope is None else SCOPES[scope])  # fmt: skip
    elif name in ("train", "use"):
        event_id = f"e{i}"
        op, dims = ("train", {"mode": action[1]}) if name == "train" else (action[1], {})
        run.room = available_for(cl, org, (op, dims))
        result = cl.record(org, event_id, op, {}, dims)
        cost = COST[action[1]] if name == "train" else (2 * ONE if op == "improve" else ONE)
        run.check_charge((op, dims), cost, result.status is EventStatus.ACCEPTED, flex=True)
        if result.status is EventStatus.ACCEPTED:
            run.events.append(event_id)
    elif name == "spend":
        _, amount, target = action
        run.room = available_for(cl, org, target)
        cause = Cause(CauseType.DEBIT, f"d{i}")
        run.for_cause[(CauseType.DEBIT, cause.ref)] = target
        op, dims = target if target is not None else (None, None)
        try:
            result = cl.spend(org, amount * ONE, cause=cause, operation=op, dimensions=dims)
            accepted = result.status is DebitStatus.ACCEPTED
        except InsufficientCredits:
            accepted = False
        run.check_charge(target, amount * ONE, accepted, flex=True)
    elif name == "reserve":
        _, amount, target = action
        run.room = available_for(cl, org, target)
        op, dims = target if target is not None else (None, None)
        try:
            res = cl.reserve(org, amount * ONE, operation=op, dimensions=dims)
        except InsufficientCredits:
            run.check_charge(target, amount * ONE, False, flex=False)
            return
        run.check_charge(target, amount * ONE, True, flex=False)
        run.for_cause[(CauseType.RESERVATION, res.id)] = target
        run.holds.append(res.id)
    elif name in ("commit", "release") and run.holds:
        res_id = run.holds.pop(0)
        if name == "commit":
            cl.commit(org, res_id, action[1] * ONE)
        else:
            held = cl.reservation(org, res_id)
            before = {g.id: g.remaining for g in cl.grants(org)}
            cl.release(org, res_id)
            after = {g.id: g.remaining for g in cl.grants(org)}
            back = {g: a for g, a in held.holds}  # released to the grants it came from
            assert {g: after[g] - before[g] for g in before if after[g] != before[g]} == back
    elif name == "void" and run.events:
        cl.void_event(org, run.events.pop(0))
    elif name == "amend" and run.events:
        with suppress(InsufficientCredits, InvalidUsage):
            stored = cl.usage_event(org, run.events[-1])
            if stored.event.operation == "train":
                cl.amend_event(org, stored.event_id, {}, {"mode": action[1]})
    elif name == "credit_back" and run.events:
        grant = cl.credit_back(org, run.events[0], "acceptance criteria not met")
        assert grant.scope is None and grant.kind is GrantKind.REFUND
    elif name == "wait":
        run.clock.advance(timedelta(hours=action[1]))
        cl.expire_due()


def no_scoped_grant_paid_for_what_it_does_not_cover(run: Run) -> None:
    cl, org = run.cl, run.org
    scopes = {g.id: g.scope for g in cl.grants(org) if g.scope is not None}
    takes = (EntryType.CONSUME, EntryType.RESERVE, EntryType.ADJUSTMENT)
    for entry in cl.history(org, limit=10_000):
        if entry.grant_id not in scopes or entry.type not in takes:
            continue
        scope, cause = scopes[entry.grant_id], entry.cause
        if cause.type in (CauseType.USAGE_EVENT, CauseType.USAGE_BATCH):
            continue  # checked per event below (a batch's entry nets several events)
        target = run.for_cause[(cause.type, cause.ref)]
        assert target is not None and scope.covers(*target), (entry, scope)
    for stored in cl.usage_events(org, limit=10_000):
        for grant_id, _ in stored.allocations:
            if grant_id in scopes:
                assert scopes[grant_id].covers(stored.event.operation, stored.event.dimensions)


def new_run(cl: Creditline, clock: ManualClock, policy: str) -> Run:
    org = cl.create_org(f"Scoped {len(cl.list_orgs(limit=1000))}").id
    cl.assign_plan(org, policy)
    return Run(cl, clock, org, policy)


@pytest.fixture
def engine(cl: Creditline) -> Creditline:
    cl.load_rate_card(CARD)
    cl.put_plan({"name": "pause", "depletion": "pause"})
    cl.put_plan({"name": "flex", "depletion": "flex"})
    return cl


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(policy=st.sampled_from(["pause", "pause", "flex"]), actions=steps,
       first=st.lists(st.tuples(st.integers(1, 8), st.sampled_from([None, *SCOPES])),
                      min_size=1, max_size=4))  # fmt: skip
def test_spending_never_takes_a_scoped_grant_for_what_it_does_not_cover(
    engine: Creditline,
    clock: ManualClock,
    policy: str,
    actions: list[tuple[Any, ...]],
    first: list[tuple[int, str | None]],
) -> None:
    run = new_run(engine, clock, policy)
    for amount, scope in first:
        engine.grant(run.org, amount * ONE, scope=None if scope is None else SCOPES[scope])
    for action in actions:
        step(run, action)
        no_scoped_grant_paid_for_what_it_does_not_cover(run)
        report = engine.verify()
        assert report.ok, report.problems


# -- examples -----------------------------------------------------------------------------


def test_a_scoped_grant_is_stored_with_its_scope_and_refused_for_an_unknown_operation(
    engine: Creditline,
) -> None:
    org = engine.create_org("Acme").id
    made = engine.grant(org, 4 * ONE, "promotional", scope=SCOPES["onboarding"])
    (stored,) = engine.grants(org)
    assert stored.scope == made.scope == parse_scope(SCOPES["onboarding"])
    with pytest.raises(InvalidGrant) as caught:
        engine.grant(org, ONE, scope=[{"operation": "trian"}])
    assert "'trian' is not an operation of rate card 'default'" in str(caught.value)
    with pytest.raises(InvalidGrant, match="'Basik' is not a value of 'mode'"):
        engine.grant(org, ONE, scope=[{"operation": "train", "dimensions": {"mode": "Basik"}}])
    with pytest.raises(InvalidGrant, match="must list at least one rule"):
        engine.grant(org, ONE, scope=[])
    assert len(engine.grants(org)) == 1


def test_an_idempotent_scoped_grant_replays_and_a_different_scope_is_a_reused_key(
    engine: Creditline,
) -> None:
    from creditline.domain.errors import IdempotencyKeyReused

    org = engine.create_org("Acme").id
    first = engine.grant(org, ONE, scope=SCOPES["train"], idempotency_key="k")
    assert engine.grant(org, ONE, scope=SCOPES["train"], idempotency_key="k").id == first.id
    with pytest.raises(IdempotencyKeyReused):
        engine.grant(org, ONE, scope=SCOPES["improve"], idempotency_key="k")


def test_scoped_credits_pay_first_for_what_they_cover_and_never_for_anything_else(
    engine: Creditline,
) -> None:
    org = engine.create_org("Acme").id
    general = engine.grant(org, 5 * ONE, "included")
    onboarding = engine.grant(org, 4 * ONE, "promotional", scope=SCOPES["onboarding"])
    b = engine.balance(org)
    assert (b.available, b.general, b.scoped) == (9 * ONE, 5 * ONE, 4 * ONE)
    assert [(s.grant_id, s.remaining) for s in b.scoped_grants] == [(onboarding.id, 4 * ONE)]
    assert (b.available_for("train", {"mode": "Business"}), b.available_for("predict")) == (
        9 * ONE, 5 * ONE,
    )  # fmt: skip

    engine.record(org, "run-1", "train", {}, {"mode": "Business"})  # 3: the onboarding grant
    engine.record(org, "p-1", "predict")  # 1: general
    assert {g.id: g.remaining for g in engine.grants(org)} == {
        general.id: 4 * ONE, onboarding.id: ONE,
    }  # fmt: skip
    with pytest.raises(InsufficientCredits) as caught:
        engine.spend(org, 5 * ONE)  # no operation: the general 4 only
    assert caught.value.available == 4 * ONE
    took = engine.spend(org, 2 * ONE, operation="improve").allocations
    assert [(a.grant_id, a.amount) for a in took] == [(onboarding.id, ONE), (general.id, ONE)]
    assert engine.verify().ok


def test_a_hold_for_an_operation_is_held_from_its_scoped_grant_and_released_back(
    engine: Creditline,
) -> None:
    org = engine.create_org("Acme").id
    engine.grant(org, 5 * ONE)
    onboarding = engine.grant(org, 2 * ONE, scope=SCOPES["train"])
    res = engine.reserve(org, 3 * ONE, operation="train", dimensions={"mode": "Business"})
    assert engine.reservation(org, res.id).operation == "train"  # stored with the hold
    assert engine.reservation(org, res.id).dimensions == {"mode": "Business"}
    assert res.holds[0] == (onboarding.id, 2 * ONE)
    engine.release(org, res.id)
    assert {g.id: g.remaining for g in engine.grants(org)}[onboarding.id] == 2 * ONE
    again = engine.reserve(org, ONE, operation="train", dimensions={"mode": "Basic"})
    settled = engine.commit(org, again.id, 4 * ONE)  # 1 held, 1 more scoped, then 2 general
    assert (settled.consumed, settled.shortfall) == (4 * ONE, 0)
    assert engine.balance(org).scoped == 0 and engine.balance(org).general == 3 * ONE
    assert engine.verify().ok


def test_amending_an_event_to_values_its_scoped_grant_does_not_cover_gives_them_back(
    engine: Creditline,
) -> None:
    org = engine.create_org("Acme").id
    general = engine.grant(org, 10 * ONE)
    basic = engine.grant(org, ONE, scope=SCOPES["basic"])
    engine.record(org, "run", "train", {}, {"mode": "Basic"})
    assert engine.usage_event(org, "run").allocations == ((basic.id, ONE),)
    engine.amend_event(org, "run", {}, {"mode": "Business"})
    stored = engine.usage_event(org, "run")
    assert stored.allocations == ((general.id, 3 * ONE),) and stored.cost == 3 * ONE
    assert {g.id: g.remaining for g in engine.grants(org)} == {basic.id: ONE, general.id: 7 * ONE}
    assert engine.verify().ok


def test_verify_names_a_scoped_grant_that_paid_for_another_operation(
    engine: Creditline, db_url: str
) -> None:
    """A ledger written wrong (here: by hand) is caught by verify, naming the grant."""
    from sqlalchemy import text

    org = engine.create_org("Acme").id
    engine.grant(org, 5 * ONE)
    scoped = engine.grant(org, 2 * ONE, scope=SCOPES["improve"])
    engine.record(org, "p", "predict")  # paid by the general grant
    with engine._engine.begin() as conn:
        row = conn.execute(text("SELECT id, body FROM usage_events WHERE event_id = 'p'")).one()
        body = row.body if isinstance(row.body, dict) else __import__("json").loads(row.body)
        body["allocations"] = [[scoped.id, ONE]]
        conn.execute(
            text("UPDATE usage_events SET body = :b WHERE id = :i"),
            {"b": __import__("json").dumps(body), "i": row.id},
        )
    problems = [str(p) for p in engine.verify().problems]
    assert f"grant {scoped.id}: is scoped to improve but paid for usage event p ('predict')" in (
        problems
    )


# -- plans: the OTAI onboarding guarantee and crediting back a training fee ---------------


def test_otai_gives_each_new_organization_its_onboarding_grant_for_training_only(
    cl: Creditline, clock: ManualClock
) -> None:
    load_example(cl, "otai")
    org = cl.create_org("Acme").id
    cl.set_rate_card(org, "otai")
    assigned = cl.subscribe(org, "community")
    assert assigned.granted == credits(6)  # the cycle's allowance; the guarantee besides
    general, onboarding = cl.grants(org)
    assert (general.amount, general.scope) == (credits(6), None)
    assert onboarding.amount == credits(4) and onboarding.scope is not None
    assert onboarding.scope.describe() == "train (mode: any)"
    assert onboarding.source.type is SourceType.PLAN and onboarding.metadata["extra"] == 0
    b = cl.balance(org)
    assert (b.general, b.scoped, b.available_for("train", {"mode": "Basic"})) == (
        credits(6), credits(4), credits(10),
    )  # fmt: skip

    # The training run and its improvement iteration: Basic/Fast, 10 attributes, 2 each.
    fast = {"mode": "Basic", "delivery": "Fast"}
    assert cl.record(org, "run-1", "train", {"attributes": 10}, fast).cost == credits(2)
    assert cl.record(org, "run-2", "train", {"attributes": 10}, fast).cost == credits(2)
    b = cl.balance(org)
    assert (b.general, b.scoped) == (credits(6), 0)  # the guarantee paid both
    # Monthly credits come without another onboarding grant.
    clock.advance(timedelta(days=31))
    assert cl.renew_due().amount == credits(2)
    assert cl.balance(org).scoped == 0

    # "If the agreed acceptance criteria are not met after the improvement iteration, the
    # training fee is credited": the operator credits back the run, with that cause.
    credit = cl.credit_back(org, "run-2", "acceptance criteria not met")
    assert (credit.kind, credit.amount, credit.scope) == (GrantKind.REFUND, credits(2), None)
    assert credit.source.type is SourceType.REFUND and credit.source.ref == "run-2"
    (entry,) = cl.history(org, limit=1)
    assert (entry.type, entry.amount, entry.grant_id) == (EntryType.GRANT, credits(2), credit.id)
    assert entry.cause == Cause(CauseType.USAGE_EVENT, "run-2")
    assert entry.metadata == {"reason": "acceptance criteria not met"}
    assert cl.credit_back(org, "run-2").id == credit.id  # once per run
    assert cl.usage_event(org, "run-2").status == "accepted"  # the run still happened
    assert cl.balance(org).general == credits(6 + 2 + 2)
    assert cl.verify().ok


def test_a_plan_change_grants_no_second_onboarding_grant(cl: Creditline) -> None:
    load_example(cl, "otai")
    org = cl.create_org("Acme").id
    cl.subscribe(org, "pro")
    changed = cl.subscribe(org, "enterprise")
    assert changed.granted == credits(250)
    assert [g.amount for g in cl.grants(org) if g.scope is not None] == [credits(10)]


def test_a_credit_back_is_refused_for_a_run_that_cost_nothing_or_was_voided(
    engine: Creditline,
) -> None:
    org = engine.create_org("Acme").id
    engine.grant(org, 5 * ONE)
    engine.record(org, "refused", "train", {}, {"mode": "Maximum"})  # 12 > 5: refused
    engine.record(org, "voided", "train", {}, {"mode": "Basic"})
    engine.void_event(org, "voided")
    for event_id in ("refused", "voided"):
        with pytest.raises(InvalidUsage, match="no fee to credit back"):
            engine.credit_back(org, event_id)
    with pytest.raises(InvalidSetting):
        engine.credit_back(org, "voided", " ")
    assert engine.balance(org).total == 5 * ONE


def test_a_plan_whose_scoped_grant_names_an_unknown_operation_is_refused(cl: Creditline) -> None:
    load_example(cl, "otai")
    plan = {"name": "x", "extra_signup_grants": [{"credits": 1, "scope": [{"operation": "tran"}]}]}
    with pytest.raises(InvalidSetting) as caught:
        cl.put_plan(plan)
    assert "extra_signup_grants[0].scope[0].operation: 'tran' is not an operation of any " in str(
        caught.value
    )
    with pytest.raises(InvalidSetting):
        cl.create_plan(plan)
    assert "x" not in [p.name for p in cl.plans()]
