"""Spending: which grants pay for a debit, in which order, and refusal of a short debit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.errors import InsufficientCredits
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, Grant, GrantKind
from creditline.domain.spending import Allocation, Pool, allocate, spending_order
from tests.unit.builders import DAY, T0, grant

NOW = T0 + 10 * DAY


def ids(grants: list[Grant]) -> list[str]:
    return [g.id for g in grants]


def test_kinds_are_spent_in_the_default_consumption_order() -> None:
    # Created in reverse so that neither creation order nor ids explain the result.
    by_kind = {kind: grant(kind=kind) for kind in reversed(DEFAULT_CONSUMPTION_ORDER)}
    ordered = spending_order(list(by_kind.values()), NOW)
    assert [g.kind for g in ordered] == [
        GrantKind.INCLUDED,
        GrantKind.PREPAID,
        GrantKind.PROMOTIONAL,
        GrantKind.REFUND,
        GrantKind.ADJUSTMENT,
        GrantKind.FLEX,
    ]


def test_kind_comes_before_expiry() -> None:
    prepaid_soon = grant(kind=GrantKind.PREPAID, expires_at=NOW + DAY)
    included_never = grant(kind=GrantKind.INCLUDED, expires_at=None)
    assert ids(spending_order([prepaid_soon, included_never], NOW)) == [
        included_never.id,
        prepaid_soon.id,
    ]


def test_within_a_kind_the_soonest_expiry_is_spent_first_and_never_expiring_last() -> None:
    never = grant(expires_at=None, effective_at=T0 - 100 * DAY)
    late = grant(expires_at=NOW + 30 * DAY)
    soon = grant(expires_at=NOW + DAY)
    middle = grant(expires_at=NOW + 2 * DAY)
    assert ids(spending_order([never, late, soon, middle], NOW)) == [
        soon.id,
        middle.id,
        late.id,
        never.id,
    ]


def test_with_the_same_expiry_the_oldest_effective_grant_is_spent_first() -> None:
    newer = grant(effective_at=T0 + DAY, expires_at=NOW + DAY)
    older = grant(effective_at=T0, expires_at=NOW + DAY)
    newer_forever = grant(effective_at=T0 + 2 * DAY)
    older_forever = grant(effective_at=T0 - DAY)
    assert ids(spending_order([newer_forever, newer, older_forever, older], NOW)) == [
        older.id,
        newer.id,
        older_forever.id,
        newer_forever.id,
    ]


def test_with_the_same_effective_time_the_earliest_created_grant_is_spent_first() -> None:
    later = grant(effective_at=T0, created_at=T0 + DAY, id="grt_a")
    earlier = grant(effective_at=T0, created_at=T0, id="grt_b")
    assert ids(spending_order([later, earlier], NOW)) == ["grt_b", "grt_a"]


def test_a_custom_consumption_order_is_honoured() -> None:
    included = grant(kind=GrantKind.INCLUDED)
    flex = grant(kind=GrantKind.FLEX)
    promo = grant(kind=GrantKind.PROMOTIONAL)
    order = (GrantKind.FLEX, GrantKind.PROMOTIONAL, GrantKind.INCLUDED)
    assert ids(spending_order([included, flex, promo], NOW, order)) == [
        flex.id,
        promo.id,
        included.id,
    ]


def test_kinds_left_out_of_a_custom_order_are_spent_last() -> None:
    included = grant(kind=GrantKind.INCLUDED)
    flex = grant(kind=GrantKind.FLEX)
    assert ids(spending_order([included, flex], NOW, (GrantKind.FLEX,))) == [flex.id, included.id]


def test_grants_not_yet_effective_are_not_spendable() -> None:
    future = grant(effective_at=NOW + timedelta(microseconds=1))
    starts_now = grant(effective_at=NOW)
    assert ids(spending_order([future, starts_now], NOW)) == [starts_now.id]


def test_expired_grant_is_not_spendable() -> None:
    expired = grant(expires_at=NOW - DAY)
    expires_now = grant(expires_at=NOW)  # half-open: gone at its expiry instant
    live = grant(expires_at=NOW + timedelta(microseconds=1))
    assert ids(spending_order([expired, expires_now, live], NOW)) == [live.id]
    with pytest.raises(InsufficientCredits) as caught:
        allocate("org_a", [expired, expires_now], 1, NOW)
    assert caught.value.available == 0


def test_used_up_grants_are_skipped() -> None:
    empty = grant(amount=5, remaining=0, kind=GrantKind.INCLUDED)
    full = grant(amount=5)
    assert allocate("org_a", [empty, full], 5, NOW) == (Allocation(full.id, 5),)


def test_a_debit_is_drawn_across_several_grants_in_order() -> None:
    included = grant(3_000_000, GrantKind.INCLUDED, expires_at=NOW + DAY)
    promo = grant(2_000_000, GrantKind.PROMOTIONAL, expires_at=NOW + 5 * DAY)
    prepaid_soon = grant(1_000_000, GrantKind.PREPAID, expires_at=NOW + 2 * DAY)
    prepaid_never = grant(4_000_000, GrantKind.PREPAID, remaining=2_500_000)
    flex = grant(10_000_000, GrantKind.FLEX)
    allocations = allocate(
        "org_a", [flex, prepaid_never, promo, prepaid_soon, included], 8_000_000, NOW
    )
    assert allocations == (
        Allocation(included.id, 3_000_000),
        Allocation(prepaid_soon.id, 1_000_000),
        Allocation(prepaid_never.id, 2_500_000),
        Allocation(promo.id, 1_500_000),
    )
    assert sum(a.amount for a in allocations) == 8_000_000


def test_a_debit_of_exactly_what_is_spendable_empties_every_grant() -> None:
    a, b = grant(2), grant(3)
    pool = Pool("org_a", [a, b], NOW)
    assert pool.take(5) == (Allocation(a.id, 2), Allocation(b.id, 3))
    assert pool.available == 0
    assert pool.changes() == {a.id: -2, b.id: -3}


def test_a_debit_that_cannot_be_covered_is_refused_with_needed_and_available() -> None:
    a = grant(2_000_000)
    b = grant(1_000_000, expires_at=NOW + DAY)
    pending = grant(50_000_000, effective_at=NOW + DAY)
    with pytest.raises(InsufficientCredits) as caught:
        allocate("org_a", [a, b, pending], 3_000_001, NOW)
    assert caught.value.org_id == "org_a"
    assert caught.value.needed == 3_000_001
    assert caught.value.available == 3_000_000
    assert "3000001" in str(caught.value)


def test_a_refused_debit_leaves_the_pool_unchanged() -> None:
    a, b = grant(2_000_000), grant(1_000_000)
    pool = Pool("org_a", [a, b], NOW)
    first = pool.take(1_500_000)
    before = (pool.available, pool.changes())
    with pytest.raises(InsufficientCredits) as caught:
        pool.take(1_500_001)
    assert caught.value.available == 1_500_000
    assert (pool.available, pool.changes()) == before == (1_500_000, {a.id: -1_500_000})
    # The pool still serves the debit it can cover, from where it left off.
    assert pool.take(1_500_000) == (Allocation(a.id, 500_000), Allocation(b.id, 1_000_000))
    assert first == (Allocation(a.id, 1_500_000),)
    assert pool.available == 0


def test_each_debit_of_a_batch_sees_what_the_previous_ones_left() -> None:
    a, b, c = grant(3), grant(3), grant(3)
    pool = Pool("org_a", [a, b, c], NOW)
    assert pool.available == 9
    assert pool.take(2) == (Allocation(a.id, 2),)
    assert pool.take(2) == (Allocation(a.id, 1), Allocation(b.id, 1))
    with pytest.raises(InsufficientCredits):
        pool.take(6)
    assert pool.take(5) == (Allocation(b.id, 2), Allocation(c.id, 3))
    assert pool.changes() == {a.id: -3, b.id: -3, c.id: -3}


def test_the_pool_counts_only_spendable_grants() -> None:
    live = grant(7)
    pool = Pool(
        "org_a",
        [live, grant(5, expires_at=NOW), grant(11, effective_at=NOW + DAY), grant(3, remaining=0)],
        NOW,
    )
    assert pool.available == 7
    assert pool.take(7) == (Allocation(live.id, 7),)


def test_a_refusal_on_a_fresh_pool_records_no_change() -> None:
    pool = Pool("org_a", [grant(3)], NOW)
    with pytest.raises(InsufficientCredits):
        pool.take(4)
    assert (pool.available, pool.changes()) == (3, {})


@pytest.mark.parametrize("amount", [0, -5])
def test_the_pool_refuses_a_debit_that_is_not_positive(amount: int) -> None:
    from creditline.domain.errors import InvalidAmount

    pool = Pool("org_a", [grant(3)], NOW)
    with pytest.raises(InvalidAmount):
        pool.take(amount)
    assert (pool.available, pool.changes()) == (3, {})


def test_allocate_changes_no_grant() -> None:
    a = grant(5)
    allocate("org_a", [a], 3, NOW)
    assert a.remaining == 5


def test_expiries_in_different_time_zones_are_ordered_as_instants() -> None:
    plus_five = timezone(timedelta(hours=5))
    # 2026-01-20 00:00 +05:00 is 2026-01-19 19:00 UTC: it expires before the other.
    earlier = grant(expires_at=datetime(2026, 1, 20, 0, 0, tzinfo=plus_five))
    later = grant(expires_at=datetime(2026, 1, 19, 20, 0, tzinfo=UTC))
    assert ids(spending_order([later, earlier], NOW)) == [earlier.id, later.id]


grant_specs = st.lists(
    st.tuples(
        st.sampled_from(list(GrantKind)),
        st.integers(min_value=1, max_value=1_000),
        st.one_of(st.none(), st.integers(min_value=-5, max_value=20)),
        st.integers(min_value=-20, max_value=3),
    ),
    max_size=12,
)


@given(specs=grant_specs, amount=st.integers(min_value=1, max_value=12_000))
def test_an_allocation_is_a_greedy_walk_of_the_spending_order(
    specs: list[tuple[GrantKind, int, int | None, int]], amount: int
) -> None:
    grants = [
        grant(
            size,
            kind,
            expires_at=None if expiry is None else NOW + expiry * DAY,
            effective_at=NOW + start * DAY,
        )
        for kind, size, expiry, start in specs
        if expiry is None or expiry > start
    ]
    ordered = spending_order(grants, NOW)
    spendable = sum(g.remaining for g in ordered)
    assert spendable == sum(g.remaining for g in grants if g.is_spendable(NOW))
    if amount > spendable:
        with pytest.raises(InsufficientCredits):
            allocate("org_a", grants, amount, NOW)
        return
    allocations = allocate("org_a", grants, amount, NOW)
    assert sum(a.amount for a in allocations) == amount
    assert all(a.amount > 0 for a in allocations)
    # Every grant before the last one touched is drained; the rest are untouched.
    expected: list[Allocation] = []
    left = amount
    for g in ordered:
        if left == 0:
            break
        part = min(g.remaining, left)
        expected.append(Allocation(g.id, part))
        left -= part
    assert allocations == tuple(expected)


def test_the_ordering_is_deterministic_for_identical_grants() -> None:
    twins = [grant(1, id="grt_b"), grant(1, id="grt_a"), grant(1, id="grt_c")]
    assert ids(spending_order(twins, NOW)) == ["grt_a", "grt_b", "grt_c"]
    assert ids(spending_order(list(reversed(twins)), NOW)) == ["grt_a", "grt_b", "grt_c"]


def test_times_are_compared_in_utc() -> None:
    g = grant(expires_at=datetime(2026, 1, 11, 1, 0, tzinfo=timezone(timedelta(hours=1))))
    assert spending_order([g], datetime(2026, 1, 10, 23, 59, tzinfo=UTC)) == [g]
    assert spending_order([g], datetime(2026, 1, 11, 0, 0, tzinfo=UTC)) == []
