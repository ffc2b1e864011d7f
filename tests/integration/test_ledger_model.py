"""The engine against a reference model, under random sequences of operations.

Hypothesis drives the real engine (a fresh database per example) and a small model
of the rules written here from the requirements, not from the engine's code: a dict
of grants with what remains of each, spent greedily in the consumption order. After
every step the two must agree on every decision (accepted or refused, and which grant
paid how much), on the balance, on each grant's remaining, and ``verify`` must be
clean.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from creditline import Creditline, Debit, DebitResult, DebitStatus, Grant, GrantKind, ManualClock
from creditline.domain.errors import InsufficientCredits, InvalidAmount, InvalidGrant
from tests.databases import postgres_schema

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FOREVER = datetime.max.replace(tzinfo=UTC)

# B2: included, prepaid, promotional, refund, adjustment, flex.
ORDER = [
    GrantKind.INCLUDED,
    GrantKind.PREPAID,
    GrantKind.PROMOTIONAL,
    GrantKind.REFUND,
    GrantKind.ADJUSTMENT,
    GrantKind.FLEX,
]

Parts = list[tuple[str, int]]


# -- the reference model --------------------------------------------------------------


@dataclass
class ModelGrant:
    id: str
    kind: GrantKind
    amount: int
    remaining: int
    effective_at: datetime
    expires_at: datetime | None
    created_at: datetime
    made: int = 0  # order of creation: the last tie-break, "oldest first"

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def spendable(self, now: datetime) -> bool:
        return self.remaining > 0 and self.effective_at <= now and not self.expired(now)

    def draw_order(self) -> tuple[int, bool, datetime, datetime, datetime, int]:
        # Kind, then soonest expiry (never-expiring last), then oldest: effective time,
        # creation time, and for grants made at the same instant, the order they were made.
        return (
            ORDER.index(self.kind),
            self.expires_at is None,
            self.expires_at or FOREVER,
            self.effective_at,
            self.created_at,
            self.made,
        )


class Model:
    """What the ledger should hold: grants, and counters of what left them."""

    def __init__(self) -> None:
        self.grants: dict[str, ModelGrant] = {}
        self.granted = 0
        self.taken = 0
        self.expired = 0

    def add(self, grant: ModelGrant) -> None:
        grant.made = len(self.grants)
        self.grants[grant.id] = grant
        self.granted += grant.amount

    def total(self) -> int:
        return sum(g.remaining for g in self.grants.values())

    def available(self, now: datetime) -> int:
        return sum(g.remaining for g in self.grants.values() if g.spendable(now))

    def pending(self, now: datetime) -> int:
        return sum(
            g.remaining
            for g in self.grants.values()
            if g.remaining > 0 and not g.expired(now) and g.effective_at > now
        )

    def expired_unswept(self, now: datetime) -> int:
        return sum(g.remaining for g in self.grants.values() if g.remaining > 0 and g.expired(now))

    def spend(self, amount: int, now: datetime) -> Parts | None:
        """Take ``amount`` greedily in order; ``None`` (and no change) when short."""
        if amount > self.available(now):
            return None
        parts: Parts = []
        left = amount
        spendable = [g for g in self.grants.values() if g.spendable(now)]
        for g in sorted(spendable, key=ModelGrant.draw_order):
            if left == 0:
                break
            part = min(g.remaining, left)
            g.remaining -= part
            left -= part
            parts.append((g.id, part))
        self.taken += amount
        return parts

    def expire(self, now: datetime) -> dict[str, int]:
        due = {g.id: g.remaining for g in self.grants.values() if g.remaining and g.expired(now)}
        for grant_id, amount in due.items():
            self.grants[grant_id].remaining = 0
            self.expired += amount
        return due


# -- strategies -----------------------------------------------------------------------

durations = st.one_of(
    st.integers(min_value=1, max_value=59).map(lambda m: timedelta(minutes=m)),
    st.integers(min_value=1, max_value=72).map(lambda h: timedelta(hours=h)),
    st.integers(min_value=1, max_value=120).map(lambda d: timedelta(days=d)),
    # A few fixed spans so that expiries and start times often coincide (ties).
    st.sampled_from([timedelta(hours=1), timedelta(days=1), timedelta(days=30)]),
)
grant_amounts = st.one_of(
    st.integers(min_value=1, max_value=5_000_000), st.sampled_from([1, 1_000_000])
)
spend_amounts = st.integers(min_value=1, max_value=12_000_000)


def parts(result: DebitResult) -> Parts:
    return [(a.grant_id, a.amount) for a in result.allocations]


# -- the machine ----------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    """One organization on a fresh database, driven alongside the model."""

    def __init__(self) -> None:
        super().__init__()
        self.resources = ExitStack()
        try:
            url = self.resources.enter_context(self.database())
            self.clock = ManualClock(T0)
            self.cl = Creditline.open(url, clock=self.clock)
            self.resources.callback(self.cl.close)
            self.org_id = self.cl.create_org("Model").id
        except BaseException:
            self.resources.close()
            raise
        self.model = Model()
        self.keyed: dict[str, tuple[int, DebitResult | None]] = {}

    def database(self) -> AbstractContextManager[str]:
        raise NotImplementedError

    def teardown(self) -> None:
        self.resources.close()

    @property
    def now(self) -> datetime:
        return self.clock.now()

    # -- operations ---------------------------------------------------------------

    @rule(
        kind=st.sampled_from(GrantKind),
        amount=grant_amounts,
        expires_in=st.none() | durations,
        starts_in=st.none() | durations,
    )
    def grant(
        self,
        kind: GrantKind,
        amount: int,
        expires_in: timedelta | None,
        starts_in: timedelta | None,
    ) -> None:
        now = self.now
        effective_at = None if starts_in is None else now + starts_in
        expires_at = None if expires_in is None else now + expires_in
        if expires_at is not None and expires_at <= (effective_at or now):
            with pytest.raises(InvalidGrant):
                self.cl.grant(
                    self.org_id, amount, kind, effective_at=effective_at, expires_at=expires_at
                )
            return
        g = self.cl.grant(
            self.org_id, amount, kind, effective_at=effective_at, expires_at=expires_at
        )
        assert (g.kind, g.amount, g.remaining) == (kind, amount, amount)
        self.model.add(ModelGrant(g.id, kind, amount, amount, effective_at or now, expires_at, now))

    @rule(amount=spend_amounts, keyed=st.booleans())
    def spend(self, amount: int, keyed: bool) -> None:
        available = self.model.available(self.now)
        expected = self.model.spend(amount, self.now)
        key = f"key-{len(self.keyed)}" if keyed else None
        if expected is None:
            with pytest.raises(InsufficientCredits) as caught:
                self.cl.spend(self.org_id, amount, idempotency_key=key)
            assert (caught.value.needed, caught.value.available) == (amount, available)
            result = None
        else:
            result = self.cl.spend(self.org_id, amount, idempotency_key=key)
            assert result.status is DebitStatus.ACCEPTED
            assert not result.replayed
            assert parts(result) == expected
        if key is not None:
            self.keyed[key] = (amount, result)

    @precondition(lambda self: self.model.available(self.now) > 0)
    @rule()
    def spend_everything(self) -> None:
        amount = self.model.available(self.now)
        expected = self.model.spend(amount, self.now)
        result = self.cl.spend(self.org_id, amount)
        assert parts(result) == expected
        assert self.cl.balance(self.org_id).available == 0

    @precondition(lambda self: bool(self.keyed))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.keyed)), label="key")
        amount, first = self.keyed[key]
        (result,) = self.cl.spend_many(self.org_id, [Debit(amount, idempotency_key=key)])
        assert result.replayed
        if first is None:
            assert result.status is DebitStatus.REFUSED
        else:
            assert result.status is DebitStatus.ACCEPTED
            assert parts(result) == parts(first)

    @rule(amounts=st.lists(st.integers(min_value=0, max_value=6_000_000), min_size=1, max_size=6))
    def spend_many(self, amounts: list[int]) -> None:
        results = self.cl.spend_many(self.org_id, [Debit(a) for a in amounts])
        assert len(results) == len(amounts)
        for amount, result in zip(amounts, results, strict=True):
            if amount == 0:
                assert result.status is DebitStatus.REJECTED
                assert isinstance(result.error, InvalidAmount)
                continue
            expected = self.model.spend(amount, self.now)
            if expected is None:
                assert result.status is DebitStatus.REFUSED
                assert isinstance(result.error, InsufficientCredits)
            else:
                assert result.status is DebitStatus.ACCEPTED
                assert parts(result) == expected

    @rule(amount=st.integers(min_value=-6_000_000, max_value=6_000_000).filter(bool))
    def adjust(self, amount: int) -> None:
        now = self.now
        if amount > 0:
            g = self.cl.adjust(self.org_id, amount, "model adjustment")
            assert isinstance(g, Grant)
            assert (g.kind, g.amount, g.expires_at) == (GrantKind.ADJUSTMENT, amount, None)
            self.model.add(ModelGrant(g.id, g.kind, amount, amount, now, None, now))
            return
        expected = self.model.spend(-amount, now)
        if expected is None:
            with pytest.raises(InsufficientCredits):
                self.cl.adjust(self.org_id, amount, "model adjustment")
        else:
            result = self.cl.adjust(self.org_id, amount, "model adjustment")
            assert isinstance(result, DebitResult)
            assert parts(result) == expected

    @rule()
    def expire_due(self) -> None:
        expected = self.model.expire(self.now)
        report = self.cl.expire_due()
        assert report.grants == len(expected)
        assert report.amount == sum(expected.values())

    @rule(delta=durations)
    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    @precondition(
        lambda self: any(
            moment > self.now
            for g in self.model.grants.values()
            for moment in (g.effective_at, g.expires_at)
            if moment is not None
        )
    )
    @rule(data=st.data())
    def advance_to_a_boundary(self, data: st.DataObject) -> None:
        """Land exactly on a grant's start or expiry: periods are half-open."""
        moments = sorted(
            {
                moment
                for g in self.model.grants.values()
                for moment in (g.effective_at, g.expires_at)
                if moment is not None and moment > self.now
            }
        )
        self.clock.set(data.draw(st.sampled_from(moments), label="moment"))

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def balance_matches_the_model(self) -> None:
        now = self.now
        b = self.cl.balance(self.org_id)
        model = self.model
        assert b.total == model.granted - model.taken - model.expired == model.total()
        assert b.available == model.available(now)
        assert b.pending == model.pending(now)
        assert b.expired_unswept == model.expired_unswept(now)
        assert b.total == b.available + b.pending + b.expired_unswept

    @invariant()
    def every_grant_matches_the_model(self) -> None:
        stored = self.cl.grants(self.org_id)
        for g in stored:
            assert 0 <= g.remaining <= g.amount, g
        assert {g.id: g.remaining for g in stored} == {
            g.id: g.remaining for g in self.model.grants.values()
        }

    @invariant()
    def verify_is_clean(self) -> None:
        report = self.cl.verify()
        assert report.ok, report.problems


class LedgerOnSqlite(LedgerMachine):
    @contextmanager
    def database(self) -> Iterator[str]:
        with tempfile.TemporaryDirectory(prefix="creditline-model-") as directory:
            yield f"sqlite:///{directory}/ledger.db"


class LedgerOnPostgres(LedgerMachine):
    def database(self) -> AbstractContextManager[str]:
        return postgres_schema()


class TestLedgerModelOnSqlite(LedgerOnSqlite.TestCase):  # type: ignore[misc, valid-type]
    settings = hypothesis.settings(
        max_examples=30,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@pytest.mark.postgres
class TestLedgerModelOnPostgres(LedgerOnPostgres.TestCase):  # type: ignore[misc, valid-type]
    settings = hypothesis.settings(
        max_examples=12,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
