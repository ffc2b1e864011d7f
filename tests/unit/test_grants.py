"""Grants: validation of a requested grant, and when a stored grant can be spent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from creditline.domain.amounts import MAX_MICROS, CostBasis
from creditline.domain.errors import InvalidGrant, ValidationError
from creditline.domain.grants import (
    DEFAULT_CONSUMPTION_ORDER,
    GrantKind,
    GrantSource,
    NewGrant,
    SourceType,
)
from tests.unit.builders import DAY, T0, grant

MICRO = timedelta(microseconds=1)


def new_grant(**overrides: Any) -> NewGrant:
    fields: dict[str, Any] = {
        "org_id": "org_a",
        "kind": GrantKind.PREPAID,
        "amount": 5_000_000,
        "effective_at": T0,
        "expires_at": T0 + 30 * DAY,
        "source": GrantSource(SourceType.PURCHASE, "pur_1"),
    }
    fields.update(overrides)
    return NewGrant(**fields)


def problems_of(candidate: NewGrant) -> list[str]:
    with pytest.raises(InvalidGrant) as caught:
        candidate.validate()
    assert isinstance(caught.value, ValidationError)
    return caught.value.problems


def test_a_valid_grant_validates_to_an_equal_copy() -> None:
    candidate = new_grant(cost_basis=CostBasis(900, "EUR"), metadata={"invoice": "inv_1"})
    valid = candidate.validate()
    assert valid == candidate
    assert valid.metadata is not candidate.metadata


def test_validation_normalizes_times_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    valid = new_grant(
        effective_at=datetime(2026, 1, 1, 2, 0, tzinfo=plus_two),
        expires_at=datetime(2026, 2, 1, 2, 0, tzinfo=plus_two),
    ).validate()
    assert valid.effective_at == T0
    assert valid.effective_at.tzinfo is UTC
    assert valid.expires_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert valid.expires_at is not None
    assert valid.expires_at.tzinfo is UTC


def test_a_grant_may_never_expire() -> None:
    assert new_grant(expires_at=None).validate().expires_at is None


def test_validate_lists_every_problem_at_once() -> None:
    problems = problems_of(
        new_grant(
            amount=0,
            effective_at=T0,
            expires_at=datetime(2026, 2, 1),  # naive
            source=GrantSource(SourceType.PURCHASE, "  "),
            metadata=["not", "a", "mapping"],
        )
    )
    assert len(problems) == 4, problems
    assert "amount must be greater than zero" in problems
    assert any("time zone" in p and "expiry" in p for p in problems)
    assert "source reference must not be empty" in problems
    assert "metadata must be a mapping" in problems


def test_validate_lists_a_bad_amount_kind_and_order_of_times_together() -> None:
    problems = problems_of(new_grant(amount=-5, kind="gold", effective_at=T0, expires_at=T0 - DAY))
    assert problems == [
        "amount must be greater than zero",
        f"kind must be one of {GrantKind.names()}",
        "expiry time must be after the effective time",
    ]


def test_validate_lists_both_naive_times() -> None:
    problems = problems_of(
        new_grant(amount=0, effective_at=datetime(2026, 1, 1), expires_at=datetime(2026, 2, 1))
    )
    assert len(problems) == 3, problems
    assert any("effective time" in p and "time zone" in p for p in problems)
    assert any("expiry time" in p and "time zone" in p for p in problems)


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        (0, "amount must be greater than zero"),
        (-1, "amount must be greater than zero"),
        (MAX_MICROS + 1, "amount is too large"),
        (1.5, "amount must be an integer number of micro-credits"),
        (True, "amount must be an integer number of micro-credits"),
        ("5", "amount must be an integer number of micro-credits"),
    ],
)
def test_a_grant_amount_is_a_positive_int_of_micro_credits(amount: object, problem: str) -> None:
    assert problems_of(new_grant(amount=amount)) == [problem]


def test_an_expiry_equal_to_the_effective_time_is_refused() -> None:
    # Periods are half-open: such a grant would never be spendable.
    assert problems_of(new_grant(effective_at=T0, expires_at=T0)) == [
        "expiry time must be after the effective time"
    ]


def test_the_largest_amount_is_accepted() -> None:
    assert new_grant(amount=MAX_MICROS).validate().amount == MAX_MICROS


def test_a_grant_is_spendable_from_its_effective_time() -> None:
    g = grant(effective_at=T0 + DAY)
    assert not g.is_spendable(T0)
    assert not g.is_spendable(T0 + DAY - MICRO)
    assert g.is_spendable(T0 + DAY)


def test_expired_grant_is_not_spendable_from_the_instant_it_expires() -> None:
    g = grant(expires_at=T0 + DAY)
    assert g.is_spendable(T0 + DAY - MICRO)
    assert not g.is_expired(T0 + DAY - MICRO)
    assert not g.is_spendable(T0 + DAY)
    assert g.is_expired(T0 + DAY)
    assert not g.is_spendable(T0 + 400 * DAY)


def test_a_grant_without_expiry_is_spendable_forever() -> None:
    g = grant(expires_at=None)
    assert g.is_spendable(datetime(9999, 12, 31, tzinfo=UTC))
    assert not g.is_expired(datetime(9999, 12, 31, tzinfo=UTC))


def test_a_used_up_grant_is_not_spendable() -> None:
    g = grant(amount=5, remaining=0)
    assert not g.is_spendable(T0)
    assert g.is_spendable(T0) is False
    assert replace(g, remaining=1).is_spendable(T0)


def test_expiry_compares_instants_not_wall_clock_times() -> None:
    tokyo = timezone(timedelta(hours=9))
    g = grant(expires_at=datetime(2026, 1, 2, 9, 0, tzinfo=tokyo))  # 2026-01-02 00:00 UTC
    assert g.is_spendable(datetime(2026, 1, 1, 23, 59, tzinfo=UTC))
    assert not g.is_spendable(datetime(2026, 1, 2, 0, 0, tzinfo=UTC))


def test_the_default_consumption_order_spends_flex_last() -> None:
    assert DEFAULT_CONSUMPTION_ORDER == (
        GrantKind.INCLUDED,
        GrantKind.PREPAID,
        GrantKind.PROMOTIONAL,
        GrantKind.REFUND,
        GrantKind.ADJUSTMENT,
        GrantKind.FLEX,
    )
    assert set(DEFAULT_CONSUMPTION_ORDER) == set(GrantKind)
