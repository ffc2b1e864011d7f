"""What a service loads, under the organizations' locks, for a group's decision: each
organization's account (plan, grants, the month's flex) and the stored outcomes the
group's commands may replay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from creditline.domain.api_keys import ApiKey
from creditline.domain.charging.budgets import BudgetCount
from creditline.domain.grants import Grant
from creditline.domain.plans import DepletionPolicy
from creditline.domain.pricing import RateCardHistory
from creditline.domain.quotes import BindingQuote
from creditline.domain.reservations import Reservation
from creditline.domain.usage import Metering, StoredUsage

__all__ = ["Account", "Books", "flex_ref"]


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
        budgets: its budgets with what each counted in its running period (loaded only
            when it has budgets: see :mod:`creditline.domain.charging.budgets`).
    """

    metering: Metering
    grants: Sequence[Grant] = ()
    flex_used: int = 0
    open_holds: int = 0
    rate_cards: RateCardHistory | None = None
    projects: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    budgets: Sequence[BudgetCount] = ()


@dataclass(slots=True)
class Books:
    """What a group's decision needs, loaded under the organizations' locks.

    Attributes:
        accounts: by organization id (an id missing here is an unknown organization).
        events: stored usage events under the ids of the group's events.
        keys: stored idempotency records (request hash, outcome) under the group's keys.
        reservations: the reservations the group settles, with their stored outcome.
        key_limits: the API keys the commands (and their holds) name, by id.
        key_used: micro-credits each of them counted, by (key id, window start).
        quotes: the binding quotes the group's commands name, by id (any organization's:
            the decision refuses another's as unknown).
    """

    accounts: dict[str, Account]
    events: Mapping[tuple[str, str], StoredUsage] = field(default_factory=dict)
    keys: Mapping[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    reservations: Mapping[tuple[str, str], tuple[Reservation, dict[str, Any] | None]] = field(
        default_factory=dict
    )
    key_limits: Mapping[str, ApiKey] = field(default_factory=dict)
    key_used: Mapping[tuple[str, datetime], int] = field(default_factory=dict)
    quotes: Mapping[str, BindingQuote] = field(default_factory=dict)
