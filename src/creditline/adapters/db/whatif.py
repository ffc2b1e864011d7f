"""What-if pricing's reads (:mod:`creditline.domain.whatif`): a period's accepted events,
streamed, and the balance moves around them. Nothing is written.

A period can hold millions of events, so they are read on the driver's own connection
(:mod:`.raw`), as a stream of rows (``COPY ... TO STDOUT`` on PostgreSQL), and each
row becomes a :class:`~creditline.domain.whatif.PastEvent` as it is read. The scope is
one organization, or every organization priced by one rate card (its own, or the
default card when it names none).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection

from creditline.domain.ledger import CauseType
from creditline.domain.whatif import BalanceMove, PastEvent

from .raw import Raw, Sql

__all__ = ["WhatIfRepository"]

_ROWS = 5_000
"""Rows fetched at a time."""

_EVENT_TYPES = ("text", "text", "timestamptz", "timestamptz", "int8", "text")
"""The event query's columns as PostgreSQL's COPY gives them."""

_DECODE = msgspec.json.Decoder().decode

_USAGE = (CauseType.USAGE_EVENT.value, CauseType.USAGE_BATCH.value)
"""The causes of usage charges: the balance's other moves are every other entry but the
flex grants, which only covered what the real usage overdrew (without them, the balance
of a flex organization goes below zero when it went onto flex)."""

# The scope, after the table's own conditions: one organization, or the organizations
# priced by a card (``default``: also those that name none).
_ONE = "x.org_id = ?"
_CARD = (
    "x.org_id IN (SELECT id FROM organizations"
    " WHERE rate_card = ? OR (rate_card IS NULL AND ? = 'default'))"
)


def _events_sql(scope: str) -> Sql:
    return Sql(
        "SELECT x.org_id, x.operation, x.occurred_at, x.recorded_at, x.cost_micros, x.body"
        " FROM usage_events x"
        f" WHERE x.status = 'accepted' AND x.occurred_at >= ? AND x.occurred_at < ? AND {scope}",
        "SELECT x.org_id, x.operation, x.occurred_at, x.recorded_at, x.cost_micros,"
        " x.body::text FROM usage_events x"
        f" WHERE x.status = 'accepted' AND x.occurred_at >= ? AND x.occurred_at < ? AND {scope}",
    )


def _opening_sql(scope: str) -> Sql:
    return Sql(
        "SELECT x.org_id, SUM(x.amount_micros) FROM ledger_entries x"
        f" WHERE x.recorded_at < ? AND {scope} GROUP BY x.org_id"
    )


def _moves_sql(scope: str) -> Sql:
    return Sql(
        "SELECT x.org_id, x.recorded_at, x.amount_micros FROM ledger_entries x"
        " WHERE x.recorded_at >= ? AND x.recorded_at < ? AND x.cause_type NOT IN (?, ?)"
        " AND NOT (x.entry_type = 'grant'"
        " AND x.grant_id IN (SELECT id FROM grants WHERE kind = 'flex'))"
        f" AND {scope} ORDER BY x.id"
    )


_EVENTS = {"org": _events_sql(_ONE), "card": _events_sql(_CARD)}
_OPENING = {"org": _opening_sql(_ONE), "card": _opening_sql(_CARD)}
_MOVES = {"org": _moves_sql(_ONE), "card": _moves_sql(_CARD)}


class WhatIfRepository:
    """Reads for one what-if report, in one read-only transaction."""

    def __init__(self, conn: Connection) -> None:
        self._raw = Raw(conn)

    def events(self, scope: tuple[str, str], start: datetime, end: datetime) -> Iterator[PastEvent]:
        """The accepted events of ``scope`` (``("org", id)`` or ``("card", name)``) that
        happened in ``[start, end)``, in no particular order."""
        raw = self._raw
        kind, value = scope
        params = [raw.when(start), raw.when(end), *self._scope(kind, value)]
        decode = _DECODE
        read_when = raw.read_when
        times: dict[Any, datetime] = {}
        for org_id, operation, occurred, recorded, cost, body in raw.stream(
            _EVENTS[kind], params, _ROWS, _EVENT_TYPES
        ):
            doc = decode(body)
            at = times.get(occurred)
            if at is None:
                at = times[occurred] = read_when(occurred)
            recorded_at = times.get(recorded)
            if recorded_at is None:
                recorded_at = times[recorded] = read_when(recorded)
            if len(times) > 100_000:
                times.clear()
            steps = doc["steps"]
            yield PastEvent(
                org_id, operation, doc["quantities"], doc["dimensions"],
                tuple((op, q, d) for op, q, d in steps) if steps else (),
                at, recorded_at, int(cost),
            )  # fmt: skip

    def opening(self, scope: tuple[str, str], start: datetime) -> dict[str, int]:
        """Each organization's balance just before ``start``: the sum of its ledger."""
        kind, value = scope
        rows = self._raw.rows(_OPENING[kind], [self._raw.when(start), *self._scope(kind, value)])
        return {org_id: int(total) for org_id, total in rows}

    def moves(self, scope: tuple[str, str], start: datetime, end: datetime) -> list[BalanceMove]:
        """The ledger entries recorded in ``[start, end)`` that are not usage charges nor
        flex grants."""
        raw = self._raw
        kind, value = scope
        params = [raw.when(start), raw.when(end), *_USAGE, *self._scope(kind, value)]
        return [
            BalanceMove(org_id, raw.read_when(at), int(amount))
            for org_id, at, amount in raw.rows(_MOVES[kind], params)
        ]

    @staticmethod
    def _scope(kind: str, value: str) -> Sequence[str]:
        return (value,) if kind == "org" else (value, value)
