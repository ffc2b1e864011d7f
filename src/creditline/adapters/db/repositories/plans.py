"""Plans: the stored plan documents, and the plan set on each organization."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from creditline.domain.plans import Plan, parse_plan

from .. import tables as t

__all__ = ["PlanRepository", "stored_plan", "unstored_plan"]


class PlanRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, plan: Plan, now: datetime) -> None:
        """Store a plan, replacing the one of the same name."""
        document = plan.to_dict()
        p = t.plans
        updated = self._conn.execute(
            update(p).where(p.c.name == plan.name).values(document=document, updated_at=now)
        )
        if updated.rowcount == 0:
            self._conn.execute(insert(p).values(name=plan.name, document=document, updated_at=now))

    def get(self, name: str) -> Plan | None:
        row = self._conn.execute(select(t.plans.c.document).where(t.plans.c.name == name)).first()
        return None if row is None else parse_plan(row.document)

    def names(self) -> list[str]:
        return [r.name for r in self._conn.execute(select(t.plans.c.name).order_by(t.plans.c.name))]

    def assign(
        self, org_id: str, plan: str | None, depletion: str | None, flex: bool | None
    ) -> None:
        self._conn.execute(
            update(t.organizations)
            .where(t.organizations.c.id == org_id)
            .values(plan=plan, depletion=depletion, flex_enabled=flex)
        )


@functools.lru_cache(maxsize=256)
def unstored_plan(name: str) -> Plan:
    """The plan of an organization whose plan is not stored: every default."""
    return Plan(name)


@functools.lru_cache(maxsize=256)
def _parse_plan_text(text: str) -> Plan:
    return parse_plan(json.loads(text))


def stored_plan(document: Any) -> Plan:
    """A stored plan; a parsed plan is kept per document (plans are immutable)."""
    return _parse_plan_text(json.dumps(document, sort_keys=True, separators=(",", ":")))
