"""The ledger through the public API, on SQLite and PostgreSQL.

Each test tells one story: grants, debits, expiry, idempotent retries, history, and a
``verify`` that stays clean through all of it and catches a cache written behind the
engine's back.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from creditline import (
    Cause,
    CauseType,
    CostBasis,
    Creditline,
    Debit,
    DebitResult,
    DebitStatus,
    EntryType,
    Grant,
    GrantKind,
    GrantSource,
    LedgerEntry,
    ManualClock,
    SourceType,
    credits,
)
from creditline.adapters.db import tables
from creditline.adapters.db.engine import make_engine
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidAmount,
    InvalidSetting,
    MemberNotFound,
    ProjectNotFound,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


# -- helpers --------------------------------------------------------------------------


def parts(result: DebitResult) -> list[tuple[str, int]]:
    """Which grant paid how much for one debit."""
    return [(a.grant_id, a.amount) for a in result.allocations]


def everything(cl: Creditline, org_id: str) -> list[LedgerEntry]:
    """The organization's whole history, oldest first."""
    return list(reversed(cl.history(org_id, limit=10_000)))


def of_type(cl: Creditline, org_id: str, *types: str) -> list[LedgerEntry]:
    return list(reversed(cl.history(org_id, limit=10_000, types=types)))


def state(cl: Creditline, org_id: str) -> tuple[Any, ...]:
    """Everything a read can tell about an organization (to show that nothing changed)."""
    b = cl.balance(org_id)
    remaining = sorted((g.id, g.remaining) for g in cl.grants(org_id))
    return (b.total, b.available, b.pending, b.expired_unswept, remaining, everything(cl, org_id))


@pytest.fixture
def raw(db_url: str) -> Iterator[Engine]:
    """An engine on the same database that writes behind creditline's back."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# -- grants ---------------------------------------------------------------------------


def test_grants_of_every_kind_keep_their_cost_basis_and_metadata(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    made: dict[str, Grant] = {}
    for i, kind in enumerate(GrantKind):
        g = cl.grant(
            org.id,
            credits(i + 1),
            kind=kind,
            effective_at=T0 - DAY,
            expires_at=T0 + (i + 10) * DAY,
            source=GrantSource(SourceType.PURCHASE, f"pur_{i}"),
            cost_basis=CostBasis(900 + i, "EUR"),
            metadata={"invoice": f"inv_{i}", "lines": [1, 2], "nested": {"tier": kind.value}},
        )
        made[g.id] = g
    plain = cl.grant(org.id, credits("0.000001"), kind="included")
    made[plain.id] = plain

    stored = {g.id: g for g in cl.grants(org.id)}
    assert stored == made
    for i, kind in enumerate(GrantKind):
        (g,) = [g for g in stored.values() if g.kind is kind and g.id != plain.id]
        assert g.amount == g.remaining == credits(i + 1)
        assert g.cost_basis == CostBasis(900 + i, "EUR")
        assert g.metadata == {"invoice": f"inv_{i}", "lines": [1, 2], "nested": {"tier": kind}}
        assert g.source == GrantSource(SourceType.PURCHASE, f"pur_{i}")
        assert (g.effective_at, g.expires_at) == (T0 - DAY, T0 + (i + 10) * DAY)
        assert g.created_at == T0
    assert plain.cost_basis is None
    assert plain.metadata == {}
    assert plain.expires_at is None
    assert plain.effective_at == T0
    assert plain.source == GrantSource(SourceType.OPERATOR, "manual")


def test_each_grant_writes_one_grant_entry_naming_its_source(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    bought = cl.grant(org.id, credits(5), source=GrantSource(SourceType.PURCHASE, "pur_9"))
    plan = cl.grant(
        org.id, credits(2), kind="included", source=GrantSource(SourceType.PLAN, "cyc_1")
    )
    entries = everything(cl, org.id)
    assert [(e.type, e.grant_id, e.amount, e.cause) for e in entries] == [
        (EntryType.GRANT, bought.id, credits(5), Cause(CauseType.PURCHASE, "pur_9")),
        (EntryType.GRANT, plan.id, credits(2), Cause(CauseType.PLAN_CYCLE, "cyc_1")),
    ]
    assert all(e.org_id == org.id and e.occurred_at == T0 for e in entries)
    assert entries[0].id < entries[1].id
    assert cl.balance(org.id).total == credits(7)


def test_a_replayed_grant_returns_the_first_grant_and_grants_once(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    first = cl.grant(org.id, credits(5), idempotency_key="topup-1")
    again = cl.grant(org.id, credits(5), idempotency_key="topup-1")
    assert again.id == first.id
    assert cl.balance(org.id).total == credits(5)
    assert len(of_type(cl, org.id, "grant")) == 1
    with pytest.raises(IdempotencyKeyReused):
        cl.grant(org.id, credits(6), idempotency_key="topup-1")
    assert cl.balance(org.id).total == credits(5)
    assert cl.verify().ok


# -- spending order -------------------------------------------------------------------


def test_a_debit_draws_from_grants_in_consumption_order_and_records_each_part(
    cl: Creditline,
) -> None:
    org = cl.create_org("Acme")
    flex = cl.grant(org.id, credits(5), kind="flex")
    promo_10d = cl.grant(org.id, credits(3), kind="promotional", expires_at=T0 + 10 * DAY)
    promo_never = cl.grant(org.id, credits(4), kind="promotional")
    promo_5d = cl.grant(org.id, credits(2), kind="promotional", expires_at=T0 + 5 * DAY)
    included = cl.grant(org.id, credits(1), kind="included", expires_at=T0 + 31 * DAY)
    prepaid = cl.grant(org.id, credits(2), kind="prepaid")
    refund = cl.grant(org.id, credits(1), kind="refund")
    adjustment = cl.grant(org.id, credits(1), kind="adjustment")

    first = cl.spend(org.id, credits(11), idempotency_key="d1")
    assert first.status is DebitStatus.ACCEPTED
    assert first.accepted
    assert first.amount == credits(11)
    assert parts(first) == [
        (included.id, credits(1)),
        (prepaid.id, credits(2)),
        (promo_5d.id, credits(2)),
        (promo_10d.id, credits(3)),
        (promo_never.id, credits(3)),
    ]
    second = cl.spend(org.id, credits(4), idempotency_key="d2")
    assert parts(second) == [
        (promo_never.id, credits(1)),
        (refund.id, credits(1)),
        (adjustment.id, credits(1)),
        (flex.id, credits(1)),
    ]

    consumed = of_type(cl, org.id, "consume")
    assert [(e.grant_id, -e.amount, e.cause) for e in consumed] == [
        (g, amount, first.cause) for g, amount in parts(first)
    ] + [(g, amount, second.cause) for g, amount in parts(second)]
    assert first.cause == Cause(CauseType.DEBIT, "d1")
    assert all(e.type is EntryType.CONSUME and e.amount < 0 for e in consumed)
    remaining = {g.id: g.remaining for g in cl.grants(org.id)}
    assert remaining == {
        flex.id: credits(4),
        promo_10d.id: 0,
        promo_never.id: 0,
        promo_5d.id: 0,
        included.id: 0,
        prepaid.id: 0,
        refund.id: 0,
        adjustment.id: 0,
    }
    assert cl.balance(org.id).available == credits(4)
    assert cl.verify().ok


def test_within_a_kind_the_oldest_effective_grant_is_spent_first(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Acme")
    newer = cl.grant(org.id, credits(1), effective_at=T0 - DAY)
    older = cl.grant(org.id, credits(1), effective_at=T0 - 2 * DAY)
    clock.advance(timedelta(hours=1))
    created_later = cl.grant(org.id, credits(1), effective_at=T0 - DAY)
    result = cl.spend(org.id, credits(3))
    assert parts(result) == [
        (older.id, credits(1)),
        (newer.id, credits(1)),
        (created_later.id, credits(1)),
    ]


def test_an_organizations_own_consumption_order_is_honoured(cl: Creditline) -> None:
    org = cl.create_org("Acme", consumption_order="promotional,flex")
    assert org.consumption_order[:3] == (
        GrantKind.PROMOTIONAL,
        GrantKind.FLEX,
        GrantKind.INCLUDED,
    )
    included = cl.grant(org.id, credits(1), kind="included")
    flex = cl.grant(org.id, credits(1), kind="flex")
    promo = cl.grant(org.id, credits(1), kind="promotional")
    prepaid = cl.grant(org.id, credits(1), kind="prepaid")
    result = cl.spend(org.id, credits("3.5"))
    assert parts(result) == [
        (promo.id, credits(1)),
        (flex.id, credits(1)),
        (included.id, credits(1)),
        (prepaid.id, credits("0.5")),
    ]
    assert cl.get_org(org.id).consumption_order == org.consumption_order


def test_a_refused_debit_writes_nothing(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    cl.grant(org.id, credits(5))
    cl.grant(org.id, credits(50), effective_at=T0 + DAY)  # pending: not spendable yet
    cl.spend(org.id, credits(1))
    before = state(cl, org.id)
    with pytest.raises(InsufficientCredits) as caught:
        cl.spend(org.id, credits(4) + 1)
    assert caught.value.org_id == org.id
    assert caught.value.needed == credits(4) + 1
    assert caught.value.available == credits(4)
    assert state(cl, org.id) == before
    (result,) = cl.spend_many(org.id, [Debit(credits(5))])
    assert result.status is DebitStatus.REFUSED
    assert not result.accepted
    assert result.allocations == ()
    assert isinstance(result.error, InsufficientCredits)
    assert state(cl, org.id) == before
    assert cl.verify().ok


def test_an_organization_never_spends_another_organizations_credits(cl: Creditline) -> None:
    rich = cl.create_org("Rich")
    poor = cl.create_org("Poor")
    cl.grant(rich.id, credits(100))
    rich_before = state(cl, rich.id)
    with pytest.raises(InsufficientCredits) as caught:
        cl.spend(poor.id, credits(1))
    assert caught.value.available == 0
    assert state(cl, rich.id) == rich_before
    assert cl.history(poor.id) == []


# -- idempotency ----------------------------------------------------------------------


def test_a_replayed_spend_returns_the_same_result_and_charges_once(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Acme")
    a = cl.grant(org.id, credits(2), kind="included")
    b = cl.grant(org.id, credits(10))
    first = cl.spend(org.id, credits(3), idempotency_key="evt-1")
    assert not first.replayed
    cl.spend(org.id, credits(1))  # the pool moves on; the replay must not
    clock.advance(timedelta(minutes=5))
    again = cl.spend(org.id, credits(3), idempotency_key="evt-1")
    assert again.replayed
    assert (again.status, again.amount, again.cause) == (first.status, first.amount, first.cause)
    assert parts(again) == parts(first) == [(a.id, credits(2)), (b.id, credits(1))]
    assert cl.balance(org.id).total == credits(12 - 3 - 1)
    assert len(cl.history(org.id, types=["consume"], cause=first.cause)) == 2
    (in_batch,) = cl.spend_many(org.id, [Debit(credits(3), idempotency_key="evt-1")])
    assert in_batch.replayed
    assert parts(in_batch) == parts(first)
    assert cl.balance(org.id).total == credits(8)
    assert cl.verify().ok


def test_a_replayed_refusal_stays_a_refusal_after_credits_are_added(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    cl.grant(org.id, credits(2))
    with pytest.raises(InsufficientCredits) as first:
        cl.spend(org.id, credits(5), idempotency_key="evt-2")
    cl.grant(org.id, credits(10))
    before = state(cl, org.id)
    with pytest.raises(InsufficientCredits) as again:
        cl.spend(org.id, credits(5), idempotency_key="evt-2")
    assert (again.value.needed, again.value.available) == (credits(5), credits(2))
    assert (first.value.needed, first.value.available) == (credits(5), credits(2))
    (result,) = cl.spend_many(org.id, [Debit(credits(5), idempotency_key="evt-2")])
    assert result.status is DebitStatus.REFUSED
    assert result.replayed
    assert state(cl, org.id) == before
    assert of_type(cl, org.id, "consume") == []
    # A new key is a new request and is served.
    assert cl.spend(org.id, credits(5), idempotency_key="evt-3").accepted


def test_the_same_key_with_a_different_request_is_refused(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    project = cl.create_project(org.id, "api")
    cl.grant(org.id, credits(10))
    cl.spend(org.id, credits(3), idempotency_key="evt-4")
    before = state(cl, org.id)
    with pytest.raises(IdempotencyKeyReused) as caught:
        cl.spend(org.id, credits(4), idempotency_key="evt-4")
    assert caught.value.key == "evt-4"
    with pytest.raises(IdempotencyKeyReused):
        cl.spend(org.id, credits(3), idempotency_key="evt-4", project_id=project.id)
    (result,) = cl.spend_many(org.id, [Debit(credits(4), idempotency_key="evt-4")])
    assert result.status is DebitStatus.REJECTED
    assert isinstance(result.error, IdempotencyKeyReused)
    assert state(cl, org.id) == before


def test_idempotency_keys_belong_to_one_organization(cl: Creditline) -> None:
    a = cl.create_org("A")
    b = cl.create_org("B")
    cl.grant(a.id, credits(5))
    cl.grant(b.id, credits(5))
    first = cl.spend(a.id, credits(1), idempotency_key="same")
    other = cl.spend(b.id, credits(2), idempotency_key="same")
    assert not other.replayed
    assert parts(other)[0][0] != parts(first)[0][0]
    assert cl.balance(a.id).total == credits(4)
    assert cl.balance(b.id).total == credits(3)


# -- batches and attribution ----------------------------------------------------------


def test_spend_many_accepts_refuses_and_rejects_each_debit_on_its_own(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    other = cl.create_org("Other")
    foreign = cl.create_project(other.id, "theirs")
    g = cl.grant(org.id, credits(10))
    results = cl.spend_many(
        org.id,
        [
            Debit(credits(3)),
            Debit(credits(100)),
            Debit(0),
            Debit(credits(1), project_id=foreign.id),
            Debit(credits(2), idempotency_key="m1"),
            Debit(credits(2), idempotency_key="m1"),
            Debit(credits(3), idempotency_key="m1"),
            Debit(1.5),  # type: ignore[arg-type]
            Debit(credits(5)),
            Debit(1),
        ],
    )
    assert [r.status for r in results] == [
        DebitStatus.ACCEPTED,
        DebitStatus.REFUSED,
        DebitStatus.REJECTED,
        DebitStatus.REJECTED,
        DebitStatus.ACCEPTED,
        DebitStatus.ACCEPTED,
        DebitStatus.REJECTED,
        DebitStatus.REJECTED,
        DebitStatus.ACCEPTED,
        DebitStatus.REFUSED,
    ]
    errors = [type(r.error) if r.error else None for r in results]
    assert errors == [
        None,
        InsufficientCredits,
        InvalidAmount,
        ProjectNotFound,
        None,
        None,
        IdempotencyKeyReused,
        InvalidAmount,
        None,
        InsufficientCredits,
    ]
    assert [r.replayed for r in results] == [False] * 5 + [True] + [False] * 4
    refused = results[1].error
    assert isinstance(refused, InsufficientCredits)
    assert (refused.needed, refused.available) == (credits(100), credits(7))
    assert parts(results[0]) == [(g.id, credits(3))]
    assert parts(results[4]) == parts(results[5]) == [(g.id, credits(2))]
    assert parts(results[8]) == [(g.id, credits(5))]
    assert cl.balance(org.id).total == 0
    assert [-e.amount for e in of_type(cl, org.id, "consume")] == [
        credits(3),
        credits(2),
        credits(5),
    ]
    assert cl.verify().ok


def test_use_is_attributed_to_a_project_and_a_member(cl: Creditline, clock: ManualClock) -> None:
    org = cl.create_org("Acme")
    project = cl.create_project(org.id, "chatbot")
    member = cl.add_member(org.id, "Ada", "ada@example.com")
    a = cl.grant(org.id, credits(1))
    clock.advance(timedelta(seconds=1))  # b is younger: spent after a
    b = cl.grant(org.id, credits(5))
    result = cl.spend(
        org.id,
        credits(2),
        project_id=project.id,
        member_id=member.id,
        cause=Cause(CauseType.USAGE_EVENT, "evt_42"),
        metadata={"model": "small", "tokens": 1200},
    )
    consumed = of_type(cl, org.id, "consume")
    assert [(e.grant_id, e.amount) for e in consumed] == [(a.id, -credits(1)), (b.id, -credits(1))]
    for e in consumed:
        assert (e.project_id, e.member_id) == (project.id, member.id)
        assert e.cause == result.cause == Cause(CauseType.USAGE_EVENT, "evt_42")
        assert e.metadata == {"model": "small", "tokens": 1200}
    assert cl.history(org.id, cause=Cause(CauseType.USAGE_EVENT, "evt_42")) == list(
        reversed(consumed)
    )
    assert cl.verify().ok


def test_a_project_or_member_of_another_organization_is_not_found(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    other = cl.create_org("Other")
    theirs = cl.create_project(other.id, "theirs")
    their_member = cl.add_member(other.id, "Eve")
    cl.grant(org.id, credits(5))
    before = state(cl, org.id)
    with pytest.raises(ProjectNotFound):
        cl.spend(org.id, credits(1), project_id=theirs.id)
    with pytest.raises(ProjectNotFound):
        cl.spend(org.id, credits(1), project_id="prj_nope")
    with pytest.raises(MemberNotFound):
        cl.spend(org.id, credits(1), member_id=their_member.id)
    assert state(cl, org.id) == before
    assert cl.projects(org.id) == []
    assert cl.projects(other.id) == [theirs]


# -- adjustments ----------------------------------------------------------------------


def test_a_positive_adjustment_grants_an_adjustment_lot(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    g = cl.adjust(org.id, credits(3), "goodwill for outage 17")
    assert isinstance(g, Grant)
    assert (g.kind, g.amount, g.remaining) == (GrantKind.ADJUSTMENT, credits(3), credits(3))
    assert g.source == GrantSource(SourceType.OPERATOR, "goodwill for outage 17")
    (entry,) = everything(cl, org.id)
    assert (entry.type, entry.amount) == (EntryType.GRANT, credits(3))
    assert entry.cause == Cause(CauseType.OPERATOR, "goodwill for outage 17")
    assert cl.balance(org.id).available == credits(3)


def test_a_negative_adjustment_takes_credits_with_adjustment_entries(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    a = cl.grant(org.id, credits(1), kind="included")
    b = cl.grant(org.id, credits(5), kind="prepaid")
    result = cl.adjust(org.id, -credits(2), "double-counted usage")
    assert isinstance(result, DebitResult)
    assert result.accepted
    assert parts(result) == [(a.id, credits(1)), (b.id, credits(1))]
    taken = of_type(cl, org.id, "adjustment")
    assert [(e.grant_id, e.amount) for e in taken] == [(a.id, -credits(1)), (b.id, -credits(1))]
    assert {e.cause for e in taken} == {Cause(CauseType.OPERATOR, "double-counted usage")}
    assert of_type(cl, org.id, "consume") == []
    assert cl.balance(org.id).total == credits(4)
    before = state(cl, org.id)
    with pytest.raises(InsufficientCredits):
        cl.adjust(org.id, -credits(5), "too much")
    assert state(cl, org.id) == before
    assert cl.verify().ok


# -- expiry ---------------------------------------------------------------------------


def test_expire_due_writes_one_entry_per_due_grant_dated_at_its_expiry(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Acme")
    other = cl.create_org("Other")
    used_up = cl.grant(org.id, credits(4), kind="included", expires_at=T0 + DAY)
    partly = cl.grant(org.id, credits(10), expires_at=T0 + 3 * DAY)
    whole = cl.grant(org.id, credits(2), kind="promotional", expires_at=T0 + 4 * DAY)
    later = cl.grant(org.id, credits(6), expires_at=T0 + 30 * DAY)
    forever = cl.grant(org.id, credits(7))
    theirs = cl.grant(other.id, credits(3), expires_at=T0 + 2 * DAY)
    spent = cl.spend(org.id, credits(6))
    assert parts(spent) == [(used_up.id, credits(4)), (partly.id, credits(2))]

    clock.set(T0 + 5 * DAY)
    report = cl.expire_due()
    assert report.grants == 3
    assert report.amount == credits(8 + 2 + 3)
    assert {(e.org_id, e.grants, e.amount) for e in report.organizations} == {
        (org.id, 2, credits(10)),
        (other.id, 1, credits(3)),
    }
    expired = of_type(cl, org.id, "expire")
    assert len(expired) == 2
    assert {(e.grant_id, e.amount, e.occurred_at) for e in expired} == {
        (partly.id, -credits(8), T0 + 3 * DAY),
        (whole.id, -credits(2), T0 + 4 * DAY),
    }
    for e in expired:
        assert e.cause == Cause(CauseType.EXPIRY, e.grant_id)
        assert e.recorded_at == T0 + 5 * DAY
    (their_entry,) = of_type(cl, other.id, "expire")
    assert (their_entry.grant_id, their_entry.amount) == (theirs.id, -credits(3))
    remaining = {g.id: g.remaining for g in cl.grants(org.id)}
    assert remaining[partly.id] == remaining[whole.id] == remaining[used_up.id] == 0
    assert (remaining[later.id], remaining[forever.id]) == (credits(6), credits(7))
    b = cl.balance(org.id)
    assert (b.total, b.available, b.expired_unswept) == (credits(13), credits(13), 0)

    before = (state(cl, org.id), state(cl, other.id))
    again = cl.expire_due()
    assert (again.grants, again.amount, again.organizations) == (0, 0, ())
    assert (state(cl, org.id), state(cl, other.id)) == before
    assert cl.verify().ok


def test_expiry_is_enforced_when_spending_before_expire_due_ran(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Acme")
    expiring = cl.grant(org.id, credits(5), kind="included", expires_at=T0 + DAY)
    forever = cl.grant(org.id, credits(3))
    clock.set(T0 + DAY - timedelta(microseconds=1))
    assert cl.balance(org.id).available == credits(8)
    clock.set(T0 + DAY)  # the expiry instant itself: already gone
    b = cl.balance(org.id)
    assert (b.total, b.available, b.expired_unswept) == (credits(8), credits(3), credits(5))
    with pytest.raises(InsufficientCredits) as caught:
        cl.spend(org.id, credits(4))
    assert caught.value.available == credits(3)
    assert parts(cl.spend(org.id, credits(3))) == [(forever.id, credits(3))]
    assert {g.id: g.remaining for g in cl.grants(org.id)}[expiring.id] == credits(5)
    assert cl.verify().ok
    assert cl.expire_due().amount == credits(5)
    assert cl.balance(org.id).total == 0


# -- reading --------------------------------------------------------------------------


def test_history_pages_newest_first_with_before_id_and_filters_by_type(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Acme")
    other = cl.create_org("Other")
    cl.grant(other.id, credits(1))
    a = cl.grant(org.id, credits(5), expires_at=T0 + DAY)
    b = cl.grant(org.id, credits(5))
    for _ in range(4):
        cl.spend(org.id, credits(2))
    clock.set(T0 + 2 * DAY)
    cl.expire_due()
    full = cl.history(org.id, limit=100)
    assert len(full) == 2 + 5 + 0  # two grants, five consume parts (one debit spans a and b)
    ids = [e.id for e in full]
    assert ids == sorted(ids, reverse=True)
    assert all(e.org_id == org.id for e in full)

    pages: list[list[LedgerEntry]] = []
    before_id: int | None = None
    while page := cl.history(org.id, limit=3, before_id=before_id):
        pages.append(page)
        before_id = page[-1].id
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p] == full

    consumed = cl.history(org.id, types=["consume"])
    assert [e.type for e in consumed] == [EntryType.CONSUME] * 5
    granted = cl.history(org.id, types=[EntryType.GRANT, "expire"])
    assert {e.grant_id for e in granted} == {a.id, b.id}
    assert [e.type for e in granted] == [EntryType.GRANT] * 2  # a was used up: no expiry
    first_page = cl.history(org.id, limit=2, types=["consume"])
    second_page = cl.history(org.id, limit=2, types=["consume"], before_id=first_page[-1].id)
    assert first_page + second_page == consumed[:4]
    assert {e.grant_id for e in cl.history(org.id, grant_id=a.id)} == {a.id}
    with pytest.raises(InvalidSetting):
        cl.history(org.id, types=["transfer"])


def test_balance_tells_available_from_total_pending_and_expired_unswept(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Acme")
    cl.grant(org.id, credits(10), kind="prepaid")
    cl.grant(org.id, credits(5), kind="promotional", effective_at=T0 + 10 * DAY)
    cl.grant(org.id, credits(4), kind="included", expires_at=T0 + 2 * DAY)
    cl.spend(org.id, credits(3))  # 3 from the included grant
    clock.set(T0 + 3 * DAY)
    b = cl.balance(org.id)
    assert b.org_id == org.id
    assert b.as_of == T0 + 3 * DAY
    assert b.total == credits(16)
    assert b.available == credits(10)
    assert b.pending == credits(5)
    assert b.expired_unswept == credits(1)
    assert b.by_kind == {GrantKind.PREPAID: credits(10)}

    cl.expire_due()
    b = cl.balance(org.id)
    assert (b.total, b.available, b.pending, b.expired_unswept) == (
        credits(15),
        credits(10),
        credits(5),
        0,
    )
    clock.set(T0 + 10 * DAY)
    b = cl.balance(org.id)
    assert (b.total, b.available, b.pending) == (credits(15), credits(15), 0)
    assert b.by_kind == {GrantKind.PREPAID: credits(10), GrantKind.PROMOTIONAL: credits(5)}


# -- verification ---------------------------------------------------------------------


def busy_ledger(cl: Creditline, clock: ManualClock) -> tuple[str, str]:
    """Two organizations after a month of grants, debits, adjustments and expiry."""
    org = cl.create_org("Acme")
    other = cl.create_org("Other")
    project = cl.create_project(org.id, "api")
    member = cl.add_member(org.id, "Ada")
    cl.grant(org.id, credits(20), kind="included", expires_at=T0 + 30 * DAY)
    cl.grant(org.id, credits(50), cost_basis=CostBasis(900, "EUR"))
    cl.grant(org.id, credits(5), kind="promotional", expires_at=T0 + 7 * DAY)
    cl.grant(org.id, credits(3), kind="flex", effective_at=T0 + 40 * DAY)
    cl.grant(other.id, credits(9), expires_at=T0 + 10 * DAY)
    for day in range(0, 35, 3):
        clock.set(T0 + day * DAY)
        cl.spend(org.id, credits("2.5"), project_id=project.id, member_id=member.id)
        cl.spend_many(other.id, [Debit(credits("0.5")), Debit(credits(100))])
        if day % 9 == 0:
            cl.expire_due()
    cl.adjust(org.id, credits(2), "goodwill")
    cl.adjust(org.id, -credits(1), "correction")
    cl.spend(org.id, credits(1), idempotency_key="last")
    cl.spend(org.id, credits(1), idempotency_key="last")
    with pytest.raises(InsufficientCredits):
        cl.spend(org.id, credits(10_000))
    return org.id, other.id


def test_verify_is_clean_after_a_busy_month(cl: Creditline, clock: ManualClock) -> None:
    org_id, other_id = busy_ledger(cl, clock)
    report = cl.verify()
    assert report.ok, report.problems
    assert report.problems == ()
    assert report.organizations == 2
    assert report.grants == 6
    entries = everything(cl, org_id) + everything(cl, other_id)
    assert sum(e.amount for e in entries) == cl.balance(org_id).total + cl.balance(other_id).total


def test_verify_detects_a_grant_remaining_changed_behind_its_back(
    cl: Creditline, clock: ManualClock, raw: Engine
) -> None:
    org_id, _ = busy_ledger(cl, clock)
    victim = next(g for g in cl.grants(org_id) if g.remaining > 0)
    with raw.begin() as conn:
        conn.execute(
            update(tables.grants)
            .where(tables.grants.c.id == victim.id)
            .values(remaining_micros=tables.grants.c.remaining_micros - 1)
        )
    report = cl.verify()
    assert not report.ok
    assert any(p.subject == f"grant {victim.id}" for p in report.problems), report.problems
    assert any(victim.id in str(p) for p in report.problems)
    assert any(org_id in str(p) for p in report.problems)


def test_verify_detects_a_balance_row_changed_behind_its_back(
    cl: Creditline, clock: ManualClock, raw: Engine
) -> None:
    _, other_id = busy_ledger(cl, clock)
    with raw.begin() as conn:
        conn.execute(
            update(tables.balances)
            .where(tables.balances.c.org_id == other_id)
            .values(balance_micros=tables.balances.c.balance_micros + credits(1))
        )
    report = cl.verify()
    assert not report.ok
    assert {p.subject for p in report.problems} == {f"organization {other_id}"}
    assert all(other_id in str(p) for p in report.problems)


def test_verify_detects_an_entry_written_without_its_caches(
    cl: Creditline, clock: ManualClock, raw: Engine
) -> None:
    org_id, other_id = busy_ledger(cl, clock)
    victim = next(g for g in cl.grants(org_id) if g.remaining > 0)
    row = {
        "org_id": org_id,
        "grant_id": victim.id,
        "entry_type": "consume",
        "amount_micros": -1,
        "cause_type": "debit",
        "cause_ref": "forged",
        "occurred_at": T0,
        "recorded_at": T0,
    }
    with raw.begin() as conn:
        conn.execute(insert(tables.ledger_entries).values(**row))
        # An entry of one organization that names another organization's grant.
        conn.execute(
            insert(tables.ledger_entries).values(
                **{**row, "org_id": other_id, "amount_micros": 2, "entry_type": "void"}
            )
        )
    problems = [str(p) for p in cl.verify().problems]
    assert any(victim.id in p for p in problems), problems
    assert any(p.startswith(f"organization {org_id}") for p in problems), problems
    assert any(p.startswith("ledger") for p in problems), problems


# -- tenancy (A2) ---------------------------------------------------------------------


def test_there_is_no_operation_that_moves_credits_between_organizations() -> None:
    public = {
        name: member
        for name, member in inspect.getmembers(Creditline, callable)
        if not name.startswith("_")
    }
    assert {"grant", "spend", "spend_many", "adjust"} <= set(public)
    for name, member in public.items():
        assert not any(word in name for word in ("transfer", "move", "send")), name
        params = inspect.signature(member).parameters
        org_params = [p for p in params if "org" in p.lower()]
        assert len(org_params) <= 1, f"Creditline.{name} takes {org_params}"
    # A debit carries no organization: it is always spent in the one organization named.
    assert not [f for f in inspect.signature(Debit).parameters if "org" in f.lower()]


def test_grants_made_at_the_same_instant_are_spent_oldest_first(cl: Creditline) -> None:
    org = cl.create_org("Same instant")
    made = [cl.grant(org.id, credits(1), "prepaid") for _ in range(6)]
    spent = [cl.spend(org.id, credits(1)).allocations[0].grant_id for _ in range(6)]
    assert spent == [g.id for g in made]
