"""Breakage and deferred revenue at cost basis: the operator's month, per currency.

Credits bought are a liability until they are used: the money for them is *deferred
revenue*. A month's report says, per currency, what was **sold** (credits and their
cash), what was **consumed** (recognised revenue), what **expired** unused (breakage),
what was **refunded**, what an operator **adjusted** away, and the **liability** at the
month's start and end (credits still spendable, and what they are worth). It
reconciles to the minor unit::

    opening + sold - consumed - expired - refunded - adjusted = closing

(``adjusted`` is zero unless an operator's negative adjustment took paid credits.)

**Valuing a grant.** A paid grant is worth ``value``: the price of its purchase when a
purchase made it (exactly the cash), else its cost basis times its credits
(:func:`~creditline.domain.money.money_for_credits`). ``b`` micro-credits of a grant
of ``amount`` are worth ``round_half_up(value x b / amount)``
(:func:`~creditline.domain.money.round_half_up`, the one rounding rule of money). Each
ledger entry on the grant is worth the difference of that function before and after
it, so the values of a grant's entries sum to the value of what is left of it, and
every month's identity holds exactly, whatever the rounding. A refund of a purchase
untouched by holds is worth exactly the money returned for it.

**What stays a liability.** ``b`` is the grant's ``remaining`` plus what open holds
took from it: a held credit is not consumed until it is captured (``reserve`` and
``release`` entries move nothing here; the ``consume`` of a capture does).

**Movements** by entry type: ``grant`` is sold; ``consume`` and ``void`` are consumed
(a void gives a consumption back); ``expire`` is expired; ``refund`` is refunded (a
refund the provider refused gives its credits back); ``adjustment`` is adjusted.

**No cash.** Grants worth nothing (no cost basis, or one worth less than a minor unit
in all: plans' included credits, promotional, refund and adjustment grants as the
engine makes them) are reported apart, per kind, in credits only. A grant of any kind
with a cost basis is paid credits (an operator's grant of credits sold outside).
**Flex** grants cover usage past zero, billed monthly in arrears on an invoice: they
are not deferred revenue and are reported apart too.

**Months** are calendar months in UTC (the operator's books have no zone of their
own; organizations' billing cycles may), and an entry counts in the month of its
``occurred_at``: an expiry falls in the month the grant expired, even when the
scheduler wrote it later. A late usage event recorded after its month changes that
month's report (as it changes its usage report); the months stay chained and
reconciled, since every report is computed from the ledger as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from creditline.domain.errors import InvalidSetting
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, GrantKind
from creditline.domain.invoices import month_bounds, parse_month
from creditline.domain.ledger import EntryType
from creditline.domain.money import money_for_credits, round_half_up

__all__ = [
    "COLUMNS",
    "CurrencyLine",
    "Flow",
    "FreeLine",
    "Movement",
    "RevenueReport",
    "ValuedGrant",
    "grant_value",
    "month_window",
    "revenue_report",
]

COLUMNS = ("sold", "consumed", "expired", "refunded", "adjusted")
"""The month's movements, in the order of the identity."""

_COLUMN_OF = {
    EntryType.GRANT: "sold",
    EntryType.CONSUME: "consumed",
    EntryType.VOID: "consumed",
    EntryType.EXPIRE: "expired",
    EntryType.REFUND: "refunded",
    EntryType.ADJUSTMENT: "adjusted",
}
"""Where each entry type counts; ``reserve`` and ``release`` count nowhere (held credits
stay a liability)."""


def month_window(month: str | datetime) -> tuple[str, datetime, datetime]:
    """The month's name (``"2026-11"``) and ``[since, until)`` in UTC.

    Raises:
        InvalidSetting: not a month as ``YYYY-MM`` (or a time in it) from 1970 to 9998.
    """
    name = parse_month(month)
    if not "1970" <= name[:4] <= "9998":
        raise InvalidSetting("month", month, "a calendar month from 1970-01 to 9998-12")
    since, until = month_bounds(name)
    return name, since, until


def grant_value(amount: int, unit_price_minor: int | None, price_minor: int | None = None) -> int:
    """What a grant of ``amount`` micro-credits is worth, in minor units: ``price_minor``
    (its purchase's price) when given, else its cost basis times its credits, rounded
    half up; 0 without a cost basis."""
    if price_minor is not None:
        return price_minor
    if unit_price_minor is None:
        return 0
    return money_for_credits(amount, unit_price_minor)


@dataclass(frozen=True, slots=True)
class ValuedGrant:
    """A grant as the report sees it.

    Attributes:
        id: the grant's id.
        kind: its kind.
        amount: micro-credits granted.
        value_minor: what all of it is worth (:func:`grant_value`; 0: no cash).
        currency: the currency of ``value_minor`` (``None`` without a cost basis).
    """

    id: str
    kind: GrantKind
    amount: int
    value_minor: int
    currency: str | None

    @property
    def paid(self) -> bool:
        return self.value_minor > 0 and self.currency is not None

    def value(self, micros: int) -> int:
        """What ``micros`` micro-credits of it are worth (held within ``[0, amount]``)."""
        if not self.paid:
            return 0
        return round_half_up(self.value_minor * min(max(micros, 0), self.amount), self.amount)


class Movement(NamedTuple):
    """A ledger entry of the month: on ``grant_id``, ``amount`` micro-credits, signed."""

    grant_id: str
    type: EntryType
    amount: int


@dataclass(frozen=True, slots=True)
class Flow:
    """Micro-credits and what they are worth (minor units of the line's currency)."""

    credits: int = 0
    minor: int = 0


@dataclass(frozen=True, slots=True)
class CurrencyLine:
    """One currency's month. Every flow is positive in the direction its name says
    (``consumed`` is what was consumed, net of voids)."""

    currency: str
    opening: Flow
    sold: Flow
    consumed: Flow
    expired: Flow
    refunded: Flow
    adjusted: Flow
    closing: Flow

    @property
    def recognised_minor(self) -> int:
        """Revenue recognised: the consumed credits at their cost basis."""
        return self.consumed.minor

    @property
    def breakage_minor(self) -> int:
        """Breakage: the expired credits at their cost basis."""
        return self.expired.minor

    def reconciles(self) -> bool:
        """Whether opening + sold - consumed - expired - refunded - adjusted = closing,
        in credits and in minor units."""
        return all(
            getattr(self.opening, part)
            + getattr(self.sold, part)
            - sum(getattr(getattr(self, c), part) for c in COLUMNS[1:])
            == getattr(self.closing, part)
            for part in ("credits", "minor")
        )


@dataclass(frozen=True, slots=True)
class FreeLine:
    """Credits with no cash, of one kind (micro-credits; same identity as a currency's)."""

    kind: GrantKind
    opening: int
    granted: int
    consumed: int
    expired: int
    refunded: int
    adjusted: int
    closing: int


@dataclass(frozen=True, slots=True)
class RevenueReport:
    """A month's deferred revenue and breakage (see the module docstring).

    Attributes:
        month: ``"2026-11"``.
        since, until: the month in UTC, ``[since, until)``.
        lines: one per currency, by currency.
        free: credits with no cash, one line per kind (flex aside), in consumption order.
        flex: the flex grants' line (usage past zero, billed in arrears), if any moved.
    """

    month: str
    since: datetime
    until: datetime
    lines: tuple[CurrencyLine, ...]
    free: tuple[FreeLine, ...]
    flex: FreeLine | None = None

    def reconciles(self) -> bool:
        return all(line.reconciles() for line in self.lines)


class _Tally:
    """Credits and minor units per column, of one currency or one kind."""

    def __init__(self) -> None:
        self.credits = dict.fromkeys(("opening", *COLUMNS, "closing"), 0)
        self.minor = dict.fromkeys(("opening", *COLUMNS, "closing"), 0)

    def add(self, column: str, credits: int, minor: int) -> None:
        self.credits[column] += credits
        self.minor[column] += minor

    def flows(self) -> list[Flow]:
        """Opening, the movements and closing; outflows are reported positive."""
        return [
            Flow(-self.credits[c], -self.minor[c])
            if c in COLUMNS[1:]
            else Flow(self.credits[c], self.minor[c])
            for c in ("opening", *COLUMNS, "closing")
        ]


def revenue_report(
    month: str,
    since: datetime,
    until: datetime,
    *,
    grants: Iterable[ValuedGrant],
    opening: Mapping[str, int],
    movements: Iterable[Movement],
) -> RevenueReport:
    """The month's report.

    Args:
        grants: every grant named in ``opening`` or ``movements``.
        opening: each grant's liability at ``since`` (micro-credits: its entries before
            the month, ``reserve`` and ``release`` left out); grants at zero may be left out.
        movements: the month's entries in the order they happened (``occurred_at``, then
            id), ``reserve`` and ``release`` included or not (they are skipped).
    """
    by_id = {g.id: g for g in grants}
    left = dict(opening)
    cash: dict[str, _Tally] = {}
    free: dict[GrantKind, _Tally] = {}

    def tally(grant: ValuedGrant) -> _Tally:
        if grant.paid and grant.currency is not None:
            return cash.setdefault(grant.currency, _Tally())
        return free.setdefault(grant.kind, _Tally())

    for grant_id, micros in left.items():
        grant = by_id[grant_id]
        tally(grant).add("opening", micros, grant.value(micros))
    for move in movements:
        column = _COLUMN_OF.get(move.type)
        if column is None:
            continue
        grant = by_id[move.grant_id]
        before = left.get(move.grant_id, 0)
        after = before + move.amount
        left[move.grant_id] = after
        tally(grant).add(column, move.amount, grant.value(after) - grant.value(before))
    for grant_id, micros in left.items():
        grant = by_id[grant_id]
        tally(grant).add("closing", micros, grant.value(micros))
    lines = tuple(CurrencyLine(c, *cash[c].flows()) for c in sorted(cash))
    kinds = {k: FreeLine(k, *(f.credits for f in t.flows())) for k, t in free.items()}
    flex = kinds.pop(GrantKind.FLEX, None)
    ordered = tuple(kinds[k] for k in DEFAULT_CONSUMPTION_ORDER if k in kinds)
    return RevenueReport(month, since, until, lines, ordered, flex)
