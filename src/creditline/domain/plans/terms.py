"""A plan's billing terms: the price of flex credits, the plan's own fee, and dunning.

**Flex price** (D5): what one flex credit costs when the month's flex usage is
invoiced (:mod:`creditline.domain.invoices`), in minor units of a currency::

    flex_price = { currency = "USD", minor_per_credit = 100 }

A plan without one bills no flex (its flex usage is metered, never invoiced).

**Fee** (D5): what the plan itself costs per cycle (a month or a year: ``interval``),
in integer minor units of one or more currencies (an organization is billed in the
currency it subscribed in: one it names, else the fee's ``currency``, which a fee of
several prices must name), billed ``in_advance`` (the fee of a cycle falls due at its
start) or ``in_arrears`` (at its end); ``on_change`` says what becomes of the old
plan's fee when the organization changes plan (or ends it) mid-cycle (B5):
``prorate`` (an in-advance fee gives back its unused part as a credit line; an
in-arrears fee bills only the part used) or ``none`` (the cycle that started is billed
whole: no credit line, the whole in-arrears fee). See :mod:`creditline.domain.invoices`
for when a fee is invoiced::

    fee = { prices_minor = { USD = 4900, EUR = 4500 }, currency = "USD",
            billed = "in_advance", on_change = "prorate" }

A plan without one is free (no subscription line).

**Dunning** (failed payments): when the charge of an invoice is declined, it is tried
again ``retry_after_days`` after each failure (``[1, 3, 7]``: one day after the first
failure, three days after the second, seven after the third); after the last failure
the organization is **suspended** until the invoice is paid: ``suspend`` is the
depletion policy that takes effect, ``pause`` (every debit refused) or ``read_only``
(refused, and reported read-only); ``none`` keeps it running. Unsaid, it is the plan's
own policy when that is ``pause`` or ``read_only``, else ``pause`` (a flex plan does
not run on credit while its invoice is unpaid)::

    dunning = { retry_after_days = [1, 3, 7], suspend = "read_only" }

A plan without one never retries on its own: a declined invoice stays open until it is
paid (an operator's retry, a payment at the provider), and nothing is suspended.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from creditline.domain.plans.policy import DepletionPolicy

__all__ = ["Dunning", "FeeChange", "FeeTiming", "PlanFee"]


class FeeTiming(enum.StrEnum):
    """When a cycle's fee falls due: at its start or at its end."""

    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"


class FeeChange(enum.StrEnum):
    """What becomes of the old plan's fee at a change of plan mid-cycle."""

    PRORATE = "prorate"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PlanFee:
    """A plan's price per cycle (see the module docstring).

    Attributes:
        prices: minor units per cycle by ISO 4217 currency.
        billed: in advance or in arrears.
        on_change: prorate or none.
        currency: the currency billed when the subscriber names none (``None``: the
            only one of ``prices``).
    """

    prices: Mapping[str, int]
    billed: FeeTiming = FeeTiming.IN_ADVANCE
    on_change: FeeChange = FeeChange.NONE
    currency: str | None = None

    @property
    def default_currency(self) -> str:
        return self.currency or sorted(self.prices)[0]

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted(self.prices))

    def to_dict(self) -> dict[str, Any]:
        return {
            "prices_minor": dict(self.prices),
            "currency": self.default_currency,
            "billed": self.billed.value,
            "on_change": self.on_change.value,
        }


@dataclass(frozen=True, slots=True)
class Dunning:
    """What happens when an invoice's charge is declined (see the module docstring).

    Attributes:
        retry_after_days: days to wait after each failure before the next try.
        suspend: the policy in force once the last try failed (``None``: none).
    """

    retry_after_days: tuple[int, ...] = (1, 3, 7)
    suspend: DepletionPolicy | None = DepletionPolicy.PAUSE

    @property
    def attempts(self) -> int:
        """How many charges are tried in all: the first and the retries."""
        return 1 + len(self.retry_after_days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "retry_after_days": list(self.retry_after_days),
            "suspend": "none" if self.suspend is None else self.suspend.value,
        }
