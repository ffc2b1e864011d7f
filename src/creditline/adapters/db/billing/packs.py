"""The pack catalogue: the one catalogue of credit packs a database sells."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from creditline.domain.packs import Catalogue, parse_catalogue

from .. import tables as t

__all__ = ["PackRepository"]


class PackRepository:
    """The one pack catalogue of the database."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, catalogue: Catalogue, now: datetime) -> None:
        c = t.pack_catalogue
        values = {"name": catalogue.name, "document": catalogue.to_document(), "updated_at": now}
        changed = self._conn.execute(update(c).where(c.c.id == 1).values(**values)).rowcount
        if not changed:
            self._conn.execute(insert(c).values(id=1, **values))

    def get(self) -> Catalogue | None:
        c = t.pack_catalogue
        document = self._conn.execute(select(c.c.document).where(c.c.id == 1)).scalar()
        return None if document is None else parse_catalogue(document)
