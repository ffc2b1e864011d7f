"""Binding quotes in the charging decision, with no database: a usage event or a commit
naming a quote is charged the quoted price, once, within the validity
(:mod:`creditline.domain.quotes`, :mod:`creditline.domain.charging.quotes`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from creditline.domain.charging import Account, Books, Settle, Settlement
from creditline.domain.errors import (
    InvalidSetting,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
    QuoteUsed,
)
from creditline.domain.ledger import Cause, CauseType
from creditline.domain.quotes import BindingQuote, QuoteState, issue
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.usage import EventStatus
from tests.unit.builders import T0, grant
from tests.unit.test_charging import CARD, HISTORY, NOW, ONE, books, metering, run, translate

QUOTED = 7 * ONE
"""What the quote binds: not what the card prices the usage at (1 credit)."""


def quote(**kw: Any) -> BindingQuote:
    fields: dict[str, Any] = {
        "id": "qt_1", "org_id": "org_a", "operation": "translate", "total": QUOTED,
        "card": CARD.name, "version": CARD.version, "created_at": NOW - timedelta(minutes=5),
        "expires_at": NOW + timedelta(minutes=10), "quantities": {"characters": 100_000},
        "dimensions": {"model": "azure-translator"},
    }  # fmt: skip
    fields.update(kw)
    return BindingQuote(**fields)


def with_quote(q: BindingQuote | None = None, **stored: Any) -> Books:
    q = q or quote()
    account = Account(metering(), [grant(100 * ONE)], rate_cards=HISTORY)
    return books(account, quotes={q.id: q}, **stored)


def test_an_event_naming_a_quote_is_charged_the_quoted_price_and_uses_it() -> None:
    out = run(with_quote(), translate("e1", quote_id="qt_1"))
    (result,) = out.results
    assert result.status is EventStatus.ACCEPTED and result.cost == QUOTED
    assert out.usage_rows[0].cost == QUOTED
    assert out.usage_rows[0].rate_card == f"{CARD.name}@{CARD.version}"
    assert out.quotes_used == {"qt_1": ("org_a", "usage_event:e1")}


def test_an_event_without_a_quote_is_priced_by_the_card() -> None:
    out = run(with_quote(), translate("e1"))
    assert out.results[0].cost == ONE and out.quotes_used == {}


def test_the_second_event_naming_a_quote_in_a_group_is_rejected_as_used() -> None:
    out = run(with_quote(), translate("e1", quote_id="qt_1"), translate("e2", quote_id="qt_1"))
    first, second = out.results
    assert first.status is EventStatus.ACCEPTED
    assert second.status is EventStatus.REJECTED and isinstance(second.error, QuoteUsed)
    assert second.error.used_by == "usage_event:e1"
    assert len(out.usage_rows) == 1


def test_a_quote_used_before_is_refused_and_nothing_is_written() -> None:
    used = quote(used_by="usage_event:e0", used_at=NOW - timedelta(minutes=1))
    out = run(with_quote(used), translate("e1", quote_id="qt_1"))
    assert isinstance(out.results[0].error, QuoteUsed)
    assert not out.writes


def test_an_expired_quote_is_refused_at_the_groups_time_not_the_events() -> None:
    expired = quote(expires_at=NOW)  # half-open: not valid at its expiry
    back_dated = translate("e1", quote_id="qt_1", at=NOW - timedelta(minutes=1))
    out = run(with_quote(expired), back_dated)
    error = out.results[0].error
    assert isinstance(error, QuoteExpired) and error.expires_at == NOW
    assert not out.writes


def test_an_unknown_quote_or_another_organizations_is_not_found() -> None:
    assert isinstance(
        run(with_quote(), translate("e1", quote_id="qt_x")).results[0].error, QuoteNotFound
    )
    theirs = quote(org_id="org_b")
    assert isinstance(
        run(with_quote(theirs), translate("e1", quote_id="qt_1")).results[0].error, QuoteNotFound
    )


@pytest.mark.parametrize(
    "event",
    [
        translate("e1", 200_000, quote_id="qt_1"),
        replace(translate("e1", quote_id="qt_1"), dimensions={"model": "other"}),
        replace(translate("e1", quote_id="qt_1"), operation="speech"),
    ],
)
def test_an_event_other_than_the_quoted_usage_is_a_mismatch(event: Any) -> None:
    out = run(with_quote(), event)
    assert out.results[0].status is EventStatus.REJECTED
    assert isinstance(out.results[0].error, QuoteMismatch)
    assert not out.quotes_used


def test_quantities_match_by_value() -> None:
    event = replace(translate("e1", quote_id="qt_1"), quantities={"characters": "100000.0"})
    assert run(with_quote(), event).results[0].cost == QUOTED


def test_a_replay_of_the_event_answers_its_first_outcome_not_used() -> None:
    first = run(with_quote(), translate("e1", quote_id="qt_1"))
    row = first.usage_rows[0]
    used = quote(used_by="usage_event:e1", used_at=NOW)
    again = run(with_quote(used, events={("org_a", "e1"): row}), translate("e1", quote_id="qt_1"))
    (result,) = again.results
    assert result.status is EventStatus.DUPLICATE and result.cost == QUOTED
    assert not again.writes


def test_an_event_refused_for_credits_leaves_the_quote_unused() -> None:
    account = Account(metering(), [grant(ONE)], rate_cards=HISTORY)
    out = run(books(account, quotes={"qt_1": quote()}), translate("e1", quote_id="qt_1"))
    assert out.results[0].status is EventStatus.REFUSED and out.quotes_used == {}


# -- commits ---------------------------------------------------------------------------


def held(amount: int = 10 * ONE, operation: str | None = "translate") -> Books:
    g = grant(100 * ONE)
    res = Reservation(
        "res_1", "org_a", ReservationStatus.OPEN, amount, amount, 0, 0, ((g.id, amount),),
        Cause(CauseType.RESERVATION, "res_1"), None, None, NOW + timedelta(hours=1), T0,
        operation=operation,
    )  # fmt: skip
    spent = replace(g, remaining=g.remaining - amount)
    return books(
        Account(metering(), [spent]),
        reservations={("org_a", "res_1"): (res, None)},
        quotes={"qt_1": quote()},
    )


def test_a_commit_naming_a_quote_captures_the_quoted_price() -> None:
    out = run(held(), Settle("org_a", "res_1", None, quote_id="qt_1"))
    (settled,) = out.results
    assert isinstance(settled, Settlement)
    assert settled.consumed == QUOTED and settled.released == 3 * ONE
    assert out.quotes_used == {"qt_1": ("org_a", "reservation:res_1")}


def test_a_commit_of_another_amount_or_operation_is_a_mismatch() -> None:
    (result,) = run(held(), Settle("org_a", "res_1", ONE, quote_id="qt_1")).results
    assert isinstance(result, QuoteMismatch)
    (result,) = run(
        held(operation="speech"), Settle("org_a", "res_1", None, quote_id="qt_1")
    ).results
    assert isinstance(result, QuoteMismatch)


def test_a_settled_hold_replays_its_settlement_before_the_quote_is_read() -> None:
    out = run(
        held(),
        Settle("org_a", "res_1", None, quote_id="qt_1"),
        Settle("org_a", "res_1", None, quote_id="qt_1"),
    )
    first, again = out.results
    assert isinstance(again, Settlement) and again.replayed
    assert first.consumed == QUOTED


def test_validity_is_bounded() -> None:
    from creditline.domain.pricing import price

    priced = price(CARD, "translate", {"characters": 100_000}, {"model": "azure-translator"})
    made = issue("qt_9", "org_a", priced, NOW, timedelta(minutes=15))
    assert made.total == ONE and made.state(NOW) is QuoteState.ISSUED
    assert made.state(NOW + timedelta(minutes=15)) is QuoteState.EXPIRED
    for bad in (timedelta(0), timedelta(days=1, seconds=1)):
        with pytest.raises(InvalidSetting):
            issue("qt_9", "org_a", priced, NOW, bad)


# -- exactly once, however many commands name it ---------------------------------------


@hypothesis.settings(max_examples=80, deadline=None)
@hypothesis.given(
    groups=st.lists(
        st.lists(st.sampled_from(["e1", "e2", "e3", "e4", "commit"]), min_size=1, max_size=5),
        min_size=1,
        max_size=4,
    )
)
def test_a_quote_is_charged_exactly_once_across_groups(groups: list[list[str]]) -> None:
    """Events (their ids repeat: replays) and commits naming the quote, in groups decided
    one after another, each group's writes carried into the next one's books: the quoted
    price is charged once, by the first command naming it; every other command is a
    replay of its first outcome or refused as used."""
    b = held()
    b.accounts["org_a"].rate_cards = HISTORY
    b.accounts["org_a"].grants = [grant(100 * ONE)]
    charged, users = 0, set()
    events: dict[tuple[str, str], Any] = {}
    q = b.quotes["qt_1"]
    reservations = dict(b.reservations)
    for names in groups:
        commands = [
            Settle("org_a", "res_1", None, quote_id="qt_1")
            if n == "commit"
            else translate(n, quote_id="qt_1")
            for n in names
        ]
        out = run(
            Books(b.accounts, events, quotes={"qt_1": q}, reservations=reservations), *commands
        )
        for result in out.results:
            if isinstance(result, Settlement):
                if not result.replayed:
                    charged += result.consumed
                    users.add("commit")
            elif isinstance(result, QuoteUsed | QuoteExpired):
                continue
            elif result.status is EventStatus.ACCEPTED:
                charged += result.cost
                users.add(result.event_id)
            else:
                assert result.status is EventStatus.DUPLICATE or isinstance(
                    result.error, QuoteUsed
                ), result
        for row in out.usage_rows:
            events[("org_a", row.event_id)] = row
        for res, outcome in out.settled:
            reservations[("org_a", res.id)] = (res, outcome)
        if "qt_1" in out.quotes_used:
            assert q.used_by is None, "a used quote was used again"
            q = replace(q, used_by=out.quotes_used["qt_1"][1], used_at=NOW)
    assert charged == QUOTED and len(users) == 1
