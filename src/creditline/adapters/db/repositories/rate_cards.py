"""Rate cards: stored versions of each card, and the card each organization's usage is
priced by."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from creditline.domain.pricing import RateCard, RateCardHistory
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.services.ports.unit_of_work import Stamp

from .. import tables as t
from ..raw import Raw
from .statements import RATE_CARD_STAMPS

__all__ = ["RateCardRepository"]


_HISTORIES: dict[tuple[str, str, tuple[tuple[str, str], ...]], RateCardHistory] = {}


def _database(conn: Connection) -> str:
    """Which database a connection is to, as text (cached per engine)."""
    engine = conn.engine
    label: str | None = engine.__dict__.get("_creditline_label")
    if label is None:
        label = engine.url.render_as_string(hide_password=True)
        engine.__dict__["_creditline_label"] = label
    return label


class RateCardRepository:
    """Stored rate card versions, and the card each organization's usage is priced by.

    A version is stored in document form (:meth:`RateCard.to_dict`) and read back with
    :func:`parse_ratecard`; a parsed document is cached by its text, so pricing many
    events by one version parses it once.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def lock(self, name: str) -> None:
        """Serialize loading versions of card ``name`` until this transaction ends.

        On PostgreSQL a transaction-level advisory lock on the name (there may be no row
        to lock yet); on SQLite the transaction already holds the write lock.
        """
        if self._conn.dialect.name == "postgresql":
            key = func.hashtextextended(f"creditline.rate_card:{name}", 0)
            self._conn.execute(select(func.pg_advisory_xact_lock(key)))

    def add(self, card: RateCard, loaded_at: datetime) -> None:
        """Store a new version; the primary key refuses a second (name, version)."""
        self._conn.execute(
            insert(t.rate_cards).values(
                name=card.name,
                version=card.version,
                effective_from=card.effective_from,
                document=card.to_dict(),
                loaded_at=loaded_at,
            )
        )

    def get(self, name: str, version: str) -> RateCard | None:
        r = t.rate_cards
        row = self._conn.execute(
            select(r.c.document).where(r.c.name == name, r.c.version == version)
        ).first()
        return None if row is None else _rate_card(row.document)

    def versions(self, name: str) -> list[RateCard]:
        """Every version of card ``name``, in order of effective time (none: empty)."""
        r = t.rate_cards
        rows = self._conn.execute(
            select(r.c.document).where(r.c.name == name).order_by(r.c.effective_from)
        )
        return [_rate_card(row.document) for row in rows]

    def history(self, name: str, stamp: Stamp | None = None) -> RateCardHistory | None:
        """The versions of card ``name`` as a history, or None when there are none.

        A stored version never changes, so the parsed history is kept per process and
        only the list of versions (one small query) is read on each call; or not even
        that, where the caller read it already (``stamp``, as ``ORG_RATE_CARD_STAMPS``).
        """
        if stamp is None:
            stamp = tuple(
                (row["version"], str(row["loaded_at"]))
                for row in self._raw.records(RATE_CARD_STAMPS, (name,))
            )
        if not stamp:
            return None
        key = (_database(self._conn), name, stamp)
        cached = _HISTORIES.get(key)
        if cached is None:
            versions = self.versions(name)
            cached = RateCardHistory(tuple(versions))
            if len(_HISTORIES) > 256:
                _HISTORIES.clear()
            _HISTORIES[key] = cached
        return cached

    def in_force(self, name: str, at: datetime) -> RateCard | None:
        """The version of ``name`` in force at ``at``: the latest starting at or before it."""
        r = t.rate_cards
        row = self._conn.execute(
            select(r.c.document)
            .where(r.c.name == name, r.c.effective_from <= at)
            .order_by(r.c.effective_from.desc())
            .limit(1)
        ).first()
        return None if row is None else _rate_card(row.document)

    def exists(self, name: str) -> bool:
        r = t.rate_cards
        return (
            self._conn.execute(select(r.c.name).where(r.c.name == name).limit(1)).first()
            is not None
        )

    def names(self) -> list[str]:
        r = t.rate_cards
        return [
            row.name for row in self._conn.execute(select(r.c.name).distinct().order_by(r.c.name))
        ]

    def histories(self) -> list[RateCardHistory]:
        """Every card's history, by name."""
        r = t.rate_cards
        rows = self._conn.execute(
            select(r.c.name, r.c.document).order_by(r.c.name, r.c.effective_from)
        )
        by_name: dict[str, list[RateCard]] = {}
        for row in rows:
            by_name.setdefault(row.name, []).append(_rate_card(row.document))
        return [RateCardHistory(tuple(versions)) for versions in by_name.values()]

    def org_card(self, org_id: str) -> str | None:
        """The card name set on the organization; None when unset (or no such organization)."""
        o = t.organizations
        row = self._conn.execute(select(o.c.rate_card).where(o.c.id == org_id)).first()
        return None if row is None else row.rate_card

    def assign(self, org_id: str, name: str | None) -> bool:
        """Set the organization's card name (None: the default); whether it exists."""
        o = t.organizations
        done = self._conn.execute(update(o).where(o.c.id == org_id).values(rate_card=name))
        return bool(done.rowcount)


def _rate_card(document: Any) -> RateCard:
    return _parse_stored_card(json.dumps(document, separators=(",", ":")))


@functools.lru_cache(maxsize=256)
def _parse_stored_card(text: str) -> RateCard:
    # Keyed by the whole document, not (name, version): two databases may hold different
    # documents under one label. A RateCard is immutable, so sharing one is safe.
    return parse_ratecard(text, syntax="json")
