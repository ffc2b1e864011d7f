"""Usage events: each priced by the rate card in force at its time, checked against the
plan's gates, and paid (or refused) on its organization's ledger; one consume entry per
grant, project and member a group's events drew from."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from creditline.domain.api_keys import ApiKey
from creditline.domain.charging.books import Books
from creditline.domain.charging.caps import Slot, check_operation, check_room, count, slot_of
from creditline.domain.charging.ledger import Ledger
from creditline.domain.charging.outcome import Decision
from creditline.domain.charging.quotes import usable_quote, use_quote
from creditline.domain.errors import (
    BudgetExceeded,
    CreditlineError,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidUsage,
    KeyCapExceeded,
    NotFound,
    OperationNotAllowed,
    PlanGateRefused,
    QuoteExpired,
    QuoteMismatch,
    QuoteUsed,
    RateCardNotFound,
    UnknownOperation,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import DepletionPolicy, Plan, check_gates
from creditline.domain.pricing import Charge, RateCardHistory, Step
from creditline.domain.spending import Allocation
from creditline.domain.usage import EventResult, EventStatus, StoredUsage, UsageEvent

__all__ = ["GroupUsage", "check_event_gates", "event_hash", "price_event", "rejected"]


_NO_COMPONENTS: tuple[tuple[str, int], ...] = ()


_PRICING_ERRORS = (
    InvalidUsage, UnknownOperation, NotFound, OperationNotAllowed, QuoteExpired, QuoteMismatch,
    QuoteUsed,
)  # fmt: skip
"""Bad input, a key's operation it may not charge, and a quote that cannot be used: the
event is rejected, nothing stored (a corrected retry, or one without the quote, can
succeed)."""


def _check_operations(key: ApiKey, event: UsageEvent) -> None:
    """The key may charge the event's operation and each step's."""
    check_operation(key, event.operation)
    for step in event.steps:
        check_operation(key, step.operation)


def rejected(event: UsageEvent, exc: CreditlineError) -> EventResult:
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
        event = event.stamped(at)
    return hashlib.sha256(event.request_key().encode()).hexdigest()


class GroupUsage:
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

    def decide(self, book: Ledger, event: UsageEvent, api_key: ApiKey | None = None) -> EventResult:
        prior = self._prior(book, event.event_id)
        if prior is not None:
            if event_hash(event, prior[2]) != prior[0]:
                return rejected(event, IdempotencyKeyReused(event.event_id))
            return prior[1]._replace(status=EventStatus.DUPLICATE, error=None)
        if event.occurred_at is None:  # stamped with the time it was first received
            event = event.stamped(self.now)
        request_hash = hashlib.sha256(event.request_key().encode()).hexdigest()
        try:
            if api_key is not None:
                _check_operations(api_key, event)
            charge = self._price(book, event)
        except _PRICING_ERRORS as exc:
            return rejected(event, exc)
        if book.gated:
            try:
                _check_gates(book.m.plan, event)
            except PlanGateRefused as exc:
                return self._store(
                    book, event, request_hash, EventStatus.REFUSED, charge, error=exc
                )
        return self._pay(book, event, request_hash, charge, api_key)

    def _pay(
        self,
        book: Ledger,
        event: UsageEvent,
        request_hash: str,
        charge: Charge,
        api_key: ApiKey | None = None,
    ) -> EventResult:
        """Take a priced event's cost (netted per grant, project, member), or refuse it."""
        slot = None if api_key is None else slot_of(api_key, self.now)
        budgets = book.budgets
        if slot is not None or budgets is not None:
            try:
                self._check_limits(book, event, charge.total, api_key, slot)
            except (KeyCapExceeded, BudgetExceeded) as exc:
                return self._store(
                    book, event, request_hash, EventStatus.REFUSED, charge, error=exc
                )
        try:
            allocations = book.take(
                charge.total, event.operation, event.dimensions,
                cause=(CauseType.USAGE_EVENT.value, event.event_id),
            )  # fmt: skip
        except InsufficientCredits as exc:
            reason = str(exc)
            if book.m.depletion is DepletionPolicy.READ_ONLY:
                until = "credits are bought" if book.m.hold is None else "the invoice is paid"
                reason += f"; the organization is read-only until {until}"
            return self._store(
                book, event, request_hash, EventStatus.REFUSED, charge, error=exc, reason=reason
            )
        count(self.out, slot, charge.total)
        consumed = book.consumed
        for grant_id, amount in allocations:
            key = (grant_id, event.project_id, event.member_id)
            taken = consumed.get(key)
            if taken is None:
                consumed[key] = [amount, event.event_id]
            else:
                taken[0] += amount
                taken[1] = None  # several events: the entry names the batch
        if event.quote_id is not None:
            quote = book.books.quotes[event.quote_id]
            use_quote(book, quote, Cause(CauseType.USAGE_EVENT, event.event_id), self.out)
        if budgets is not None:
            budgets.consume(event.project_id, event.member_id, charge.total)
        return self._store(
            book, event, request_hash, EventStatus.ACCEPTED, charge, allocations=allocations
        )

    def _check_limits(
        self, book: Ledger, event: UsageEvent, total: int, key: ApiKey | None, slot: Slot | None
    ) -> None:
        """The capped key's room and the hard budgets covering the event must take ``total``.

        Raises:
            KeyCapExceeded: past the key's cap in its window.
            BudgetExceeded: past a hard budget of the event's project or member.
        """
        if slot is not None and key is not None:
            check_room(self.books, self.out, key, slot, total)
        if book.budgets is not None:
            book.budgets.check(event.project_id, event.member_id, total)

    def _price(self, book: Ledger, event: UsageEvent) -> Charge:
        """Check attribution and price the event (bad input is rejected, not refused):
        by the rate card in force at its time, or at a binding quote's price."""
        if event.project_id is not None or event.member_id is not None:
            book.check_attribution(event.project_id, event.member_id)
        if event.quote_id is not None:
            quote = usable_quote(book, event.quote_id, self.out)
            quote.check_usage(event.operation, event.quantities, event.dimensions, event.steps)
            steps = quote.breakdown.get("steps") or ()
            components = tuple((s["operation"], int(s["total_micros"])) for s in steps)
            return Charge(quote.card, quote.version, quote.total, components)
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
