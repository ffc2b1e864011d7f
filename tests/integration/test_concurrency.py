"""Concurrent debits from several processes never overdraw an organization.

4 processes x 500 debits of one credit against 1,500 credits, on SQLite and on
PostgreSQL: exactly 1,500 are accepted, 500 refused, and the ledger verifies. The
same harness and checker run a deliberately broken check-then-write debit and must
catch its overdraw (RELIABILITY.md rule 8), which shows the race is exercised.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from creditline import Creditline, credits
from tests.concurrency import (
    ONE,
    DebitJob,
    MixedJob,
    broken_check_then_write,
    check_debit_promises,
    check_mixed_promises,
    handoffs,
    real_spend,
    run,
)

PROCESSES = 4
DEBITS = 500
CREDITS = 1_500

# One xdist worker runs them all (make test uses --dist loadgroup); the harness also
# queues runs machine-wide, so two of them never share the CPUs.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]


def _org_with(db_url: str, amount: int) -> str:
    # The workers use the system clock, so the setup does too (no ManualClock here).
    with Creditline.open(db_url) as cl:
        org = cl.create_org("Contended")
        cl.grant(org.id, amount)
        return org.id


def test_concurrent_debits_never_overdraw(db_url: str) -> None:
    org_id = _org_with(db_url, credits(CREDITS))

    result = run(db_url, DebitJob(org_id, DEBITS, real_spend), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        check_debit_promises(
            result, cl, org_id, granted=credits(CREDITS), attempts=PROCESSES * DEBITS
        )
        # The workers' debits interleaved in the ledger, not one worker's run after
        # another's (that would be PROCESSES - 1 handoffs). SQLite hands its write
        # lock over in bursts (~20-30 handoffs here), PostgreSQL almost every debit.
        assert handoffs(cl, org_id) >= PROCESSES, result.describe()
    assert result.accepted == CREDITS
    assert result.refused == PROCESSES * DEBITS - CREDITS


def test_the_harness_catches_a_check_then_write_overdraw(db_url: str) -> None:
    org_id = _org_with(db_url, credits(CREDITS))

    result = run(db_url, DebitJob(org_id, DEBITS, broken_check_then_write), PROCESSES)

    assert result.overlapped, result.describe()
    assert result.errors == 0, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        with pytest.raises(AssertionError, match="debits accepted, expected 1500"):
            check_debit_promises(
                result, cl, org_id, granted=credits(CREDITS), attempts=PROCESSES * DEBITS
            )
        # The overdraw itself: more accepted than held, a negative balance that
        # verify reports, and a grant whose remaining disagrees with its entries.
        assert result.accepted > CREDITS
        assert cl.balance(org_id).total == (CREDITS - result.accepted) * ONE < 0
        problems = [str(p) for p in cl.verify().problems]
        assert any("below zero" in p for p in problems), problems
        assert any("entries sum to" in p and "remaining is" in p for p in problems), problems


def test_mixed_spends_grants_and_expiry_account_for_every_credit(db_url: str) -> None:
    initial = credits(200)
    org_id = _org_with(db_url, initial)
    # A grant already expired when the workers start: their sweeps race to expire it
    # (exactly once), whatever else the timing does to the grants they make.
    lapsed = credits(7)
    with Creditline.open(db_url, migrate=False) as cl:
        cl.grant(org_id, lapsed, expires_at=cl.clock.now() + timedelta(milliseconds=50))
    time.sleep(0.06)

    result = run(db_url, MixedJob(org_id, ops=150, seed=20261122), PROCESSES)

    assert result.overlapped, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        totals = check_mixed_promises(result, cl, org_id, initial=initial + lapsed)
    # The workload did exercise each path: refusals, expiry and replayed retries.
    assert result.accepted and result.refused, result.describe()
    assert totals["expired"] >= lapsed, totals
    assert result.total("replayed"), result.describe()
