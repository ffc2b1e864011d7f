"""A capped key charged by 4 processes at once never spends past its cap.

4 processes share one organization's key capped at 60 credits a day, and each
records one-credit usage, spends one credit and holds two credits committed at one,
40 rounds, against an organization holding 1,000 credits, on SQLite and on
PostgreSQL: the key's counter equals what the accepted steps took less what the
commits freed, and what the organization lost; it never passes the cap and ends within
a credit per process of it. The same harness and checker run a deliberately broken
check-then-write capped spend (spends only) and must catch it going past the cap (RELIABILITY.md
rule 8), which shows the race is exercised.
"""

from __future__ import annotations

import pytest

from creditline import Creditline, credits
from tests.concurrency import run
from tests.keycaps import KeyCapJob, broken_capped_spend, check_cap_promises
from tests.metering import card_doc

PROCESSES = 4
ROUNDS = 40
CAP = 60
GRANTED = credits(1000)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]


def _capped(db_url: str) -> tuple[str, str]:
    with Creditline.open(db_url) as cl:  # the workers use the system clock: so does this
        cl.load_rate_card(card_doc())
        org = cl.create_org("Capped").id
        cl.grant(org, GRANTED)
        key = cl.create_api_key("org", org, name="agent", cap=credits(CAP)).key
        return org, key.id


def test_a_capped_key_never_spends_past_its_cap_under_4_processes(db_url: str) -> None:
    org, key = _capped(db_url)

    result = run(db_url, KeyCapJob(org, key, ROUNDS), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        check_cap_promises(result, cl, org, key, granted=GRANTED, processes=PROCESSES)
    assert result.total("freed"), result.describe()


def test_the_harness_catches_a_check_then_write_cap(db_url: str) -> None:
    org, key = _capped(db_url)

    job = KeyCapJob(org, key, ROUNDS, broken_capped_spend, spends_only=True)
    result = run(db_url, job, PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        with pytest.raises(AssertionError, match="past its cap"):
            check_cap_promises(result, cl, org, key, granted=GRANTED, processes=PROCESSES)
        assert (cl.api_key(key).used_micros or 0) > credits(CAP)
