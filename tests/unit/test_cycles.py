"""Billing cycles and expiry rules: anchors that never drift, time zones, every rule's
exact boundary, and the cycle invariants as properties."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.cycles import (
    AnchorKind,
    BillingInterval,
    Cycle,
    CycleAnchor,
    ExpiryKind,
    ExpiryRule,
    Term,
    TermUnit,
    cycle_at,
    cycle_start,
    cycles_between,
    expires_at,
    nth_cycle,
    parse_expiry,
    time_zone,
)
from creditline.domain.errors import InvalidSetting, InvalidTime
from tests.unit.builders import grant

MONTHLY, ANNUAL = BillingInterval.MONTHLY, BillingInterval.ANNUAL
US = timedelta(microseconds=1)
NEW_YORK, BERLIN = "America/New_York", "Europe/Berlin"


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:  # noqa: PLR0917
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


def local(  # noqa: PLR0917
    zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone), fold=fold)


def starts(anchor: CycleAnchor, interval: BillingInterval, count: int) -> list[datetime]:
    return [cycle_start(anchor, interval, k) for k in range(count)]


# -- sign-up anchors: months counted from the original anchor ----------------------------


def test_a_cycle_anchored_on_the_31st_never_drifts_over_24_months() -> None:
    anchor = CycleAnchor.signup(utc(2027, 1, 31, 10, 15, 30, 123456))
    walk = starts(anchor, MONTHLY, 25)
    expected = []
    for k in range(25):
        year, month0 = divmod(2027 * 12 + k, 12)
        day = min(31, calendar.monthrange(year, month0 + 1)[1])
        expected.append(utc(year, month0 + 1, day, 10, 15, 30, 123456))
    assert walk == expected
    assert [(d.month, d.day) for d in walk[:5]] == [(1, 31), (2, 28), (3, 31), (4, 30), (5, 31)]
    assert walk[13] == utc(2028, 2, 29, 10, 15, 30, 123456)  # a leap year's February
    assert walk[24] == utc(2029, 1, 31, 10, 15, 30, 123456)


def test_each_cycle_of_the_walk_is_found_at_its_start_and_just_before_its_end() -> None:
    anchor = CycleAnchor.signup(utc(2027, 1, 31, 10))
    for k in range(24):
        cycle = nth_cycle(anchor, MONTHLY, k)
        assert cycle_at(anchor, MONTHLY, cycle.start) == cycle
        assert cycle_at(anchor, MONTHLY, cycle.end - US) == cycle
        assert cycle_at(anchor, MONTHLY, cycle.end).index == k + 1


def test_the_anchor_instant_is_in_cycle_zero_and_earlier_instants_in_negative_ones() -> None:
    anchor = CycleAnchor.signup(utc(2026, 3, 31, 8))
    assert cycle_at(anchor, MONTHLY, anchor.at) == Cycle(
        0, utc(2026, 3, 31, 8), utc(2026, 4, 30, 8)
    )
    assert cycle_at(anchor, MONTHLY, anchor.at - US) == Cycle(
        -1, utc(2026, 2, 28, 8), utc(2026, 3, 31, 8)
    )


def test_the_29th_30th_and_31st_share_february_and_go_back_to_their_own_day() -> None:
    for day in (29, 30, 31):
        anchor = CycleAnchor.signup(utc(2026, 1, day))
        assert [d.day for d in starts(anchor, MONTHLY, 4)] == [day, 28, min(day, 31), min(day, 30)]


# -- annual cycles ------------------------------------------------------------------------


def test_an_annual_cycle_anchored_on_feb_29_takes_feb_28_until_the_next_leap_year() -> None:
    anchor = CycleAnchor.signup(utc(2024, 2, 29, 12))
    assert starts(anchor, ANNUAL, 6) == [
        utc(2024, 2, 29, 12),
        utc(2025, 2, 28, 12),
        utc(2026, 2, 28, 12),
        utc(2027, 2, 28, 12),
        utc(2028, 2, 29, 12),
        utc(2029, 2, 28, 12),
    ]
    assert cycle_start(anchor, ANNUAL, 8) == utc(2032, 2, 29, 12)
    assert cycle_start(anchor, ANNUAL, 100) == utc(2124, 2, 29, 12)
    assert cycle_start(anchor, ANNUAL, 76) == utc(2100, 2, 28, 12)  # 2100 is not a leap year


def test_an_annual_cycle_is_twelve_months_and_contains_the_whole_year() -> None:
    anchor = CycleAnchor.signup(utc(2026, 5, 31, 9))
    year = cycle_at(anchor, ANNUAL, utc(2027, 5, 30))
    assert year == Cycle(0, utc(2026, 5, 31, 9), utc(2027, 5, 31, 9))
    assert cycle_at(anchor, ANNUAL, utc(2027, 5, 31, 9)).index == 1


def test_an_annual_calendar_cycle_runs_twelve_months_from_the_first_of_the_anchor_month() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 3, 15, 12))
    assert nth_cycle(anchor, ANNUAL, 0) == Cycle(0, utc(2026, 3, 1), utc(2027, 3, 1))
    assert nth_cycle(anchor, ANNUAL, 2) == Cycle(2, utc(2028, 3, 1), utc(2029, 3, 1))


# -- calendar months ----------------------------------------------------------------------


def test_calendar_cycles_run_from_the_first_to_the_last_day_of_each_month() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 15, 12, 30))
    assert nth_cycle(anchor, MONTHLY, 0) == Cycle(0, utc(2026, 1, 1), utc(2026, 2, 1))
    assert starts(anchor, MONTHLY, 4) == [
        utc(2026, 1, 1),
        utc(2026, 2, 1),
        utc(2026, 3, 1),
        utc(2026, 4, 1),
    ]
    assert cycle_at(anchor, MONTHLY, utc(2026, 2, 1) - US).index == 0
    assert cycle_at(anchor, MONTHLY, utc(2026, 2, 1)).index == 1
    assert cycle_at(anchor, MONTHLY, utc(2026, 12, 31, 23, 59)).index == 11


def test_a_calendar_anchor_at_midnight_on_the_first_starts_cycle_zero_there() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 2, 1))
    assert cycle_at(anchor, MONTHLY, anchor.at).start == anchor.at


# -- time zones and daylight saving -------------------------------------------------------


def test_new_york_calendar_months_start_at_local_midnight_in_either_season() -> None:
    anchor = CycleAnchor.calendar(local(NEW_YORK, 2026, 1, 15), NEW_YORK)
    assert starts(anchor, MONTHLY, 12)[2:5] == [
        utc(2026, 3, 1, 5),  # EST, UTC-5
        utc(2026, 4, 1, 4),  # EDT, UTC-4
        utc(2026, 5, 1, 4),
    ]
    assert cycle_start(anchor, MONTHLY, 10) == utc(2026, 11, 1, 4)  # fall back is at 02:00
    assert cycle_start(anchor, MONTHLY, 11) == utc(2026, 12, 1, 5)


def test_berlin_calendar_months_start_the_evening_before_in_utc() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 10), BERLIN)
    assert nth_cycle(anchor, MONTHLY, 0) == Cycle(0, utc(2025, 12, 31, 23), utc(2026, 1, 31, 23))
    assert cycle_start(anchor, MONTHLY, 3) == utc(2026, 3, 31, 22)  # CEST, UTC+2
    assert cycle_start(anchor, MONTHLY, 10) == utc(2026, 10, 31, 23)  # CET again


def test_an_instant_is_placed_by_its_local_date_not_its_utc_date() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 10), BERLIN)
    assert cycle_at(anchor, MONTHLY, utc(2026, 1, 31, 23)).index == 1  # Feb 1 00:00 in Berlin
    assert cycle_at(anchor, MONTHLY, utc(2026, 1, 31, 22, 59)).index == 0


def test_a_signup_anchor_keeps_its_local_day_and_time_when_the_utc_day_differs() -> None:
    anchor = CycleAnchor.signup(local(NEW_YORK, 2026, 1, 31, 23, 30), NEW_YORK)
    assert anchor.at == utc(2026, 2, 1, 4, 30)
    assert starts(anchor, MONTHLY, 3) == [
        utc(2026, 2, 1, 4, 30),  # Jan 31 23:30 EST
        utc(2026, 3, 1, 4, 30),  # Feb 28 23:30 EST
        utc(2026, 4, 1, 3, 30),  # Mar 31 23:30 EDT
    ]


def test_a_boundary_in_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    # New York jumps from 02:00 to 03:00 on 2026-03-08: 02:30 does not exist.
    anchor = CycleAnchor.signup(local(NEW_YORK, 2026, 2, 8, 2, 30), NEW_YORK)
    assert starts(anchor, MONTHLY, 3) == [
        utc(2026, 2, 8, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7, 30),  # 03:30 EDT: moved forward one hour
        utc(2026, 4, 8, 6, 30),  # 02:30 EDT
    ]
    # Berlin jumps from 02:00 to 03:00 on 2026-03-29.
    berlin = CycleAnchor.signup(local(BERLIN, 2026, 1, 29, 2, 30), BERLIN)
    assert cycle_start(berlin, MONTHLY, 2) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST


def test_a_boundary_in_the_fall_back_fold_is_its_first_occurrence() -> None:
    # New York repeats 01:00-02:00 on 2026-11-01: 01:30 EDT comes first, then 01:30 EST.
    anchor = CycleAnchor.signup(local(NEW_YORK, 2026, 10, 1, 1, 30), NEW_YORK)
    assert starts(anchor, MONTHLY, 3) == [
        utc(2026, 10, 1, 5, 30),
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, the first occurrence
        utc(2026, 12, 1, 6, 30),  # 01:30 EST
    ]
    # Berlin repeats 02:00-03:00 on 2026-10-25.
    berlin = CycleAnchor.signup(local(BERLIN, 2026, 9, 25, 2, 30), BERLIN)
    assert cycle_start(berlin, MONTHLY, 1) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST


def test_an_anchor_in_the_second_occurrence_of_a_fold_starts_its_cycle_an_hour_early() -> None:
    second = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)  # 01:30 EST
    anchor = CycleAnchor.signup(second, NEW_YORK)
    assert anchor.at == utc(2026, 11, 1, 6, 30)
    cycle = cycle_at(anchor, MONTHLY, anchor.at)
    assert cycle == Cycle(0, utc(2026, 11, 1, 5, 30), utc(2026, 12, 1, 6, 30))
    assert anchor.at in cycle


def test_anchors_refuse_naive_times_and_unknown_time_zones() -> None:
    with pytest.raises(InvalidTime, match="time zone"):
        CycleAnchor.signup(datetime(2026, 1, 1))
    for name in ("Mars/Olympus", "", "utc", "localtime", "../etc", "/etc/localtime"):
        with pytest.raises(InvalidSetting, match="IANA time zone"):
            CycleAnchor.calendar(utc(2026, 1, 1), name)
    with pytest.raises(InvalidSetting, match="one of calendar, signup"):
        CycleAnchor("calendar", utc(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidTime):
        cycle_at(CycleAnchor.calendar(utc(2026, 1, 1)), MONTHLY, datetime(2026, 5, 1))
    assert time_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert time_zone("UTC") is UTC  # the default needs no time zone database


def test_an_anchor_is_stored_in_utc() -> None:
    anchor = CycleAnchor.signup(local(BERLIN, 2026, 7, 1, 12), BERLIN)
    assert anchor.at == utc(2026, 7, 1, 10) and anchor.at.tzinfo is UTC
    assert anchor.kind is AnchorKind.SIGNUP


def test_cycles_beyond_the_year_9999_are_refused() -> None:
    anchor = CycleAnchor.signup(utc(2026, 1, 1))
    with pytest.raises(InvalidTime, match="years 1 to 9999"):
        cycle_start(anchor, ANNUAL, 10_000)


# -- catching up ---------------------------------------------------------------------------


def test_cycles_between_catches_up_three_missed_months_in_order() -> None:
    anchor = CycleAnchor.signup(utc(2026, 1, 31, 9))
    missed = cycles_between(anchor, MONTHLY, utc(2026, 3, 15), utc(2026, 6, 15))
    assert [(c.index, c.start, c.end) for c in missed] == [
        (2, utc(2026, 3, 31, 9), utc(2026, 4, 30, 9)),
        (3, utc(2026, 4, 30, 9), utc(2026, 5, 31, 9)),
        (4, utc(2026, 5, 31, 9), utc(2026, 6, 30, 9)),
    ]


def test_cycles_between_is_half_open_so_consecutive_windows_see_each_boundary_once() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 1))
    assert [c.index for c in cycles_between(anchor, MONTHLY, utc(2026, 2, 1), utc(2026, 4, 1))] == [
        1,
        2,
    ]
    first = cycles_between(anchor, MONTHLY, utc(2026, 1, 10), utc(2026, 3, 1))
    second = cycles_between(anchor, MONTHLY, utc(2026, 3, 1), utc(2026, 5, 1))
    assert [c.index for c in first + second] == [1, 2, 3]
    assert cycles_between(anchor, MONTHLY, utc(2026, 3, 1), utc(2026, 3, 1)) == []
    assert cycles_between(anchor, MONTHLY, utc(2026, 3, 2), utc(2026, 3, 31)) == []


def test_cycles_between_refuses_a_window_that_ends_before_it_starts() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 1))
    with pytest.raises(InvalidTime, match="ends before it starts"):
        cycles_between(anchor, MONTHLY, utc(2026, 3, 1), utc(2026, 2, 1))


# -- expiry rules: exact boundaries --------------------------------------------------------


def spendable_until(expiry: datetime, effective_at: datetime) -> None:
    """The half-open boundary: spendable 1 µs before ``expiry``, not at it."""
    lot = grant(effective_at=effective_at, expires_at=expiry)
    assert lot.is_spendable(expiry - US)
    assert not lot.is_spendable(expiry)


def test_a_never_expiring_grant_has_no_expiry() -> None:
    assert expires_at(ExpiryRule.never(), utc(2026, 1, 1)) is None


def test_a_fixed_term_in_months_is_counted_from_the_grant_with_clamping() -> None:
    granted = utc(2026, 8, 31, 10, 20)
    six_months = ExpiryRule.after(months=6)
    expiry = expires_at(six_months, granted)
    assert expiry == utc(2027, 2, 28, 10, 20)
    spendable_until(expiry, granted)
    assert expires_at(six_months, utc(2027, 8, 31)) == utc(2028, 2, 29)
    assert expires_at(ExpiryRule.after(months=1), utc(2026, 1, 31)) == utc(2026, 2, 28)


def test_a_fixed_term_in_days_or_years() -> None:
    assert expires_at(ExpiryRule.after(days=30), utc(2026, 1, 15, 8)) == utc(2026, 2, 14, 8)
    assert expires_at(ExpiryRule.after(years=1), utc(2024, 2, 29, 8)) == utc(2025, 2, 28, 8)
    assert expires_at(ExpiryRule.after(years=4), utc(2024, 2, 29, 8)) == utc(2028, 2, 29, 8)


def test_a_fixed_term_keeps_the_local_time_of_day_across_daylight_saving() -> None:
    granted = local(BERLIN, 2026, 1, 15, 10)  # 09:00 UTC
    assert expires_at(ExpiryRule.after(months=6), granted, zone=BERLIN) == utc(2026, 7, 15, 8)
    anchor = CycleAnchor.signup(granted, BERLIN)
    assert expires_at(ExpiryRule.after(days=90), granted, anchor=anchor) == utc(2026, 4, 15, 8)
    assert expires_at(ExpiryRule.after(days=90), granted) == utc(2026, 4, 15, 9)  # UTC


def test_an_end_of_cycle_grant_expires_when_its_cycle_ends() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 1))
    granted = utc(2026, 1, 15, 12)
    expiry = expires_at(ExpiryRule.end_of_cycle(), granted, anchor=anchor)
    assert expiry == utc(2026, 2, 1)
    spendable_until(expiry, granted)


def test_a_grant_made_at_a_boundary_belongs_to_the_cycle_starting_there() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 1))
    rule = ExpiryRule.end_of_cycle()
    assert expires_at(rule, utc(2026, 2, 1), anchor=anchor) == utc(2026, 3, 1)
    assert expires_at(rule, utc(2026, 2, 1) - US, anchor=anchor) == utc(2026, 2, 1)


def test_an_end_of_cycle_grant_can_be_given_its_cycle_without_the_anchor() -> None:
    cycle = Cycle(4, utc(2026, 5, 1), utc(2026, 6, 1))
    assert expires_at(ExpiryRule.end_of_cycle(), utc(2026, 5, 3), cycle=cycle) == utc(2026, 6, 1)


def test_a_rollover_grant_stays_spendable_through_n_more_cycles() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 1))
    granted = utc(2026, 1, 10)
    expiry = expires_at(ExpiryRule.rollover(3), granted, anchor=anchor)
    assert expiry == utc(2026, 5, 1)  # January, then February, March and April
    spendable_until(expiry, granted)
    assert expires_at(ExpiryRule.rollover(1), granted, anchor=anchor) == utc(2026, 3, 1)


def test_a_rollover_grant_on_a_signup_anchor_on_the_31st() -> None:
    anchor = CycleAnchor.signup(utc(2026, 1, 31, 9))
    granted = utc(2026, 3, 31, 9)  # cycle 2 starts here
    assert expires_at(ExpiryRule.rollover(3), granted, anchor=anchor) == utc(2026, 7, 31, 9)
    assert expires_at(ExpiryRule.rollover(2), granted, anchor=anchor, interval=ANNUAL) == utc(
        2029, 1, 31, 9
    )


def test_a_late_grant_for_a_missed_cycle_expires_with_that_cycle() -> None:
    anchor = CycleAnchor.calendar(utc(2026, 1, 1))
    missed = nth_cycle(anchor, MONTHLY, 1)  # February, granted in March
    granted = utc(2026, 3, 20)
    rule = ExpiryRule.rollover(3)
    assert expires_at(rule, granted, anchor=anchor, cycle=missed) == utc(2026, 6, 1)
    with pytest.raises(InvalidTime, match="must be after"):
        expires_at(ExpiryRule.end_of_cycle(), granted, anchor=anchor, cycle=missed)


def test_cycle_rules_need_the_cycle_or_its_anchor() -> None:
    with pytest.raises(InvalidSetting, match="pass the cycle anchor or the cycle"):
        expires_at(ExpiryRule.end_of_cycle(), utc(2026, 1, 1))
    cycle = Cycle(0, utc(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(InvalidSetting, match="pass the cycle anchor"):
        expires_at(ExpiryRule.rollover(2), utc(2026, 1, 1), cycle=cycle)
    with pytest.raises(InvalidTime):
        expires_at(ExpiryRule.never(), datetime(2026, 1, 1))


# -- expiry rules: data and documents -------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        ("never", ExpiryRule(ExpiryKind.NEVER)),
        ("end_of_cycle", ExpiryRule(ExpiryKind.END_OF_CYCLE)),
        ({"after": "6 months"}, ExpiryRule(ExpiryKind.AFTER, term=Term(6, TermUnit.MONTHS))),
        ({"after": "1 month"}, ExpiryRule.after(months=1)),
        ({"after": "30 days"}, ExpiryRule.after(days=30)),
        ({"after": "1 year"}, ExpiryRule.after(years=1)),
        ({"rollover_cycles": 3}, ExpiryRule(ExpiryKind.ROLLOVER, cycles=3)),
    ],
)
def test_expiry_rules_read_and_write_back_their_document_form(
    document: object, rule: ExpiryRule
) -> None:
    assert parse_expiry(document) == rule
    assert rule.to_document() == document


def test_a_term_reads_singular_or_plural_and_writes_the_right_one() -> None:
    assert parse_expiry({"after": " 1 months "}).to_document() == {"after": "1 month"}
    assert parse_expiry({"after": "2 year"}).to_document() == {"after": "2 years"}
    assert parse_expiry({"after": "7days"}) == ExpiryRule.after(days=7)


def test_only_cycle_rules_need_a_cycle() -> None:
    assert [r.needs_cycle for r in (ExpiryRule.never(), ExpiryRule.after(days=1))] == [False] * 2
    assert ExpiryRule.end_of_cycle().needs_cycle and ExpiryRule.rollover(2).needs_cycle


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ("sometimes", ["expiry: 'sometimes' is not one of"]),
        (3, ["expiry: 3 is not one of"]),
        ({}, ["expiry: give exactly one of after, rollover_cycles"]),
        (
            {"after": "6 months", "rollover_cycles": 3, "until": 1},
            ["expiry.until: unknown key", "expiry: give exactly one of after, rollover_cycles"],
        ),
        ({"after": "six months"}, ["expiry.after: 'six months' is not a whole number and a unit"]),
        ({"after": "2 weeks"}, ["expiry.after: '2 weeks' is not a whole number and a unit"]),
        ({"after": 6}, ["expiry.after: 6 is not a whole number and a unit"]),
        ({"after": "0 days"}, ["expiry.after: term: a whole number of days from 1 to 36600"]),
        ({"after": "1201 months"}, ["expiry.after: term: a whole number of months from 1 to"]),
        ({"rollover_cycles": 0}, ["expiry.rollover_cycles: must be a whole number from 1 to"]),
        ({"rollover_cycles": True}, ["expiry.rollover_cycles: must be a whole number from 1"]),
        ({"rollover_cycles": "3"}, ["expiry.rollover_cycles: must be a whole number from 1"]),
    ],
)
def test_a_bad_expiry_document_lists_every_problem(document: object, problems: list[str]) -> None:
    with pytest.raises(InvalidSetting) as bad:
        parse_expiry(document)
    found = bad.value.reason.split("; ")
    assert len(found) == len(problems)
    assert all(f.startswith(p) for f, p in zip(found, problems, strict=True)), found


def test_expiry_problems_are_placed_where_the_rule_is() -> None:
    with pytest.raises(InvalidSetting, match=r"grant_expiry\.after: 'soon'"):
        parse_expiry({"after": "soon"}, "grant_expiry")


def test_an_inconsistent_expiry_rule_cannot_be_built() -> None:
    with pytest.raises(InvalidSetting, match="exactly one of days, months, years"):
        ExpiryRule.after()
    with pytest.raises(InvalidSetting, match="exactly one of days, months, years"):
        ExpiryRule.after(days=1, months=1)
    with pytest.raises(InvalidSetting, match="a term is given with, and only with"):
        ExpiryRule(ExpiryKind.AFTER)
    with pytest.raises(InvalidSetting, match="a term is given with, and only with"):
        ExpiryRule(ExpiryKind.NEVER, term=Term(1, TermUnit.DAYS))
    with pytest.raises(InvalidSetting, match="0 cycles is end_of_cycle"):
        ExpiryRule.rollover(0)
    with pytest.raises(InvalidSetting, match="whole number of months"):
        ExpiryRule.after(months=-1)


# -- properties ---------------------------------------------------------------------------

ZONES = [
    "UTC",
    NEW_YORK,
    BERLIN,
    "Australia/Lord_Howe",  # a 30-minute daylight saving shift
    "America/Sao_Paulo",  # used to skip local midnight (until 2019)
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/St_Johns",
]

anchors = st.builds(
    CycleAnchor,
    kind=st.sampled_from(list(AnchorKind)),
    at=st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2085, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    time_zone=st.sampled_from(ZONES),
)
intervals = st.sampled_from(list(BillingInterval))
offsets = st.integers(min_value=-3 * 365 * 86_400 * 10**6, max_value=12 * 365 * 86_400 * 10**6)


@given(anchor=anchors, interval=intervals, first=st.integers(min_value=-5, max_value=20))
def test_consecutive_cycles_are_contiguous_and_their_starts_strictly_increase(
    anchor: CycleAnchor, interval: BillingInterval, first: int
) -> None:
    cycles = [nth_cycle(anchor, interval, k) for k in range(first, first + 14)]
    for before, after in itertools.pairwise(cycles):
        assert before.end == after.start
        assert before.start < before.end
        assert after.index == before.index + 1


@given(anchor=anchors, interval=intervals, offset=offsets)
def test_the_cycle_at_an_instant_contains_it(
    anchor: CycleAnchor, interval: BillingInterval, offset: int
) -> None:
    at = anchor.at + timedelta(microseconds=offset)
    cycle = cycle_at(anchor, interval, at)
    assert at in cycle
    assert cycle == nth_cycle(anchor, interval, cycle.index)
    assert cycle_at(anchor, interval, anchor.at).index == 0


@given(anchor=anchors, interval=intervals, k=st.integers(min_value=-24, max_value=150))
def test_a_cycle_start_falls_on_the_anchor_day_or_the_months_last_day(
    anchor: CycleAnchor, interval: BillingInterval, k: int
) -> None:
    zone = ZoneInfo(anchor.time_zone)
    start = cycle_start(anchor, interval, k).astimezone(zone)
    anchor_day = anchor.at.astimezone(zone).day
    last = calendar.monthrange(start.year, start.month)[1]
    expected = min(anchor_day, last) if anchor.kind is AnchorKind.SIGNUP else 1
    assert start.day == expected


@given(
    anchor=anchors,
    interval=intervals,
    offset=offsets,
    span=st.integers(min_value=0, max_value=4 * 365 * 86_400),
    cut=st.floats(min_value=0, max_value=1),
)
def test_cycles_between_splits_at_any_instant_without_losing_or_repeating_a_cycle(
    anchor: CycleAnchor, interval: BillingInterval, offset: int, span: int, cut: float
) -> None:
    since = anchor.at + timedelta(microseconds=offset)
    until = since + timedelta(seconds=span)
    middle = since + timedelta(seconds=int(span * cut))
    whole = cycles_between(anchor, interval, since, until)
    split = cycles_between(anchor, interval, since, middle)
    split += cycles_between(anchor, interval, middle, until)
    assert whole == split
    if whole:
        assert [c.index for c in whole] == list(range(whole[0].index, whole[-1].index + 1))
    assert all(since <= c.start < until for c in whole)


@given(
    anchor=anchors,
    interval=intervals,
    offset=offsets,
    n=st.integers(min_value=1, max_value=24),
)
def test_a_rollover_expires_n_cycles_after_the_end_of_cycle_expiry(
    anchor: CycleAnchor, interval: BillingInterval, offset: int, n: int
) -> None:
    granted = anchor.at + timedelta(microseconds=offset)
    cycle = cycle_at(anchor, interval, granted)
    end = expires_at(ExpiryRule.end_of_cycle(), granted, anchor=anchor, interval=interval)
    rolled = expires_at(ExpiryRule.rollover(n), granted, anchor=anchor, interval=interval)
    assert end == cycle.end
    assert rolled == nth_cycle(anchor, interval, cycle.index + n).end
    assert end is not None and rolled is not None and granted < end < rolled
