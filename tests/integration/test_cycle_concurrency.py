"""Several schedulers at once over the same due renewals never grant or expire twice (F2).

Four workers, each its own :class:`Creditline` (its own engine and connections) on the
same database, are released together on 60 organizations whose last three months of
renewals and expiries are due: half on OTAI Pro (100 and the onboarding guarantee's
10, then 50 a month, never expiring), half on AI Engine Standard (1,000 a calendar
month, expiring at its end).
Every cycle must be granted exactly once and every lapsed grant expired exactly once,
on SQLite and on PostgreSQL. The same checker runs a deliberately broken renewal
(check in one transaction, grant in another, no lock, no key) and must catch its
double grants (RELIABILITY.md rule 8).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from creditline import Creditline, EntryType, GrantSource, ManualClock, SourceType, credits
from creditline.domain.plans import due_renewals
from creditline.domain.subscriptions import renewal_ref
from tests.metering import load_example

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]

WORKERS = 4
ORGS = 60
SIGNED_UP = datetime(2026, 1, 1, tzinfo=UTC)
CATCH_UP = datetime(2026, 4, 15, tzinfo=UTC)  # cycles 1, 2 and 3 of every org are due
PLANS = {"pro": credits(100 + 10 + 3 * 50), "standard": credits(1000)}
"""What each org holds once every renewal and expiry is done, by plan."""


def _subscribers(db_url: str) -> dict[str, str]:
    """ORGS organizations subscribed at SIGNED_UP; their plans by organization id."""
    with Creditline.open(db_url, clock=ManualClock(SIGNED_UP)) as cl:
        load_example(cl, "otai")
        load_example(cl, "ai-engine")
        orgs = {}
        for i in range(ORGS):
            plan = "pro" if i % 2 else "standard"
            org = cl.create_org(f"Org {i}").id
            cl.subscribe(org, plan)
            orgs[org] = plan
        return orgs


def _race(db_url: str, work: Callable[[Creditline, threading.Barrier], int]) -> list[int]:
    """Run ``work`` in WORKERS threads, each on its own engine at CATCH_UP, released
    together; their results, in worker order."""
    start = threading.Barrier(WORKERS, timeout=60)
    results: list[int] = [0] * WORKERS
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with Creditline.open(db_url, clock=ManualClock(CATCH_UP), migrate=False) as cl:
                start.wait()
                results[index] = work(cl, start)
        except BaseException as exc:
            start.abort()
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a worker did not finish"
    assert not errors, errors
    return results


def check_renewal_promises(cl: Creditline, orgs: dict[str, str]) -> None:
    """Every cycle granted once, every lapsed grant expired once, balances exact, the
    ledger sound; raise one AssertionError listing every broken promise."""
    problems = [f"verify: {p}" for p in cl.verify().problems]
    for org, plan in orgs.items():
        grants = [g for g in cl.grants(org) if g.source.type is SourceType.PLAN]
        times = Counter(g.metadata.get("cycle") for g in grants if "extra" not in g.metadata)
        problems += [
            f"{org}: cycle {cycle} granted {n} times" for cycle, n in times.items() if n != 1
        ]
        extras = Counter((g.metadata["cycle"], g.metadata["extra"]) for g in grants
                         if "extra" in g.metadata)  # fmt: skip
        if list(extras.values()) != ([1] if plan == "pro" else []):  # the onboarding grant
            problems.append(f"{org}: extra sign-up grants {dict(extras)}")
        if sorted(times) != [0, 1, 2, 3]:
            problems.append(f"{org}: cycles granted {sorted(times)}, expected 0 to 3")
        entries = cl.history(org, limit=1000, types=[EntryType.EXPIRE])
        expired = Counter(e.grant_id for e in entries)
        problems += [f"{org}: grant {g} expired {n} times" for g, n in expired.items() if n > 1]
        balance = cl.balance(org)
        if (balance.total, balance.available) != (PLANS[plan], PLANS[plan]):
            problems.append(f"{org} ({plan}): balance {balance.total}, expected {PLANS[plan]}")
    if problems:
        raise AssertionError("renewal promises broken:\n  - " + "\n  - ".join(problems))


def test_schedulers_racing_over_the_same_renewals_grant_and_expire_each_once(
    db_url: str,
) -> None:
    orgs = _subscribers(db_url)

    def ticks(cl: Creditline, _: threading.Barrier) -> int:
        renewed = 0
        for _ in range(2):  # and each worker runs twice
            report = cl.tick()
            assert report.ok, report.errors
            renewed += int(report.job("renewals").summary["cycles"])
        return renewed

    renewed = _race(db_url, ticks)

    assert sum(renewed) == 3 * ORGS, renewed  # each due cycle renewed by one worker only
    with Creditline.open(db_url, clock=ManualClock(CATCH_UP), migrate=False) as cl:
        check_renewal_promises(cl, orgs)
        assert cl.renew_due().cycles == 0


def broken_renewal(cl: Creditline, barrier: threading.Barrier) -> int:
    """DELIBERATELY WRONG: read what is due in one transaction, grant in others, with no
    lock and no record of the cycle. Never copy this.

    The barrier holds every worker between its read and its writes, as a slow network
    would, so all of them act on the same stale view and each grants every cycle."""
    now = cl.clock.now()
    plans = {}
    with cl._uow(read_only=True) as uow:
        due = [uow.subscriptions.get(org) for org in uow.subscriptions.due(now, ORGS)]
        for sub in due:
            assert sub is not None
            plans[sub.plan] = uow.plans.get(sub.plan)
    barrier.wait()
    granted = 0
    for sub in due:
        assert sub is not None
        plan = plans[sub.plan]
        assert plan is not None
        for renewal in due_renewals(plan, sub.anchored_at, sub.last_cycle, now):
            assert renewal.grant is not None
            cl.grant(
                sub.org_id, renewal.amount, renewal.grant.kind,
                effective_at=renewal.effective_at, expires_at=renewal.expires_at,
                source=GrantSource(SourceType.PLAN, renewal_ref(sub.plan, renewal)),
                metadata={"cycle": renewal.cycle.index},
            )  # fmt: skip
            granted += 1
    return granted


def test_the_checker_catches_a_check_then_grant_renewal(db_url: str) -> None:
    orgs = _subscribers(db_url)

    granted = _race(db_url, broken_renewal)

    assert sum(granted) == WORKERS * 3 * ORGS  # every worker granted every due cycle
    with Creditline.open(db_url, clock=ManualClock(CATCH_UP), migrate=False) as cl:
        cl.expire_due()
        with pytest.raises(AssertionError, match="cycle 1 granted 4 times") as caught:
            check_renewal_promises(cl, orgs)
    assert f"({'pro'}): balance {credits(100 + 10 + 3 * 4 * 50)}" in str(caught.value)
