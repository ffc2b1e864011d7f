"""Holds increased while others spend never overdraw an organization.

4 processes each reserve a one-credit hold, then alternate increasing it by one credit
and spending one credit (heartbeating the hold now and then), against 300 credits, on
SQLite and on PostgreSQL: exactly 300 one-credit steps are accepted, the rest refused,
every hold is committed whole and the ledger verifies. The same harness and checker
run a deliberately broken check-then-write increase and must catch its overdraw
(RELIABILITY.md rule 8), which shows the race is exercised.
"""

from __future__ import annotations

import pytest

from creditline import Creditline, credits
from tests.concurrency import ONE, run
from tests.holds import HoldJob, broken_increase, check_hold_promises

PROCESSES = 4
ROUNDS = 60
CREDITS = 300

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]


def _org_with(db_url: str, amount: int) -> str:
    with Creditline.open(db_url) as cl:  # the workers use the system clock: so does this
        org = cl.create_org("Holding")
        cl.grant(org.id, amount)
        return org.id


def test_concurrent_increases_and_spends_never_overdraw(db_url: str) -> None:
    org_id = _org_with(db_url, credits(CREDITS))

    result = run(db_url, HoldJob(org_id, ROUNDS), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        check_hold_promises(result, cl, org_id, granted=credits(CREDITS))
    assert result.total("increased") and result.total("spent"), result.describe()


def test_the_harness_catches_a_check_then_write_increase(db_url: str) -> None:
    org_id = _org_with(db_url, credits(CREDITS))

    result = run(db_url, HoldJob(org_id, ROUNDS, broken_increase), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        with pytest.raises(AssertionError, match="one-credit steps accepted, expected 300"):
            check_hold_promises(result, cl, org_id, granted=credits(CREDITS))
        # the overdraw itself: more taken than there was, which verify reports
        assert result.accepted > CREDITS
        assert cl.balance(org_id).total == (CREDITS - result.accepted) * ONE < 0
        problems = [str(p) for p in cl.verify().problems]
        assert any("below zero" in p for p in problems), problems
