"""The charging decision with no database: fakes of what a service loads, and a model.

:func:`creditline.domain.charging.decide` is given :class:`Books` built here (grants,
flex used, stored events and keys, reservations) and a list of commands; what it
returns is checked, and the hypothesis machine at the end drives it step by step
against the reference model of ``tests/integration/test_ledger_model.py`` (grants
spent greedily in the consumption order), carrying the decision's writes forward into
the next step's books the way a store would.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from creditline.domain.charging import (
    Account,
    Books,
    Debit,
    DebitResult,
    DebitStatus,
    Decision,
    Reserve,
    Settle,
    Settlement,
    Spend,
    decide,
    prepare_debit,
)
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InsufficientCredits,
    OrganizationNotFound,
    PlanGateRefused,
    ReservationNotFound,
)
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, Grant, GrantKind
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.plans import DepletionPolicy, Gates, Plan
from creditline.domain.pricing import RateCardHistory
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.usage import (
    EventResult,
    EventStatus,
    Metering,
    StoredUsage,
    UsageEvent,
    UsageStep,
)
from tests.integration.test_ledger_model import ORDER, Model, ModelGrant
from tests.unit.builders import T0, grant

ONE = 1_000_000
CARD = parse_ratecard(
    (Path(__file__).resolve().parents[2] / "examples" / "aixplain" / "ratecard.toml").read_text()
)
HISTORY = RateCardHistory((CARD,))
NOW = T0 + timedelta(days=10)

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def metering(
    org_id: str = "org_a",
    *,
    depletion: DepletionPolicy = DepletionPolicy.PAUSE,
    flex_limit: int | None = None,
    max_open: int | None = None,
    gates: Gates | None = None,
) -> Metering:
    plan = Plan(
        "test", depletion=depletion, flex_limit=flex_limit, max_open_reservations=max_open,
        gates=gates or Gates(),
    )  # fmt: skip
    return Metering(org_id, DEFAULT_CONSUMPTION_ORDER, "aixplain", plan, depletion, True, 0)


def books(*accounts: Account, **stored: Any) -> Books:
    return Books({a.metering.org_id: a for a in accounts}, **stored)


def translate(event_id: str, chars: int = 100_000, org_id: str = "org_a", **kw: Any) -> UsageEvent:
    """1 credit per 100,000 characters."""
    at = kw.pop("at", T0)
    return UsageEvent(
        event_id, org_id, "translate", at, {"characters": chars}, {"model": "azure-translator"},
        **kw,
    )  # fmt: skip


def spend(amount: int, org_id: str = "org_a", *, key: str | None = None, adjust: bool = False):  # type: ignore[no-untyped-def]
    kind = EntryType.ADJUSTMENT if adjust else EntryType.CONSUME
    prepared = prepare_debit(
        org_id, Debit(amount, idempotency_key=key), kind, Cause(CauseType.DEBIT, "dbt_test")
    )
    assert isinstance(prepared, Spend)
    return prepared


def run(b: Books, *commands: Any) -> Decision:
    return decide(b, list(commands), NOW, new_id)


# -- usage -----------------------------------------------------------------------------


def test_events_are_charged_in_order_and_netted_per_grant() -> None:
    g = grant(3 * ONE)
    out = run(books(Account(metering(), [g], rate_cards=HISTORY)), translate("a"), translate("b"))
    assert [r.status for r in out.results] == [EventStatus.ACCEPTED] * 2
    assert [(e.grant_id, e.amount) for e in out.entries] == [(g.id, -2 * ONE)]
    assert out.grant_moves == {g.id: -2 * ONE}
    assert out.balances == {"org_a": (-2 * ONE, 1, 0)}


def test_an_event_the_grants_cannot_cover_is_refused_and_changes_nothing_for_the_next() -> None:
    g = grant(ONE)
    out = run(
        books(Account(metering(), [g], rate_cards=HISTORY)),
        translate("big", 300_000),
        translate("small"),
    )
    big, small = out.results
    assert big.status is EventStatus.REFUSED and isinstance(big.error, InsufficientCredits)
    assert small.status is EventStatus.ACCEPTED
    assert out.grant_moves == {g.id: -ONE}


def test_a_retry_without_a_time_is_a_duplicate_of_the_first() -> None:
    account = Account(metering(), [grant(5 * ONE)], rate_cards=HISTORY)
    first = run(books(account), translate("a", at=None))
    (row,) = first.usage_rows
    assert row.event.occurred_at == NOW  # stamped when first received
    stored = {("org_a", "a"): row}
    later = decide(
        books(account, events=stored), [translate("a", at=None)], NOW + timedelta(hours=1), new_id
    )
    (again,) = later.results
    assert again.status is EventStatus.DUPLICATE and again.cost == ONE
    assert later.entries == [] and later.usage_rows == []
    with_time = run(books(account, events=stored), translate("a", at=NOW))
    assert with_time.results[0].status is EventStatus.DUPLICATE  # the same instant
    other = run(books(account, events=stored), translate("a", 200_000, at=None))
    assert isinstance(other.results[0].error, IdempotencyKeyReused)


def test_an_event_stamped_with_its_time_is_the_event_with_that_time() -> None:
    """``stamped`` builds the event field by field: it must keep every field (a field
    added to ``UsageEvent`` and forgotten there fails here)."""
    full = UsageEvent(
        "evt-1", "org_a", "translate", None, {"characters": 5}, {"model": "m"},
        project_id="prj_1", member_id="mem_1", parent_id="run-1",
        steps=(UsageStep("translate", {"characters": 1}, {}),), metadata={"k": "v"},
        quote_id="quo_1",
    )  # fmt: skip
    assert full.stamped(NOW) == replace(full, occurred_at=NOW)
    built = inspect.getsource(UsageEvent.stamped)
    assert [f.name for f in fields(UsageEvent) if f"self.{f.name}" not in built] == ["occurred_at"]


def test_two_events_without_a_time_in_one_group_are_one_event() -> None:
    out = run(books(Account(metering(), [grant(5 * ONE)], rate_cards=HISTORY)),
              translate("a", at=None), translate("a", at=None))  # fmt: skip
    assert [r.status for r in out.results] == [EventStatus.ACCEPTED, EventStatus.DUPLICATE]
    assert len(out.usage_rows) == 1


def test_a_gate_refuses_the_event_and_the_others_go_on() -> None:
    gates = Gates(forbid_operations=frozenset({"translate"}))
    out = run(
        books(
            Account(metering(gates=gates), [grant(5 * ONE)], rate_cards=HISTORY),
            Account(metering("org_b"), [grant(5 * ONE, org_id="org_b")], rate_cards=HISTORY),
        ),
        translate("a"),
        translate("b", org_id="org_b"),
    )
    refused, accepted = out.results
    assert refused.status is EventStatus.REFUSED and isinstance(refused.error, PlanGateRefused)
    assert accepted.status is EventStatus.ACCEPTED
    assert set(out.balances) == {"org_b"}


def test_an_unknown_organization_rejects_only_its_own_commands() -> None:
    out = run(books(Account(metering(), [grant(ONE)], rate_cards=HISTORY)),
              translate("x", org_id="org_zz"), Reserve("org_zz", ONE), translate("a"))  # fmt: skip
    rejected, refused, accepted = out.results
    assert rejected.status is EventStatus.REJECTED
    assert isinstance(refused, OrganizationNotFound)
    assert accepted.status is EventStatus.ACCEPTED


# -- the depletion policy, for every way credits are taken -----------------------------


def test_flex_covers_usage_and_spends_alike() -> None:
    g = grant(ONE)
    account = Account(metering(depletion=DepletionPolicy.FLEX), [g], rate_cards=HISTORY)
    out = run(books(account), translate("a", 200_000), spend(3 * ONE))
    event, debit = out.results
    assert event.status is EventStatus.ACCEPTED and debit.status is DebitStatus.ACCEPTED
    assert [(f.grant.amount, f.grant.source.ref) for f in out.grants] == [
        (ONE, "flex:2026-01"),
        (3 * ONE, "flex:2026-01"),
    ]
    assert out.balances["org_a"][0] == -ONE  # only the grant's credit left the balance


def test_an_adjustment_never_takes_flex() -> None:
    account = Account(metering(depletion=DepletionPolicy.FLEX), [grant(ONE)])
    (result,) = run(books(account), spend(2 * ONE, adjust=True)).results
    assert result.status is DebitStatus.REFUSED


def test_at_the_flex_limit_the_refusal_names_the_limit_the_use_and_the_room() -> None:
    account = Account(
        metering(depletion=DepletionPolicy.FLEX, flex_limit=10 * ONE), [grant(ONE)],
        flex_used=8 * ONE,
    )  # fmt: skip
    (result,) = run(books(account), spend(15 * ONE)).results
    error = result.error
    assert isinstance(error, InsufficientCredits)
    assert (error.needed, error.available) == (15 * ONE, 3 * ONE)
    assert (error.flex_limit, error.flex_used, error.flex_room) == (10 * ONE, 8 * ONE, 2 * ONE)
    assert "flex limit 10000000" in str(error) and "8000000 used" in str(error)
    assert "2000000 left" in str(error)


def test_a_hold_never_takes_flex() -> None:
    account = Account(metering(depletion=DepletionPolicy.UNLIMITED), [grant(ONE)])
    (result,) = run(books(account), Reserve("org_a", 2 * ONE)).results
    assert isinstance(result, InsufficientCredits) and result.flex_limit is None


# -- holds -----------------------------------------------------------------------------


def test_a_released_hold_is_spendable_by_the_next_command_of_the_group() -> None:
    g = grant(2 * ONE)
    res = Reservation(
        "res_1", "org_a", ReservationStatus.OPEN, 2 * ONE, 2 * ONE, 0, 0, ((g.id, 2 * ONE),),
        Cause(CauseType.RESERVATION, "res_1"), None, None, NOW + timedelta(hours=1), T0,
    )  # fmt: skip
    spent = replace(g, remaining=0)
    b = books(Account(metering(), [spent]), reservations={("org_a", "res_1"): (res, None)})
    released, debit = run(b, Settle("org_a", "res_1", None), spend(2 * ONE)).results
    assert isinstance(released, Settlement) and released.released == 2 * ONE
    assert isinstance(debit, DebitResult) and debit.accepted
    assert run(b, Settle("org_a", "res_1", None), Settle("org_a", "res_1", ONE)).results[1].replayed


def test_the_open_holds_limit_counts_the_holds_of_the_group() -> None:
    account = Account(metering(max_open=2), [grant(5 * ONE)], open_holds=1)
    first, second = run(books(account), Reserve("org_a", ONE), Reserve("org_a", ONE)).results
    assert isinstance(first, Reservation) and isinstance(second, PlanGateRefused)


def test_a_key_replays_its_hold_in_the_group_and_refuses_another_request() -> None:
    out = run(
        books(Account(metering(), [grant(5 * ONE)])),
        Reserve("org_a", ONE, idempotency_key="k"),
        Reserve("org_a", ONE, idempotency_key="k"),
        Reserve("org_a", 2 * ONE, idempotency_key="k"),
    )
    first, again, other = out.results
    assert isinstance(first, Reservation) and again == first
    assert isinstance(other, IdempotencyKeyReused)
    assert len(out.new_reservations) == 1 and len(out.keys) == 1


def test_settling_an_unknown_reservation_is_not_found() -> None:
    (result,) = run(books(Account(metering(), [])), Settle("org_a", "res_x", ONE)).results
    assert isinstance(result, ReservationNotFound)


# -- the ledger, step by step against the reference model ------------------------------


class DecisionMachine(RuleBasedStateMachine):
    """One organization's grants, spent through :func:`decide` and through the model.

    Each step is one group of commands; its writes are folded into the fake store (the
    grants' remaining, stored keys) before the next, as the SQL writer would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.grants: dict[str, Grant] = {}
        self.keys: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.keyed: dict[str, tuple[int, bool]] = {}
        self.now = T0
        self.balance = 0

    def books(self) -> Books:
        live = [g for g in self.grants.values() if g.remaining > 0]
        return books(Account(metering(), live), keys=dict(self.keys))

    def apply(self, decision: Decision) -> None:
        for grant_id, delta in decision.grant_moves.items():
            g = self.grants[grant_id]
            self.grants[grant_id] = replace(g, remaining=g.remaining + delta)
            assert 0 <= self.grants[grant_id].remaining <= g.amount
        for org_id, key, request_hash, outcome in decision.keys:
            self.keys[(org_id, key)] = (request_hash, outcome)
        if "org_a" in decision.balances:
            self.balance += decision.balances["org_a"][0]

    @rule(
        kind=st.sampled_from(ORDER),
        amount=st.integers(1, 5 * ONE),
        expires_in=st.none() | st.integers(1, 72).map(lambda h: timedelta(hours=h)),
    )
    def grant(self, kind: GrantKind, amount: int, expires_in: timedelta | None) -> None:
        expires = None if expires_in is None else self.now + expires_in
        g = grant(amount, kind, effective_at=self.now, expires_at=expires)
        self.grants[g.id] = g
        self.model.add(ModelGrant(g.id, kind, amount, amount, self.now, expires, self.now))
        self.balance += amount

    @rule(amounts=st.lists(st.integers(1, 6 * ONE), min_size=1, max_size=5), keyed=st.booleans())
    def spend_group(self, amounts: list[int], keyed: bool) -> None:
        commands = []
        for amount in amounts:
            key = f"k{len(self.keyed)}" if keyed else None
            commands.append(spend(amount, key=key))
            if key is not None:
                self.keyed[key] = (amount, False)
        out = decide(self.books(), commands, self.now, new_id)
        for command, result in zip(commands, out.results, strict=True):
            expected = self.model.spend(command.debit.amount, self.now)
            if expected is None:
                assert result.status is DebitStatus.REFUSED
            else:
                assert result.status is DebitStatus.ACCEPTED
                assert [(a.grant_id, a.amount) for a in result.allocations] == expected
            key = command.debit.idempotency_key
            if key is not None:
                self.keyed[key] = (command.debit.amount, expected is not None)
        self.apply(out)

    @precondition(lambda self: bool(self.keyed))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.keyed)))
        amount, accepted = self.keyed[key]
        out = decide(self.books(), [spend(amount, key=key)], self.now, new_id)
        (result,) = out.results
        assert result.replayed and result.accepted is accepted
        assert out.entries == [] and out.keys == []

    @rule(hours=st.integers(1, 48))
    def advance(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self.model.expire(self.now)  # expired credits are no longer spendable
        for g in list(self.grants.values()):
            if g.is_expired(self.now) and g.remaining:
                self.balance -= g.remaining
                self.grants[g.id] = replace(g, remaining=0)

    @invariant()
    def grants_match_the_model(self) -> None:
        assert {g.id: g.remaining for g in self.grants.values()} == {
            g.id: g.remaining for g in self.model.grants.values()
        }
        assert self.balance == self.model.total()


TestDecisionMachine = DecisionMachine.TestCase
TestDecisionMachine.settings = hypothesis.settings(
    max_examples=150, stateful_step_count=30, deadline=None
)


def test_a_stored_usage_row_keeps_its_event_for_replays() -> None:
    # the fakes above store what decide returns: make sure that is an event with a time
    out = run(books(Account(metering(), [grant(ONE)], rate_cards=HISTORY)), translate("a", at=None))
    (row,) = out.usage_rows
    assert isinstance(row, StoredUsage) and row.event.at == NOW
    assert isinstance(out.results[0], EventResult)


@pytest.mark.parametrize("depletion", [DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY])
def test_without_flex_a_spend_past_the_grants_is_refused_whole(depletion: DepletionPolicy) -> None:
    g = grant(ONE)
    out = run(books(Account(metering(depletion=depletion), [g])), spend(2 * ONE))
    (result,) = out.results
    assert result.status is DebitStatus.REFUSED and out.entries == []
