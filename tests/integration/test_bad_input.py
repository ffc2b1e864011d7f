"""Bad input is refused with a precise error, and leaves every organization as it was.

Each rejected call runs against an organization that already holds grants, debits
and history; afterwards its balance, grants and history are unchanged and ``verify``
is clean.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from creditline import (
    Cause,
    CauseType,
    CostBasis,
    Creditline,
    Debit,
    DebitStatus,
    GrantSource,
    ManualClock,
    SourceType,
    credits,
)
from creditline.domain.amounts import MAX_MICROS
from creditline.domain.errors import (
    ConfigurationError,
    CreditlineError,
    InvalidAmount,
    InvalidDatabaseUrl,
    InvalidGrant,
    InvalidSetting,
    OrganizationNotFound,
    ValidationError,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
NAIVE = datetime(2026, 2, 1)

Call = Callable[[Creditline, str], object]


def state(cl: Creditline, org_id: str) -> tuple[Any, ...]:
    b = cl.balance(org_id)
    grants = sorted((g.id, g.amount, g.remaining) for g in cl.grants(org_id))
    history = cl.history(org_id, limit=10_000)
    return (b.total, b.available, b.pending, b.expired_unswept, grants, history)


@pytest.fixture
def org_id(cl: Creditline, clock: ManualClock) -> str:
    """An organization with some history: two grants, a debit, a project and a member."""
    org = cl.create_org("Acme", external_ref="acme-1")
    cl.create_project(org.id, "api")
    cl.add_member(org.id, "Ada", "ada@example.com")
    cl.grant(org.id, credits(10), kind="included", expires_at=T0 + 30 * DAY)
    cl.grant(org.id, credits(5), kind="prepaid")
    cl.spend(org.id, credits("2.5"), idempotency_key="seed")
    clock.advance(timedelta(hours=1))
    return org.id


def assert_rejected_without_effect(
    cl: Creditline, org_id: str, call: Call, error: type[CreditlineError]
) -> CreditlineError:
    before = state(cl, org_id)
    orgs_before = cl.list_orgs()
    with pytest.raises(error) as caught:
        call(cl, org_id)
    assert state(cl, org_id) == before
    assert cl.list_orgs() == orgs_before
    report = cl.verify()
    assert report.ok, report.problems
    return caught.value


BAD_AMOUNTS: dict[str, tuple[Call, type[CreditlineError]]] = {
    "grant zero": (lambda cl, o: cl.grant(o, 0), InvalidGrant),
    "grant negative": (lambda cl, o: cl.grant(o, -credits(1)), InvalidGrant),
    "grant float": (lambda cl, o: cl.grant(o, 2.5), InvalidGrant),  # type: ignore[arg-type]
    "grant decimal": (lambda cl, o: cl.grant(o, Decimal(5)), InvalidGrant),  # type: ignore[arg-type]
    "grant text": (lambda cl, o: cl.grant(o, "5"), InvalidGrant),  # type: ignore[arg-type]
    "grant bool": (lambda cl, o: cl.grant(o, True), InvalidGrant),
    "grant above the largest amount": (lambda cl, o: cl.grant(o, MAX_MICROS + 1), InvalidGrant),
    "spend zero": (lambda cl, o: cl.spend(o, 0), InvalidAmount),
    "spend negative": (lambda cl, o: cl.spend(o, -1), InvalidAmount),
    "spend float": (lambda cl, o: cl.spend(o, 0.5), InvalidAmount),  # type: ignore[arg-type]
    "spend float of a whole number": (lambda cl, o: cl.spend(o, 1.0), InvalidAmount),  # type: ignore[arg-type]
    "spend text": (lambda cl, o: cl.spend(o, "1"), InvalidAmount),  # type: ignore[arg-type]
    "spend None": (lambda cl, o: cl.spend(o, None), InvalidAmount),  # type: ignore[arg-type]
    "spend above the largest amount": (lambda cl, o: cl.spend(o, MAX_MICROS + 1), InvalidAmount),
    "adjust zero": (lambda cl, o: cl.adjust(o, 0, "fix"), InvalidAmount),
    "adjust float": (lambda cl, o: cl.adjust(o, -1.5, "fix"), InvalidAmount),  # type: ignore[arg-type]
    "adjust below the smallest amount": (
        lambda cl, o: cl.adjust(o, -(MAX_MICROS + 1), "fix"),
        InvalidAmount,
    ),
}


@pytest.mark.parametrize(("call", "error"), BAD_AMOUNTS.values(), ids=BAD_AMOUNTS.keys())
def test_a_bad_amount_is_refused_and_changes_nothing(
    cl: Creditline, org_id: str, call: Call, error: type[CreditlineError]
) -> None:
    caught = assert_rejected_without_effect(cl, org_id, call, error)
    assert isinstance(caught, ValidationError)


def test_amounts_finer_than_a_micro_credit_cannot_even_be_written(
    cl: Creditline, org_id: str
) -> None:
    # The API takes int micro-credits, so a finer amount has to come from text.
    for text in ("0.0000001", "2.5000001", "1.000000000000000000000000000001"):
        with pytest.raises(InvalidAmount):
            credits(text)
    assert credits("0.000001") == 1
    before = state(cl, org_id)
    cl.spend(org_id, credits("0.000001"))
    assert state(cl, org_id)[0] == before[0] - 1


def test_a_bad_amount_in_a_batch_is_rejected_alone(cl: Creditline, org_id: str) -> None:
    before = state(cl, org_id)
    results = cl.spend_many(
        org_id,
        [Debit(0), Debit(-5), Debit(0.5), Debit(MAX_MICROS + 1)],  # type: ignore[arg-type]
    )
    assert [r.status for r in results] == [DebitStatus.REJECTED] * 4
    assert all(isinstance(r.error, InvalidAmount) for r in results)
    assert state(cl, org_id) == before
    assert cl.verify().ok


def test_a_grant_that_would_overflow_the_balance_is_refused(cl: Creditline, org_id: str) -> None:
    # The balance is a signed 64-bit column: SQLite would silently turn the sum into a
    # float (and verify would then fail); PostgreSQL would fail with "bigint out of range".
    total = cl.balance(org_id).total
    cl.grant(org_id, MAX_MICROS - total)
    error = assert_rejected_without_effect(cl, org_id, lambda cl, o: cl.grant(o, 1), InvalidAmount)
    assert "exceed" in str(error)
    assert cl.balance(org_id).total == MAX_MICROS


UNKNOWN_ORG: dict[str, Call] = {
    "grant": lambda cl, _: cl.grant("org_nope", credits(1)),
    "spend": lambda cl, _: cl.spend("org_nope", credits(1)),
    "spend_many": lambda cl, _: cl.spend_many("org_nope", [Debit(credits(1))]),
    "adjust up": lambda cl, _: cl.adjust("org_nope", credits(1), "fix"),
    "adjust down": lambda cl, _: cl.adjust("org_nope", -credits(1), "fix"),
    "balance": lambda cl, _: cl.balance("org_nope"),
    "history": lambda cl, _: cl.history("org_nope"),
    "grants": lambda cl, _: cl.grants("org_nope"),
    "get_org": lambda cl, _: cl.get_org("org_nope"),
    "create_project": lambda cl, _: cl.create_project("org_nope", "x"),
    "add_member": lambda cl, _: cl.add_member("org_nope", "x"),
}


@pytest.mark.parametrize("call", UNKNOWN_ORG.values(), ids=UNKNOWN_ORG.keys())
def test_an_unknown_organization_is_not_found(cl: Creditline, org_id: str, call: Call) -> None:
    error = assert_rejected_without_effect(cl, org_id, call, OrganizationNotFound)
    assert isinstance(error, OrganizationNotFound)
    assert error.ident == "org_nope"


BAD_GRANTS: dict[str, tuple[Call, type[CreditlineError], str]] = {
    "expiry before effective": (
        lambda cl, o: cl.grant(o, 1, effective_at=T0 + 2 * DAY, expires_at=T0 + DAY),
        InvalidGrant,
        "expiry time must be after the effective time",
    ),
    "expiry equal to effective": (
        lambda cl, o: cl.grant(o, 1, effective_at=T0 + DAY, expires_at=T0 + DAY),
        InvalidGrant,
        "expiry time must be after the effective time",
    ),
    "expiry already past (effective now)": (
        lambda cl, o: cl.grant(o, 1, expires_at=T0),
        InvalidGrant,
        "expiry time must be after the effective time",
    ),
    "naive expiry": (
        lambda cl, o: cl.grant(o, 1, expires_at=NAIVE),
        InvalidGrant,
        "time zone",
    ),
    "naive effective time": (
        lambda cl, o: cl.grant(o, 1, effective_at=NAIVE),
        InvalidGrant,
        "time zone",
    ),
    "unknown kind": (
        lambda cl, o: cl.grant(o, 1, kind="gold"),
        InvalidSetting,
        "gold",
    ),
    "empty source reference": (
        lambda cl, o: cl.grant(o, 1, source=GrantSource(SourceType.PURCHASE, " ")),
        InvalidGrant,
        "source reference",
    ),
    "metadata that is not a mapping": (
        lambda cl, o: cl.grant(o, 1, metadata=["x"]),  # type: ignore[arg-type]
        InvalidGrant,
        "metadata",
    ),
}


@pytest.mark.parametrize(("call", "error", "says"), BAD_GRANTS.values(), ids=BAD_GRANTS.keys())
def test_a_bad_grant_is_refused_and_changes_nothing(
    cl: Creditline, org_id: str, call: Call, error: type[CreditlineError], says: str
) -> None:
    caught = assert_rejected_without_effect(cl, org_id, call, error)
    assert says in str(caught)


def test_a_grant_with_several_problems_reports_them_all(cl: Creditline, org_id: str) -> None:
    error = assert_rejected_without_effect(
        cl,
        org_id,
        lambda cl, o: cl.grant(o, 0, expires_at=NAIVE, metadata=["x"]),  # type: ignore[arg-type]
        InvalidGrant,
    )
    assert isinstance(error, InvalidGrant)
    assert len(error.problems) == 3, error.problems


@pytest.mark.parametrize(
    ("price", "currency"), [(-1, "EUR"), (9.5, "EUR"), (900, "euro"), (900, "")]
)
def test_a_bad_cost_basis_is_refused_before_it_reaches_the_engine(
    price: Any, currency: str
) -> None:
    with pytest.raises(InvalidAmount):
        CostBasis(price, currency)


OTHER_BAD_CALLS: dict[str, tuple[Call, type[CreditlineError]]] = {
    "empty organization name": (lambda cl, _: cl.create_org(""), InvalidSetting),
    "blank organization name": (lambda cl, _: cl.create_org("   "), InvalidSetting),
    "organization name that is not text": (lambda cl, _: cl.create_org(None), InvalidSetting),  # type: ignore[arg-type]
    "organization name too long": (lambda cl, _: cl.create_org("x" * 201), InvalidSetting),
    "unknown kind in a consumption order": (
        lambda cl, _: cl.create_org("B", consumption_order="included,gold"),
        InvalidSetting,
    ),
    "a kind listed twice in a consumption order": (
        lambda cl, _: cl.create_org("B", consumption_order=["flex", "flex"]),
        InvalidSetting,
    ),
    "empty project name": (lambda cl, o: cl.create_project(o, ""), InvalidSetting),
    "empty member name": (lambda cl, o: cl.add_member(o, " "), InvalidSetting),
    "member e-mail without an @": (lambda cl, o: cl.add_member(o, "Bob", "bob"), InvalidSetting),
    "empty adjustment reason": (lambda cl, o: cl.adjust(o, credits(1), ""), InvalidSetting),
    "empty idempotency key": (
        lambda cl, o: cl.spend(o, credits(1), idempotency_key=""),
        InvalidSetting,
    ),
    "idempotency key too long": (
        lambda cl, o: cl.spend(o, credits(1), idempotency_key="k" * 201),
        InvalidSetting,
    ),
    "debit metadata that is not a mapping": (
        lambda cl, o: cl.spend(o, credits(1), metadata="x"),  # type: ignore[arg-type]
        InvalidSetting,
    ),
    "history limit of zero": (lambda cl, o: cl.history(o, limit=0), InvalidSetting),
    "history limit too large": (lambda cl, o: cl.history(o, limit=10_001), InvalidSetting),
    "history of an unknown entry type": (
        lambda cl, o: cl.history(o, types=["transfer"]),
        InvalidSetting,
    ),
    "cause with an empty reference": (
        lambda cl, o: cl.spend(o, credits(1), cause=Cause(CauseType.DEBIT, "")),
        InvalidSetting,
    ),
}


@pytest.mark.parametrize(("call", "error"), OTHER_BAD_CALLS.values(), ids=OTHER_BAD_CALLS.keys())
def test_a_bad_setting_is_refused_and_changes_nothing(
    cl: Creditline, org_id: str, call: Call, error: type[CreditlineError]
) -> None:
    assert_rejected_without_effect(cl, org_id, call, error)


@pytest.mark.parametrize(
    "url",
    ["", "   ", "mysql://x/y", "postgresql://", "sqlite:///:memory:", "sqlite://", "not a url://"],
)
def test_a_malformed_database_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrl):
        Creditline.open(url)


def test_an_unreachable_postgresql_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Creditline.open("postgresql://127.0.0.1:1/x")
    assert not isinstance(caught.value, InvalidDatabaseUrl)
    assert "127.0.0.1" in str(caught.value)


def test_a_password_in_a_refused_url_is_not_repeated() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Creditline.open("postgresql://user:s3cret@127.0.0.1:1/x")
    assert "s3cret" not in str(caught.value)
