"""Grace: each organization's standing (on its row) and the history of its transitions
(see :mod:`creditline.domain.grace`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from creditline.domain.grace import GraceState, GraceTransition, Standing

from . import tables as t
from .raw import Raw

__all__ = ["GraceRepository", "standing"]


def standing(raw: Raw, row: Mapping[str, Any]) -> Standing:
    """A standing from a row with ``grace_state``, ``grace_since`` and ``grace_used``."""
    since = row["grace_since"]
    return Standing(
        GraceState(row["grace_state"]),
        None if since is None else raw.read_when(since),
        int(row["grace_used"] or 0),
    )


def _transition(row: Any) -> GraceTransition:
    return GraceTransition(
        row.org_id, GraceState(row.from_state), GraceState(row.to_state), row.cause_type,
        row.cause_ref, row.at, int(row.id),
    )  # fmt: skip


class GraceRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(
        self,
        transitions: Sequence[GraceTransition],
        standings: Mapping[str, Standing],
        now: datetime,
    ) -> list[GraceTransition]:
        """Store transitions (numbered, in order) and each organization's last standing;
        the transitions as stored."""
        g = t.grace_transitions
        stored = []
        for moved in transitions:
            seq = self._conn.execute(
                insert(g).values(
                    org_id=moved.org_id, from_state=moved.from_state.value,
                    to_state=moved.to_state.value, cause_type=moved.cause_type,
                    cause_ref=moved.cause_ref, at=moved.at, recorded_at=now,
                ).returning(g.c.id)
            ).scalar_one()  # fmt: skip
            stored.append(replace(moved, seq=int(seq)))
        o = t.organizations
        for org_id, found in sorted(standings.items()):
            active = found.state is GraceState.ACTIVE
            self._conn.execute(
                update(o).where(o.c.id == org_id).values(
                    grace_state=None if active else found.state.value,
                    grace_since=found.since, grace_used_micros=None if active else found.used,
                )
            )  # fmt: skip
        return stored

    def standing(self, org_id: str) -> Standing | None:
        """The organization's standing (``None``: no such organization)."""
        o = t.organizations.c
        row = self._conn.execute(
            select(o.grace_state, o.grace_since, o.grace_used_micros).where(o.id == org_id)
        ).first()
        if row is None:
            return None
        if row.grace_state is None:
            return Standing()
        return Standing(
            GraceState(row.grace_state), row.grace_since, int(row.grace_used_micros or 0)
        )

    def history(self, org_id: str, limit: int = 100) -> list[GraceTransition]:
        """The organization's last ``limit`` transitions, oldest first."""
        g = t.grace_transitions.c
        rows = self._conn.execute(
            select(t.grace_transitions).where(g.org_id == org_id).order_by(g.id.desc()).limit(limit)
        ).all()
        return [_transition(r) for r in reversed(rows)]

    def waiting(self, limit: int, after: str | None) -> list[str]:
        """Organizations in grace or read-only (whose deadlines may pass), by id."""
        o = t.organizations.c
        query = select(o.id).where(
            o.grace_state.in_((GraceState.GRACE.value, GraceState.READ_ONLY.value))
        )
        if after is not None:
            query = query.where(o.id > after)
        return [r.id for r in self._conn.execute(query.order_by(o.id).limit(limit))]
