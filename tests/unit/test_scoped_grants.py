"""Scoped grants (B7) in the domain: scopes, the consumption order, charging decisions,
the balance, plans and verification, with no database."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.balances import summarize
from creditline.domain.charging import (
    Account,
    Books,
    Debit,
    DebitStatus,
    Decision,
    Reserve,
    Settle,
    Settlement,
    Spend,
    decide,
    prepare_debit,
)
from creditline.domain.errors import InsufficientCredits, InvalidSetting
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, Grant, GrantKind
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.plans import DepletionPolicy, Plan, due_renewals, load_plans, parse_plan
from creditline.domain.pricing import RateCardHistory
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.reservations import Reservation
from creditline.domain.scopes import (
    GrantScope,
    ScopeRule,
    card_operations,
    parse_scope,
    scope_problems,
)
from creditline.domain.spending import Allocation, Pool, allocate
from creditline.domain.usage import EventStatus, Metering, UsageEvent
from creditline.domain.verification import ScopedUse
from creditline.domain.verification import scope_problems as use_problems
from tests.unit.builders import DAY, T0, grant

ONE = 1_000_000
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OTAI = parse_ratecard((EXAMPLES / "otai" / "ratecard.toml").read_text(encoding="utf-8"))
HISTORY = RateCardHistory((OTAI,))
NOW = T0 + 10 * DAY
TRAIN = parse_scope([{"operation": "train", "dimensions": {"mode": "any"}}])
BASIC_ONLY = parse_scope({"operation": "train", "dimensions": {"mode": "Basic"}})
BASIC = {"mode": "Basic", "delivery": "Standard"}  # 1 credit with 6-20 attributes
BUSINESS = {"mode": "Business", "delivery": "Standard"}  # 3 credits

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def scoped(amount: int, scope: GrantScope = TRAIN, **kw: Any) -> Grant:
    return replace(grant(amount, **kw), scope=scope)


# -- the scope: its document form, what it covers -------------------------------------------


def test_a_scope_covers_its_operations_with_the_dimension_values_it_allows() -> None:
    assert TRAIN.covers("train", BASIC) and TRAIN.covers("train", {})
    assert not TRAIN.covers("predict", BASIC)
    assert not TRAIN.covers(None, BASIC)  # a charge for no operation: general grants only
    assert BASIC_ONLY.covers("train", BASIC)
    assert not BASIC_ONLY.covers("train", BUSINESS)
    assert not BASIC_ONLY.covers("train", {})  # a limited dimension must be given
    two = parse_scope([{"operation": "train", "dimensions": {"mode": ["Basic", "Business"]}},
                       {"operation": "improve"}])  # fmt: skip
    assert two.covers("train", BUSINESS) and two.covers("improve", {"anything": "x"})
    assert two.operations == ("train", "improve")


def test_a_scope_round_trips_through_its_document_form_and_describes_itself() -> None:
    doc = [
        {"operation": "train", "dimensions": {"delivery": ["Fast"], "mode": "any"}},
        {"operation": "improve"},
    ]
    scope = parse_scope(doc)
    assert scope.to_document() == doc
    assert parse_scope(scope.to_document()) == scope
    assert scope.describe() == "train (delivery: Fast, mode: any); improve"
    literal = parse_scope([{"operation": "x", "dimensions": {"m": ["any"]}}])
    assert literal.rules[0].dimensions == {"m": frozenset({"any"})}  # a list is literal values
    assert hash(scope) == hash(parse_scope(doc))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([], "must list at least one rule"),
        ("train", "must be a list of rules"),
        ([{"operation": ""}], "scope[0].operation: must be an operation name"),
        ([{"operation": "train", "colour": 1}], "scope[0].colour: unknown key"),
        ([{"operation": "train", "dimensions": {"mode": []}}], "scope[0].dimensions.mode: must be"),
        ([{"operation": "train", "dimensions": {"mode": [1]}}], "1 is not a dimension value"),
        ([{"operation": "train", "dimensions": ["mode"]}], "scope[0].dimensions: must be a table"),
        ([5], "scope[0]: must be a table"),
    ],
)
def test_a_bad_scope_is_refused_naming_where(value: object, problem: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        parse_scope(value)
    assert problem in str(caught.value)


def test_a_scope_is_checked_against_what_the_rate_card_prices() -> None:
    known = card_operations(HISTORY.versions)
    assert known["train"] == {
        "mode": frozenset({"Basic", "Business", "Maximum"}),
        "delivery": frozenset({"Standard", "Fast"}),
    }
    assert scope_problems(TRAIN, "rate card 'otai'", known) == []
    bad = parse_scope([
        {"operation": "trian"},
        {"operation": "train", "dimensions": {"mode": ["Basik"], "colour": "any"}},
    ])  # fmt: skip
    assert scope_problems(bad, "rate card 'otai'", known) == [
        "scope[0].operation: 'trian' is not an operation of rate card 'otai' (it has: train)",
        "scope[1].dimensions.colour: 'train' has no dimension 'colour' (it has: delivery, mode)",
        "scope[1].dimensions.mode: 'Basik' is not a value of 'mode' "
        "(it has: Basic, Business, Maximum)",
    ]


# -- the consumption order: scoped first, and only for what they cover ---------------------


def test_a_covered_charge_draws_from_scoped_grants_first_then_the_general_ones() -> None:
    general = grant(5 * ONE, GrantKind.INCLUDED)
    onboarding = scoped(2 * ONE, kind=GrantKind.PROMOTIONAL)
    took = allocate("org_a", [general, onboarding], 3 * ONE, NOW, operation="train",
                    dimensions=BASIC)  # fmt: skip
    assert took == (Allocation(onboarding.id, 2 * ONE), Allocation(general.id, ONE))


def test_a_charge_a_scope_does_not_cover_never_touches_the_grant() -> None:
    general = grant(2 * ONE)
    onboarding = scoped(10 * ONE)
    pool = Pool("org_a", [general, onboarding], NOW)
    assert pool.available == 2 * ONE  # what any charge may take
    assert pool.available_for("train", BASIC) == 12 * ONE
    assert pool.available_for("predict") == 2 * ONE
    with pytest.raises(InsufficientCredits) as caught:
        pool.take(3 * ONE, "predict")
    assert caught.value.available == 2 * ONE  # only the grants that may pay for it
    with pytest.raises(InsufficientCredits):
        pool.take(3 * ONE)  # no operation: general only
    assert pool.take(2 * ONE) == (Allocation(general.id, 2 * ONE),)
    assert pool.changes() == {general.id: -2 * ONE}


def test_among_scoped_grants_the_usual_order_holds_and_narrower_values_are_respected() -> None:
    later = scoped(ONE, expires_at=NOW + 5 * DAY)
    sooner = scoped(ONE, expires_at=NOW + DAY)
    basic = scoped(ONE, BASIC_ONLY, kind=GrantKind.INCLUDED)
    general = grant(10 * ONE)
    pool = Pool("org_a", [general, later, sooner, basic], NOW)
    # included before prepaid, then the soonest expiry
    assert pool.take(3 * ONE, "train", BASIC) == (
        Allocation(basic.id, ONE), Allocation(sooner.id, ONE), Allocation(later.id, ONE),
    )  # fmt: skip
    pool = Pool("org_a", [general, later, sooner, basic], NOW)
    assert pool.take(3 * ONE, "train", BUSINESS) == (  # the Basic-only grant is not for it
        Allocation(sooner.id, ONE), Allocation(later.id, ONE), Allocation(general.id, ONE),
    )  # fmt: skip


def test_a_scoped_grant_not_spendable_yet_or_any_more_is_not_drawn() -> None:
    pending = scoped(ONE, effective_at=NOW + DAY)
    expired = scoped(ONE, expires_at=NOW - DAY, effective_at=T0)
    general = grant(ONE)
    assert allocate("org_a", [pending, expired, general], ONE, NOW, operation="train") == (
        Allocation(general.id, ONE),
    )


def test_a_released_amount_returns_to_its_scoped_grant() -> None:
    onboarding = scoped(2 * ONE)
    pool = Pool("org_a", [onboarding, grant(ONE)], NOW, empty=True)
    assert pool.take(2 * ONE, "train") == (Allocation(onboarding.id, 2 * ONE),)
    assert pool.available_for("train") == ONE
    pool.give(onboarding.id, 2 * ONE)
    assert pool.available_for("train") == 3 * ONE
    assert pool.changes() == {}


amounts = st.integers(1, 5 * ONE)


@given(
    general=st.lists(amounts, max_size=4),
    onboarding=st.lists(st.tuples(amounts, st.sampled_from(["train", "improve"])), max_size=4),
    charges=st.lists(st.tuples(amounts, st.sampled_from(["train", "improve", "predict", None])),
                     max_size=12),
)  # fmt: skip
def test_a_pool_takes_what_is_available_for_each_charge_and_never_an_uncovered_grant(
    general: list[int], onboarding: list[tuple[int, str]], charges: list[tuple[int, str | None]]
) -> None:
    grants = [grant(a) for a in general] + [
        scoped(a, parse_scope([{"operation": op}])) for a, op in onboarding
    ]
    by_id = {g.id: g for g in grants}
    pool = Pool("org_a", grants, NOW)
    left = {g.id: g.amount for g in grants}
    for amount, op in charges:
        room = sum(
            v for k, v in left.items() if by_id[k].scope is None or by_id[k].scope.covers(op)
        )
        assert pool.available_for(op) == room
        if amount > room:
            with pytest.raises(InsufficientCredits):
                pool.take(amount, op)
            continue
        took = pool.take(amount, op)
        assert sum(a for _, a in took) == amount
        seen_general = False
        for grant_id, part in took:
            g = by_id[grant_id]
            assert g.scope is None or g.scope.covers(op)  # never an uncovered scoped grant
            assert not (seen_general and g.scope is not None)  # scoped before general
            seen_general = seen_general or g.scope is None
            left[grant_id] -= part
            assert left[grant_id] >= 0
    assert {k: v - by_id[k].amount for k, v in left.items() if v != by_id[k].amount} == (
        pool.changes()
    )


# -- charging decisions: usage, holds, commits, debits, the depletion policy ----------------


def metering(depletion: DepletionPolicy = DepletionPolicy.PAUSE) -> Metering:
    plan = Plan("test", depletion=depletion)
    return Metering("org_a", DEFAULT_CONSUMPTION_ORDER, "otai", plan, depletion, True, 0)


def account(*grants: Grant, depletion: DepletionPolicy = DepletionPolicy.PAUSE) -> Account:
    return Account(metering(depletion), list(grants), rate_cards=HISTORY)


def run(acct: Account, *commands: Any, **stored: Any) -> Decision:
    return decide(Books({"org_a": acct}, **stored), list(commands), NOW, new_id)


def train(event_id: str, dims: dict[str, str] = BASIC, attributes: int = 10) -> UsageEvent:
    return UsageEvent(event_id, "org_a", "train", T0, {"attributes": attributes}, dims)


def debit(amount: int, operation: str | None = None, **kw: Any) -> Spend:
    prepared = prepare_debit(
        "org_a", Debit(amount, operation=operation, **kw), EntryType.CONSUME,
        Cause(CauseType.DEBIT, "dbt_test"),
    )  # fmt: skip
    assert isinstance(prepared, Spend)
    return prepared


def test_usage_draws_its_scoped_grant_first_and_a_refusal_counts_only_what_may_pay() -> None:
    onboarding, general = scoped(2 * ONE), grant(2 * ONE)
    out = run(
        account(onboarding, general),
        train("a", BUSINESS),  # 3 credits: 2 from the onboarding grant, 1 general
        train("b", BASIC),  # 1 credit: general
        train("c", BUSINESS),  # 3 credits: 0 + 0 left: refused
    )
    assert [r.status for r in out.results] == [
        EventStatus.ACCEPTED, EventStatus.ACCEPTED, EventStatus.REFUSED,
    ]  # fmt: skip
    assert out.usage_rows[0].allocations == (Allocation(onboarding.id, 2 * ONE),
                                             Allocation(general.id, ONE))  # fmt: skip
    assert out.grant_moves == {onboarding.id: -2 * ONE, general.id: -2 * ONE}
    assert "needed 3000000 micro-credits, 0 available" in (out.results[2].reason or "")


def test_a_debit_or_hold_for_no_operation_or_another_never_takes_the_scoped_grant() -> None:
    onboarding, general = scoped(5 * ONE), grant(ONE)
    out = run(
        account(onboarding, general), debit(2 * ONE), debit(2 * ONE, "predict"),
        Reserve("org_a", 2 * ONE), Reserve("org_a", 2 * ONE, operation="predict"),
    )  # fmt: skip
    assert [r.status for r in out.results[:2]] == [DebitStatus.REFUSED] * 2
    assert all(isinstance(r, InsufficientCredits) for r in out.results[2:])
    assert out.entries == []
    out = run(account(onboarding, general), debit(3 * ONE, "train", dimensions={"mode": "Basic"}))
    assert out.results[0].allocations == (Allocation(onboarding.id, 3 * ONE),)


def test_a_hold_keeps_what_it_is_for_and_its_excess_and_release_follow_it() -> None:
    onboarding, general = scoped(2 * ONE), grant(5 * ONE)
    acct = account(onboarding, general)
    made = run(acct, Reserve("org_a", ONE, operation="train", dimensions={"mode": "Basic"}))
    (res,) = made.results
    assert isinstance(res, Reservation)
    assert (res.operation, res.dimensions) == ("train", {"mode": "Basic"})
    assert res.holds == (Allocation(onboarding.id, ONE),)
    # committed at 3: 1 from the hold, then the excess: the scoped grant's last credit
    # first, then a general one
    left = replace(onboarding, remaining=ONE)
    out = run(account(left, general), Settle("org_a", res.id, 3 * ONE),
              reservations={("org_a", res.id): (res, None)})  # fmt: skip
    (settled,) = out.results
    assert isinstance(settled, Settlement) and (settled.consumed, settled.shortfall) == (3 * ONE, 0)
    consumed = [(e.grant_id, e.amount) for e in out.entries if e.type is EntryType.CONSUME]
    assert consumed == [(onboarding.id, -ONE), (onboarding.id, -ONE), (general.id, -ONE)]
    # released: back to the grant it came from
    out = run(account(left, general), Settle("org_a", res.id, None),
              reservations={("org_a", res.id): (res, None)})  # fmt: skip
    assert [(e.type, e.grant_id, e.amount) for e in out.entries] == [
        (EntryType.RELEASE, onboarding.id, ONE)
    ]


def test_a_hold_without_an_operation_commits_its_excess_from_general_grants_only() -> None:
    onboarding, general = scoped(5 * ONE), grant(ONE)
    held = run(account(onboarding, general), Reserve("org_a", ONE)).results[0]
    assert held.holds == (Allocation(general.id, ONE),)
    out = run(account(onboarding, replace(general, remaining=0)), Settle("org_a", held.id, 3 * ONE),
              reservations={("org_a", held.id): (held, None)})  # fmt: skip
    (settled,) = out.results
    assert (settled.consumed, settled.shortfall) == (ONE, 2 * ONE)  # never the scoped grant
    assert onboarding.id not in {e.grant_id for e in out.entries}


def test_flex_covers_only_what_the_grants_that_may_pay_cannot() -> None:
    onboarding, general = scoped(2 * ONE), grant(ONE)
    out = run(account(onboarding, general, depletion=DepletionPolicy.FLEX),
              debit(2 * ONE, "predict"), train("a", BUSINESS))  # fmt: skip
    assert out.results[0].status is DebitStatus.ACCEPTED and out.results[1].status is (
        EventStatus.ACCEPTED
    )
    # the debit: 1 general + 1 flex (not the scoped grant); the run: 2 scoped + 1 flex
    assert [g.grant.amount for g in out.grants] == [ONE, ONE]
    assert out.results[0].allocations == (Allocation(general.id, ONE),
                                           Allocation(out.grants[0].grant_id, ONE))  # fmt: skip
    assert out.usage_rows[0].allocations == (Allocation(onboarding.id, 2 * ONE),
                                              Allocation(out.grants[1].grant_id, ONE))  # fmt: skip


def test_a_debit_fingerprint_tells_what_it_is_for() -> None:
    plain = prepare_debit("org_a", Debit(ONE, idempotency_key="k"), EntryType.CONSUME,
                          Cause(CauseType.DEBIT, "x"))  # fmt: skip
    train_ = prepare_debit("org_a", Debit(ONE, idempotency_key="k", operation="train"),
                           EntryType.CONSUME, Cause(CauseType.DEBIT, "x"))  # fmt: skip
    assert isinstance(plain, Spend) and isinstance(train_, Spend)
    assert plain.request_hash != train_.request_hash
    bad = prepare_debit("org_a", Debit(ONE, dimensions={"mode": "Basic"}), EntryType.CONSUME,
                        Cause(CauseType.DEBIT, "x"))  # fmt: skip
    assert not isinstance(bad, Spend) and bad.status is DebitStatus.REJECTED


# -- the balance ----------------------------------------------------------------------------


def test_the_balance_shows_scoped_credits_apart_and_what_an_operation_may_take() -> None:
    onboarding = scoped(4 * ONE, kind=GrantKind.INCLUDED)
    basic = scoped(ONE, BASIC_ONLY, kind=GrantKind.PROMOTIONAL, expires_at=NOW + DAY)
    general = grant(6 * ONE, GrantKind.INCLUDED)
    b = summarize("org_a", 11 * ONE, [general, onboarding, basic], NOW)
    assert (b.available, b.general, b.scoped) == (11 * ONE, 6 * ONE, 5 * ONE)
    assert b.by_kind == {GrantKind.INCLUDED: 6 * ONE}  # general credits only
    assert [(s.grant_id, s.remaining) for s in b.scoped_grants] == [
        (onboarding.id, 4 * ONE), (basic.id, ONE),
    ]  # fmt: skip
    assert b.available_for("train", BASIC) == 11 * ONE
    assert b.available_for("train", BUSINESS) == 10 * ONE
    assert b.available_for("predict") == 6 * ONE
    plain = summarize("org_a", 6 * ONE, [general], NOW)
    assert (plain.scoped, plain.scoped_grants, plain.general) == (0, (), 6 * ONE)


# -- plans: a scoped sign-up grant ----------------------------------------------------------


def test_the_otai_plans_give_a_scoped_onboarding_grant_once_at_sign_up() -> None:
    plans = {p.name: p for p in load_plans((EXAMPLES / "otai" / "plans.toml").read_bytes())}
    (onboarding,) = plans["community"].extra_signup_grants
    assert onboarding.scope == TRAIN and onboarding.amount == 4 * ONE
    assert [p.extra_signup_grants[0].amount for p in plans.values()] == [
        4 * ONE,
        10 * ONE,
        36 * ONE,
    ]
    sign_up = due_renewals(plans["pro"], T0, None, T0 + 40 * DAY)
    assert [r.extras for r in sign_up] == [plans["pro"].extra_signup_grants, ()]
    assert [(r.amount, r.extra_amount) for r in sign_up] == [(100 * ONE, 10 * ONE), (50 * ONE, 0)]
    change = due_renewals(plans["pro"], T0, None, T0, signup=False)
    assert change[0].extras == ()  # a plan change grants no sign-up credits


def test_a_plan_document_with_scoped_grants_round_trips_and_names_its_problems() -> None:
    doc = {
        "name": "p",
        "signup_grant": {"credits": "6", "kind": "included"},
        "cycle_grant": {"credits": "2", "kind": "included", "scope": [{"operation": "train"}]},
        "extra_signup_grants": [
            {"credits": "4", "kind": "promotional", "scope": TRAIN.to_document()}
        ],
    }
    plan = parse_plan(doc)
    assert parse_plan(plan.to_dict()) == plan
    assert [g.scope for g in plan.scoped_grants] == [parse_scope([{"operation": "train"}]), TRAIN]
    assert "extra_signup_grants" not in Plan("plain").to_dict()
    with pytest.raises(InvalidSetting) as caught:
        parse_plan({
            "name": "p",
            "extra_signup_grants": [{"credits": 4, "scope": []}, {"kind": 1}],
            "signup_grant": {"credits": 1, "scope": [{"operation": "?", "x": 1}]},
        })  # fmt: skip
    reason = caught.value.reason
    assert "signup_grant.scope[0].x: unknown key" in reason
    assert "extra_signup_grants[0].scope: must list at least one rule" in reason
    assert "extra_signup_grants[1].credits: required" in reason
    with pytest.raises(InvalidSetting, match="extra_signup_grants: must be a list"):
        parse_plan({"name": "p", "extra_signup_grants": {"credits": 4}})


# -- verification -----------------------------------------------------------------------------


def test_verification_names_a_scoped_grant_that_paid_for_what_it_does_not_cover() -> None:
    scopes = {"grt_1": TRAIN}
    uses = [
        ScopedUse("grt_1", "usage event a", "train", BASIC),
        ScopedUse("grt_2", "usage event b", "predict"),  # not a scoped grant
        ScopedUse("grt_1", "usage event c", "predict", {"mode": "x"}),
        ScopedUse("grt_1", "reservation res_1", None),
    ]
    assert [str(p) for p in use_problems(scopes, uses)] == [
        "grant grt_1: is scoped to train (mode: any) but paid for usage event c ('predict' mode=x)",
        "grant grt_1: is scoped to train (mode: any) but paid for reservation res_1 (no operation)",
    ]


def test_a_scope_rule_is_immutable_and_hashable() -> None:
    rule = ScopeRule("train", {"mode": None})
    assert hash(rule) == hash(ScopeRule("train", {"mode": frozenset({"x"})}))  # by operation
    assert rule != ScopeRule("train", {"mode": frozenset({"x"})})
