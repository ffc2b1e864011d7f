"""Grace between depletion and lock: where an organization stands, and its history."""

from __future__ import annotations

from creditline.client.decode._common import Doc, maybe_when, record
from creditline.domain.grace import GraceBilling, GraceState, GraceTerms, GraceTransition, Standing
from creditline.services.grace import GraceStatus


def grace_terms(d: Doc | None) -> GraceTerms | None:
    if d is None:
        return None
    return GraceTerms(
        d["grace_hours"], d["grace_credits_micros"], GraceBilling(d["grace_billing"]),
        d["read_only_hours"],
    )  # fmt: skip


def grace_status(d: Doc) -> GraceStatus:
    return GraceStatus(
        org_id=d["org_id"],
        standing=Standing(GraceState(d["state"]), maybe_when(d["since"]), d["used_micros"]),
        terms=grace_terms(d["terms"]),
        left=d["left_micros"],
        until=maybe_when(d["until"]),
        transitions=tuple(record(GraceTransition, t) for t in d["transitions"]),
    )
