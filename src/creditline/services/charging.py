"""Applying a group of charging commands in one transaction (C1, C6, B2).

Usage batches, reserves, commits, releases, extensions and increases, and spends of
many callers are applied together by :func:`apply_group`, in arrival order:

1. each command is checked on its own (bad input is answered at once, no lock taken);
2. lock and load: the organizations involved are locked in the order of their ids (so
   two groups, in this process or another, never deadlock), then everything the
   decision needs is read with one statement per kind of row;
3. one decision (:func:`creditline.domain.charging.decide`): each command decided on
   the state the previous ones left, a refused or invalid one changing nothing;
4. write, set-based (one statement per table, each grant and balance row once), and
   one commit for the whole group.

A command's answer is what its own call returns (:class:`Answer`): a refused reserve
answers its error, a refused debit or event its result; one command's refusal never
undoes another's write. The group commit writer (``Creditline.submit``) answers its
callers only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from creditline.domain.charging import (
    Account,
    Books,
    Command,
    Debit,
    DebitResult,
    Decision,
    Extend,
    Increase,
    Reserve,
    Settle,
    Spend,
    check_extend,
    check_increase,
    check_reserve,
    check_settle,
    decide,
    flex_ref,
    prepare_debit,
    slot_of,
)
from creditline.domain.errors import (
    CreditlineError,
    InvalidSetting,
    InvalidUsage,
    OrganizationNotFound,
)
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.pricing import RateCardHistory
from creditline.domain.purchases import Purchase
from creditline.domain.reservations import Reservation
from creditline.domain.time import Clock
from creditline.domain.usage import EventResult, EventStatus, UsageEvent
from creditline.services import budgets, grace, topups
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "Answer",
    "RecordUsage",
    "SpendCredits",
    "WriteCommand",
    "apply_group",
    "weight",
]


@dataclass(frozen=True, slots=True)
class RecordUsage:
    """Record ``events``; made with the limited API key ``key_id``, if any."""

    events: Sequence[UsageEvent]
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class SpendCredits:
    """Take ``debits`` from ``org_id``; made with the limited API key ``key_id``, if any."""

    org_id: str
    debits: Sequence[Debit]
    entry_type: EntryType = EntryType.CONSUME
    key_id: str | None = None


WriteCommand = RecordUsage | Reserve | Settle | Extend | Increase | SpendCredits
"""A command that moves credits: what a group is made of."""


class Answer(NamedTuple):
    """One command's answer: what its call returns, or the error it raises."""

    value: Any = None
    error: BaseException | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def weight(command: WriteCommand) -> int:
    """How much of a group a command takes (its events or debits)."""
    if isinstance(command, RecordUsage):
        return max(1, len(command.events))
    if isinstance(command, SpendCredits):
        return max(1, len(command.debits))
    return 1


class _Slot:
    """Where the items of one command sit in the group's flat list of domain commands."""

    __slots__ = ("answer", "command", "items", "results")

    def __init__(self, command: WriteCommand) -> None:
        self.command = command
        self.answer: Answer | None = None  # answered before the decision (bad input)
        self.items: list[int] = []  # indexes in the flat list, in order
        self.results: list[Any] = []  # per event or debit: a ready result or None


def _keys(slots: Sequence[_Slot], size: int) -> list[str | None] | None:
    """The limited API key of each domain command (``None`` when no command has one)."""
    if all(getattr(slot.command, "key_id", None) is None for slot in slots):
        return None
    keys: list[str | None] = [None] * size
    for slot in slots:
        key_id = getattr(slot.command, "key_id", None)
        for i in slot.items:
            keys[i] = key_id
    return keys


def _flatten(
    commands: Sequence[WriteCommand], checked_at: datetime
) -> tuple[list[_Slot], list[Command]]:
    """Check each command alone, and list the domain commands of those that go on."""
    slots: list[_Slot] = []
    flat: list[Command] = []
    for command in commands:
        slot = _Slot(command)
        slots.append(slot)
        try:
            for item in _items(command, checked_at, slot.results):
                slot.items.append(len(flat))
                flat.append(item)
        except (CreditlineError, TypeError) as exc:
            slot.answer = Answer(error=exc)
            del flat[len(flat) - len(slot.items) :]
            slot.items.clear()
    return slots, flat


_CHECKS: dict[type, Callable[[Any], None]] = {
    Reserve: check_reserve,
    Settle: check_settle,
    Extend: check_extend,
    Increase: check_increase,
}
"""The commands that are one domain command each, and their checks before any lock."""


def _items(command: WriteCommand, checked_at: datetime, ready: list[Any]) -> list[Command]:
    """A command's domain commands; an event or debit refused at once goes to ``ready``
    (the others leave ``None`` there, their place)."""
    check = _CHECKS.get(type(command))
    if check is not None:
        check(command)
        return [command]  # type: ignore[list-item]
    items: list[Command] = []
    if isinstance(command, RecordUsage):
        for event in command.events:
            problems = event.problems(checked_at)
            if problems:
                error = InvalidUsage(str(event.operation), problems)
                ready.append(
                    EventResult(event.event_id, EventStatus.REJECTED, 0, str(error), error)
                )
            else:
                ready.append(None)
                items.append(event)
        return items
    if not isinstance(command, SpendCredits):
        raise TypeError(f"not a write command: {command!r}")
    if command.entry_type not in (EntryType.CONSUME, EntryType.ADJUSTMENT):
        raise InvalidSetting("entry type", command.entry_type, "a debit consumes or adjusts")
    # Debits given neither a cause nor a key share one cause: this call.
    default = Cause(CauseType.DEBIT, new_id("dbt"))
    for debit in command.debits:
        prepared = prepare_debit(command.org_id, debit, command.entry_type, default)
        if isinstance(prepared, DebitResult):
            ready.append(prepared)
        else:
            ready.append(None)
            items.append(prepared)
    return items


def _answers(slots: list[_Slot], results: Sequence[Any]) -> list[Answer]:
    answers = []
    for slot in slots:
        if slot.answer is not None:
            answers.append(slot.answer)
            continue
        command = slot.command
        if isinstance(command, RecordUsage | SpendCredits):
            found = iter(slot.items)
            merged = [r if r is not None else results[next(found)] for r in slot.results]
            if isinstance(command, SpendCredits) and any(
                isinstance(r.error, OrganizationNotFound) for r in merged
            ):  # a spend names one organization: no such one fails it whole
                answers.append(Answer(error=OrganizationNotFound(command.org_id)))
            else:
                answers.append(Answer(merged))
            continue
        result = results[slot.items[0]]
        if isinstance(result, BaseException):
            answers.append(Answer(error=result))
        else:
            answers.append(Answer(result))
    return answers


class _Wanted:
    """What a group's commands name: the rows to load besides the organizations' (of an
    organization that does not exist, none is found)."""

    def __init__(self, flat: Sequence[Command]) -> None:
        self.events: list[tuple[str, str]] = []
        self.keys: set[tuple[str, str]] = set()
        self.reservations: set[tuple[str, str]] = set()
        self.projects: set[str] = set()
        self.members: set[str] = set()
        self.reserving: set[str] = set()
        self.pricing: set[str] = set()
        self.quotes: set[str] = set()
        for c in flat:
            self._add(c)

    def _add(self, c: Command) -> None:
        if isinstance(c, Settle | Extend | Increase):
            self.reservations.add((c.org_id, c.reservation_id))
            if isinstance(c, Settle) and c.quote_id is not None:
                self.quotes.add(c.quote_id)
            if isinstance(c, Increase) and c.idempotency_key is not None:
                self.keys.add((c.org_id, c.idempotency_key))
            return
        if isinstance(c, UsageEvent):
            self.events.append((c.org_id, c.event_id))
            self.pricing.add(c.org_id)
            if c.quote_id is not None:
                self.quotes.add(c.quote_id)
            project, member, key = c.project_id, c.member_id, None
        elif isinstance(c, Spend):
            debit = c.debit
            project, member, key = debit.project_id, debit.member_id, debit.idempotency_key
        else:
            self.reserving.add(c.org_id)
            project, member, key = c.project_id, c.member_id, c.idempotency_key
        if key is not None:
            self.keys.add((c.org_id, key))
        if project is not None:
            self.projects.add(project)
        if member is not None:
            self.members.add(member)


def _load(
    uow: UnitOfWork,
    flat: Sequence[Command],
    clock: Clock,
    keys: Sequence[str | None] | None = None,
) -> tuple[Books, datetime]:
    """Lock the organizations (in the order of their ids), read the clock, and load
    everything the decision reads: one statement per kind of row. The rows the commands
    name (events, keys, reservations, the rate cards' versions) are read with the locks,
    in the same round trip on PostgreSQL."""
    charging = uow.charging
    wanted = _Wanted(flat)
    locked = charging.accounts(
        sorted({c.org_id for c in flat}),
        events=wanted.events,
        keys=sorted(wanted.keys),
        reservations=sorted(wanted.reservations),
        priced=sorted(wanted.pricing),
    )
    # Read the clock once the locks are held: entries' times then follow their ids.
    now = clock.now()
    accounts = {o: Account(m, locked.grants.get(o, [])) for o, m in locked.metering.items()}
    stored_keys = locked.keys
    reservations = dict(locked.reservations)
    behind_keys = set()
    for (org_id, _), (_, outcome) in stored_keys.items():
        res_id = outcome.get("reservation_id")
        if isinstance(res_id, str):  # a hold's key: its reservation is its outcome
            behind_keys.add((org_id, res_id))
    reservations.update(charging.reservations(sorted(behind_keys - reservations.keys())))
    refs = {o: flex_ref(a.metering, now) for o, a in accounts.items()}
    used = charging.flex_used(sorted((o, r) for o, r in refs.items() if r is not None))
    limited = [
        o
        for o in sorted(wanted.reserving)
        if o in accounts and accounts[o].metering.plan.max_open_reservations
    ]
    holds = charging.open_holds(limited)
    histories: dict[str, RateCardHistory | None] = {}
    for org_id, account in accounts.items():
        account.flex_used = used.get(org_id, 0)
        account.open_holds = holds.get(org_id, 0)
        if org_id in wanted.pricing:
            name = account.metering.rate_card
            if name not in histories:
                histories[name] = uow.rate_cards.history(name, locked.stamps.get(name, ()))
            account.rate_cards = histories[name]
    if wanted.projects or wanted.members:
        _attribution(uow, wanted, accounts)
    budgets.load_counts(uow, accounts, now)
    if reservations:
        _refillable(uow, reservations, accounts)
    books = Books(
        accounts,
        locked.events,
        stored_keys,
        reservations,
        quotes=uow.quotes.many(sorted(wanted.quotes)) if wanted.quotes else {},
    )
    key_ids = {k for k in keys or () if k is not None}
    key_ids.update(r.key_id for r, _ in reservations.values() if r.key_id is not None)
    if key_ids:
        _key_caps(uow, books, key_ids, now)
    return books, now


def _key_caps(uow: UnitOfWork, books: Books, key_ids: set[str], now: datetime) -> None:
    """The limited keys named, and what each counted in the windows the group charges:
    now's, and the windows its holds were made in."""
    limits = uow.api_keys.many(sorted(key_ids))
    slots = {slot_of(k, now) for k in limits.values()}
    for res, _ in books.reservations.values():
        key = limits.get(res.key_id) if res.key_id is not None else None
        if key is not None:
            slots.add(slot_of(key, res.created_at))
    books.key_limits = limits
    books.key_used = uow.charging.key_used(sorted(s for s in slots if s is not None))


def _refillable(
    uow: UnitOfWork,
    reservations: Mapping[tuple[str, str], tuple[Reservation, Any]],
    accounts: Mapping[str, Account],
) -> None:
    """Add the grants that open holds may give back to (spent ones are not loaded)."""
    have = {g.id for a in accounts.values() for g in a.grants}
    ids = {g for r, _ in reservations.values() if r.is_open for g, _ in r.holds} - have
    for grant in uow.charging.grants(sorted(ids)):
        account = accounts.get(grant.org_id)
        if account is not None:
            account.grants = [*account.grants, grant]


def _attribution(uow: UnitOfWork, wanted: _Wanted, accounts: Mapping[str, Account]) -> None:
    """Each organization's own projects and members, of those the commands name."""
    owned = uow.charging.owners(sorted(wanted.projects), sorted(wanted.members))
    for org_id, account in accounts.items():
        account.projects = frozenset(i for k, o, i in owned if k == "project" and o == org_id)
        account.members = frozenset(i for k, o, i in owned if k == "member" and o == org_id)


def _write(uow: UnitOfWork, decision: Decision, now: datetime, *, last: bool = False) -> None:
    """Write what the group decided, one statement per table.

    ``last``: the caller writes nothing after this, so where the rows' pipeline ends
    the group's writes, the commit travels with it (one round trip on PostgreSQL)."""
    for grant in decision.grants:  # flex grants: before the entries that name them
        uow.grants.add(grant.grant_id, grant.grant, now, seq=grant.seq)
    if decision.quotes_used:  # a few rows: before the pipeline, as the flex grants
        uow.quotes.use(decision.quotes_used, now)
    charging = uow.charging
    rows = len(decision.usage_rows) + len(decision.entries) + len(decision.keys)
    ends = last and not _limits_written(decision)
    with charging.pipeline(rows + len(decision.new_reservations), last=ends):
        if decision.usage_rows:
            uow.usage.add_many(decision.usage_rows, now)
        if decision.new_reservations:
            charging.add_reservations(decision.new_reservations)
        if decision.reshaped:  # first: an increase's amount before its held credits
            charging.reshape_reservations(decision.reshaped)
        if decision.settled:
            charging.save_reservations(decision.settled)
        if decision.keys:
            charging.add_keys(decision.keys, now)
        uow.ledger.append(decision.entries, now)
        uow.grants.apply(decision.grant_moves)
        charging.move_balances(decision.balances, now)
    _write_limits(uow, decision, now)


def _limits_written(decision: Decision) -> bool:
    """Whether :func:`_write_limits` writes anything for ``decision``."""
    return bool(
        decision.key_usage or decision.budget_usage or decision.budget_alerts
        or decision.standings
    )  # fmt: skip


def _write_limits(uow: UnitOfWork, decision: Decision, now: datetime) -> None:
    """The counts of what the group's limits saw (capped keys, budgets) and the grace
    transitions: rare, after the group's rows."""
    if decision.key_usage:
        uow.charging.count_key_usage(decision.key_usage)
    if decision.budget_usage or decision.budget_alerts:
        budgets.write_counts(uow, decision, now)
    if decision.standings:  # grace (domain/grace.py)
        grace.record(uow, decision.transitions, decision.standings, now)


def apply_group(
    commands: Sequence[WriteCommand],
    uow: UnitOfWork,
    clock: Clock,
    *,
    before_commit: Callable[[list[Answer]], None] | None = None,
    provider: str | None = None,
    claimed: list[Purchase] | None = None,
) -> list[Answer]:
    """Apply ``commands`` in one transaction; an answer per command, in order.

    ``before_commit`` is given the answers once the group is written and before its
    commit: a test seam (a writer must never answer its callers there).

    Automatic top-ups (:mod:`creditline.services.topups`): the crossings of the group's
    organizations are claimed in its transaction, under its locks; the top-ups claimed
    are added to ``claimed`` (to be charged with ``provider`` after the commit).
    """
    slots, flat = _flatten(commands, clock.now())
    if not flat:
        return _answers(slots, [])
    keys = _keys(slots, len(flat))
    with uow:
        books, now = _load(uow, flat, clock, keys)
        seen = topups.watch(uow, books.accounts, now, provider)
        decision = decide(books, flat, now, new_id, keys)
        answers = _answers(slots, decision.results)
        if decision.writes:
            # The commit may ride with the rows when nothing is written after them.
            _write(uow, decision, now, last=seen is None and before_commit is None)
        if seen is not None:
            made = topups.settle_watch(uow, seen, now)
            if claimed is not None:
                claimed.extend(made)
        if decision.writes or seen is not None:
            if before_commit is not None and decision.writes:
                before_commit(answers)
            uow.commit()
    return answers
