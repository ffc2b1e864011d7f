"""The revenue report's reads (:mod:`creditline.domain.revenue`): each grant's liability
at a month's start, the month's entries in the order they happened, and the grants they
name with what each is worth. Nothing is written.

``reserve`` and ``release`` entries are left out: held credits stay a liability until a
capture consumes them. A grant made by a purchase is worth the purchase's price.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, select

from creditline.domain.grants import GrantKind
from creditline.domain.ledger import EntryType
from creditline.domain.revenue import Movement, ValuedGrant, grant_value

from . import tables as t

__all__ = ["RevenueRepository"]

_L = t.ledger_entries.c
_G = t.grants.c
_P = t.purchases.c

_HOLDS = (EntryType.RESERVE.value, EntryType.RELEASE.value)
_CHUNK = 5_000
"""Grant ids asked for at a time (well under any driver's limit of parameters)."""


class RevenueRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def opening(self, start: datetime) -> dict[str, int]:
        """Each grant's liability at ``start`` (micro-credits), grants at zero left out."""
        total = func.sum(_L.amount_micros)
        query = (
            select(_L.grant_id, total)
            .where(_L.occurred_at < start, _L.entry_type.not_in(_HOLDS))
            .group_by(_L.grant_id)
            .having(total != 0)
        )
        return {grant_id: int(micros) for grant_id, micros in self._conn.execute(query)}

    def movements(self, start: datetime, end: datetime) -> list[Movement]:
        """The entries of ``[start, end)`` but holds and releases, by time, then id."""
        query = (
            select(_L.grant_id, _L.entry_type, _L.amount_micros)
            .where(_L.occurred_at >= start, _L.occurred_at < end, _L.entry_type.not_in(_HOLDS))
            .order_by(_L.occurred_at, _L.id)
        )
        return [
            Movement(grant_id, EntryType(kind), int(amount))
            for grant_id, kind, amount in self._conn.execute(query)
        ]

    def grants(self, ids: Iterable[str]) -> list[ValuedGrant]:
        """The grants named, with what each is worth."""
        wanted = sorted(set(ids))
        found: list[ValuedGrant] = []
        for at in range(0, len(wanted), _CHUNK):
            query = (
                select(
                    _G.id,
                    _G.kind,
                    _G.amount_micros,
                    _G.cost_unit_price_minor,
                    _G.cost_currency,
                    _P.amount_minor,
                    _P.currency,
                )
                .select_from(t.grants.outerjoin(t.purchases, _P.grant_id == _G.id))
                .where(_G.id.in_(wanted[at : at + _CHUNK]))
            )
            for gid, kind, amount, unit, currency, price, paid_in in self._conn.execute(query):
                value = grant_value(int(amount), unit, price)
                found.append(
                    ValuedGrant(gid, GrantKind(kind), int(amount), value, paid_in or currency)
                )
        return found
