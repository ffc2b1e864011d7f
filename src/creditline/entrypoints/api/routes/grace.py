"""Grace between depletion and lock (:mod:`creditline.domain.grace`): where an
organization stands in its plan's grace, and its transitions with their causes. The
grace terms are a plan's fields (``grace_hours``, ``grace_credits``, ``grace_billing``,
``read_only_hours``), set with the plan (``POST /v1/plans``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.grace import GraceOut
from creditline.entrypoints.api.security import OrgReader

router = make_router("credits")

__all__ = ["router"]


@router.get(
    "/v1/orgs/{org_id}/grace",
    summary="The organization's grace state (active, grace, read-only, paused) and history",
    description="Where it stands in its plan's grace: the state and since when, the grace "
    "used and left, when the state's hours run out, and its last `limit` transitions "
    "(oldest first), each with its cause and time. A deadline passed but not yet applied "
    "by the scheduler is shown applied (what the next charge sees).",
)
def org_grace(
    *,
    scope: OrgReader,
    cl: Engine,
    limit: Annotated[int, Query(ge=1, le=1000, description="Transitions shown.")] = 100,
) -> GraceOut:
    return GraceOut.of(cl.grace(scope.org_id, limit))
