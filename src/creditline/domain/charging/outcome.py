"""What a group's decision comes to: a result per command, and the rows to write."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from creditline.domain.budgets import Budget
from creditline.domain.grace import GraceTransition, Standing
from creditline.domain.grants import NewGrant
from creditline.domain.ledger import NewEntry
from creditline.domain.reservations import Reservation
from creditline.domain.usage import StoredUsage

__all__ = ["BudgetAlert", "Decision", "NewFlexGrant"]


class NewFlexGrant(NamedTuple):
    grant_id: str
    grant: NewGrant
    seq: int


class BudgetAlert(NamedTuple):
    """A budget's consumption reached ``percent`` % of it in the period ``[start, end)``."""

    budget: Budget
    start: datetime
    end: datetime
    percent: int
    used: int


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
        reshaped: open holds whose amount or expiry changed (increased, extended).
        keys: idempotency records to store (organization, key, hash, outcome).
        grants: flex grants to create (before the entries that name them).
        entries: ledger entries, in order.
        grant_moves: each grant's net change.
        balances: per organization: (balance change, entries written, held change).
        key_usage: per capped API key's window (key id, window start): the change of
            what it spent (micro-credits).
        quotes_used: binding quotes used by the group: quote id to (organization, what
            used it, e.g. ``usage_event:evt_1``).
        budget_usage: per (budget, period start): [micro-credits consumed, the highest
            alert threshold fired] (budgets: :mod:`creditline.domain.charging.budgets`).
        budget_alerts: the budget thresholds reached, in order.
        transitions: grace transitions (:mod:`creditline.domain.grace`), in order.
        standings: per organization whose grace standing changed: the last one.
    """

    results: list[Any] = field(default_factory=list)
    usage_rows: list[StoredUsage] = field(default_factory=list)
    new_reservations: list[Reservation] = field(default_factory=list)
    settled: list[tuple[Reservation, dict[str, Any] | None]] = field(default_factory=list)
    reshaped: list[Reservation] = field(default_factory=list)
    keys: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    grants: list[NewFlexGrant] = field(default_factory=list)
    entries: list[NewEntry] = field(default_factory=list)
    grant_moves: dict[str, int] = field(default_factory=dict)
    balances: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    key_usage: dict[tuple[str, datetime], int] = field(default_factory=dict)
    quotes_used: dict[str, tuple[str, str]] = field(default_factory=dict)
    budget_usage: dict[tuple[str, datetime], list[int]] = field(default_factory=dict)
    budget_alerts: list[BudgetAlert] = field(default_factory=list)
    transitions: list[GraceTransition] = field(default_factory=list)
    standings: dict[str, Standing] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return bool(
            self.usage_rows
            or self.new_reservations
            or self.settled
            or self.reshaped
            or self.keys
            or self.entries
            or self.quotes_used
            or self.budget_usage
            or self.standings
        )
