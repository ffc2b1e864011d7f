"""A grace period between depletion and lock: the states an organization goes through
when its credits run out on a plan that grants grace.

**Terms** (:class:`GraceTerms`, a plan's ``grace_hours``, ``grace_credits``,
``grace_billing`` and ``read_only_hours``): when a charge finds the organization's
grants empty, instead of refusing it the organization enters **grace**; usage goes on
until ``grace_credits`` of grace are used (``None``: no amount limit) or
``grace_hours`` have passed since grace began (``None``: no time limit), whichever
comes first. What grace pays for is a ``flex`` grant made on the spot: billed with the
month's flex (``grace_billing = "flex"``, ref ``flex:YYYY-MM``) or written off, recorded
but never billed (``"write_off"``, ref ``write_off:YYYY-MM``); every credit is still a
ledger entry pointing at the charge that took it.

**States** (:class:`GraceState`), in order::

    active --(a charge finds no credits)--> grace --(grace used or its hours passed)-->
    read_only --(read_only_hours passed)--> paused

- ``active``: charging as the depletion policy says.
- ``grace``: charges the grants cannot cover are paid by grace.
- ``read_only``: every new charge (usage, hold, debit) is refused, naming the state:
  the platform keeps the organization's data readable but locks its writes. It lasts
  ``read_only_hours`` (``None``: until credits arrive).
- ``paused``: every charge is refused; the platform pauses the organization.

A charge that the grace left cannot cover whole uses grace up: it is refused and the
organization goes read-only. A **general grant** (a purchase, an operator's grant, a
cycle's credits, a credit-back) ends grace, read-only or paused at once: back to
``active``.

**Transitions** (:class:`GraceTransition`) are recorded with their cause (the charge,
the grant, or ``time`` for a deadline) and the instant they took effect: a deadline's
transition is dated at the deadline, even when it is applied later (by the scheduler,
or lazily by the next charge), so the history reads the same whoever applied it.

Grace applies while the depletion policy in force is ``pause`` or ``read_only`` and the
organization is not suspended for an overdue invoice; plans without grace terms behave
as before.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from creditline.domain.amounts import format_credits, parse_credits
from creditline.domain.errors import InvalidAmount

__all__ = [
    "GRACE_KEYS",
    "MAX_GRACE_HOURS",
    "GraceBilling",
    "GraceState",
    "GraceTerms",
    "GraceTransition",
    "Standing",
    "deadline",
    "elapse",
    "enter",
    "exhaust",
    "parse_grace",
    "restore",
    "room",
]


class GraceState(enum.StrEnum):
    ACTIVE = "active"
    GRACE = "grace"
    READ_ONLY = "read_only"
    PAUSED = "paused"


class GraceBilling(enum.StrEnum):
    """How grace usage is paid: billed with the month's flex, or written off."""

    FLEX = "flex"
    WRITE_OFF = "write_off"


TIME = "time"
"""The cause type of a deadline's transition (its ref: ``grace_hours`` or
``read_only_hours``)."""

MAX_GRACE_HOURS = 366 * 24
"""The longest grace or read-only time a plan may set, in hours (a year)."""

GRACE_KEYS = ("grace_hours", "grace_credits", "grace_billing", "read_only_hours")
"""The plan document's keys of the grace terms."""


@dataclass(frozen=True, slots=True)
class GraceTerms:
    """A plan's grace (see the module docstring).

    Attributes:
        hours: the longest grace lasts, or ``None``: no time limit.
        credits: the most micro-credits grace pays for, or ``None``: no amount limit.
        billing: how grace usage is paid.
        read_only_hours: how long read-only lasts before paused, or ``None``: until
            credits arrive.
    """

    hours: int | None = None
    credits: int | None = None
    billing: GraceBilling = GraceBilling.FLEX
    read_only_hours: int | None = None

    def ref(self, now: datetime) -> str:
        """The source reference of the grace grants made at ``now``."""
        return f"{self.billing.value}:{now:%Y-%m}"

    def describe(self) -> str:
        """``48 hours or 10 credits, flex; then read-only 24 hours, then paused``."""
        limits = [f"{self.hours} hours"] if self.hours is not None else []
        if self.credits is not None:
            limits.append(f"{format_credits(self.credits)} credits")
        then = "until credits arrive"
        if self.read_only_hours is not None:
            then = f"{self.read_only_hours} hours, then paused"
        return f"{' or '.join(limits)}, {self.billing.value}; then read-only {then}"

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"grace_billing": self.billing.value}
        if self.hours is not None:
            document["grace_hours"] = self.hours
        if self.credits is not None:
            document["grace_credits"] = format_credits(self.credits)
        if self.read_only_hours is not None:
            document["read_only_hours"] = self.read_only_hours
        return document


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an organization stands: its state, since when, and the grace it used
    (micro-credits) in the current grace."""

    state: GraceState = GraceState.ACTIVE
    since: datetime | None = None
    used: int = 0


ACTIVE = Standing()


@dataclass(frozen=True, slots=True)
class GraceTransition:
    """One change of state, with its cause (``usage_event``/``evt_1``, ``debit``/...,
    ``purchase``/``pur_1``, ``grant``/``grt_1``, ``time``/``grace_hours``) and the
    instant it took effect."""

    org_id: str
    from_state: GraceState
    to_state: GraceState
    cause_type: str
    cause_ref: str | None
    at: datetime
    seq: int | None = None
    """Its number in the store (in order), once stored."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "org_id": self.org_id,
            "from": self.from_state.value,
            "to": self.to_state.value,
            "cause_type": self.cause_type,
            "cause_ref": self.cause_ref,
            "at": self.at.isoformat(),
        }


def _move(
    org_id: str, standing: Standing, to: GraceState, cause: tuple[str, str | None], at: datetime
) -> tuple[Standing, GraceTransition]:
    moved = Standing(to, None if to is GraceState.ACTIVE else at, 0)
    return moved, GraceTransition(org_id, standing.state, to, cause[0], cause[1], at)


_NEXT = {
    GraceState.GRACE: (GraceState.READ_ONLY, "grace_hours"),
    GraceState.READ_ONLY: (GraceState.PAUSED, "read_only_hours"),
}
"""Where a state's deadline leads, and the setting that dates it."""


def elapse(
    terms: GraceTerms, org_id: str, standing: Standing, now: datetime
) -> tuple[Standing, list[GraceTransition]]:
    """The deadlines passed by ``now``: grace's hours (to read-only), then read-only's
    hours (to paused), each dated at its deadline."""
    found: list[GraceTransition] = []
    while standing.state in _NEXT:
        end = deadline(terms, standing)
        if end is None or end > now:
            break
        to, setting = _NEXT[standing.state]
        standing, moved = _move(org_id, standing, to, (TIME, setting), end)
        found.append(moved)
    return standing, found


def enter(
    org_id: str, standing: Standing, cause: tuple[str, str | None], now: datetime
) -> tuple[Standing, GraceTransition]:
    """A charge found no credits: active to grace."""
    return _move(org_id, standing, GraceState.GRACE, cause, now)


def exhaust(
    terms: GraceTerms,
    org_id: str,
    standing: Standing,
    cause: tuple[str, str | None],
    now: datetime,
) -> tuple[Standing, list[GraceTransition]]:
    """Grace is used up (by the charge ``cause``): to read-only, and on to paused at
    once when read-only lasts no time."""
    standing, moved = _move(org_id, standing, GraceState.READ_ONLY, cause, now)
    later, more = elapse(terms, org_id, standing, now)
    return later, [moved, *more]


def restore(
    org_id: str, standing: Standing, cause: tuple[str, str | None], now: datetime
) -> tuple[Standing, GraceTransition] | None:
    """Credits arrived (``cause``): back to active; ``None`` when already active."""
    if standing.state is GraceState.ACTIVE:
        return None
    return _move(org_id, standing, GraceState.ACTIVE, cause, now)


def deadline(terms: GraceTerms, standing: Standing) -> datetime | None:
    """When the standing's time runs out (grace's or read-only's hours), or ``None``."""
    hours = {GraceState.GRACE: terms.hours, GraceState.READ_ONLY: terms.read_only_hours}.get(
        standing.state
    )
    if hours is None or standing.since is None:
        return None
    return standing.since + timedelta(hours=hours)


def room(terms: GraceTerms, standing: Standing) -> int | None:
    """Grace micro-credits left (``None``: no amount limit)."""
    if terms.credits is None:
        return None
    return max(0, terms.credits - standing.used)


def _hours(raw: Mapping[str, Any], key: str, problems: list[str]) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_HOURS:
        problems.append(f"{key}: must be a whole number of hours, 0 to {MAX_GRACE_HOURS}")
        return None
    return value


def parse_grace(raw: Mapping[str, Any], problems: list[str]) -> GraceTerms | None:
    """A plan's grace terms from its document (``None``: no ``grace_hours`` nor
    ``grace_credits``: no grace), adding every problem to ``problems``."""
    if not any(k in raw for k in GRACE_KEYS):
        return None
    hours = _hours(raw, "grace_hours", problems)
    read_only = _hours(raw, "read_only_hours", problems)
    amount: int | None = None
    value = raw.get("grace_credits")
    if value is not None:
        try:
            if not isinstance(value, int | str | Decimal):
                raise InvalidAmount(value, "must be a number of credits")
            amount = parse_credits(value)
            if amount <= 0:
                raise InvalidAmount(value, "must be greater than zero")
        except InvalidAmount as exc:
            problems.append(f'grace_credits: {exc.reason} (6 or "2.5"), got {value!r}')
            amount = None
    try:
        billing = GraceBilling(raw.get("grace_billing", GraceBilling.FLEX.value))
    except ValueError:
        problems.append(f"grace_billing: one of {', '.join(b.value for b in GraceBilling)}")
        billing = GraceBilling.FLEX
    if raw.get("grace_hours") is None and raw.get("grace_credits") is None:
        problems.append("grace_hours or grace_credits: one is required for grace")
    return GraceTerms(hours, amount, billing, read_only)
