"""Organizations with their projects and members."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from creditline.domain.grants import GrantKind
from creditline.domain.organizations import (
    Member,
    Organization,
    Project,
    parse_consumption_order,
)

from .. import tables as t
from ..records import Codec

__all__ = ["OrganizationRepository", "stored_order"]

_ORGANIZATION = Codec(Organization, skip={"consumption_order"})
_PROJECT = Codec(Project)
_MEMBER = Codec(Member)

_ORG = select(t.organizations).where(t.organizations.c.id == bindparam("org_id"))


class OrganizationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, org: Organization) -> None:
        self._conn.execute(
            insert(t.organizations).values(
                consumption_order=",".join(k.value for k in org.consumption_order),
                **_ORGANIZATION.encode(org, without={"consumption_order"}),
            )
        )
        self._conn.execute(
            insert(t.balances).values(
                org_id=org.id, balance_micros=0, entry_count=0, updated_at=org.created_at
            )
        )

    def get(self, org_id: str) -> Organization | None:
        row = self._conn.execute(_ORG, {"org_id": org_id}).first()
        return _org(row) if row else None

    def get_by_external_ref(self, ref: str) -> Organization | None:
        row = self._conn.execute(
            select(t.organizations).where(t.organizations.c.external_ref == ref)
        ).first()
        return _org(row) if row else None

    def name_taken(self, name: str) -> bool:
        found = self._conn.execute(
            select(t.organizations.c.id).where(t.organizations.c.name == name)
        ).first()
        return found is not None

    def update(self, org: Organization) -> None:
        """Store an organization's changeable fields: its name and country."""
        o = t.organizations
        self._conn.execute(
            update(o).where(o.c.id == org.id).values(name=org.name, country=org.country)
        )

    def page(self, limit: int = 100, after_id: str | None = None) -> list[Organization]:
        query = select(t.organizations).order_by(t.organizations.c.id).limit(limit)
        if after_id:
            query = query.where(t.organizations.c.id > after_id)
        return [_org(r) for r in self._conn.execute(query)]

    def add_project(self, project: Project) -> None:
        self._conn.execute(insert(t.projects).values(**_PROJECT.encode(project)))

    def add_member(self, member: Member) -> None:
        self._conn.execute(insert(t.members).values(**_MEMBER.encode(member)))

    def project(self, org_id: str, project_id: str) -> Project | None:
        row = self._conn.execute(
            select(t.projects).where(t.projects.c.id == project_id, t.projects.c.org_id == org_id)
        ).first()
        return _PROJECT.decode(row) if row else None

    def member(self, org_id: str, member_id: str) -> Member | None:
        row = self._conn.execute(
            select(t.members).where(t.members.c.id == member_id, t.members.c.org_id == org_id)
        ).first()
        return _MEMBER.decode(row) if row else None

    def projects(self, org_id: str) -> list[Project]:
        rows = self._conn.execute(
            select(t.projects).where(t.projects.c.org_id == org_id).order_by(t.projects.c.name)
        )
        return [_PROJECT.decode(r) for r in rows]

    def members(self, org_id: str) -> list[Member]:
        rows = self._conn.execute(
            select(t.members).where(t.members.c.org_id == org_id).order_by(t.members.c.name)
        )
        return [_MEMBER.decode(r) for r in rows]


def _org(row: Row[Any]) -> Organization:
    order = parse_consumption_order(row.consumption_order)
    return _ORGANIZATION.decode(row, consumption_order=order)


@functools.lru_cache(maxsize=256)
def stored_order(text: str) -> tuple[GrantKind, ...]:
    """An organization's stored consumption order (parsed once per text)."""
    return parse_consumption_order(text)
