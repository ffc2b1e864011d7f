"""Charging: one decision for every way credits are taken (C1, C6, B2, A3, A4, D6).

Usage events, holds (reserve), their settlements (commit, release) and debits (spend,
negative adjustments) are all decided here, by :func:`decide`, on what a service
loaded under the organizations' locks (:class:`Books`), never touching storage.
:func:`decide` takes the commands of a group in arrival order and decides each on the
state the previous ones left: a refused or invalid command changes nothing for the
next. It returns a :class:`Decision`: a result per command (or its error), the rows to
store, the ledger entries, the grants to create and move, and each organization's
balance and held change, netted so that a writer touches each row once.

**Who pays.** A charge draws from the organization's spendable grants in the
consumption order (:mod:`creditline.domain.spending`). What they cannot cover is
settled by the **depletion policy** (:mod:`creditline.domain.plans`), the same for
usage, debits and the excess of a commit:

- ``pause`` and ``read_only``: refused whole (:class:`InsufficientCredits`; a usage
  event is stored as ``refused``, a commit records the rest as its shortfall).
- ``flex`` (while flex is enabled for the organization): the shortfall is granted on
  the spot as a ``flex`` grant (cause ``system``, ref ``flex:YYYY-MM``) and taken from
  it, as long as the month's flex stays within the plan's ``flex_limit``. Past the
  limit the charge is refused with the limit, the flex used this month and the room
  left (:attr:`InsufficientCredits.flex_limit`, ``flex_used``, ``flex_room``); a
  commit whose excess the room cannot cover takes what the grants have and records
  the rest as its shortfall.
- ``unlimited``: the same, on an ``unlimited:YYYY-MM`` grant, never capped.

**Scoped grants** (:mod:`creditline.domain.scopes`) pay first for what they cover:
a usage event is a charge of its operation and dimensions, a hold or a debit of the
``operation`` and ``dimensions`` it names (none: general grants only), and a commit's
excess of what its hold was for. What a charge may take (and what a refusal reports
as available) counts only the grants that may pay for it.

Two movements never take flex: a **hold** (``reserve``) comes from the grants alone
(a hold may be released, and flex is billed), and an operator's negative
**adjustment** corrects the grants, it does not buy credits.

**Exactly once.** A usage event's id, and the idempotency key of a hold or a debit,
are looked up first (in what was stored and in the group so far): a replay answers
the first outcome, a refusal included, before any balance check; the same id or key
with another request is :class:`IdempotencyKeyReused`. An event sent without a time
is stamped with the time it was first received, and a retry without a time is the
same event: its missing time is read as the stored one.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from creditline.domain.amounts import MAX_MICROS, require_positive_micros
from creditline.domain.errors import (
    CreditlineError,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidAmount,
    InvalidSetting,
    InvalidUsage,
    MemberNotFound,
    NotFound,
    OrganizationNotFound,
    PlanGateRefused,
    ProjectNotFound,
    RateCardNotFound,
    ReservationNotFound,
    UnknownOperation,
)
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import DepletionPolicy, Gates, Plan, check_gates
from creditline.domain.pricing import Charge, RateCardHistory, Step
from creditline.domain.reservations import (
    CommitPlan,
    Reservation,
    ReservationStatus,
    plan_commit,
)
from creditline.domain.spending import Allocation, Pool
from creditline.domain.usage import EventResult, EventStatus, Metering, StoredUsage, UsageEvent

__all__ = [
    "MAX_KEY",
    "MAX_TTL",
    "Account",
    "Books",
    "Debit",
    "DebitResult",
    "DebitStatus",
    "Decision",
    "Reserve",
    "Settle",
    "Settlement",
    "Ledger",
    "Spend",
    "Command",
    "check_event_gates",
    "check_reserve",
    "check_target",
    "check_settle",
    "decide",
    "fingerprint",
    "flex_ref",
    "prepare_debit",
    "price_event",
    "reserve_fingerprint",
]

MAX_TTL = timedelta(days=30)
"""The longest a hold may live: every hold has a time-to-live, and a bounded one."""

MAX_KEY = 200
"""The longest idempotency key of a debit."""


def fingerprint(request: Mapping[str, Any]) -> str:
    """A request's hash, to tell a retry (same hash) from a reused key (another)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reserve:
    """Hold ``amount`` micro-credits for ``ttl`` (at most :data:`MAX_TTL`)."""

    org_id: str
    amount: int
    ttl: timedelta = timedelta(hours=1)
    cause: Cause | None = None
    project_id: str | None = None
    member_id: str | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    operation: str | None = None
    """What the hold is for: scoped grants covering it may pay (none: general only)."""
    dimensions: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Settle:
    """Commit ``amount`` (``None``: release everything). ``final=False`` keeps the rest held."""

    org_id: str
    reservation_id: str
    amount: int | None
    final: bool = True


@dataclass(frozen=True, slots=True)
class Debit:
    """One debit of ``amount`` micro-credits.

    Attributes:
        amount: micro-credits to take (> 0).
        cause: what spent them; defaults to a ``debit`` cause named by the idempotency
            key, or else by the call (all key-less debits of one ``spend_many`` share it).
        project_id, member_id: attribution inside the organization (A1).
        idempotency_key: makes a retried debit return its first outcome.
        metadata: free-form data kept on the entries.
        operation, dimensions: what the credits pay for: the scoped grants that cover
            it pay first; without an operation only general grants pay.
    """

    amount: int
    cause: Cause | None = None
    project_id: str | None = None
    member_id: str | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] | None = None
    operation: str | None = None
    dimensions: dict[str, str] | None = None


class Spend(NamedTuple):
    """One checked debit of an organization (:func:`prepare_debit`)."""

    org_id: str
    debit: Debit
    cause: Cause
    request_hash: str | None
    entry_type: EntryType


Command = UsageEvent | Reserve | Settle | Spend
"""What :func:`decide` decides: a usage event, a hold, its settlement or a debit."""


class Settlement(NamedTuple):
    """What one commit or release did, in micro-credits."""

    reservation: Reservation
    consumed: int
    released: int
    shortfall: int
    replayed: bool = False


class DebitStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    REJECTED = "rejected"


class DebitResult(NamedTuple):
    """What became of one debit. ``error`` is set unless it was accepted.

    Attributes:
        status: accepted, refused (not enough credits) or rejected (bad input).
        amount: micro-credits debited (0 when rejected).
        cause: the cause written on the entries.
        allocations: which grant paid how much.
        replayed: True when an idempotency key returned a stored outcome.
        error: why it was refused or rejected.
    """

    status: DebitStatus
    amount: int
    cause: Cause | None
    allocations: tuple[Allocation, ...] = ()
    replayed: bool = False
    error: CreditlineError | None = None

    @property
    def accepted(self) -> bool:
        return self.status is DebitStatus.ACCEPTED


# -- checks made before any lock -----------------------------------------------------------


def check_reserve(cmd: Reserve) -> None:
    """Raise for a hold that can never be made (bad amount, time-to-live, metadata)."""
    require_positive_micros(cmd.amount)
    if not isinstance(cmd.ttl, timedelta) or not timedelta(0) < cmd.ttl <= MAX_TTL:
        raise InvalidSetting("time-to-live", cmd.ttl, f"must be above zero and at most {MAX_TTL}")
    if not isinstance(cmd.metadata, dict):
        raise InvalidSetting("metadata", cmd.metadata, "must be a mapping")
    check_target(cmd.operation, cmd.dimensions)


def check_target(operation: object, dimensions: object) -> None:
    """Raise for a hold's or a debit's ``operation`` and ``dimensions`` that are not names."""
    if operation is None:
        if dimensions is not None:
            raise InvalidSetting("dimensions", dimensions, "need an operation")
        return
    if not isinstance(operation, str) or not 0 < len(operation) <= 200 or operation.isspace():
        raise InvalidSetting("operation", operation, "must be an operation name")
    if dimensions is None:
        return
    if not isinstance(dimensions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 200 and len(v) <= 200
        for k, v in dimensions.items()
    ):
        raise InvalidSetting("dimensions", dimensions, "must map dimension names to values")


def _target(operation: str | None, dimensions: Mapping[str, str] | None) -> dict[str, Any]:
    """What a hold or a debit is for, in its fingerprint (nothing when it names nothing,
    so the fingerprints of requests made before scopes existed are unchanged)."""
    if operation is None:
        return {}
    return {"operation": operation, "dimensions": dict(sorted((dimensions or {}).items()))}


def reserve_fingerprint(cmd: Reserve) -> str:
    return fingerprint(
        {"op": "reserve", "amount": cmd.amount, "ttl": cmd.ttl.total_seconds(),
         "cause": str(cmd.cause) if cmd.cause else None,
         **_target(cmd.operation, cmd.dimensions)}
    )  # fmt: skip


def check_settle(cmd: Settle) -> None:
    if cmd.amount is not None and (
        isinstance(cmd.amount, bool) or not isinstance(cmd.amount, int) or cmd.amount < 0
    ):
        raise InvalidAmount(cmd.amount, "a committed cost is a whole number of micro-credits >= 0")


def prepare_debit(
    org_id: str, debit: Debit, entry_type: EntryType, default: Cause
) -> Spend | DebitResult:
    """Check one debit before any lock is taken; a bad one becomes a rejection."""
    amount = debit.amount
    if (
        type(amount) is int
        and 0 < amount <= MAX_MICROS
        and debit.idempotency_key is None
        and debit.metadata is None
        and debit.operation is None
        and debit.dimensions is None
    ):  # the common case, checked without building anything
        return Spend(org_id, debit, debit.cause or default, None, entry_type)
    try:
        amount = require_positive_micros(debit.amount)
        key = debit.idempotency_key
        if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY):
            raise InvalidSetting("idempotency key", key, f"must be 1 to {MAX_KEY} characters")
        if debit.metadata is not None and not isinstance(debit.metadata, dict):
            raise InvalidSetting("metadata", debit.metadata, "must be a mapping")
        check_target(debit.operation, debit.dimensions)
        cause = debit.cause or (Cause(CauseType.DEBIT, key) if key else default)
    except CreditlineError as exc:
        return DebitResult(DebitStatus.REJECTED, 0, debit.cause, error=exc)
    request_hash = None
    if key is not None:
        request_hash = fingerprint(
            {
                "type": entry_type.value,
                "amount": amount,
                "cause": str(debit.cause) if debit.cause else None,
                "project": debit.project_id,
                "member": debit.member_id,
                **_target(debit.operation, debit.dimensions),
            }
        )
    return Spend(org_id, debit, cause, request_hash, entry_type)


# -- what a service loads ------------------------------------------------------------------


def flex_ref(metering: Metering, now: datetime) -> str | None:
    """The flex account a shortfall of this month goes to (``flex:2026-01``), or ``None``
    when the policy takes no flex."""
    if metering.depletion is DepletionPolicy.UNLIMITED:
        return f"unlimited:{now:%Y-%m}"
    if metering.depletion is DepletionPolicy.FLEX and metering.flex_enabled:
        return f"flex:{now:%Y-%m}"
    return None


@dataclass(slots=True)
class Account:
    """One organization as loaded under its lock.

    Attributes:
        metering: its plan, policy, consumption order, card and entry count.
        grants: its grants with credits left (the pool keeps the spendable ones).
        flex_used: micro-credits of flex granted this month under :func:`flex_ref`.
        open_holds: how many of its holds are open (only read when its plan limits them).
        rate_cards: the history of its rate card (``None``: not loaded, or none).
        projects, members: of the ids the commands name, those that are its own.
    """

    metering: Metering
    grants: Sequence[Grant] = ()
    flex_used: int = 0
    open_holds: int = 0
    rate_cards: RateCardHistory | None = None
    projects: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()


@dataclass(slots=True)
class Books:
    """What a group's decision needs, loaded under the organizations' locks.

    Attributes:
        accounts: by organization id (an id missing here is an unknown organization).
        events: stored usage events under the ids of the group's events.
        keys: stored idempotency records (request hash, outcome) under the group's keys.
        reservations: the reservations the group settles, with their stored outcome.
    """

    accounts: dict[str, Account]
    events: Mapping[tuple[str, str], StoredUsage] = field(default_factory=dict)
    keys: Mapping[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    reservations: Mapping[tuple[str, str], tuple[Reservation, dict[str, Any] | None]] = field(
        default_factory=dict
    )


class NewFlexGrant(NamedTuple):
    grant_id: str
    grant: NewGrant
    seq: int


@dataclass(slots=True)
class Decision:
    """What a group decided: a result per command, and what to write.

    Attributes:
        results: per command, in order: an :class:`EventResult`, :class:`Reservation`,
            :class:`Settlement` or :class:`DebitResult`, or the error that refused it.
        usage_rows: events to store with their outcomes (accepted and refused).
        new_reservations: holds made.
        settled: reservations whose state changed, with the outcome to store (final
            settlements) or ``None``.
        keys: idempotency records to store (organization, key, hash, outcome).
        grants: flex grants to create (before the entries that name them).
        entries: ledger entries, in order.
        grant_moves: each grant's net change.
        balances: per organization: (balance change, entries written, held change).
    """

    results: list[Any] = field(default_factory=list)
    usage_rows: list[StoredUsage] = field(default_factory=list)
    new_reservations: list[Reservation] = field(default_factory=list)
    settled: list[tuple[Reservation, dict[str, Any] | None]] = field(default_factory=list)
    keys: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    grants: list[NewFlexGrant] = field(default_factory=list)
    entries: list[NewEntry] = field(default_factory=list)
    grant_moves: dict[str, int] = field(default_factory=dict)
    balances: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return bool(
            self.usage_rows or self.new_reservations or self.settled or self.keys or self.entries
        )


# -- the decision --------------------------------------------------------------------------

_NO_GATES = Gates()
_NO_COMPONENTS: tuple[tuple[str, int], ...] = ()
_PRICING_ERRORS = (InvalidUsage, UnknownOperation, NotFound)
_ACCEPTED = DebitStatus.ACCEPTED


class Ledger:
    """One organization's running state while a group is decided.

    It owns the pool of spendable grants, the month's flex and the holds count; every
    charge goes through :meth:`take`, which applies the depletion policy.
    """

    def __init__(
        self,
        account: Account,
        now: datetime,
        new_id: Callable[[str], str],
        out: Decision,
        books: Books | None = None,
    ) -> None:
        m = account.metering
        self.books = books if books is not None else Books({})
        self.account = account
        self.m = m
        self.org_id = m.org_id
        self.now = now
        # Suspended for an overdue invoice (dunning): nothing is spendable, no flex.
        grants = () if m.hold is not None else account.grants
        self.pool = Pool(m.org_id, grants, now, m.order, empty=True)
        self.ref = None if m.hold is not None else flex_ref(m, now)
        self.flex_used = account.flex_used
        self.open_holds = account.open_holds
        self.held = 0
        self.seq = m.entry_count
        self._new_id = new_id
        self._out = out
        self.gated = m.plan.gates != _NO_GATES
        # usage consumption netted per (grant, project, member): [amount, event id or None]
        self.consumed: dict[tuple[str, str | None, str | None], list[Any]] = {}
        self.seen: dict[str, tuple[str, EventResult, datetime]] = {}
        self.keys: dict[str, tuple[str, Any]] = {}
        # reservations made or settled in this group, and their stored outcomes
        self.reservations: dict[str, Reservation] = {}
        self.outcomes: dict[str, dict[str, Any] | None] = {}

    # -- the depletion policy ----------------------------------------------------------

    def room(self) -> int | None:
        """Flex this organization may still take this month (``None``: no cap)."""
        if self.ref is None:
            return 0
        limit = self.m.plan.flex_limit
        if self.m.depletion is DepletionPolicy.UNLIMITED or limit is None:
            return None
        return max(0, limit - self.flex_used)

    def refusal(self, cost: int, available: int) -> InsufficientCredits:
        if self.m.hold is not None:
            return InsufficientCredits(self.org_id, cost, 0, overdue_invoice=self.m.hold)
        if self.ref is None or self.m.depletion is DepletionPolicy.UNLIMITED:
            return InsufficientCredits(self.org_id, cost, available)
        limit = self.m.plan.flex_limit
        room = self.room() or 0
        return InsufficientCredits(
            self.org_id, cost, available + room, flex_limit=limit, flex_used=self.flex_used
        )

    def cover(self, short: int) -> int:
        """Grant ``short`` micro-credits of flex into the pool, if the policy allows all
        of it (a shortfall is covered whole or not at all); how much it granted."""
        room = self.room()
        amount = short
        if amount <= 0 or self.ref is None or (room is not None and room < short):
            return 0
        grant_id = self._new_id("grt")
        new = NewGrant(
            self.org_id, GrantKind.FLEX, amount, self.now, None,
            GrantSource(SourceType.SYSTEM, self.ref),
        )  # fmt: skip
        self._out.grants.append(NewFlexGrant(grant_id, new, self.seq))
        self.seq += 1
        self._out.entries.append(
            NewEntry(self.org_id, grant_id, EntryType.GRANT, amount,
                     Cause(CauseType.SYSTEM, self.ref), self.now)
        )  # fmt: skip
        self.pool.add(grant_id, amount)
        self.flex_used += amount
        return amount

    def take(
        self,
        cost: int,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        flex: bool = True,
    ) -> tuple[Allocation, ...]:
        """Take ``cost`` for ``operation`` (scoped grants covering it first, then the
        general ones), the shortfall as the policy allows.

        Raises:
            InsufficientCredits: the grants and the policy cannot cover it whole (naming
                the flex limit when that is what stops it); nothing changed.
        """
        pool = self.pool
        if pool.scoped is None or operation is None:
            available = pool.available
        else:
            available = pool.available_for(operation, dimensions)
        if cost <= available:
            return pool.take(cost, operation, dimensions) if cost else ()
        if not flex:
            if self.m.hold is not None:
                raise self.refusal(cost, available)
            raise InsufficientCredits(self.org_id, cost, available)
        short = cost - available
        room = self.room()
        if self.ref is None or (room is not None and room < short):
            raise self.refusal(cost, available)
        self.cover(short)
        return pool.take(cost, operation, dimensions)

    def check_attribution(self, project_id: str | None, member_id: str | None) -> None:
        if project_id is not None and project_id not in self.account.projects:
            raise ProjectNotFound(project_id)
        if member_id is not None and member_id not in self.account.members:
            raise MemberNotFound(member_id)


def decide(
    books: Books,
    commands: Sequence[Command],
    now: datetime,
    new_id: Callable[[str], str],
) -> Decision:
    """Decide a group of commands in order (see the module docstring).

    ``now`` is the instant of the group (read once its locks are held); ``new_id``
    makes the ids of new reservations, grants and the batch (``new_id("res")``).
    """
    out = Decision()
    ledgers: dict[str, Ledger] = {}
    results = out.results

    def ledger(org_id: str) -> Ledger | None:
        found = ledgers.get(org_id)
        if found is None:
            account = books.accounts.get(org_id)
            if account is None:
                return None
            found = ledgers[org_id] = Ledger(account, now, new_id, out, books)
        return found

    usage = _Usage(books, now, new_id, out)
    for cmd in commands:
        book = ledger(cmd.org_id)
        if isinstance(cmd, UsageEvent):
            if book is None:
                results.append(_rejected(cmd, OrganizationNotFound(cmd.org_id)))
            else:
                results.append(usage.decide(book, cmd))
        elif book is None:
            error = OrganizationNotFound(cmd.org_id)
            if isinstance(cmd, Spend):
                results.append(DebitResult(DebitStatus.REJECTED, 0, cmd.cause, error=error))
            else:
                results.append(error)
        else:
            results.append(_one(book, cmd, out))
    for book in ledgers.values():
        usage.consume_entries(book)
    _moves(ledgers, out)
    return out


def _one(book: Ledger, cmd: Reserve | Settle | Spend, out: Decision) -> Any:
    """A hold, a settlement or a debit: its result, or the error that refused it."""
    try:
        if isinstance(cmd, Reserve):
            return _reserve(book, cmd, out)
        if isinstance(cmd, Settle):
            return _settle(book, cmd, out)
        return _spend(book, cmd, out)
    except CreditlineError as exc:
        return exc


def _moves(ledgers: Mapping[str, Ledger], out: Decision) -> None:
    """Net each grant's change (its entries but the grant entries of flex grants made
    here, which are stored with their amount) and each organization's balance change
    (all of its entries)."""
    sums: dict[str, list[int]] = {}
    moves = out.grant_moves
    grant = EntryType.GRANT
    for entry in out.entries:
        found = sums.get(entry.org_id)
        if found is None:
            sums[entry.org_id] = [entry.amount, 1]
        else:
            found[0] += entry.amount
            found[1] += 1
        if entry.type is not grant:
            moves[entry.grant_id] = moves.get(entry.grant_id, 0) + entry.amount
    for org_id, book in ledgers.items():
        delta, count = sums.get(org_id, (0, 0))
        if count or book.held:
            out.balances[org_id] = (delta, count, book.held)


# -- usage events --------------------------------------------------------------------------


def _rejected(event: UsageEvent, exc: CreditlineError) -> EventResult:
    return EventResult(event.event_id, EventStatus.REJECTED, 0, str(exc), exc)


def _replayed(stored: StoredUsage) -> EventResult:
    reason = stored.reason
    if stored.status == "voided":
        reason = "the event was voided; its credits were given back"
    return EventResult(
        stored.event_id, EventStatus.DUPLICATE, stored.cost, reason, None,
        stored.rate_card, stored.components,
    )  # fmt: skip


def event_hash(event: UsageEvent, at: datetime) -> str:
    """An event's fingerprint, read at ``at`` when it came without a time."""
    if event.occurred_at is None:
        event = replace(event, occurred_at=at)
    return hashlib.sha256(event.request_key().encode()).hexdigest()


class _Usage:
    """Usage events of a group, decided one by one on their organization's ledger."""

    def __init__(
        self,
        books: Books,
        now: datetime,
        new_id: Callable[[str], str],
        out: Decision,
    ) -> None:
        self.books = books
        self.now = now
        self.new_id = new_id
        self.out = out
        self._batch: str | None = None

    @property
    def batch_id(self) -> str:
        if self._batch is None:
            self._batch = self.new_id("ub")
        return self._batch

    def _prior(self, book: Ledger, event_id: str) -> tuple[str, EventResult, datetime] | None:
        """The first outcome of an event id, in this group or stored before."""
        prior = book.seen.get(event_id)
        if prior is None:
            stored = self.books.events.get((book.org_id, event_id))
            if stored is not None:
                prior = (stored.request_hash, _replayed(stored), stored.event.at)
                book.seen[event_id] = prior
        return prior

    def decide(self, book: Ledger, event: UsageEvent) -> EventResult:
        prior = self._prior(book, event.event_id)
        if prior is not None:
            if event_hash(event, prior[2]) != prior[0]:
                return _rejected(event, IdempotencyKeyReused(event.event_id))
            return prior[1]._replace(status=EventStatus.DUPLICATE, error=None)
        if event.occurred_at is None:  # stamped with the time it was first received
            event = replace(event, occurred_at=self.now)
        request_hash = hashlib.sha256(event.request_key().encode()).hexdigest()
        try:
            charge = self._price(book, event)
        except _PRICING_ERRORS as exc:
            return _rejected(event, exc)
        if book.gated:
            try:
                _check_gates(book.m.plan, event)
            except PlanGateRefused as exc:
                return self._store(
                    book, event, request_hash, EventStatus.REFUSED, charge, error=exc
                )
        return self._pay(book, event, request_hash, charge)

    def _pay(
        self, book: Ledger, event: UsageEvent, request_hash: str, charge: Charge
    ) -> EventResult:
        """Take a priced event's cost (netted per grant, project, member), or refuse it."""
        try:
            allocations = book.take(charge.total, event.operation, event.dimensions)
        except InsufficientCredits as exc:
            reason = str(exc)
            if book.m.depletion is DepletionPolicy.READ_ONLY:
                until = "credits are bought" if book.m.hold is None else "the invoice is paid"
                reason += f"; the organization is read-only until {until}"
            return self._store(
                book, event, request_hash, EventStatus.REFUSED, charge, error=exc, reason=reason
            )
        consumed = book.consumed
        for grant_id, amount in allocations:
            key = (grant_id, event.project_id, event.member_id)
            taken = consumed.get(key)
            if taken is None:
                consumed[key] = [amount, event.event_id]
            else:
                taken[0] += amount
                taken[1] = None  # several events: the entry names the batch
        return self._store(
            book, event, request_hash, EventStatus.ACCEPTED, charge, allocations=allocations
        )

    @staticmethod
    def _price(book: Ledger, event: UsageEvent) -> Charge:
        """Check attribution and price the event (bad input is rejected, not refused)."""
        if event.project_id is not None or event.member_id is not None:
            book.check_attribution(event.project_id, event.member_id)
        return _charge(book.account.rate_cards, book.m.rate_card, event)

    def _store(
        self,
        book: Ledger,
        event: UsageEvent,
        request_hash: str,
        status: EventStatus,
        charge: Charge | None,
        *,
        allocations: tuple[Allocation, ...] = (),
        error: CreditlineError | None = None,
        reason: str | None = None,
    ) -> EventResult:
        """Keep the event's row and result; a refusal's reason defaults to its error's."""
        if reason is None and error is not None:
            reason = str(error)
        cost, card, components = 0, None, _NO_COMPONENTS
        if charge is not None:
            cost = charge.total if status is EventStatus.ACCEPTED else 0
            card, components = f"{charge.card}@{charge.version}", charge.components
        self.out.usage_rows.append(
            StoredUsage(event, request_hash, status.value, cost, reason, card, components,
                        allocations, self.batch_id)
        )  # fmt: skip
        result = EventResult(event.event_id, status, cost, reason, error, card, components)
        book.seen[event.event_id] = (request_hash, result, event.at)
        return result

    def consume_entries(self, book: Ledger) -> None:
        """One consume entry per (grant, project, member) the group's events drew from.

        Its cause is the event when one event made it, else the batch.
        """
        if not book.consumed:
            return
        org_id, now = book.org_id, self.now
        batch = Cause(CauseType.USAGE_BATCH, self.batch_id)
        self.out.entries.extend(
            NewEntry(org_id, grant_id, EntryType.CONSUME, -amount,
                     batch if event_id is None else Cause(CauseType.USAGE_EVENT, event_id),
                     now, project_id, member_id)
            for (grant_id, project_id, member_id), (amount, event_id) in book.consumed.items()
        )  # fmt: skip


def check_event_gates(plan: Plan, event: UsageEvent) -> None:
    """The plan's gates on the event and on each step of a pipeline run."""
    _check_gates(plan, event)


def _check_gates(plan: Plan, event: UsageEvent) -> None:
    check_gates(plan, event.operation, event.quantities, event.dimensions)
    for step in event.steps:
        check_gates(plan, step.operation, step.quantities, step.dimensions)


def price_event(history: RateCardHistory | None, name: str, event: UsageEvent) -> Charge:
    """What an event costs by card ``name`` at its own time (``history`` of that card)."""
    return _charge(history, name, event)


def _charge(history: RateCardHistory | None, name: str, event: UsageEvent) -> Charge:
    if history is None:
        raise RateCardNotFound(name)
    at = event.at
    if not event.steps:
        return history.charge(event.operation, event.quantities, event.dimensions, at=at)
    steps = tuple(Step(s.operation, s.quantities, s.dimensions) for s in event.steps)
    return history.charge(event.operation, event.quantities, event.dimensions, at=at, steps=steps)


# -- holds ---------------------------------------------------------------------------------


def _key_replay(book: Ledger, key: str, request_hash: str) -> Any | None:
    """The first outcome stored under ``key`` (in this group or before), or ``None``."""
    seen = book.keys.get(key)
    if seen is None:
        stored = book.books.keys.get((book.org_id, key))
        if stored is None:
            return None
        seen = (stored[0], stored[1])
    if seen[0] != request_hash:
        raise IdempotencyKeyReused(key)
    return seen[1]


def _reserve(book: Ledger, cmd: Reserve, out: Decision) -> Reservation:
    request_hash = None
    if cmd.idempotency_key is not None:
        request_hash = reserve_fingerprint(cmd)
        stored = _key_replay(book, cmd.idempotency_key, request_hash)
        if stored is not None:
            if isinstance(stored, Reservation):
                return book.reservations.get(stored.id, stored)
            return _reservation(book, stored["reservation_id"])[0]
    book.check_attribution(cmd.project_id, cmd.member_id)
    limit = book.m.plan.max_open_reservations
    if limit is not None and book.open_holds >= limit:
        raise PlanGateRefused(
            book.m.plan.name, "max_open_reservations",
            f"{book.open_holds} holds are open and the plan allows {limit} at once; "
            "commit or release one first",
        )  # fmt: skip
    holds = book.take(cmd.amount, cmd.operation, cmd.dimensions, flex=False)
    now = book.now
    res_id = book._new_id("res")
    hold = Cause(CauseType.RESERVATION, res_id)
    out.entries.extend(
        NewEntry(book.org_id, a.grant_id, EntryType.RESERVE, -a.amount, hold, now,
                 cmd.project_id, cmd.member_id)
        for a in holds
    )  # fmt: skip
    res = Reservation(
        id=res_id, org_id=book.org_id, status=ReservationStatus.OPEN, amount=cmd.amount,
        held=cmd.amount, consumed=0, shortfall=0, holds=holds, cause=cmd.cause or hold,
        project_id=cmd.project_id, member_id=cmd.member_id, expires_at=now + cmd.ttl,
        created_at=now, metadata=dict(cmd.metadata), operation=cmd.operation,
        dimensions=dict(cmd.dimensions or {}),
    )  # fmt: skip
    out.new_reservations.append(res)
    book.held += cmd.amount
    book.open_holds += 1
    if cmd.idempotency_key is not None and request_hash is not None:
        book.keys[cmd.idempotency_key] = (request_hash, res)
        out.keys.append(
            (book.org_id, cmd.idempotency_key, request_hash, {"reservation_id": res_id})
        )
    return res


def _reservation(book: Ledger, res_id: str) -> tuple[Reservation, dict[str, Any] | None]:
    """A reservation as this group left it (or as loaded), with its stored outcome."""
    found = book.reservations.get(res_id)
    if found is not None:
        return found, book.outcomes.get(res_id)
    stored = book.books.reservations.get((book.org_id, res_id))
    if stored is None:
        raise ReservationNotFound(res_id)
    return stored


# -- settlements ---------------------------------------------------------------------------


def _entries(
    res: Reservation, kind: EntryType, parts: Iterable[Allocation], cause: Cause, now: datetime
) -> list[NewEntry]:
    sign = -1 if kind is EntryType.CONSUME else 1
    return [
        NewEntry(res.org_id, g, kind, sign * a, cause, now, res.project_id, res.member_id)
        for g, a in parts
    ]


def _replay_settlement(res: Reservation, outcome: dict[str, Any] | None) -> Settlement:
    stored = outcome or {}
    return Settlement(
        res, stored.get("consumed", 0), stored.get("released", 0), stored.get("shortfall", 0),
        replayed=True,
    )  # fmt: skip


def _settle(book: Ledger, cmd: Settle, out: Decision) -> Settlement:
    res, outcome = _reservation(book, cmd.reservation_id)
    if not res.is_open:
        return _replay_settlement(res, outcome)
    now = book.now
    releasing = cmd.amount is None
    final = cmd.final or releasing
    plan: CommitPlan = plan_commit(res.holds, 0 if cmd.amount is None else cmd.amount)
    hold = Cause(CauseType.RESERVATION, res.id)
    entries = _entries(res, EntryType.RELEASE, plan.from_hold, hold, now)
    entries += _entries(res, EntryType.CONSUME, plan.from_hold, res.cause, now)
    released = 0
    pool = book.pool
    if final:
        entries += _entries(res, EntryType.RELEASE, plan.kept, hold, now)
        released = sum(a.amount for a in plan.kept)
        for grant_id, amount in plan.kept:  # spendable again by the next command
            pool.give(grant_id, amount)
    operation, dimensions = res.operation, res.dimensions
    available = pool.available_for(operation, dimensions)
    if plan.excess > available:  # the policy may cover the rest with flex
        book.cover(plan.excess - available)
        available = pool.available_for(operation, dimensions)
    covered = min(plan.excess, available)
    if covered:
        taken = pool.take(covered, operation, dimensions)
        entries += _entries(res, EntryType.CONSUME, taken, res.cause, now)
    consumed = sum(a.amount for a in plan.from_hold) + covered
    shortfall = plan.excess - covered
    unheld = sum(a.amount for a in plan.from_hold) + released
    status = ReservationStatus.OPEN
    if final:
        status = ReservationStatus.RELEASED if releasing else ReservationStatus.COMMITTED
    res = replace(
        res, status=status, held=res.held - unheld, holds=() if final else plan.kept,
        consumed=res.consumed + consumed, shortfall=res.shortfall + shortfall,
        settled_at=now if final else None,
    )  # fmt: skip
    stored_outcome = (
        {"consumed": consumed, "released": released, "shortfall": shortfall} if final else None
    )
    book.reservations[res.id] = res
    book.outcomes[res.id] = stored_outcome
    out.settled.append((res, stored_outcome))
    out.entries.extend(entries)
    book.held -= unheld
    if final:
        book.open_holds -= 1
    return Settlement(res, consumed, released, shortfall)


# -- debits --------------------------------------------------------------------------------


def debit_outcome(result: DebitResult) -> dict[str, Any]:
    """A debit's outcome as stored under its idempotency key."""
    assert result.cause is not None
    stored: dict[str, Any] = {
        "status": result.status.value,
        "amount": result.amount,
        "cause": [result.cause.type.value, result.cause.ref],
        "allocations": [[a.grant_id, a.amount] for a in result.allocations],
    }
    error = result.error
    if isinstance(error, InsufficientCredits):
        stored["needed"] = error.needed
        stored["available"] = error.available
        if error.flex_limit is not None:
            stored["flex_limit"] = error.flex_limit
            stored["flex_used"] = error.flex_used
        if error.overdue_invoice is not None:
            stored["overdue_invoice"] = error.overdue_invoice
    return stored


def debit_from_outcome(org_id: str, stored: Mapping[str, Any]) -> DebitResult:
    """A debit's stored outcome, replayed."""
    status = DebitStatus(stored["status"])
    error = None
    if status is DebitStatus.REFUSED:
        error = InsufficientCredits(
            org_id, stored["needed"], stored["available"],
            flex_limit=stored.get("flex_limit"), flex_used=stored.get("flex_used"),
            overdue_invoice=stored.get("overdue_invoice"),
        )  # fmt: skip
    return DebitResult(
        status=status,
        amount=stored["amount"],
        cause=Cause(CauseType(stored["cause"][0]), stored["cause"][1]),
        allocations=tuple(Allocation(g, a) for g, a in stored["allocations"]),
        replayed=True,
        error=error,
    )


def _spend(book: Ledger, cmd: Spend, out: Decision) -> DebitResult:
    debit, key, cause = cmd.debit, cmd.debit.idempotency_key, cmd.cause
    if key is not None or debit.project_id is not None or debit.member_id is not None:
        try:
            if key is not None and cmd.request_hash is not None:
                seen = _key_replay(book, key, cmd.request_hash)
                if seen is not None:
                    first = seen if isinstance(seen, DebitResult) else None
                    if first is None:
                        first = debit_from_outcome(book.org_id, seen)
                    return first._replace(replayed=True)
            book.check_attribution(debit.project_id, debit.member_id)
        except CreditlineError as exc:
            return DebitResult(DebitStatus.REJECTED, 0, cause, error=exc)
    try:
        allocations = book.take(
            debit.amount, debit.operation, debit.dimensions,
            flex=cmd.entry_type is EntryType.CONSUME,
        )  # fmt: skip
    except InsufficientCredits as exc:
        result = DebitResult(DebitStatus.REFUSED, debit.amount, cause, error=exc)
    else:
        # tuple.__new__ skips the named tuples' generated __new__: this runs per debit.
        append, org_id, kind, now = out.entries.append, book.org_id, cmd.entry_type, book.now
        project, member, meta = debit.project_id, debit.member_id, debit.metadata
        for grant_id, amount in allocations:
            append(
                tuple.__new__(
                    NewEntry, (org_id, grant_id, kind, -amount, cause, now, project, member, meta)
                )
            )
        result = tuple.__new__(
            DebitResult, (_ACCEPTED, debit.amount, cause, allocations, False, None)
        )
    if key is not None and cmd.request_hash is not None:
        book.keys[key] = (cmd.request_hash, result)
        out.keys.append((book.org_id, key, cmd.request_hash, debit_outcome(result)))
    return result
