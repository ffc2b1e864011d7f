"""The what-if decision with no database: every event priced as ingest prices it (the
prices it keeps for reuse change nothing), and the run-out found on the balance's
timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from creditline import credits
from creditline.domain.pricing import RateCardHistory
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.whatif import BalanceMove, PastEvent, Repricer

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DRAFT = parse_ratecard(
    {
        "name": "default",
        "version": "draft",
        "effective_from": "2027-01-01T00:00:00Z",
        "operations": {
            "ping": {"flat": "1.5"},
            "translate": {"per_unit": {"credits": "12", "quantity": "characters", "per": 10**6}},
            "render": {"dimensions": ["mode"], "matrix": {"basic": "1", "pro": "3"}},
        },
    }
)
HISTORY = RateCardHistory((DRAFT,))

events = st.lists(
    st.tuples(
        st.sampled_from(["ping", "translate", "render", "gone"]),
        st.integers(0, 2_000_000),
        st.sampled_from(["basic", "pro", "max"]),
        st.integers(0, 1_000),
    ),
    max_size=60,
)


def _event(n: int, operation: str, size: int, mode: str, charged: int) -> PastEvent:
    quantities = {"characters": size} if operation == "translate" else {}
    dimensions = {"mode": mode} if operation == "render" else {}
    at = T0 + timedelta(minutes=n)
    return PastEvent("org_a", operation, quantities, dimensions, (), at, at, charged)


@settings(max_examples=60, deadline=None)
@given(events)
def test_every_event_is_priced_as_ingest_prices_it(drawn: list) -> None:
    repricer = Repricer(DRAFT)
    expected = 0
    unpriced = 0
    for n, (operation, size, mode, charged) in enumerate(drawn * 2):  # twice: reused prices
        event = _event(n, operation, size, mode, charged)
        repricer.add(event)
        try:
            expected += HISTORY.charge(
                operation, event.quantities, event.dimensions, at=T0 + timedelta(days=70)
            ).total
        except Exception:
            unpriced += 1
    report = repricer.report(T0, T0 + timedelta(days=1), {})
    assert report.repriced == expected and report.unpriced == unpriced
    assert report.charged == 2 * sum(c for *_, c in drawn)


def test_the_run_out_is_the_first_moment_the_draft_balance_goes_below_zero() -> None:
    repricer = Repricer(DRAFT)
    for n in range(6):  # 1 credit each, 1.5 under the draft
        repricer.add(_event(n, "ping", 0, "", credits(1)))
    moves = [BalanceMove("org_a", T0 + timedelta(minutes=2), credits(1))]
    report = repricer.report(T0, T0 + timedelta(hours=1), {"org_a": credits(4)}, moves)
    # draft: 2.5, 1, then at minute 2: +1 first (credits before usage), 0.5; -1 at minute 3
    # really: 4 - 2 + 1 - 4 = -1 at minute 5, after the draft's
    (out,) = report.run_outs
    assert (out.at, out.short) == (T0 + timedelta(minutes=3), credits(1))
    assert out.ran_out_at == T0 + timedelta(minutes=5)
    # with 8 credits at the start, the draft lasts (8 + 1 - 9 = 0: not below zero)
    later = repricer.report(T0, T0 + timedelta(hours=1), {"org_a": credits(8)}, moves)
    assert later.run_outs == ()
