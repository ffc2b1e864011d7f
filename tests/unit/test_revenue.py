"""The revenue report's arithmetic (:mod:`creditline.domain.revenue`): each movement is
worth the change of its grant's value, so every month reconciles to the minor unit."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.grants import GrantKind
from creditline.domain.ledger import EntryType
from creditline.domain.revenue import (
    Flow,
    Movement,
    RevenueReport,
    ValuedGrant,
    grant_value,
    revenue_report,
)

NOV, DEC = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
THIRDS = ValuedGrant("g1", GrantKind.PREPAID, 3_000_000, 1000, "EUR")


def _report(
    grants: list[ValuedGrant], opening: dict[str, int], moves: list[Movement]
) -> RevenueReport:
    return revenue_report("2026-11", NOV, DEC, grants=grants, opening=opening, movements=moves)


def test_a_grant_is_worth_its_share_rounded_half_up() -> None:
    assert [THIRDS.value(n * 1_000_000) for n in range(4)] == [0, 333, 667, 1000]
    assert THIRDS.value(-5) == 0 and THIRDS.value(9_000_000) == 1000


def test_a_purchase_is_worth_its_price_and_a_cost_basis_its_credits() -> None:
    assert grant_value(3_000_000, 333, 1000) == 1000
    assert grant_value(3_000_000, 333) == 999
    assert grant_value(3_000_000, None) == 0


def test_thirds_consumed_one_by_one_add_up_to_the_price() -> None:
    moves = [Movement("g1", EntryType.GRANT, 3_000_000)]
    moves += [Movement("g1", EntryType.CONSUME, -1_000_000)] * 3
    (line,) = _report([THIRDS], {}, moves).lines
    assert line.sold == Flow(3_000_000, 1000)
    assert line.consumed == Flow(3_000_000, 1000)
    assert line.closing == Flow(0, 0) and line.reconciles()


def test_holds_stay_a_liability_and_flex_and_gifts_are_apart() -> None:
    flex = ValuedGrant("f", GrantKind.FLEX, 500, 0, None)
    gift = ValuedGrant("p", GrantKind.PROMOTIONAL, 700, 0, None)
    moves = [
        Movement("g1", EntryType.RESERVE, -1_000_000),
        Movement("f", EntryType.GRANT, 500),
        Movement("f", EntryType.CONSUME, -500),
        Movement("p", EntryType.EXPIRE, -700),
    ]
    report = _report([THIRDS, flex, gift], {"g1": 3_000_000, "p": 700}, moves)
    (line,) = report.lines
    assert line.closing == line.opening == Flow(3_000_000, 1000)
    assert report.flex is not None and (report.flex.granted, report.flex.consumed) == (500, 500)
    (free,) = report.free
    assert (free.kind, free.opening, free.expired, free.closing) == (
        GrantKind.PROMOTIONAL, 700, 700, 0,
    )  # fmt: skip


_TYPES = st.sampled_from(
    [EntryType.CONSUME, EntryType.VOID, EntryType.EXPIRE, EntryType.REFUND,
     EntryType.ADJUSTMENT, EntryType.RESERVE, EntryType.RELEASE]
)  # fmt: skip


@given(
    amount=st.integers(1, 10**12),
    value=st.integers(1, 10**9),
    opened=st.integers(0, 10**12),
    moves=st.lists(st.tuples(_TYPES, st.integers(-(10**12), 10**12).filter(bool)), max_size=30),
)
def test_any_month_reconciles_to_the_minor_unit(
    amount: int, value: int, opened: int, moves: list[tuple[EntryType, int]]
) -> None:
    grant = ValuedGrant("g", GrantKind.PREPAID, amount, value, "USD")
    report = _report([grant], {"g": min(opened, amount)}, [Movement("g", *m) for m in moves])
    assert report.reconciles()
