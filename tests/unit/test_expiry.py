"""Expiry: what is left of a grant at its expiry becomes one expire entry, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from creditline.domain.expiry import expiry_entries
from creditline.domain.grants import Grant
from creditline.domain.ledger import Cause, CauseType, EntryType, check_sign
from tests.unit.builders import DAY, T0, grant

NOW = T0 + 10 * DAY


def apply(grants: list[Grant], now: timedelta | None = None) -> list[Grant]:
    """The grants after their expire entries at ``NOW`` were written."""
    taken = {e.grant_id: e.amount for e in expiry_entries(grants, NOW)}
    return [replace(g, remaining=g.remaining + taken.get(g.id, 0)) for g in grants]


def test_a_grant_past_its_expiry_gets_an_expire_entry_for_what_is_left() -> None:
    g = grant(5_000_000, remaining=3_250_000, expires_at=T0 + 3 * DAY)
    (entry,) = expiry_entries([g], NOW)
    assert entry.org_id == g.org_id
    assert entry.grant_id == g.id
    assert entry.type is EntryType.EXPIRE
    assert entry.amount == -3_250_000
    assert entry.cause == Cause(CauseType.EXPIRY, g.id)
    check_sign(entry.type, entry.amount)


def test_the_expire_entry_is_dated_at_the_grants_expiry_not_when_it_ran() -> None:
    g = grant(7, expires_at=T0 + 3 * DAY)
    (entry,) = expiry_entries([g], NOW)
    assert entry.occurred_at == T0 + 3 * DAY


def test_a_grant_is_due_at_the_instant_it_expires() -> None:
    g = grant(7, expires_at=NOW)
    assert [e.amount for e in expiry_entries([g], NOW)] == [-7]
    assert expiry_entries([g], NOW - timedelta(microseconds=1)) == []


def test_grants_not_yet_expired_never_expiring_or_used_up_get_no_entry() -> None:
    grants = [
        grant(7, expires_at=NOW + timedelta(microseconds=1)),
        grant(7, expires_at=None),
        grant(7, remaining=0, expires_at=T0 + DAY),
    ]
    assert expiry_entries(grants, NOW) == []


def test_each_due_grant_gets_exactly_one_entry_with_its_own_amount() -> None:
    a = grant(10, remaining=4, expires_at=T0 + DAY)
    b = grant(20, expires_at=T0 + 2 * DAY)
    c = grant(30, expires_at=NOW + DAY)
    d = grant(40, remaining=0, expires_at=T0 + DAY)
    entries = expiry_entries([a, b, c, d], NOW)
    assert {e.grant_id: e.amount for e in entries} == {a.id: -4, b.id: -20}
    assert len(entries) == 2


def test_expiry_is_idempotent() -> None:
    grants = [grant(10, remaining=4, expires_at=T0 + DAY), grant(20, expires_at=T0 + 2 * DAY)]
    after = apply(grants)
    assert [g.remaining for g in after] == [0, 0]
    assert expiry_entries(after, NOW) == []
    assert expiry_entries(after, NOW + 365 * DAY) == []


def test_expiry_takes_nothing_from_grants_that_are_still_valid() -> None:
    live = grant(9, expires_at=NOW + DAY)
    gone = grant(5, expires_at=T0 + DAY)
    after = apply([live, gone])
    assert [g.remaining for g in after] == [9, 0]
    assert sum(g.remaining for g in after) == 9
