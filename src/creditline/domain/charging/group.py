"""The decision of a group of commands (usage events, holds, settlements, debits).

Usage events, holds (reserve), their settlements (commit, release) and debits (spend,
negative adjustments) are all decided here, by :func:`decide`, on what a service
loaded under the organizations' locks (:class:`Books`), never touching storage.
:func:`decide` takes the commands of a group in arrival order and decides each on the
state the previous ones left: a refused or invalid command changes nothing for the
next. It returns a :class:`Decision`: a result per command (or its error), the rows to
store, the ledger entries, the grants to create and move, and each organization's
balance and held change, netted so that a writer touches each row once.

**Exactly once.** A usage event's id, and the idempotency key of a hold or a debit,
are looked up first (in what was stored and in the group so far): a replay answers
the first outcome, a refusal included, before any balance check; the same id or key
with another request is :class:`IdempotencyKeyReused`. An event sent without a time
is stamped with the time it was first received, and a retry without a time is the
same event: its missing time is read as the stored one.

**Keys' caps.** ``keys``, when given, names per command the limited API key it was
made with (``None``: none); its operations and cap are checked in
:mod:`~creditline.domain.charging.caps`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from creditline.domain.api_keys import ApiKey
from creditline.domain.charging.books import Books
from creditline.domain.charging.caps import key_of
from creditline.domain.charging.commands import (
    Command,
    DebitResult,
    DebitStatus,
    Extend,
    Increase,
    Reserve,
    Settle,
    Spend,
)
from creditline.domain.charging.holds import extend, increase, reserve, settle
from creditline.domain.charging.ledger import Ledger
from creditline.domain.charging.outcome import Decision
from creditline.domain.charging.spends import spend
from creditline.domain.charging.usage import GroupUsage, rejected
from creditline.domain.errors import CreditlineError, OrganizationNotFound
from creditline.domain.ledger import EntryType
from creditline.domain.usage import UsageEvent

__all__ = ["decide"]


def decide(
    books: Books,
    commands: Sequence[Command],
    now: datetime,
    new_id: Callable[[str], str],
    keys: Sequence[str | None] | None = None,
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

    usage = GroupUsage(books, now, new_id, out)
    for i, cmd in enumerate(commands):
        book = ledger(cmd.org_id)
        if book is None:
            results.append(_refused(cmd, OrganizationNotFound(cmd.org_id)))
            continue
        key_id = None if keys is None else keys[i]
        try:
            key = None if key_id is None else key_of(books, key_id, cmd.org_id)
        except CreditlineError as exc:
            results.append(_refused(cmd, exc))
            continue
        if isinstance(cmd, UsageEvent):
            results.append(usage.decide(book, cmd, key))
        else:
            results.append(_one(book, cmd, out, key))
    for book in ledgers.values():
        usage.consume_entries(book)
    _moves(ledgers, out)
    return out


def _refused(cmd: Command, error: CreditlineError) -> Any:
    """A command's answer when it cannot be decided at all (nothing changed)."""
    if isinstance(cmd, UsageEvent):
        return rejected(cmd, error)
    if isinstance(cmd, Spend):
        return DebitResult(DebitStatus.REJECTED, 0, cmd.cause, error=error)
    return error


def _one(
    book: Ledger,
    cmd: Reserve | Settle | Extend | Increase | Spend,
    out: Decision,
    key: ApiKey | None,
) -> Any:
    """A hold, a settlement, an extension, an increase or a debit: its result, or the
    error that refused it."""
    try:
        if isinstance(cmd, Reserve):
            return reserve(book, cmd, out, key)
        if isinstance(cmd, Settle):
            return settle(book, cmd, out)
        if isinstance(cmd, Extend):
            return extend(book, cmd, out)
        if isinstance(cmd, Increase):
            return increase(book, cmd, out)
        return spend(book, cmd, out, key)
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
