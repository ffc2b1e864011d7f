"""Binding quotes: a price promised for one use, for a while (C3).

A plain quote (:class:`~creditline.domain.pricing.Quote`) says what an operation costs
now and binds nothing. A **binding quote** is that quote stored under an id with a
validity: usage recorded, or a hold committed, naming the quote is charged the quoted
``total``, even when a new rate card version took effect in between, **once**, and
only **within the validity**.

The rules:

- The validity is half-open, ``[created_at, expires_at)``, from
  :data:`MIN_VALIDITY` to :data:`MAX_VALIDITY` (default :data:`DEFAULT_VALIDITY`).
- It is judged at the instant the engine charges the usage (the group's time, under
  the organization's lock), not at the event's own timestamp: a sender cannot stretch a
  quote by back-dating an event.
- A quote binds one use: the first event or commit naming it wins, in a group and
  across groups; any later one is refused with :class:`QuoteUsed`. A replay of the
  event id (or a second commit of the settled hold) answers the first outcome, never
  "used".
- A usage event must name the quote's operation, quantities, dimensions and steps (by
  value); a hold it commits must be for the quote's operation and dimensions when it
  names them. Otherwise :class:`QuoteMismatch`.
- An event refused for want of credits leaves the quote unused.

:func:`issue` builds the record; :meth:`BindingQuote.check` says whether it may be used
at an instant.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from creditline.domain.errors import InvalidSetting, QuoteExpired, QuoteMismatch, QuoteUsed
from creditline.domain.pricing import Quote
from creditline.domain.usage import Quantity, UsageStep, usage_key

__all__ = [
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "MIN_VALIDITY",
    "BindingQuote",
    "QuoteState",
    "check_validity",
    "issue",
]

DEFAULT_VALIDITY = timedelta(minutes=15)
MIN_VALIDITY = timedelta(seconds=1)
MAX_VALIDITY = timedelta(days=1)


class QuoteState(enum.StrEnum):
    ISSUED = "issued"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class BindingQuote:
    """A stored quote (see the module docstring).

    Attributes:
        id: its id (``qt_...``).
        org_id: the organization it was issued to.
        operation, quantities, dimensions, steps: the usage it priced.
        total: the price it binds, in micro-credits.
        card, version: the rate card version that priced it.
        breakdown: the quote's breakdown, as :meth:`Quote.to_dict` gives it.
        created_at, expires_at: its validity, ``[created_at, expires_at)``.
        used_at, used_by: when it was used, and by what (``usage_event:evt_1``,
            ``reservation:res_1``); ``None`` while unused.
    """

    id: str
    org_id: str
    operation: str
    total: int
    card: str
    version: str
    created_at: datetime
    expires_at: datetime
    quantities: Mapping[str, Quantity] = field(default_factory=dict)
    dimensions: Mapping[str, str] = field(default_factory=dict)
    steps: tuple[UsageStep, ...] = ()
    breakdown: Mapping[str, Any] = field(default_factory=dict)
    used_at: datetime | None = None
    used_by: str | None = None

    def state(self, now: datetime) -> QuoteState:
        """Used, expired (unused at or after ``expires_at``), or else issued."""
        if self.used_by is not None:
            return QuoteState.USED
        if now >= self.expires_at:
            return QuoteState.EXPIRED
        return QuoteState.ISSUED

    def check(self, now: datetime) -> None:
        """Raise unless the quote may be used at ``now``.

        Raises:
            QuoteUsed: used already. QuoteExpired: ``now`` is at or past its expiry.
        """
        if self.used_by is not None:
            raise QuoteUsed(self.id, self.used_by)
        if now >= self.expires_at:
            raise QuoteExpired(self.id, self.expires_at)

    def usage_key(self) -> str:
        """The usage it priced, as :func:`~creditline.domain.usage.usage_key` gives it."""
        return usage_key(self.operation, self.quantities, self.dimensions, self.steps)

    def check_usage(
        self,
        operation: str,
        quantities: Mapping[str, Quantity],
        dimensions: Mapping[str, str],
        steps: Sequence[UsageStep],
    ) -> None:
        """Raise :class:`QuoteMismatch` unless the usage is the one quoted (by value)."""
        if operation != self.operation:
            raise QuoteMismatch(
                self.id, f"it priced operation {self.operation!r}, not {operation!r}"
            )
        if usage_key(operation, quantities, dimensions, steps) != self.usage_key():
            raise QuoteMismatch(
                self.id,
                "it priced other quantities, dimensions or steps of "
                f"{self.operation!r}: {self.usage_text()}",
            )

    def check_hold(self, operation: str | None, dimensions: Mapping[str, str]) -> None:
        """Raise :class:`QuoteMismatch` unless a hold for ``operation`` (and
        ``dimensions``, when it names any) may be committed at the quoted price."""
        if operation is not None and operation != self.operation:
            raise QuoteMismatch(
                self.id, f"it priced operation {self.operation!r}; the hold is for {operation!r}"
            )
        if dimensions and dict(dimensions) != dict(self.dimensions):
            raise QuoteMismatch(
                self.id, f"it priced dimensions {dict(self.dimensions)}, the hold names "
                f"{dict(dimensions)}",
            )  # fmt: skip

    def usage_text(self) -> str:
        """The quoted usage, for people: ``train: attributes 3, mode Business``."""
        parts = [f"{k} {v}" for k, v in self.quantities.items()]
        parts += [f"{k} {v}" for k, v in self.dimensions.items()]
        if self.steps:
            parts.append(f"{len(self.steps)} steps")
        return f"{self.operation}: {', '.join(parts)}" if parts else self.operation


def check_validity(valid_for: timedelta) -> timedelta:
    """``valid_for``, if a quote may be valid that long.

    Raises:
        InvalidSetting: not from :data:`MIN_VALIDITY` to :data:`MAX_VALIDITY`.
    """
    if not isinstance(valid_for, timedelta) or not MIN_VALIDITY <= valid_for <= MAX_VALIDITY:
        raise InvalidSetting(
            "validity", valid_for,
            f"a quote is valid from {int(MIN_VALIDITY.total_seconds())} second to "
            f"{int(MAX_VALIDITY.total_seconds())} seconds",
        )  # fmt: skip
    return valid_for


def issue(
    quote_id: str,
    org_id: str,
    quote: Quote,
    now: datetime,
    valid_for: timedelta,
    *,
    quantities: Mapping[str, Quantity] | None = None,
    dimensions: Mapping[str, str] | None = None,
    steps: Sequence[UsageStep] = (),
) -> BindingQuote:
    """A binding quote of ``quote`` (priced at ``now``), valid for ``valid_for``.

    Raises:
        InvalidSetting: ``valid_for`` is not from :data:`MIN_VALIDITY` to
            :data:`MAX_VALIDITY`.
    """
    check_validity(valid_for)
    return BindingQuote(
        id=quote_id, org_id=org_id, operation=quote.operation, total=quote.total,
        card=quote.card, version=quote.version, created_at=now, expires_at=now + valid_for,
        quantities=dict(quantities or {}), dimensions=dict(dimensions or {}),
        steps=tuple(steps), breakdown=quote.to_dict(),
    )  # fmt: skip
