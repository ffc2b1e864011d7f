"""Balances: total, available, pending and expired-but-not-yet-swept credits."""

from __future__ import annotations

from creditline.domain.balances import summarize
from creditline.domain.grants import GrantKind
from tests.unit.builders import DAY, T0, grant

NOW = T0 + 10 * DAY


def test_a_balance_splits_the_total_by_spendability() -> None:
    grants = [
        grant(10, GrantKind.INCLUDED, remaining=4),
        grant(5, GrantKind.PREPAID),
        grant(7, GrantKind.PREPAID, effective_at=NOW + DAY),
        grant(3, GrantKind.PROMOTIONAL, expires_at=NOW),
        grant(9, GrantKind.FLEX, remaining=0),
    ]
    b = summarize("org_a", 19, grants, NOW)
    assert (b.org_id, b.as_of, b.total) == ("org_a", NOW, 19)
    assert b.available == 9
    assert b.pending == 7
    assert b.expired_unswept == 3
    assert b.by_kind == {GrantKind.INCLUDED: 4, GrantKind.PREPAID: 5}


def test_a_grant_both_pending_and_expired_counts_as_expired() -> None:
    b = summarize("org_a", 0, [grant(2, effective_at=NOW + DAY, expires_at=NOW + DAY)], NOW + DAY)
    assert (b.available, b.pending, b.expired_unswept) == (0, 0, 2)
