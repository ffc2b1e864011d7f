"""Automatic top-ups under racing processes: exactly one per crossing, within the cap.

4 processes record usage (five credits an event) across an organization's threshold at
once, on SQLite and on PostgreSQL, each through its own engine charging a shared fake
Stripe over HTTP. The organization holds 500 credits, buys the 500-credit pack below
450, and may spend one pack's price a month: the first crossing buys exactly once
(one purchase, one charge at Stripe), the second is refused by the cap, and the
ledger accounts for every credit. The top-up is charged in the background: an event
refused because the rest was spent before it landed is sent again (tests.topups.UsageJob),
so every worker's 30 events are accepted however loaded the machine is. The same harness
and checker run a deliberately broken check-then-buy without the guard and must catch its
double top-up (RELIABILITY.md rule 8), which shows the race is exercised.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditline import Creditline, credits
from creditline.adapters.payments import FakeStripe, FakeStripeServer, StripeProvider
from tests.billing import SECRET
from tests.concurrency import run
from tests.metering import card_doc
from tests.topups import (
    CATALOGUE,
    UsageJob,
    charges,
    check_topup_promises,
    customer_with_card,
)

PROCESSES = 4
EVENTS = 30
COST = 5  # credits an event: 600 credits in all, two crossings of 450 around one top-up
INITIAL = credits(500)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]


@pytest.fixture
def stripe() -> Iterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    with FakeStripeServer(fake) as server:
        yield fake, server.url


def _setup(db_url: str, fake: FakeStripe, url: str) -> str:
    provider = StripeProvider("sk_test_creditline", SECRET, api_base=url, max_network_retries=0)
    with Creditline.open(db_url, payments=provider) as cl:
        cl.load_rate_card(card_doc(ping=str(COST)))
        cl.load_packs(CATALOGUE)
        org = customer_with_card(cl, fake, "Racing")
        cl.grant(org, INITIAL - credits(100))
        cl.set_auto_topup(org, threshold=credits(450), pack="monthly", currency="EUR",
                          monthly_cap=4000)  # fmt: skip
        return org


def _race(db_url: str, stripe: tuple[FakeStripe, str], broken: bool) -> tuple[str, int]:
    fake, url = stripe
    org = _setup(db_url, fake, url)
    result = run(db_url, UsageJob(db_url, org, EVENTS, url, broken), PROCESSES)
    assert result.overlapped, result.describe()
    assert result.errors == 0 and result.refused == 0, result.describe()
    assert result.total("used") == credits(PROCESSES * EVENTS * COST)
    return org, result.total("used")


def test_racing_processes_top_up_exactly_once_within_the_cap(
    db_url: str, stripe: tuple[FakeStripe, str]
) -> None:
    org, used = _race(db_url, stripe, broken=False)
    with Creditline.open(db_url, migrate=False) as cl:
        check_topup_promises(cl, stripe[0], org, initial=INITIAL, used=used)
        assert cl.balance(org).available == INITIAL - used + credits(500)


def test_the_harness_catches_a_check_then_buy_without_the_guard(
    db_url: str, stripe: tuple[FakeStripe, str]
) -> None:
    org, used = _race(db_url, stripe, broken=True)
    with (
        Creditline.open(db_url, migrate=False) as cl,
        pytest.raises(AssertionError, match="automatic top-ups, expected exactly 1"),
    ):
        check_topup_promises(cl, stripe[0], org, initial=INITIAL, used=used)
    # the double top-up itself: several charges at Stripe for one crossing, past the cap
    assert len(charges(stripe[0])) > 1
    assert sum(int(i["amount"]) for i in charges(stripe[0])) > 4000
