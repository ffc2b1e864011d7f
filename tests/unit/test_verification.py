"""Verification: caches against the fold of the ledger, and the floors sums would miss."""

from __future__ import annotations

from creditline.domain.verification import GrantFacts, Problem, find_problems


def facts(
    grant_id: str = "grt_1",
    *,
    org_id: str = "org_a",
    amount: int = 10,
    remaining: int = 6,
    entries_sum: int | None = None,
    granted_sum: int | None = None,
) -> GrantFacts:
    return GrantFacts(
        grant_id,
        org_id,
        amount,
        remaining,
        remaining if entries_sum is None else entries_sum,
        amount if granted_sum is None else granted_sum,
    )


def messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_a_sound_ledger_has_no_problems() -> None:
    grants = [facts("grt_1", remaining=6), facts("grt_2", amount=5, remaining=5)]
    grants.append(facts("grt_3", org_id="org_b", amount=3, remaining=0))
    assert find_problems(grants, {"org_a": 11, "org_b": 0}, {"org_a": 11, "org_b": 0}) == []


def test_an_organization_with_nothing_is_sound() -> None:
    assert find_problems([], {"org_a": 0}, {}) == []


def test_a_remaining_that_disagrees_with_the_entries_is_found() -> None:
    found = find_problems([facts(remaining=7, entries_sum=6)], {"org_a": 7}, {"org_a": 6})
    assert Problem("grant grt_1", "entries sum to 6, remaining is 7") in found
    assert any(p.subject == "organization org_a" for p in found)


def test_a_balance_that_disagrees_with_the_entries_is_found() -> None:
    found = find_problems([facts(remaining=6)], {"org_a": 9}, {"org_a": 6})
    assert messages(found) == [
        "organization org_a: balance 9, entries sum to 6",
        "organization org_a: balance 9, grants hold 6",
    ]


def test_a_balance_that_disagrees_with_the_grants_alone_is_found() -> None:
    # Entries and balance agree, but the grants' cached remaining does not.
    found = find_problems([facts(remaining=5, entries_sum=6)], {"org_a": 6}, {"org_a": 6})
    assert "organization org_a: balance 6, grants hold 5" in messages(found)
    assert "grant grt_1: entries sum to 6, remaining is 5" in messages(found)


def test_a_negative_remaining_is_found_even_when_the_sums_agree() -> None:
    found = find_problems([facts(remaining=-2)], {"org_a": -2}, {"org_a": -2})
    assert "grant grt_1: remaining -2 is below zero" in messages(found)
    assert "organization org_a: balance -2 is below zero" in messages(found)


def test_a_remaining_above_the_amount_is_found_even_when_the_sums_agree() -> None:
    found = find_problems([facts(amount=10, remaining=12)], {"org_a": 12}, {"org_a": 12})
    assert messages(found) == ["grant grt_1: remaining 12 is above the amount 10"]


def test_grant_entries_that_do_not_add_up_to_the_amount_are_found() -> None:
    found = find_problems([facts(amount=10, granted_sum=11)], {"org_a": 6}, {"org_a": 6})
    assert messages(found) == ["grant grt_1: grant entries sum to 11, amount is 10"]


def test_an_organization_without_a_balance_row_is_found() -> None:
    found = find_problems([facts()], {}, {"org_a": 6})
    assert messages(found) == ["organization org_a: has entries or grants but no balance row"]


def test_entries_pointing_at_another_organizations_grant_are_found() -> None:
    found = find_problems([facts()], {"org_a": 6}, {"org_a": 6}, orphan_entries=2)
    assert len(found) == 1
    assert found[0].subject == "ledger"
    assert found[0].message.startswith("2 entries")


def test_every_problem_is_listed_not_just_the_first() -> None:
    grants = [
        facts("grt_1", remaining=-1),
        facts("grt_2", amount=3, remaining=4),
        facts("grt_3", org_id="org_b", remaining=2, entries_sum=1),
    ]
    found = find_problems(grants, {"org_a": 0, "org_b": 5}, {"org_a": 3, "org_b": 1})
    subjects = {p.subject for p in found}
    assert subjects == {
        "grant grt_1",
        "grant grt_2",
        "grant grt_3",
        "organization org_a",
        "organization org_b",
    }
    assert messages(found) == [
        "grant grt_1: remaining -1 is below zero",
        "grant grt_2: remaining 4 is above the amount 3",
        "grant grt_3: entries sum to 1, remaining is 2",
        "organization org_a: balance 0, entries sum to 3",
        "organization org_a: balance 0, grants hold 3",
        "organization org_b: balance 5, entries sum to 1",
        "organization org_b: balance 5, grants hold 2",
    ]
